// LP bound tightening: LpSession on small LPs with known optima, then the
// soundness of lpTightenBounds (every sampled / attacked point of every layer
// inside the bounds), "never looser than the start table", strict gains over
// CROWN on the committed MNIST fixture, time limits, threads and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "bounds/lp_tighten.h"
#include "core/error.h"
#include "io/images.h"
#include "io/onnx.h"
#include "model/math_model.h"
#include "nn/network.h"
#include "solve/lp_session.h"
#include "spec/property.h"

using namespace nnopt;
using bounds::BoundTable;
using bounds::LpTightenParams;
using bounds::LpTightenStats;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using model::kInf;
using model::Sense;
using solve::LpSession;
using solve::SolveStatus;

namespace {

constexpr double kTol = 1e-6;

// ------------------------------------------------------------------ helpers

nn::Activation act(nn::ActKind k, double alpha = 0.01) {
  nn::Activation a;
  a.kind = k;
  a.alpha = alpha;
  return a;
}

// in -> [Dense width, act]* -> Dense out, Gaussian weights scaled by gain/sqrt(fan-in).
nn::Network randomNet(unsigned seed, int in, const std::vector<int>& hidden, int out,
                      const nn::Activation& a, double gain = 1.5) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<nn::Layer> layers;
  int prev = in;
  std::vector<int> widths = hidden;
  widths.push_back(out);
  for (size_t i = 0; i < widths.size(); ++i) {
    const int w = widths[i];
    nn::Dense d;
    d.W = Eigen::MatrixXd(w, prev);
    d.b.resize(w);
    for (int r = 0; r < w; ++r) {
      for (int c = 0; c < prev; ++c) d.W(r, c) = gain * nd(rng) / std::sqrt(double(prev));
      d.b[r] = 0.3 * nd(rng);
    }
    layers.push_back(nn::Layer{"fc" + std::to_string(i), d, {w}});
    if (i + 1 < widths.size()) layers.push_back(nn::Layer{"act" + std::to_string(i), a, {w}});
    prev = w;
  }
  return nn::Network({in}, layers);
}

spec::Box randomBox(unsigned seed, int n, double width) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  spec::Box b{VectorXd(n), VectorXd(n)};
  for (int i = 0; i < n; ++i) {
    double c = u(rng);
    b.lo[i] = c - 0.5 * width;
    b.hi[i] = c + 0.5 * width;
  }
  return b;
}

// Random corners, random points on faces and uniform interior points.
std::vector<VectorXd> samplePoints(std::mt19937& rng, const spec::Box& box, int total) {
  const int n = static_cast<int>(box.size());
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::bernoulli_distribution coin(0.5);
  std::vector<VectorXd> pts;
  while (static_cast<int>(pts.size()) < total) {
    VectorXd x(n);
    const int kind = pts.size() % 3;
    for (int i = 0; i < n; ++i) {
      double t = u01(rng);
      if (kind == 0 || (kind == 1 && coin(rng))) t = coin(rng) ? 1.0 : 0.0;
      x[i] = box.lo[i] + t * (box.hi[i] - box.lo[i]);
    }
    pts.push_back(x);
  }
  return pts;
}

// Gradient of output neuron j of layer k with respect to the input at x.
VectorXd neuronGradient(const nn::Network& net, const std::vector<VectorXd>& outs,
                        const VectorXd& x, size_t k, Eigen::Index j) {
  VectorXd g = VectorXd::Zero(outs[k].size());
  g[j] = 1.0;
  for (int i = static_cast<int>(k); i >= 0; --i) {
    const auto& l = net.layers()[i];
    if (l.isDense()) {
      g = l.dense().W.applyT(g);
    } else {
      const VectorXd& pre = i == 0 ? x : outs[i - 1];
      for (Eigen::Index m = 0; m < g.size(); ++m) g[m] *= l.activation().derivative(pre[m]);
    }
  }
  return g;
}

struct Check {
  double violation = 0;  // largest amount a point leaves the bounds
  long points = 0;
};

void record(Check& c, const BoundTable& t, const std::vector<VectorXd>& outs) {
  for (size_t i = 0; i < outs.size(); ++i) {
    c.violation = std::max(c.violation, (t.lo[i] - outs[i]).maxCoeff());
    c.violation = std::max(c.violation, (outs[i] - t.hi[i]).maxCoeff());
  }
  ++c.points;
}

// Sampled points plus a signed-gradient attack (projected onto the box) on
// the lower and upper end of every Dense neuron: the attack reaches the
// extremes that random points miss, so a too-tight bound is likely caught.
Check checkSound(const nn::Network& net, const spec::Box& box, const BoundTable& t, unsigned seed,
                 int samples, int attack_steps) {
  std::mt19937 rng(seed);
  Check c;
  for (const auto& x : samplePoints(rng, box, samples)) record(c, t, net.forwardAll(x));
  const VectorXd step = 0.1 * (box.hi - box.lo);
  for (size_t k = 0; k < net.numLayers(); ++k) {
    if (!net.layers()[k].isDense()) continue;
    for (Eigen::Index j = 0; j < net.layers()[k].outSize(); ++j) {
      for (double dir : {-1.0, 1.0}) {
        VectorXd x = samplePoints(rng, box, 1)[0];
        for (int s = 0; s < attack_steps; ++s) {
          auto outs = net.forwardAll(x);
          record(c, t, outs);
          VectorXd g = neuronGradient(net, outs, x, k, j);
          double shrink = 1.0 - double(s) / attack_steps;
          x += dir * shrink * step.cwiseProduct(g.cwiseSign());
          x = x.cwiseMax(box.lo).cwiseMin(box.hi);
        }
        record(c, t, net.forwardAll(x));
      }
    }
  }
  return c;
}

// Largest amount `t` is looser than `ref` on any neuron of any layer.
double looserThan(const BoundTable& t, const BoundTable& ref) {
  double worst = 0;
  for (size_t i = 0; i < t.lo.size(); ++i) {
    worst = std::max(worst, (ref.lo[i] - t.lo[i]).maxCoeff());
    worst = std::max(worst, (t.hi[i] - ref.hi[i]).maxCoeff());
  }
  return worst;
}

// Total pre-activation width over the ReLU layers.
double reluWidth(const nn::Network& net, const BoundTable& t) {
  double w = 0;
  for (size_t i = 0; i < net.numLayers(); ++i)
    if (net.layers()[i].isActivation()) w += (t.preHi(i) - t.preLo(i)).sum();
  return w;
}

}  // namespace

// ---------------------------------------------------------------- LpSession

// min x + y  s.t.  x + 2y >= 2, 3x + y >= 3, 0 <= x, y <= 10: optimum (0.8, 0.6).
model::MathModel smallLp() {
  model::MathModel m;
  int x = m.addVar(0, 10), y = m.addVar(0, 10, true);  // integrality is relaxed
  m.addRow({{x, 1}, {y, 2}}, 2, kInf);
  m.addRow({{x, 3}, {y, 1}}, 3, kInf);
  m.objLinear() = {{x, 1}, {y, 1}};
  return m;
}

TEST(LpSession, SolvesWarmStartsAndReportsSafeBounds) {
  LpSession lp(smallLp());
  EXPECT_EQ(lp.numVars(), 2);
  EXPECT_EQ(lp.numRows(), 2);
  auto r = lp.solve();
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_NEAR(r.objective, 1.4, 1e-9);
  EXPECT_LE(r.bound, r.objective + 1e-12);
  EXPECT_NEAR(r.bound, 1.4, 1e-9);
  auto x = lp.primal();
  ASSERT_EQ(x.size(), 2u);
  EXPECT_NEAR(x[0], 0.8, 1e-9);
  EXPECT_NEAR(x[1], 0.6, 1e-9);

  // Maximise with an offset: 5 + 10 + 10; the bound is an upper bound.
  lp.setObjective({{0, 1}, {1, 1}}, Sense::kMaximize, 5.0);
  r = lp.solve();
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_NEAR(r.objective, 25, 1e-9);
  EXPECT_GE(r.bound, r.objective - 1e-12);
  EXPECT_NEAR(r.bound, 25, 1e-9);

  // Repeated indices add up: min 2x - y at x = 0, y = 10.
  lp.setObjective({{0, 1}, {0, 1}, {1, -1}}, Sense::kMinimize);
  r = lp.solve();
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_NEAR(r.objective, -10, 1e-9);

  // Bound change (dual warm start): x <= 0.5 forces y >= 1.5; min x + y = 2.
  lp.setObjective({{0, 1}, {1, 1}}, Sense::kMinimize);
  lp.setVarBounds(0, 0, 0.5);
  r = lp.solve();
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_NEAR(r.objective, 2.0, 1e-9);
  EXPECT_NEAR(r.bound, 2.0, 1e-9);

  // New variable and row: z = x + y - 1, minimise -z  -> z = 10.5 - 1.
  int z = lp.addVar(-kInf, kInf);
  EXPECT_EQ(z, 2);
  EXPECT_EQ(lp.addRow({{z, 1}, {0, -1}, {1, -1}}, -1, -1), 2);
  lp.setObjective({{z, 1}}, Sense::kMaximize);
  r = lp.solve();
  ASSERT_EQ(r.status, SolveStatus::kOptimal);
  EXPECT_NEAR(r.objective, 9.5, 1e-9);
  // z is free but its reduced cost is 0 at the optimum: the bound is finite.
  EXPECT_NEAR(r.bound, 9.5, 1e-9);

  // y <= 1 contradicts y >= 1.5.
  lp.addRow({{1, 1}}, -kInf, 1.0);
  r = lp.solve();
  EXPECT_EQ(r.status, SolveStatus::kInfeasible);

  // No time: no solve.
  EXPECT_EQ(lp.solve(0.0).status, SolveStatus::kNoSolution);
}

TEST(LpSession, UnboundedAndBadInput) {
  model::MathModel m;
  int x = m.addVar(0, kInf);
  m.objLinear() = {{x, -1}};
  LpSession lp(m);
  EXPECT_EQ(lp.solve().status, SolveStatus::kUnbounded);
  EXPECT_THROW(lp.setVarBounds(3, 0, 1), Error);
  EXPECT_THROW(lp.setVarBounds(0, 2, 1), Error);
  EXPECT_THROW(lp.addRow({{7, 1.0}}, 0, 1), Error);
  EXPECT_THROW(lp.setObjective({{-1, 1.0}}, Sense::kMinimize), Error);

  model::MathModel nl = smallLp();
  model::Row r;
  r.terms = {{0, 1.0}};
  r.nl.kind = model::NlKind::kProduct;
  r.nl.a = 0;
  r.nl.b = 1;
  nl.addRow(r);
  EXPECT_THROW(LpSession{nl}, Error);
  model::MathModel q = smallLp();
  q.objQuadratic().push_back({0, 0, 1.0});
  EXPECT_THROW(LpSession{q}, Error);
}

// The safe bound must not depend on the solver reaching exact optimality: on
// a random dense LP it stays below the objective and within 1e-7 of it.
TEST(LpSession, SafeBoundCloseToObjectiveOnRandomLps) {
  std::mt19937 rng(7);
  std::normal_distribution<double> nd(0, 1);
  for (int trial = 0; trial < 20; ++trial) {
    model::MathModel m;
    const int n = 30, rows = 40;
    for (int j = 0; j < n; ++j) m.addVar(-1 - std::abs(nd(rng)), 1 + std::abs(nd(rng)));
    for (int i = 0; i < rows; ++i) {
      std::vector<model::LinTerm> t;
      for (int j = 0; j < n; ++j) t.push_back({j, nd(rng)});
      m.addRow(t, -kInf, 1.0 + std::abs(nd(rng)));  // x = 0 is feasible
    }
    LpSession lp(m);
    for (int k = 0; k < 5; ++k) {
      std::vector<model::LinTerm> c;
      for (int j = 0; j < n; ++j) c.push_back({j, nd(rng)});
      lp.setObjective(c, k % 2 ? Sense::kMaximize : Sense::kMinimize);
      auto r = lp.solve();
      ASSERT_EQ(r.status, SolveStatus::kOptimal);
      if (k % 2)
        EXPECT_GE(r.bound, r.objective - 1e-9);
      else
        EXPECT_LE(r.bound, r.objective + 1e-9);
      EXPECT_NEAR(r.bound, r.objective, 1e-7 * (1 + std::abs(r.objective)));
    }
  }
}

// ----------------------------------------------------------- lpTightenBounds

struct NetCase {
  const char* name;
  nn::Activation a;
};

TEST(LpTighten, SoundAndNoLooserOnRandomNets) {
  const std::vector<NetCase> cases = {
      {"relu", act(nn::ActKind::kRelu)},
      {"leaky0.1", act(nn::ActKind::kLeakyRelu, 0.1)},
      {"leaky2", act(nn::ActKind::kLeakyRelu, 2.0)},      // concave: min(t, 2t)
      {"leaky-0.5", act(nn::ActKind::kLeakyRelu, -0.5)},  // non-monotone
      {"tanh", act(nn::ActKind::kTanh)},
      {"sigmoid", act(nn::ActKind::kSigmoid)},
  };
  double gain_total = 0;
  for (const auto& nc : cases) {
    for (unsigned seed = 1; seed <= 6; ++seed) {
      SCOPED_TRACE(std::string(nc.name) + " seed " + std::to_string(seed));
      const nn::Network net = randomNet(seed, 6, {8, 8}, 3, nc.a);
      const spec::Box box = randomBox(100 + seed, 6, 0.4 + 0.2 * seed);
      const BoundTable crown = bounds::crownBounds(net, box);
      for (bool only_unstable : {true, false}) {
        LpTightenParams p;
        p.only_unstable = only_unstable;
        p.tighten_output = !only_unstable;
        LpTightenStats st;
        const BoundTable lp = bounds::lpTightenBounds(net, box, crown, p, &st);
        EXPECT_EQ(lp.method, "lp");
        EXPECT_FALSE(st.timed_out);
        EXPECT_EQ(st.lps_failed, 0);
        const Check c = checkSound(net, box, lp, seed, 600, 25);
        EXPECT_LE(c.violation, kTol);
        EXPECT_LE(looserThan(lp, crown), kTol);
        gain_total += reluWidth(net, crown) - reluWidth(net, lp);
      }
    }
  }
  // The LP must actually improve on CROWN somewhere over these 72 runs.
  EXPECT_GT(gain_total, 1e-3);
}

// With only_unstable = false every neuron, the outputs included, is optimised
// and must not be looser than with only_unstable = true.
TEST(LpTighten, AllNeuronsAtLeastAsTight) {
  const nn::Network net = randomNet(11, 6, {8, 8}, 3, act(nn::ActKind::kRelu));
  const spec::Box box = randomBox(12, 6, 1.0);
  const BoundTable crown = bounds::crownBounds(net, box);
  LpTightenParams p;
  const BoundTable a = bounds::lpTightenBounds(net, box, crown, p);
  p.only_unstable = false;
  p.tighten_output = true;
  LpTightenStats st;
  const BoundTable b = bounds::lpTightenBounds(net, box, crown, p, &st);
  EXPECT_LE(looserThan(b, a), kTol);
  // Outputs: strictly better than without LP on the last layer.
  const size_t L = net.numLayers();
  EXPECT_LT((b.hi[L - 1] - b.lo[L - 1]).sum(), (a.hi[L - 1] - a.lo[L - 1]).sum());
  EXPECT_LE(checkSound(net, box, b, 3, 600, 25).violation, kTol);
  EXPECT_GT(st.neurons, 0);
}

// The committed MNIST fixture: sound, never looser than CROWN, strictly
// tighter in total width, and fewer or equal unstable ReLUs.
TEST(LpTighten, MnistFixture) {
  nn::Network net = io::loadOnnx(NNOPT_FIXTURES_DIR "/../../models/mnist_mlp_2x20.onnx");
  net = net.withInputNormalization(0.1307, 0.3081);
  const io::Image img = io::loadDatasetItem(NNOPT_FIXTURES_DIR "/digits.csv", 0);
  ASSERT_EQ(img.pixels.size(), net.inputSize());
  const spec::Box box = spec::linfBall(img.pixels, 0.05);
  const BoundTable ib = bounds::intervalBounds(net, box);
  const BoundTable crown = bounds::crownBounds(net, box);
  LpTightenParams p;
  p.time_limit_s = 60;
  LpTightenStats st;
  const BoundTable lp = bounds::lpTightenBounds(net, box, crown, p, &st);
  EXPECT_FALSE(st.timed_out);
  EXPECT_EQ(st.lps_failed, 0);
  const Check c = checkSound(net, box, lp, 5, 3000, 30);
  EXPECT_LE(c.violation, kTol) << "over " << c.points << " points";
  EXPECT_LE(looserThan(lp, crown), kTol);
  const double wc = reluWidth(net, crown), wl = reluWidth(net, lp);
  EXPECT_LT(wl, wc - 1e-3);
  const auto ci = bounds::countRelus(net, ib), cc = bounds::countRelus(net, crown),
             cl = bounds::countRelus(net, lp);
  EXPECT_GE(ci.unstable, cc.unstable);
  EXPECT_GE(cc.unstable, cl.unstable);
  EXPECT_EQ(cl.active + cl.inactive + cl.unstable, net.numReluNeurons());
  std::fprintf(stderr,
               "mnist_mlp_2x20 eps 0.05: unstable ReLUs interval %ld, crown %ld, lp %ld; "
               "ReLU pre-activation width crown %.4f, lp %.4f; %ld LPs, %ld iterations, %.3f s; "
               "%ld points checked, worst violation %.2e\n",
               long(ci.unstable), long(cc.unstable), long(cl.unstable), wc, wl, st.lps,
               st.iterations, st.time_s, c.points, c.violation);
}

// With no time the result is start intersected with interval propagation:
// sound, no looser than start, and flagged as timed out.
TEST(LpTighten, TimeLimitReturnsSoundBounds) {
  const nn::Network net = randomNet(21, 6, {8, 8, 8}, 3, act(nn::ActKind::kRelu));
  const spec::Box box = randomBox(22, 6, 1.0);
  const BoundTable ib = bounds::intervalBounds(net, box);
  LpTightenParams p;
  p.time_limit_s = 0;
  LpTightenStats st;
  const BoundTable t = bounds::lpTightenBounds(net, box, ib, p, &st);
  EXPECT_TRUE(st.timed_out);
  EXPECT_EQ(st.lps, 0);
  EXPECT_LE(looserThan(t, ib), 0.0);
  EXPECT_LE(checkSound(net, box, t, 1, 300, 10).violation, kTol);
}

// The give-up projection (probe_lps): with an ample budget it never fires and
// the bounds equal those without it (same LPs, bit for bit); with a budget the
// LPs left cannot fit in, it stops early (gave_up, not timed out) with bounds
// that are sound and no looser than the start, after at least 2 LPs and
// before the time limit.
TEST(LpTighten, GivesUpWhenTheLpsLeftCannotFitTheBudget) {
  const nn::Network small = randomNet(51, 6, {10, 10}, 3, act(nn::ActKind::kRelu));
  const spec::Box sbox = randomBox(52, 6, 1.2);
  const BoundTable scrown = bounds::crownBounds(small, sbox);
  LpTightenParams p;
  p.time_limit_s = 60;
  LpTightenStats a, b;
  const BoundTable full = bounds::lpTightenBounds(small, sbox, scrown, p, &a);
  p.probe_lps = 4;
  const BoundTable probed = bounds::lpTightenBounds(small, sbox, scrown, p, &b);
  EXPECT_FALSE(b.gave_up || b.timed_out);
  EXPECT_EQ(a.lps, b.lps);
  for (size_t i = 0; i < full.lo.size(); ++i) {
    EXPECT_TRUE(full.lo[i] == probed.lo[i]);
    EXPECT_TRUE(full.hi[i] == probed.hi[i]);
  }
  // Many unstable neurons in wide layers, 0.5 s: hundreds of LPs left after
  // the probe, each taking more than 0.5 s / hundreds.
  const nn::Network wide = randomNet(53, 20, {120, 120, 120}, 3, act(nn::ActKind::kRelu));
  const spec::Box wbox = randomBox(54, 20, 2.0);
  const BoundTable wcrown = bounds::crownBounds(wide, wbox);
  ASSERT_GT(bounds::countRelus(wide, wcrown).unstable, 100);
  p.time_limit_s = 0.5;
  p.probe_lps = 2;
  LpTightenStats c;
  const BoundTable early = bounds::lpTightenBounds(wide, wbox, wcrown, p, &c);
  EXPECT_TRUE(c.gave_up) << c.lps << " LPs in " << c.time_s << " s";
  EXPECT_GE(c.lps, 2);
  EXPECT_FALSE(c.timed_out);
  EXPECT_LE(looserThan(early, wcrown), 0.0);
  EXPECT_LE(checkSound(wide, wbox, early, 2, 300, 10).violation, kTol);
}

// Independent calls in several threads give the same bounds as a serial call
// (Clp is deterministic; no shared state between sessions).
TEST(LpTighten, ThreadsIndependent) {
  const nn::Network net = randomNet(31, 6, {12, 12}, 3, act(nn::ActKind::kRelu));
  const spec::Box box = randomBox(32, 6, 1.2);
  const BoundTable crown = bounds::crownBounds(net, box);
  const BoundTable serial = bounds::lpTightenBounds(net, box, crown);
  std::vector<BoundTable> out(4);
  std::vector<std::thread> th;
  for (int i = 0; i < 4; ++i)
    th.emplace_back([&, i] { out[i] = bounds::lpTightenBounds(net, box, crown); });
  for (auto& t : th) t.join();
  for (const auto& t : out)
    for (size_t i = 0; i < t.lo.size(); ++i) {
      EXPECT_TRUE(t.lo[i] == serial.lo[i]);
      EXPECT_TRUE(t.hi[i] == serial.hi[i]);
    }
}

TEST(LpTighten, BadInputThrows) {
  const nn::Network net = randomNet(41, 6, {8}, 3, act(nn::ActKind::kRelu));
  const spec::Box box = randomBox(42, 6, 1.0);
  const BoundTable crown = bounds::crownBounds(net, box);
  EXPECT_THROW(bounds::lpTightenBounds(net, randomBox(1, 5, 1.0), crown), Error);
  BoundTable bad = crown;
  bad.lo.pop_back();
  EXPECT_THROW(bounds::lpTightenBounds(net, box, bad), Error);
  bad = crown;
  bad.hi[0].resize(2);
  EXPECT_THROW(bounds::lpTightenBounds(net, box, bad), Error);
  spec::Box inf_box = box;
  inf_box.hi[0] = kInf;
  EXPECT_THROW(bounds::lpTightenBounds(net, inf_box, crown), Error);
  EXPECT_THROW(bounds::parseBoundsLevel("alpha"), Error);
}

TEST(LpTighten, LevelsAreOrdered) {
  const nn::Network net = randomNet(51, 6, {8, 8}, 3, act(nn::ActKind::kRelu));
  const spec::Box box = randomBox(52, 6, 1.0);
  using bounds::BoundsLevel;
  const BoundTable i = bounds::tightestBounds(net, box, BoundsLevel::kInterval);
  const BoundTable c = bounds::tightestBounds(net, box, BoundsLevel::kCrown);
  const BoundTable l = bounds::tightestBounds(net, box, BoundsLevel::kLp);
  EXPECT_EQ(i.method, "interval");
  EXPECT_EQ(c.method, "crown");
  EXPECT_EQ(l.method, "lp");
  EXPECT_LE(looserThan(c, i), 1e-9);
  EXPECT_LE(looserThan(l, c), kTol);
  for (auto lv : {BoundsLevel::kInterval, BoundsLevel::kCrown, BoundsLevel::kLp})
    EXPECT_EQ(bounds::parseBoundsLevel(bounds::boundsLevelName(lv)), lv);
}
