#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "nn/network.h"
#include "spec/property.h"
#include "sanitizer.h"

using namespace nnopt;
using bounds::CrownParams;
using bounds::ReluLowerSlope;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

constexpr double kTol = 1e-9;

nn::Activation act(nn::ActKind k, double alpha = 0.01) {
  nn::Activation a;
  a.kind = k;
  a.alpha = alpha;
  return a;
}

nn::Layer denseLayer(const MatrixXd& W, const VectorXd& b, const std::string& name = "fc") {
  nn::Dense d;
  d.W = W;
  d.b = b;
  return nn::Layer{name, d, {W.rows()}};
}

nn::Layer actLayer(const nn::Activation& a, int64_t n) { return nn::Layer{"act", a, {n}}; }

// A layer description: a Dense of `width` followed by `acts` (possibly none
// or several activations in a row).
struct Block {
  int width;
  std::vector<nn::Activation> acts;
};

nn::Network randomNet(std::mt19937& rng, int in, const std::vector<Block>& blocks,
                      double gain = 1.0) {
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<nn::Layer> layers;
  int prev = in;
  for (const auto& b : blocks) {
    MatrixXd W(b.width, prev);
    VectorXd bias(b.width);
    for (int r = 0; r < b.width; ++r) {
      for (int c = 0; c < prev; ++c) W(r, c) = gain * nd(rng) / std::sqrt(double(prev));
      bias[r] = 0.2 * nd(rng);
    }
    layers.push_back(denseLayer(W, bias));
    for (const auto& a : b.acts) layers.push_back(actLayer(a, b.width));
    prev = b.width;
  }
  return nn::Network({in}, layers);
}

spec::Box randomBox(std::mt19937& rng, int n, double max_width) {
  std::uniform_real_distribution<double> u(-1.0, 1.0), w(0.0, max_width);
  spec::Box box{VectorXd(n), VectorXd(n)};
  for (int i = 0; i < n; ++i) {
    double c = u(rng), r = 0.5 * w(rng);
    box.lo[i] = c - r;
    box.hi[i] = c + r;
  }
  return box;
}

// 2000 sample points: all corners when there are at most 1024 of them (else
// 600 random corners), random points on faces, and uniform interior points.
std::vector<VectorXd> samplePoints(std::mt19937& rng, const spec::Box& box, int total = 2000) {
  const int n = static_cast<int>(box.size());
  std::vector<VectorXd> pts;
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::bernoulli_distribution coin(0.5);
  if (n <= 10) {
    for (int mask = 0; mask < (1 << n); ++mask) {
      VectorXd x(n);
      for (int i = 0; i < n; ++i) x[i] = (mask >> i & 1) ? box.hi[i] : box.lo[i];
      pts.push_back(x);
    }
  } else {
    for (int k = 0; k < 600; ++k) {
      VectorXd x(n);
      for (int i = 0; i < n; ++i) x[i] = coin(rng) ? box.hi[i] : box.lo[i];
      pts.push_back(x);
    }
  }
  while (static_cast<int>(pts.size()) < total) {
    VectorXd x(n);
    bool face = pts.size() % 3 == 0;
    for (int i = 0; i < n; ++i) {
      double t = u01(rng);
      if (face && coin(rng)) t = coin(rng) ? 1.0 : 0.0;
      x[i] = box.lo[i] + t * (box.hi[i] - box.lo[i]);
    }
    pts.push_back(x);
  }
  return pts;
}

struct Violation {
  double layer = 0;      // max amount a layer output leaves [lo, hi]
  double objective = 0;  // max amount crownLowerBound exceeds a sampled c^T y
};

Violation checkSound(std::mt19937& rng, const nn::Network& net, const spec::Box& box,
                     const bounds::BoundTable& t, const std::vector<VectorXd>& objectives,
                     const CrownParams& p) {
  Violation v;
  std::vector<double> lbs;
  for (const auto& c : objectives) lbs.push_back(bounds::crownLowerBound(net, box, t, c, p));
  for (const auto& x : samplePoints(rng, box)) {
    auto outs = net.forwardAll(x);
    for (size_t i = 0; i < outs.size(); ++i) {
      v.layer = std::max(v.layer, (t.lo[i] - outs[i]).maxCoeff());
      v.layer = std::max(v.layer, (outs[i] - t.hi[i]).maxCoeff());
    }
    for (size_t k = 0; k < objectives.size(); ++k)
      v.objective = std::max(v.objective, lbs[k] - objectives[k].dot(outs.back()));
  }
  return v;
}

double meanWidth(const VectorXd& lo, const VectorXd& hi) { return (hi - lo).mean(); }

}  // namespace

// ---------------------------------------------------------------------------
// Single-neuron relaxations.

TEST(CrownRelaxation, SoundOnDenseGridForAllActivations) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> centre(-8.0, 8.0), logw(-10.0, 1.3);
  std::vector<nn::Activation> acts = {act(nn::ActKind::kRelu),
                                      act(nn::ActKind::kLeakyRelu, 0.01),
                                      act(nn::ActKind::kLeakyRelu, 0.3),
                                      act(nn::ActKind::kLeakyRelu, 2.0),
                                      act(nn::ActKind::kLeakyRelu, -0.5),
                                      act(nn::ActKind::kTanh),
                                      act(nn::ActKind::kSigmoid)};
  std::vector<ReluLowerSlope> modes = {ReluLowerSlope::kAdaptive, ReluLowerSlope::kCrown,
                                       ReluLowerSlope::kZero, ReluLowerSlope::kOne};
  int checked = 0;
  for (const auto& a : acts) {
    for (int k = 0; k < 3000; ++k) {
      double l, u;
      if (k % 4 == 0) {  // straddling zero, skewed
        l = -std::pow(10.0, logw(rng) / 2);
        u = std::pow(10.0, logw(rng) / 2);
      } else {
        double c = k % 4 == 1 ? centre(rng) / 8 : centre(rng);
        double w = std::pow(10.0, logw(rng));
        l = c - w / 2;
        u = c + w / 2;
      }
      if (k == 1) l = u = 0.3;      // degenerate
      if (k == 2) l = 0, u = 1.5;   // boundary at 0
      if (k == 3) l = -2.0, u = 0;  // boundary at 0
      for (auto mode : modes) {
        auto r = bounds::relaxActivation(a, l, u, mode);
        ASSERT_LE(r.slope_lo, r.slope_hi);
        double worst = 0;
        for (int s = 0; s <= 400; ++s) {
          double x = l + (u - l) * s / 400.0;
          if (s == 400) x = u;
          double f = a.apply(x);
          worst = std::max(worst, r.lw * x + r.lb - f);
          worst = std::max(worst, f - (r.uw * x + r.ub));
          // Any slope in the optimisable range (through the origin) is a lower bound.
          if (r.slope_lo < r.slope_hi) {
            EXPECT_EQ(r.lb, 0.0);
            worst = std::max(worst, r.slope_lo * x - f);
            worst = std::max(worst, r.slope_hi * x - f);
          }
        }
        EXPECT_LE(worst, kTol) << actName(a.kind) << " alpha=" << a.alpha << " l=" << l
                               << " u=" << u;
        ++checked;
      }
    }
  }
  std::printf("[crown] relaxations checked: %d (each on 401 points)\n", checked);
}

TEST(CrownRelaxation, ReluSlopeModes) {
  auto relu = act(nn::ActKind::kRelu);
  auto r = bounds::relaxActivation(relu, -1.0, 3.0, ReluLowerSlope::kAdaptive);
  EXPECT_DOUBLE_EQ(r.uw, 0.75);
  EXPECT_DOUBLE_EQ(r.ub, 0.75);
  EXPECT_DOUBLE_EQ(r.lw, 1.0);
  r = bounds::relaxActivation(relu, -3.0, 1.0, ReluLowerSlope::kAdaptive);
  EXPECT_DOUBLE_EQ(r.lw, 0.0);
  r = bounds::relaxActivation(relu, -3.0, 1.0, ReluLowerSlope::kCrown);
  EXPECT_DOUBLE_EQ(r.lw, 0.25);
  auto leaky = act(nn::ActKind::kLeakyRelu, 0.1);
  r = bounds::relaxActivation(leaky, -3.0, 1.0, ReluLowerSlope::kAdaptive);
  EXPECT_DOUBLE_EQ(r.lw, 0.1);
  // chord through (-3, -0.3) and (1, 1): slope 1.3/4
  EXPECT_DOUBLE_EQ(r.uw, 1.3 / 4);
  EXPECT_NEAR(r.uw * -3.0 + r.ub, -0.3, 1e-15);
  // Stable neurons are exact.
  r = bounds::relaxActivation(leaky, -3.0, -1.0);
  EXPECT_EQ(r.lw, 0.1);
  EXPECT_EQ(r.uw, 0.1);
  EXPECT_EQ(r.lb, 0.0);
  EXPECT_EQ(r.ub, 0.0);
}

// ---------------------------------------------------------------------------
// DeepPoly running example (Singh et al., "An abstract domain for certifying
// neural networks", POPL 2019, Fig. 2). Hand computation, DeepPoly slopes
// (ReLU lower slope 0 when u <= -l):
//   x1, x2 in [-1, 1]; x3 = x1 + x2, x4 = x1 - x2 in [-2, 2]
//   x5 = relu(x3): 0 <= x5 <= 0.5 x3 + 1, x5 in [0, 2]; x6 likewise.
//   x7 = x5 + x6: upper <= 0.5(x3 + x4) + 2 = x1 + 2 <= 3; lower >= 0     -> [0, 3]
//   x8 = x5 - x6: upper <= 0.5 x3 + 1 = 0.5(x1 + x2) + 1 <= 2;
//                 lower >= -(0.5 x4 + 1) = -0.5 x1 + 0.5 x2 - 1 >= -2     -> [-2, 2]
//   x9 = relu(x7) = x7 (stable), x10 = relu(x8): 0 <= x10 <= 0.5 x8 + 1
//   x11 = x9 + x10 + 1: upper <= x7 + 0.5 x8 + 2 = 1.5 x5 + 0.5 x6 + 2
//        <= 0.75 x3 + 0.25 x4 + 4 = x1 + 0.5 x2 + 4 <= 5.5;  lower >= x7 + 1 >= 1
//   x12 = x10: [0, 2] (upper: 0.5 x8 + 1 <= 0.25(x1 + x2) + 1.5 <= 2)
//   so x11 in [1, 5.5], x12 in [0, 2] (the paper's numbers), and
//   x11 - x12 = x9 + 1 >= 1 (verified: x11 > x12).
// With CROWN slopes (u/(u-l) = 0.5) the table is the same after intersecting
// with intervals, but x11 - x12 = x7 + 1 >= 0.5 x3 + 0.5 x4 + 1 = x1 + 1 >= 0.

namespace {
nn::Network deepPolyNet() {
  MatrixXd W(2, 2);
  W << 1, 1, 1, -1;
  MatrixXd W3(2, 2);
  W3 << 1, 1, 0, 1;
  std::vector<nn::Layer> layers;
  layers.push_back(denseLayer(W, VectorXd::Zero(2)));
  layers.push_back(actLayer(act(nn::ActKind::kRelu), 2));
  layers.push_back(denseLayer(W, VectorXd::Zero(2)));
  layers.push_back(actLayer(act(nn::ActKind::kRelu), 2));
  layers.push_back(denseLayer(W3, VectorXd(Eigen::Vector2d(1, 0))));
  return nn::Network({2}, layers);
}
}  // namespace

TEST(Crown, DeepPolyPaperExample) {
  auto net = deepPolyNet();
  spec::Box box{Eigen::Vector2d(-1, -1), Eigen::Vector2d(1, 1)};
  auto t = bounds::crownBounds(net, box);
  EXPECT_EQ(t.method, "crown");
  const double exp_lo[5][2] = {{-2, -2}, {0, 0}, {0, -2}, {0, 0}, {1, 0}};
  const double exp_hi[5][2] = {{2, 2}, {2, 2}, {3, 2}, {3, 2}, {5.5, 2}};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 2; ++j) {
      EXPECT_NEAR(t.lo[i][j], exp_lo[i][j], 1e-12) << "layer " << i << " neuron " << j;
      EXPECT_NEAR(t.hi[i][j], exp_hi[i][j], 1e-12) << "layer " << i << " neuron " << j;
    }
  // Interval bounds for comparison: x7 in [0, 4], x11 in [1, 7].
  auto ib = bounds::intervalBounds(net, box);
  EXPECT_NEAR(ib.hi[2][0], 4.0, 1e-12);
  EXPECT_NEAR(ib.hi[4][0], 7.0, 1e-12);

  VectorXd c(2);
  c << 1, -1;
  EXPECT_NEAR(bounds::crownLowerBound(net, box, t, c), 1.0, 1e-12);

  CrownParams cp;
  cp.relu_lower = ReluLowerSlope::kCrown;
  auto tc = bounds::crownBounds(net, box, cp);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 2; ++j) {
      EXPECT_NEAR(tc.lo[i][j], exp_lo[i][j], 1e-12);
      EXPECT_NEAR(tc.hi[i][j], exp_hi[i][j], 1e-12);
    }
  EXPECT_NEAR(bounds::crownLowerBound(net, box, tc, c, cp), 0.0, 1e-12);
  // alpha optimisation from the CROWN slopes recovers (some of) the gap.
  cp.alpha_iters = 50;
  double opt = bounds::crownLowerBound(net, box, tc, c, cp);
  std::printf("[crown] DeepPoly example x11-x12 >= : deeppoly 1, crown 0, alpha-crown %.6f\n", opt);
  EXPECT_GE(opt, 0.0);
  EXPECT_LE(opt, 1.0 + 1e-12);  // 1 is the true minimum (x9 + 1 with x7 = 0 attainable)
}

// ---------------------------------------------------------------------------
// Soundness on random networks.

TEST(Crown, SoundOnRandomNetworks) {
  using K = nn::ActKind;
  auto R = act(K::kRelu), Lk = act(K::kLeakyRelu, 0.1), T = act(K::kTanh), S = act(K::kSigmoid);
  auto Lneg = act(K::kLeakyRelu, -0.3), Lbig = act(K::kLeakyRelu, 1.7);
  struct Config {
    std::string name;
    int in;
    std::vector<Block> blocks;
  };
  std::vector<Config> configs = {
      {"relu 3-5-3", 3, {{5, {R}}, {3, {}}}},
      {"relu 4-8-8-3", 4, {{8, {R}}, {8, {R}}, {3, {}}}},
      {"relu 6-16x4-4", 6, {{16, {R}}, {16, {R}}, {16, {R}}, {16, {R}}, {4, {}}}},
      {"relu 20-12-12-5 (sampled corners)", 20, {{12, {R}}, {12, {R}}, {5, {}}}},
      {"leaky 5-10x3-3", 5, {{10, {Lk}}, {10, {Lk}}, {10, {Lk}}, {3, {}}}},
      {"tanh 4-8-8-3", 4, {{8, {T}}, {8, {T}}, {3, {}}}},
      {"sigmoid 6-8x3-3", 6, {{8, {S}}, {8, {S}}, {8, {S}}, {3, {}}}},
      {"mix 5-relu-tanh-sig-leaky-4", 5, {{10, {R}}, {10, {T}}, {10, {S}}, {10, {Lk}}, {4, {}}}},
      {"dense-dense + act-act + final act", 4, {{7, {}}, {6, {R, T}}, {6, {S}}, {3, {T}}}},
      {"odd leaky (alpha<0, alpha>1)", 4, {{8, {Lneg}}, {8, {Lbig}}, {3, {}}}},
  };
  std::vector<std::pair<std::string, CrownParams>> modes(4);
  modes[0].first = "adaptive";
  modes[1].first = "crown";
  modes[1].second.relu_lower = ReluLowerSlope::kCrown;
  modes[2].first = "zero";
  modes[2].second.relu_lower = ReluLowerSlope::kZero;
  modes[3].first = "alpha";
  modes[3].second.alpha_iters = 30;
  std::mt19937 rng(2024);
  int cases = 0;
  double worst_layer = 0, worst_obj = 0;
  for (const auto& cfg : configs) {
    for (int seed = 0; seed < 4; ++seed) {
      for (double width : {0.1, 1.0, 4.0}) {
        double gain = seed % 2 ? 1.0 : 2.5;
        auto net = randomNet(rng, cfg.in, cfg.blocks, gain);
        auto box = randomBox(rng, cfg.in, width);
        std::vector<VectorXd> objs;
        std::normal_distribution<double> nd;
        for (int k = 0; k < 4; ++k) {
          VectorXd c(net.outputSize());
          for (Eigen::Index j = 0; j < c.size(); ++j) c[j] = nd(rng);
          objs.push_back(c);
        }
        VectorXd margin = VectorXd::Zero(net.outputSize());  // y0 - y1
        margin[0] = 1;
        margin[1] = -1;
        objs.push_back(margin);
        auto ib = bounds::intervalBounds(net, box);
        bool monotone = cfg.name.rfind("odd", 0) != 0;
        for (const auto& [mname, p] : modes) {
          auto t = bounds::crownBounds(net, box, p);
          auto v = checkSound(rng, net, box, t, objs, p);
          EXPECT_LE(v.layer, kTol) << cfg.name << " mode " << mname << " seed " << seed
                                   << " width " << width;
          EXPECT_LE(v.objective, kTol) << cfg.name << " mode " << mname << " seed " << seed
                                       << " width " << width;
          worst_layer = std::max(worst_layer, v.layer);
          worst_obj = std::max(worst_obj, v.objective);
          // Never looser than interval bounds (exactly, elementwise).
          if (monotone)
            for (size_t i = 0; i < net.numLayers(); ++i) {
              EXPECT_TRUE((t.lo[i].array() >= ib.lo[i].array()).all()) << cfg.name << " " << i;
              EXPECT_TRUE((t.hi[i].array() <= ib.hi[i].array()).all()) << cfg.name << " " << i;
            }
          // The objective bound is never worse than the table's output bounds.
          for (const auto& c : objs) {
            double lb = bounds::crownLowerBound(net, box, t, c, p);
            double tb = c.cwiseMax(0).dot(t.lo.back()) + c.cwiseMin(0).dot(t.hi.back());
            EXPECT_GE(lb, tb);
          }
          ++cases;
        }
      }
    }
  }
  std::printf("[crown] soundness cases: %d (x2000 samples, 5 objectives); max layer excess %.3g, "
              "max objective excess %.3g (negative = slack)\n",
              cases, worst_layer, worst_obj);
}

// ---------------------------------------------------------------------------
// Tightness.

TEST(Crown, StrictlyTighterThanIntervalOnReluNet) {
  std::mt19937 rng(5);
  auto R = act(nn::ActKind::kRelu);
  double sum_i = 0, sum_c = 0, sum_cr = 0, sum_a = 0;
  double obj_c = 0, obj_a = 0, obj_t = 0;
  for (int k = 0; k < 10; ++k) {
    auto net = randomNet(rng, 10, {{20, {R}}, {20, {R}}, {20, {R}}, {5, {}}});
    auto box = randomBox(rng, 10, 0.5);
    auto ib = bounds::intervalBounds(net, box);
    auto t = bounds::crownBounds(net, box);
    CrownParams cp;
    cp.relu_lower = ReluLowerSlope::kCrown;
    auto tcr = bounds::crownBounds(net, box, cp);
    CrownParams ap;
    ap.alpha_iters = 40;
    auto ta = bounds::crownBounds(net, box, ap);
    sum_i += meanWidth(ib.lo.back(), ib.hi.back());
    sum_c += meanWidth(t.lo.back(), t.hi.back());
    sum_cr += meanWidth(tcr.lo.back(), tcr.hi.back());
    sum_a += meanWidth(ta.lo.back(), ta.hi.back());
    EXPECT_TRUE((ta.lo.back().array() >= t.lo.back().array()).all());
    EXPECT_TRUE((ta.hi.back().array() <= t.hi.back().array()).all());
    VectorXd c = VectorXd::Zero(5);
    c[0] = 1, c[3] = -1;
    double lc = bounds::crownLowerBound(net, box, t, c);
    double la = bounds::crownLowerBound(net, box, t, c, ap);
    EXPECT_GE(la, lc);
    obj_c += lc, obj_a += la;
    obj_t += t.lo.back()[0] - t.hi.back()[3];
  }
  std::printf("[crown] mean output width over 10 nets: interval %.4f, deeppoly %.4f, crown-slope "
              "%.4f, alpha %.4f\n",
              sum_i / 10, sum_c / 10, sum_cr / 10, sum_a / 10);
  std::printf("[crown] mean lower bound of y0-y3: from table %.4f, crownLowerBound %.4f, "
              "alpha %.4f\n",
              obj_t / 10, obj_c / 10, obj_a / 10);
  EXPECT_LT(sum_c, 0.95 * sum_i);
  EXPECT_LE(sum_a, sum_c);
  EXPECT_GE(obj_c, obj_t);
}

// ---------------------------------------------------------------------------
// MNIST-sized network: unstable ReLU counts and timing.

namespace {
nn::Network mnistLike(std::mt19937& rng, const std::vector<int>& hidden) {
  std::vector<Block> blocks;
  for (int h : hidden) blocks.push_back({h, {act(nn::ActKind::kRelu)}});
  blocks.push_back({10, {}});
  return randomNet(rng, 784, blocks);
}
spec::Box mnistBox(std::mt19937& rng, double eps) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  VectorXd x(784);
  for (int i = 0; i < 784; ++i) x[i] = u(rng);
  return spec::linfBall(x, eps);
}
double seconds(std::chrono::steady_clock::time_point s) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count();
}
}  // namespace

TEST(Crown, Mnist784x50x50UnstableCounts) {
  std::mt19937 rng(42);
  auto net = mnistLike(rng, {50, 50});
  auto box = mnistBox(rng, 0.02);
  auto ib = bounds::intervalBounds(net, box);
  auto t = bounds::crownBounds(net, box);
  auto ci = bounds::countRelus(net, ib);
  auto cc = bounds::countRelus(net, t);
  std::printf("[crown] 784-50-50-10, eps 0.02: unstable ReLUs interval %lld, crown %lld "
              "(active %lld/%lld, inactive %lld/%lld)\n",
              (long long)ci.unstable, (long long)cc.unstable, (long long)ci.active,
              (long long)cc.active, (long long)ci.inactive, (long long)cc.inactive);
  EXPECT_LE(cc.unstable, ci.unstable);
  EXPECT_EQ(cc.active + cc.inactive + cc.unstable, 100);
  auto v = checkSound(rng, net, box, t, {VectorXd::Ones(10)}, {});
  EXPECT_LE(v.layer, kTol);
  EXPECT_LE(v.objective, kTol);
}

TEST(Crown, TimingOn784x256Nets) {
  for (int depth : {3, 6}) {
    std::mt19937 rng(7 + depth);
    auto net = mnistLike(rng, std::vector<int>(depth, 256));
    auto box = mnistBox(rng, 0.02);
    auto s = std::chrono::steady_clock::now();
    auto t = bounds::crownBounds(net, box);
    double tc = seconds(s);
    s = std::chrono::steady_clock::now();
    auto ib = bounds::intervalBounds(net, box);
    double ti = seconds(s);
    VectorXd c = VectorXd::Zero(10);
    c[0] = 1, c[1] = -1;
    s = std::chrono::steady_clock::now();
    double lb = bounds::crownLowerBound(net, box, t, c);
    double tl = seconds(s);
    CrownParams ap;
    ap.alpha_iters = 50;
    s = std::chrono::steady_clock::now();
    double la = bounds::crownLowerBound(net, box, t, c, ap);
    double ta = seconds(s);
    auto ci = bounds::countRelus(net, ib), cc = bounds::countRelus(net, t);
    std::printf("[crown] 784-256x%d-10: crownBounds %.3fs (interval %.4fs), crownLowerBound "
                "%.4fs (lb %.4f), alpha(50 it) %.4fs (lb %.4f); unstable interval %lld, crown "
                "%lld\n",
                depth, tc, ti, tl, lb, ta, la, (long long)ci.unstable, (long long)cc.unstable);
    EXPECT_LT(tc, 2.0 * nnopt::test::kSpeedFactor);  // target well under 1 s in Release
    EXPECT_GE(la, lb);
    auto v = checkSound(rng, net, box, t, {c}, {});
    EXPECT_LE(v.layer, kTol);
    EXPECT_LE(v.objective, kTol);
  }
}

// ---------------------------------------------------------------------------
// Errors and edge cases.

TEST(Crown, SizeMismatchThrows) {
  auto net = deepPolyNet();
  spec::Box bad{VectorXd::Zero(3), VectorXd::Ones(3)};
  EXPECT_THROW(bounds::crownBounds(net, bad), Error);
  spec::Box box{Eigen::Vector2d(-1, -1), Eigen::Vector2d(1, 1)};
  auto t = bounds::crownBounds(net, box);
  EXPECT_THROW(bounds::crownLowerBound(net, box, t, VectorXd::Ones(3)), Error);
  EXPECT_THROW(bounds::crownLowerBound(net, bad, t, VectorXd::Ones(2)), Error);
}

TEST(Crown, PointBoxIsExact) {
  std::mt19937 rng(3);
  auto net = randomNet(rng, 5, {{8, {act(nn::ActKind::kTanh)}}, {8, {act(nn::ActKind::kRelu)}},
                                {3, {act(nn::ActKind::kSigmoid)}}});
  VectorXd x = VectorXd::Random(5);
  spec::Box box{x, x};
  auto t = bounds::crownBounds(net, box);
  auto outs = net.forwardAll(x);
  for (size_t i = 0; i < outs.size(); ++i) {
    EXPECT_LE((t.hi[i] - t.lo[i]).maxCoeff(), 1e-9);
    EXPECT_LE((outs[i] - t.lo[i]).cwiseAbs().maxCoeff(), 1e-9);
  }
}

// The knapsack concretisation is exact: it matches brute force over the
// vertices of box ∩ L1 ball on tiny cases and the box minimum for r = inf.
TEST(CrownL1, MinOverBoxL1MatchesBruteForce) {
  std::mt19937 rng(77);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 3;
    VectorXd a(n), lo(n), hi(n), c(n);
    for (int i = 0; i < n; ++i) {
      a[i] = u(rng);
      lo[i] = -1.0 + 0.5 * u(rng);
      hi[i] = lo[i] + 1.0 + u(rng) * 0.5;
      c[i] = lo[i] + (hi[i] - lo[i]) * (0.5 + 0.5 * u(rng));
    }
    const double r = 0.3 + u(rng) * 0.3 + 0.3;
    // Brute force on a fine grid of the box, keeping points inside the ball.
    double best = 1e300;
    const int g = 60;
    for (int i = 0; i <= g; ++i)
      for (int j = 0; j <= g; ++j)
        for (int k = 0; k <= g; ++k) {
          VectorXd x(3);
          x << lo[0] + (hi[0] - lo[0]) * i / g, lo[1] + (hi[1] - lo[1]) * j / g,
              lo[2] + (hi[2] - lo[2]) * k / g;
          if ((x - c).lpNorm<1>() <= r) best = std::min(best, a.dot(x));
        }
    const double v = bounds::minOverBoxL1(a, lo, hi, c, r);
    EXPECT_LE(v, best + 1e-12);                 // a lower bound of every feasible point
    EXPECT_GE(v, best - 3.0 * 1.5 / g * 1.0);   // and close to the grid minimum
    EXPECT_NEAR(bounds::minOverBoxL1(a, lo, hi, c, std::numeric_limits<double>::infinity()),
                a.cwiseMax(0.0).dot(lo) + a.cwiseMin(0.0).dot(hi), 1e-12);
  }
}

// crownBounds with an L1 budget contain every sampled point of box ∩ ball and
// are never looser than without it.
TEST(CrownL1, BoundsContainSampledPointsAndAreTighter) {
  using K = nn::ActKind;
  std::mt19937 rng(91);
  auto R = act(K::kRelu);
  for (int seed = 0; seed < 4; ++seed) {
    auto net = randomNet(rng, 12, {{16, {R}}, {16, {R}}, {4, {}}});
    spec::Box box{VectorXd::Zero(12), VectorXd::Ones(12)};
    VectorXd c(12);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    for (int i = 0; i < 12; ++i) c[i] = u01(rng);
    CrownParams p;
    p.l1_center = c;
    p.l1_radius = 0.8;
    const auto plain = bounds::crownBounds(net, box);
    const auto l1 = bounds::crownBounds(net, box, p);
    for (size_t k = 0; k < net.numLayers(); ++k)
      for (Eigen::Index j = 0; j < l1.lo[k].size(); ++j) {
        EXPECT_GE(l1.lo[k][j], plain.lo[k][j] - 1e-9);
        EXPECT_LE(l1.hi[k][j], plain.hi[k][j] + 1e-9);
      }
    bool strictly = false;
    for (Eigen::Index j = 0; j < l1.hi.back().size(); ++j)
      strictly |= l1.hi.back()[j] - l1.lo.back()[j] < plain.hi.back()[j] - plain.lo.back()[j] - 1e-6;
    EXPECT_TRUE(strictly);
    // Samples: random directions scaled to a random L1 length <= r, clipped to the box.
    std::normal_distribution<double> nd(0.0, 1.0);
    for (int s = 0; s < 3000; ++s) {
      VectorXd d(12);
      for (int i = 0; i < 12; ++i) d[i] = nd(rng) * (u01(rng) < 0.3 ? 1.0 : 0.05);
      d *= p.l1_radius * u01(rng) / d.lpNorm<1>();
      const VectorXd x = (c + d).cwiseMax(box.lo).cwiseMin(box.hi);  // clipping only shrinks |d|
      const auto vals = net.forwardAll(x);
      for (size_t k = 0; k < net.numLayers(); ++k)
        for (Eigen::Index j = 0; j < vals[k].size(); ++j) {
          ASSERT_GE(vals[k][j], l1.lo[k][j] - 1e-9) << "layer " << k << " neuron " << j;
          ASSERT_LE(vals[k][j], l1.hi[k][j] + 1e-9) << "layer " << k << " neuron " << j;
        }
    }
  }
}
