// Cuts of the ideal ReLU formulation (formulate/ideal_cuts.h): every cut
// separated anywhere holds at every point of the network over the box (the
// embedding's variables set by a forward pass), a cut is violated at the
// point it was separated from by the amount it reports, and CBC's optimum
// does not move when the separator is on (solve::SolveParams::mip_cuts).
#include <gtest/gtest.h>

#include <random>

#include "bounds/crown.h"
#include "formulate/embed.h"
#include "formulate/ideal_cuts.h"
#include "model/math_model.h"
#include "random_net.h"
#include "solve/solver.h"
#include "spec/property.h"

namespace nnopt {
namespace {

using test::randomNet;

spec::Box randomBox(std::mt19937& rng, int n, double w) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  spec::Box b;
  b.lo.resize(n);
  b.hi.resize(n);
  for (int i = 0; i < n; ++i) {
    b.lo[i] = u(rng);
    b.hi[i] = b.lo[i] + w;
  }
  return b;
}

// A random net over a random box, embedded big-M with its CROWN table.
struct Embedded {
  nn::Network net;
  spec::Box box;
  bounds::BoundTable t;
  model::MathModel m;
  formulate::Embedding e;
  Embedded(std::mt19937& rng, int in, const std::vector<int>& widths, double w)
      : net(randomNet(rng, in, widths)), box(randomBox(rng, in, w)),
        t(bounds::crownBounds(net, box)),
        e(formulate::embedNetwork(m, net, t, formulate::EmbedOptions{})) {}
};

std::vector<double> pointOf(model::MathModel& m, const nn::Network& net,
                            const formulate::Embedding& e, const Eigen::VectorXd& x) {
  formulate::setStartFromInput(m, net, e, x);
  std::vector<double> v(m.numVars());
  for (int j = 0; j < m.numVars(); ++j) v[j] = m.vars()[j].start;
  return v;
}

// A point of the big-M relaxation that satisfies the Dense rows: layer by
// layer, each unstable ReLU's output anywhere between relu(pre) and the
// triangle's upper line, its binary fractional.
std::vector<double> relaxedPoint(std::mt19937& rng, const model::MathModel& m,
                                 const nn::Network& net, const formulate::Embedding& e,
                                 const bounds::BoundTable& t, const Eigen::VectorXd& in) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x(m.numVars(), 0.0);
  Eigen::VectorXd v = in;
  for (size_t i = 0; i < e.input_vars.size(); ++i) x[e.input_vars[i]] = in[i];
  for (const auto& a : e.relu_aux) x[a.z] = u(rng);
  for (size_t k = 0; k < net.numLayers(); ++k) {
    const auto& layer = net.layers()[k];
    if (layer.isDense()) {
      v = layer.dense().W.apply(v) + layer.dense().b;
    } else {
      for (Eigen::Index j = 0; j < v.size(); ++j) {
        const double l = t.preLo(k)[j], h = t.preHi(k)[j], r = std::max(v[j], 0.0);
        v[j] = l < 0 && h > 0 ? r + u(rng) * (h * (v[j] - l) / (h - l) - r) : r;
      }
    }
    for (Eigen::Index j = 0; j < v.size(); ++j)
      if (e.layer_vars[k][j] >= 0) x[e.layer_vars[k][j]] = v[j];
  }
  return x;
}

double rowValue(const model::Row& r, const std::vector<double>& v) {
  double s = 0.0;
  for (const auto& t : r.terms) s += t.coef * v[t.var];
  return s;
}

TEST(IdealCuts, HoldAtEveryNetworkPointOfTheBox) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int cuts = 0;
  for (int trial = 0; trial < 8; ++trial) {
    Embedded f(rng, 5, {12, 10, 3}, 1.0);
    const auto& [net, box, t, m, e] = f;
    ASSERT_GT(e.binaries, 0);
    // Cuts separated at points of the relaxation (fractional binaries,
    // outputs above the ReLU), the way an LP solution can look.
    std::vector<model::Row> rows;
    for (int k = 0; k < 20; ++k) {
      Eigen::VectorXd in(5);
      for (int i = 0; i < 5; ++i) in[i] = box.lo[i] + u(rng) * (box.hi[i] - box.lo[i]);
      const auto x = relaxedPoint(rng, m, net, e, t, in);
      for (auto& c : formulate::separateIdealCuts(net, e, t, x, 1e-6, 1000)) {
        // Violated at x by the reported amount.
        const double y = rowValue(c.row, x) - c.row.hi;
        EXPECT_GT(y, 0.0);
        rows.push_back(std::move(c.row));
      }
    }
    cuts += static_cast<int>(rows.size());
    for (int s = 0; s < 300; ++s) {
      Eigen::VectorXd in(5);
      for (int i = 0; i < 5; ++i) in[i] = box.lo[i] + u(rng) * (box.hi[i] - box.lo[i]);
      if (s < 32)  // corners too: the hull's vertices
        for (int i = 0; i < 5; ++i) in[i] = (s >> i) & 1 ? box.hi[i] : box.lo[i];
      const auto v = pointOf(f.m, net, e, in);
      for (const auto& r : rows) EXPECT_LE(rowValue(r, v), r.hi + 1e-9) << "trial " << trial;
    }
  }
  EXPECT_GT(cuts, 100);  // the check above saw real cuts
}

TEST(IdealCuts, MaxTermsKeepsOnlySparseCuts) {
  std::mt19937 rng(3);
  const auto net = randomNet(rng, 30, {8, 3});
  const spec::Box box = randomBox(rng, 30, 1.0);
  const auto t = bounds::crownBounds(net, box);
  model::MathModel m;
  const auto e = formulate::embedNetwork(m, net, t, formulate::EmbedOptions{});
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x(m.numVars());
  for (int j = 0; j < m.numVars(); ++j)
    x[j] = m.vars()[j].lb + u(rng) * (m.vars()[j].ub - m.vars()[j].lb);
  const auto all = formulate::separateIdealCuts(net, e, t, x, 0.0, 1000);
  const auto sparse = formulate::separateIdealCuts(net, e, t, x, 0.0, 1000, 10);
  ASSERT_FALSE(all.empty());
  EXPECT_LE(sparse.size(), all.size());
  for (const auto& c : sparse) EXPECT_LE(c.row.terms.size(), 10u);
  for (size_t k = 1; k < all.size(); ++k) EXPECT_GE(all[k - 1].violation, all[k].violation);
}

TEST(IdealCuts, CbcOptimumUnchangedWithTheSeparator) {
  std::mt19937 rng(11);
  int binaries = 0;
  for (int trial = 0; trial < 6; ++trial) {
    Embedded f(rng, 4, {10, 10, 2}, 1.5);
    const auto& [net, box, t, cm, e] = f;
    auto& m = f.m;
    binaries += e.binaries;
    m.objLinear() = {{e.output_vars[0], 1.0}, {e.output_vars[1], -1.0}};
    m.setSense(model::Sense::kMinimize);
    solve::SolveParams plain;
    plain.time_limit = 60;
    const auto a = solve::solveMip(m, plain);
    solve::SolveParams cut = plain;
    cut.mip_cuts = formulate::idealCutSeparator(net, e, t, 1e-6, 200, 0);
    cut.mip_cuts_depth = trial % 2 ? 3 : 0;  // in the tree too on odd trials
    const auto b = solve::solveMip(m, cut);
    ASSERT_EQ(a.status, solve::SolveStatus::kOptimal);
    ASSERT_EQ(b.status, solve::SolveStatus::kOptimal);
    EXPECT_NEAR(a.objective, b.objective, 1e-5 * (1.0 + std::abs(a.objective)));
    // The optimum is a network value: replay the cut run's point.
    Eigen::VectorXd in(4);
    for (int i = 0; i < 4; ++i) in[i] = b.x[e.input_vars[i]];
    const auto y = net.forward(in);
    EXPECT_NEAR(y[0] - y[1], b.objective, 1e-5 * (1.0 + std::abs(b.objective)));
  }
  EXPECT_GT(binaries, 20);
}

}  // namespace
}  // namespace nnopt
