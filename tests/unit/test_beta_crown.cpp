// beta-CROWN (bounds::betaCrownLowerBound) on ReLU-split sub-domains.
// Oracles independent of the bound code: hand-computed minima of tiny
// networks, and forward passes of sampled inputs that satisfy the splits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "bounds/beta_crown.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "random_net.h"
#include "split_points.h"
#include "spec/property.h"

using namespace nnopt;
using bounds::BetaCrownParams;
using bounds::ReluSplit;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

constexpr double kTol = 1e-9;

nn::Layer denseLayer(nn::Linear W, const VectorXd& b) {
  const int64_t rows = W.rows();
  nn::Dense d;
  d.W = std::move(W);
  d.b = b;
  return nn::Layer{"fc", d, {rows}};
}

nn::Layer actLayer(nn::ActKind k, int64_t n, double alpha = 0.1) {
  nn::Activation a;
  a.kind = k;
  a.alpha = alpha;
  return nn::Layer{"act", a, {n}};
}

// in -> Dense(W1, b1) -> act -> Dense(W2, b2).
nn::Network twoLayer(const MatrixXd& W1, const VectorXd& b1, const MatrixXd& W2,
                     const VectorXd& b2, nn::ActKind k = nn::ActKind::kRelu) {
  return nn::Network({W1.cols()}, {denseLayer(W1, b1), actLayer(k, W1.rows()),
                                   denseLayer(W2, b2)});
}

// Dense layers of the given widths (w[0]: the input), activation k between
// them (LeakyReLU slope 0.1).
nn::Network randomDense(std::mt19937& rng, const std::vector<int>& w, nn::ActKind k) {
  return test::randomNet(rng, w[0], std::vector<int>(w.begin() + 1, w.end()), k, 0.1);
}

// 1x6x6 -> conv 3x3 (2 channels, stride 1) -> ReLU -> conv 3x3 (2 channels,
// stride 2, pad 1) -> ReLU -> dense 3. The convolutions in kernel form, or
// stored as CSR (sparse = true).
nn::Network randomConv(std::mt19937& rng, bool sparse) {
  std::normal_distribution<double> nd(0.0, 1.0);
  auto conv = [&](int64_t C, int64_t H, int64_t M, int64_t s, int64_t pad) {
    nn::Conv2d cv;
    cv.C = C, cv.H = H, cv.W = H, cv.M = M, cv.kh = 3, cv.kw = 3, cv.sh = s, cv.sw = s;
    cv.pt = cv.pl = pad;
    cv.OH = cv.OW = (H + 2 * pad - 3) / s + 1;
    cv.K.resize(static_cast<size_t>(M * C * 9));
    for (double& k : cv.K) k = nd(rng) / 3.0;
    nn::Linear lin(cv);
    return sparse ? lin.toSparse() : lin;
  };
  auto bias = [&](int64_t n) {
    VectorXd b(n);
    for (int64_t i = 0; i < n; ++i) b[i] = 0.2 * nd(rng);
    return b;
  };
  nn::Linear c1 = conv(1, 6, 2, 1, 0);  // 2x4x4 = 32
  nn::Linear c2 = conv(2, 4, 2, 2, 1);  // 2x2x2 = 8
  MatrixXd W3(3, 8);
  for (int i = 0; i < W3.size(); ++i) W3.data()[i] = nd(rng) / std::sqrt(8.0);
  std::vector<nn::Layer> layers = {denseLayer(c1, bias(32)), actLayer(nn::ActKind::kRelu, 32),
                                   denseLayer(c2, bias(8)), actLayer(nn::ActKind::kRelu, 8),
                                   denseLayer(W3, bias(3))};
  return nn::Network({1, 6, 6}, layers);
}

// 4 -> dense 12 -> ReLU -> max pool (6 windows of 2) -> dense 8 -> ReLU -> dense 3.
nn::Network randomPoolNet(std::mt19937& rng) {
  const auto base = randomDense(rng, {4, 12, 8, 3}, nn::ActKind::kRelu);
  nn::MaxPool mp;
  for (int64_t j = 0; j < 6; ++j) mp.windows.push_back({2 * j, 2 * j + 1});
  const auto& L = base.layers();
  // The second dense layer reads the 6 pooled values: keep its first 6 columns.
  nn::Dense d2 = L[2].dense();
  d2.W = nn::Linear(d2.W.toDense().leftCols(6).eval());
  return nn::Network({4}, {L[0], L[1], nn::Layer{"pool", mp, {6}}, nn::Layer{"fc", d2, {8}}, L[3],
                           L[4]});
}

spec::Box centredBox(std::mt19937& rng, int n, double radius) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  spec::Box b{VectorXd(n), VectorXd(n)};
  for (int i = 0; i < n; ++i) {
    const double c = u(rng);
    b.lo[i] = c - radius;
    b.hi[i] = c + radius;
  }
  return b;
}

// Unstable ReLU/LeakyReLU neurons of t as (layer, neuron).
std::vector<std::pair<size_t, int64_t>> unstable(const nn::Network& net, const bounds::BoundTable& t) {
  std::vector<std::pair<size_t, int64_t>> u;
  for (size_t i = 0; i < net.numLayers(); ++i) {
    if (!net.layers()[i].isActivation()) continue;
    for (int64_t j = 0; j < t.preLo(i).size(); ++j)
      if (t.preLo(i)[j] < 0 && t.preHi(i)[j] > 0) u.push_back({i, j});
  }
  return u;
}

std::vector<ReluSplit> randomSplits(std::mt19937& rng,
                                    std::vector<std::pair<size_t, int64_t>> cand, int k) {
  std::shuffle(cand.begin(), cand.end(), rng);
  std::bernoulli_distribution coin(0.5);
  std::vector<ReluSplit> s;
  for (int i = 0; i < k && i < static_cast<int>(cand.size()); ++i)
    s.push_back({cand[i].first, cand[i].second, coin(rng)});
  return s;
}


struct SampleCheck {
  int feasible = 0;          // sampled points satisfying the splits
  double violation = -1e300;  // max of (bound - c^T f(x)) over them
};

SampleCheck sampleCheck(std::mt19937& rng, const nn::Network& net, const spec::Box& box,
                        const std::vector<ReluSplit>& splits, const VectorXd& c, double bound,
                        int n) {
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::bernoulli_distribution corner(0.2);
  SampleCheck r;
  for (int k = 0; k < n; ++k) {
    VectorXd x(box.size());
    for (Eigen::Index i = 0; i < x.size(); ++i) {
      const double t = corner(rng) ? std::round(u01(rng)) : u01(rng);
      x[i] = box.lo[i] + t * (box.hi[i] - box.lo[i]);
    }
    const auto outs = net.forwardAll(x);
    if (!test::satisfiesSplits(outs, x, splits)) continue;
    ++r.feasible;
    r.violation = std::max(r.violation, bound - c.dot(outs.back()));
  }
  return r;
}

// Over random split sets of net's unstable neurons: the beta bound is never
// looser than crownLowerBound on the same split table (start slopes equal),
// sound on every sampled point satisfying the splits, and strictly tighter
// somewhere. Returns the number of strict improvements.
int checkRandomSplits(const nn::Network& net, const spec::Box& box, unsigned seed, int sets,
                      const BetaCrownParams& p) {
  std::mt19937 rng(seed);
  const auto root = bounds::crownBounds(net, box);
  const auto cand = unstable(net, root);
  EXPECT_GE(cand.size(), 4u) << "test network too stable to split";
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_int_distribution<int> nsplit(1, 4);
  int improved = 0, checked = 0, feasible_total = 0;
  for (int s = 0; s < sets; ++s) {
    const auto splits = randomSplits(rng, cand, nsplit(rng));
    const auto t = bounds::crownBoundsSplit(net, box, splits, &root);
    if (!t) continue;
    VectorXd c(net.outputSize());
    for (Eigen::Index i = 0; i < c.size(); ++i) c[i] = nd(rng);
    const double crown = bounds::crownLowerBound(net, box, *t, c);
    const auto beta = bounds::betaCrownLowerBound(net, box, *t, splits, c, p);
    ++checked;
    EXPECT_GE(beta.bound, crown - kTol) << "set " << s;
    if (beta.bound > crown + 1e-6) ++improved;
    const SampleCheck sc = sampleCheck(rng, net, box, splits, c, beta.bound, 4000);
    feasible_total += sc.feasible;
    if (sc.feasible > 0) {
      EXPECT_FALSE(beta.empty) << "set " << s << ": empty, yet a sampled point satisfies it";
      EXPECT_LE(sc.violation, kTol) << "set " << s << ": bound above a sampled c^T f(x)";
    }
    // By-products: one coefficient vector per activation layer, x in the box.
    EXPECT_EQ(beta.act_coef.size(), net.numLayers());
    if (beta.x.size() != net.inputSize()) {
      ADD_FAILURE() << "minimising point of the wrong size";
      continue;
    }
    EXPECT_TRUE(((beta.x - box.lo).array() >= -kTol).all() &&
                ((box.hi - beta.x).array() >= -kTol).all());
  }
  EXPECT_GE(checked, sets / 2);
  EXPECT_GT(feasible_total, 100) << "too few sampled points satisfy the splits to test soundness";
  return improved;
}

// The root tightening of verify (every layer, no splits, a time limit):
// sound at sampled points, never looser, and a spent time limit changes
// nothing.
TEST(BetaCrown, TightenEveryLayerAtTheRootWithATimeLimit) {
  int tightened = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed + 40);
    const auto net = randomDense(rng, {5, 12, 12, 12, 3}, nn::ActKind::kRelu);
    const auto box = centredBox(rng, 5, 0.8);
    const auto root = bounds::crownBounds(net, box);
    BetaCrownParams p;
    p.iters = 20;
    bounds::BoundTable none = root;
    ASSERT_TRUE(bounds::betaCrownTightenTable(net, box, none, {}, p, 1 << 20, 0.0));
    for (size_t i = 0; i < net.numLayers(); ++i) {
      EXPECT_EQ(none.lo[i], root.lo[i]);
      EXPECT_EQ(none.hi[i], root.hi[i]);
    }
    bounds::BoundTable tt = root;
    ASSERT_TRUE(bounds::betaCrownTightenTable(net, box, tt, {}, p, 1 << 20));
    for (size_t i = 0; i < net.numLayers(); ++i) {
      EXPECT_TRUE(((tt.lo[i] - root.lo[i]).array() >= -kTol).all()) << "layer " << i;
      EXPECT_TRUE(((root.hi[i] - tt.hi[i]).array() >= -kTol).all()) << "layer " << i;
      if ((tt.lo[i] - root.lo[i]).maxCoeff() > 1e-6 || (root.hi[i] - tt.hi[i]).maxCoeff() > 1e-6)
        ++tightened;
    }
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    for (int k = 0; k < 2000; ++k) {
      VectorXd x(5);
      for (int i = 0; i < 5; ++i) x[i] = box.lo[i] + u01(rng) * (box.hi[i] - box.lo[i]);
      const auto outs = net.forwardAll(x);
      for (size_t i = 0; i < outs.size(); ++i) {
        EXPECT_LE((tt.lo[i] - outs[i]).maxCoeff(), kTol) << "layer " << i;
        EXPECT_LE((outs[i] - tt.hi[i]).maxCoeff(), kTol) << "layer " << i;
      }
    }
  }
  EXPECT_GT(tightened, 0);
}

}  // namespace

// y = relu(x1 + 1) over x in [-1, 1]^2 with the split x1 + x2 - 1 >= 0
// (neuron 0 active). CROWN with the split only clips that neuron's bounds, so
// its bound is min (x1 + 1) over the box = 0. The Lagrangian
// x1 + 1 - b (x1 + x2 - 1) has minimum b over the box for b in [0, 1] and
// 2 - b beyond: beta-CROWN reaches 1 at b = 1, the true minimum (x1 >= 1 - x2 >= 0).
TEST(BetaCrown, HandComputedActiveSplit) {
  MatrixXd W1(2, 2), W2(1, 2);
  W1 << 1, 1, 1, 0;
  W2 << 0, 1;
  const auto net = twoLayer(W1, VectorXd{{-1.0, 1.0}}, W2, VectorXd{{0.0}});
  const spec::Box box{VectorXd::Constant(2, -1.0), VectorXd::Constant(2, 1.0)};
  const std::vector<ReluSplit> splits = {{1, 0, true}};
  const auto t = bounds::crownBoundsSplit(net, box, splits);
  ASSERT_TRUE(t);
  const VectorXd c{{1.0}};
  EXPECT_NEAR(bounds::crownLowerBound(net, box, *t, c), 0.0, kTol);
  BetaCrownParams p;
  p.iters = 100;
  const auto r = bounds::betaCrownLowerBound(net, box, *t, splits, c, p);
  EXPECT_GT(r.bound, 0.95);
  EXPECT_LE(r.bound, 1.0 + kTol);
  EXPECT_FALSE(r.empty);
  ASSERT_EQ(r.state.beta.size(), net.numLayers());
  EXPECT_NEAR(r.state.beta[1][0], 1.0, 0.05);
  EXPECT_EQ(r.state.beta[1][1], 0.0);  // not split
  // Warm-started from its own state, no step: the same bound (the state is the best iterate).
  BetaCrownParams p0;
  p0.iters = 0;
  EXPECT_NEAR(bounds::betaCrownLowerBound(net, box, *t, splits, c, p0, &r.state).bound, r.bound,
              kTol);
  // Cold, no step: CROWN with splits.
  EXPECT_NEAR(bounds::betaCrownLowerBound(net, box, *t, splits, c, p0).bound, 0.0, kTol);
}

// LeakyReLU(0.1), the inactive side: min -(x1 + 1) subject to
// x1 + x2 + 1 <= 0 over [-1, 1]^2 is -1 (x1 <= -1 - x2 <= 0); CROWN with the
// split gives -2, the Lagrangian -(x1 + 1) + b (x1 + x2 + 1) reaches -1 at b = 1.
TEST(BetaCrown, HandComputedInactiveSplitLeakyRelu) {
  MatrixXd W1(2, 2), W2(1, 2);
  W1 << 1, 1, 1, 0;
  W2 << 0, 1;
  const auto net = twoLayer(W1, VectorXd{{1.0, 1.0}}, W2, VectorXd{{0.0}}, nn::ActKind::kLeakyRelu);
  const spec::Box box{VectorXd::Constant(2, -1.0), VectorXd::Constant(2, 1.0)};
  const std::vector<ReluSplit> splits = {{1, 0, false}};
  const auto t = bounds::crownBoundsSplit(net, box, splits);
  ASSERT_TRUE(t);
  const VectorXd c{{-1.0}};
  EXPECT_NEAR(bounds::crownLowerBound(net, box, *t, c), -2.0, kTol);
  BetaCrownParams p;
  p.iters = 100;
  const auto r = bounds::betaCrownLowerBound(net, box, *t, splits, c, p);
  EXPECT_GT(r.bound, -1.05);
  EXPECT_LE(r.bound, -1.0 + kTol);
  EXPECT_NEAR(r.state.beta[1][0], 1.0, 0.05);
}

// y = relu(x1 - x2) with relu(x2 - x1 - 0.5) alongside, both split active,
// over [0, 1]^2: x1 >= x2 and x2 >= x1 + 0.5 cannot both hold. Each neuron's
// bounds alone are consistent, so crownBoundsSplit cannot tell; the
// Lagrangian of +-y, (+-1 - b1 + b2)(x1 - x2) + 0.5 b2, is 0.5 b2 at
// b1 = +-1 + b2: unbounded, and beta-CROWN proves the sub-domain empty.
TEST(BetaCrown, InfeasibleSplitsReportedEmpty) {
  MatrixXd W1(2, 2), W2(1, 2);
  W1 << 1, -1, -1, 1;
  W2 << 1, 0;
  const auto net = twoLayer(W1, VectorXd{{0.0, -0.5}}, W2, VectorXd{{0.0}});
  const spec::Box box{VectorXd::Zero(2), VectorXd::Ones(2)};
  const std::vector<ReluSplit> splits = {{1, 0, true}, {1, 1, true}};
  const auto t = bounds::crownBoundsSplit(net, box, splits);
  ASSERT_TRUE(t) << "CROWN with splits already proves it empty: the test shows nothing";
  std::mt19937 rng(3);
  EXPECT_EQ(sampleCheck(rng, net, box, splits, VectorXd{{1.0}}, 0.0, 20000).feasible, 0);
  for (double sign : {1.0, -1.0}) {
    const VectorXd c{{sign}};
    const double crown = bounds::crownLowerBound(net, box, *t, c);
    EXPECT_LT(crown, 1.5);  // no emptiness from CROWN: a bound within the output range
    BetaCrownParams p;
    p.iters = 500;
    p.time_limit_s = 10;
    const auto r = bounds::betaCrownLowerBound(net, box, *t, splits, c, p);
    EXPECT_TRUE(r.empty) << "objective " << sign << ": bound " << r.bound;
    EXPECT_EQ(r.bound, std::numeric_limits<double>::infinity());
  }
}

// Random dense ReLU and LeakyReLU nets, random split sets.
TEST(BetaCrown, RandomDenseNetsNeverLooserAndSound) {
  BetaCrownParams p;
  p.iters = 40;
  p.time_limit_s = 10;
  int improved = 0;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    std::mt19937 rng(seed);
    const auto k = seed % 2 ? nn::ActKind::kRelu : nn::ActKind::kLeakyRelu;
    const auto net = randomDense(rng, {4, 10, 10, 3}, k);
    const auto box = centredBox(rng, 4, 0.6);
    improved += checkRandomSplits(net, box, 100 + seed, 12, p);
  }
  EXPECT_GT(improved, 0) << "beta never tightened a bound: the test would not see a lost beta term";
}

// Convolutions in kernel and CSR form (the same weights): the same checks,
// and the two forms give the same bounds.
TEST(BetaCrown, RandomConvNetsNeverLooserAndSound) {
  BetaCrownParams p;
  p.iters = 30;
  p.time_limit_s = 10;
  int improved = 0;
  for (unsigned seed = 1; seed <= 3; ++seed) {
    std::mt19937 rng_k(seed), rng_s(seed);
    const auto net = randomConv(rng_k, false);
    const auto net_sparse = randomConv(rng_s, true);
    ASSERT_TRUE(net.layers()[0].dense().W.isConv());
    ASSERT_TRUE(net_sparse.layers()[0].dense().W.isSparse());
    std::mt19937 rng(seed + 50);
    const auto box = centredBox(rng, 36, 0.15);
    improved += checkRandomSplits(net, box, 200 + seed, 8, p);
    improved += checkRandomSplits(net_sparse, box, 200 + seed, 8, p);
    // Same split set and objective on both forms.
    const auto root = bounds::crownBounds(net, box);
    std::mt19937 rs(seed);
    const auto splits = randomSplits(rs, unstable(net, root), 3);
    const auto t = bounds::crownBoundsSplit(net, box, splits);
    const auto ts = bounds::crownBoundsSplit(net_sparse, box, splits);
    ASSERT_EQ(bool(t), bool(ts));
    if (!t) continue;
    const VectorXd c{{1.0, -1.0, 0.5}};
    BetaCrownParams p5 = p;
    p5.iters = 5;
    const double a = bounds::betaCrownLowerBound(net, box, *t, splits, c, p5).bound;
    const double b = bounds::betaCrownLowerBound(net_sparse, box, *ts, splits, c, p5).bound;
    EXPECT_NEAR(a, b, 1e-7 * (1 + std::abs(a)));
  }
  EXPECT_GT(improved, 0);
}

// Max pooling between the split layers.
TEST(BetaCrown, MaxPoolNetNeverLooserAndSound) {
  BetaCrownParams p;
  p.iters = 30;
  p.time_limit_s = 10;
  int improved = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed + 30);
    const auto net = randomPoolNet(rng);
    const auto box = centredBox(rng, 4, 0.6);
    improved += checkRandomSplits(net, box, 300 + seed, 10, p);
  }
  EXPECT_GT(improved, 0);
}

// No splits: alpha-CROWN (the same optimiser, beta absent).
TEST(BetaCrown, NoSplitsIsAlphaCrown) {
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    const auto net = randomDense(rng, {5, 12, 12, 4}, nn::ActKind::kRelu);
    const auto box = centredBox(rng, 5, 0.5);
    const auto t = bounds::crownBounds(net, box);
    VectorXd c = VectorXd::Zero(4);
    c[0] = 1, c[1 + seed % 3] = -1;
    bounds::CrownParams cp;
    cp.alpha_iters = 30;
    cp.alpha_time_limit_s = 10;
    const auto alpha = bounds::crownLowerBoundDetail(net, box, t, c, cp);
    BetaCrownParams p;
    p.iters = 30;
    p.lr_alpha = cp.alpha_lr;
    p.time_limit_s = 10;
    const auto beta = bounds::betaCrownLowerBound(net, box, t, {}, c, p);
    EXPECT_GE(beta.bound, alpha.bound - kTol);
    EXPECT_NEAR(beta.bound, alpha.bound, kTol);
    EXPECT_GE(beta.bound, bounds::crownLowerBound(net, box, t, c) - kTol);
    // Sound on the whole box.
    std::mt19937 rs(seed);
    EXPECT_LE(sampleCheck(rs, net, box, {}, c, beta.bound, 3000).violation, kTol);
  }
}

// A child node warm-started from its parent's alpha/beta: sound, never
// looser than the cold start at the same number of steps' starting point,
// and the parent's state is read only where it applies.
TEST(BetaCrown, WarmStartFromParent) {
  std::mt19937 rng(7);
  const auto net = randomDense(rng, {4, 12, 12, 3}, nn::ActKind::kRelu);
  const auto box = centredBox(rng, 4, 0.6);
  const auto root = bounds::crownBounds(net, box);
  const auto cand = unstable(net, root);
  ASSERT_GE(cand.size(), 3u);
  const VectorXd c{{1.0, -1.0, 0.0}};
  std::vector<ReluSplit> parent = {{cand[0].first, cand[0].second, true}};
  const auto tp = bounds::crownBoundsSplit(net, box, parent, &root);
  ASSERT_TRUE(tp);
  BetaCrownParams p;
  p.iters = 40;
  const auto rp = bounds::betaCrownLowerBound(net, box, *tp, parent, c, p);
  int children = 0;
  for (bool side : {true, false}) {
    auto child = parent;
    child.push_back({cand[1].first, cand[1].second, side});
    const auto tc = bounds::crownBoundsSplit(net, box, child, &*tp);
    if (!tc) continue;
    ++children;
    BetaCrownParams p0 = p;
    p0.iters = 0;
    const auto warm0 = bounds::betaCrownLowerBound(net, box, *tc, child, c, p0, &rp.state);
    const auto warm = bounds::betaCrownLowerBound(net, box, *tc, child, c, p, &rp.state);
    EXPECT_GE(warm.bound, warm0.bound - kTol);
    // The parent's split keeps its multiplier, the new one starts at 0.
    if (rp.state.beta[cand[0].first].size()) {
      EXPECT_NEAR(warm0.state.beta[cand[0].first][cand[0].second],
                  rp.state.beta[cand[0].first][cand[0].second], 0.0);
    }
    const SampleCheck sc = sampleCheck(rng, net, box, child, c, warm.bound, 20000);
    if (sc.feasible > 0) {
      EXPECT_LE(sc.violation, kTol);
    }
  }
  EXPECT_GT(children, 0);
}

TEST(BetaCrown, BadInputThrows) {
  std::mt19937 rng(1);
  const auto net = randomDense(rng, {3, 4, 2}, nn::ActKind::kRelu);
  const spec::Box box{VectorXd::Zero(3), VectorXd::Ones(3)};
  const auto t = bounds::crownBounds(net, box);
  EXPECT_ANY_THROW(bounds::betaCrownLowerBound(net, box, t, {{0, 0, true}}, VectorXd::Ones(2)));
  EXPECT_ANY_THROW(bounds::betaCrownLowerBound(net, box, t, {{1, 9, true}}, VectorXd::Ones(2)));
  EXPECT_ANY_THROW(bounds::betaCrownLowerBound(net, box, t, {}, VectorXd::Ones(3)));
}

// Intermediate bounds by beta-CROWN: never looser than the split table, and
// every sampled point satisfying the splits stays within them.
TEST(BetaCrown, TightenTableSoundAndNeverLooser) {
  int tightened = 0, feasible = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed + 20);
    // Dense, and a max pool below the tightened layers.
    const auto net = seed % 2 ? randomDense(rng, {4, 10, 10, 10, 3}, nn::ActKind::kRelu)
                              : randomPoolNet(rng);
    const auto box = centredBox(rng, 4, 0.6);
    const auto root = bounds::crownBounds(net, box);
    const auto cand = unstable(net, root);
    for (int set = 0; set < 6; ++set) {
      // Splits in the first activation layer only: the layers above get tightened.
      std::vector<std::pair<size_t, int64_t>> first;
      for (const auto& u : cand)
        if (u.first == 1) first.push_back(u);
      const auto splits = randomSplits(rng, first, 3);
      const auto t = bounds::crownBoundsSplit(net, box, splits, &root);
      if (!t) continue;
      bounds::BoundTable tt = *t;
      BetaCrownParams p;
      p.iters = 30;
      if (!bounds::betaCrownTightenTable(net, box, tt, splits, p, 2)) continue;
      for (size_t i = 0; i < net.numLayers(); ++i) {
        EXPECT_TRUE(((tt.lo[i] - t->lo[i]).array() >= -kTol).all()) << "layer " << i;
        EXPECT_TRUE(((t->hi[i] - tt.hi[i]).array() >= -kTol).all()) << "layer " << i;
        if ((tt.lo[i] - t->lo[i]).maxCoeff() > 1e-6 || (t->hi[i] - tt.hi[i]).maxCoeff() > 1e-6)
          ++tightened;
      }
      std::uniform_real_distribution<double> u01(0.0, 1.0);
      for (int k = 0; k < 3000; ++k) {
        VectorXd x(4);
        for (int i = 0; i < 4; ++i) x[i] = box.lo[i] + u01(rng) * (box.hi[i] - box.lo[i]);
        const auto outs = net.forwardAll(x);
        if (!test::satisfiesSplits(outs, x, splits)) continue;
        ++feasible;
        for (size_t i = 0; i < outs.size(); ++i) {
          EXPECT_LE((tt.lo[i] - outs[i]).maxCoeff(), kTol) << "layer " << i;
          EXPECT_LE((outs[i] - tt.hi[i]).maxCoeff(), kTol) << "layer " << i;
        }
      }
      // The objective bound on the tightened table is at least the one on the split table.
      const VectorXd c = VectorXd::Ones(3);
      EXPECT_GE(bounds::betaCrownLowerBound(net, box, tt, splits, c, p).bound,
                bounds::crownLowerBound(net, box, *t, c) - kTol);
    }
  }
  EXPECT_GT(tightened, 0);
  EXPECT_GT(feasible, 100);
}


namespace {

void expectVectorsNear(const std::vector<VectorXd>& a, const std::vector<VectorXd>& b,
                       double tol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size()) << what << " layer " << i;
    if (a[i].size() > 0) EXPECT_LE((a[i] - b[i]).cwiseAbs().maxCoeff(), tol) << what << " layer " << i;
  }
}

// A batch of random sub-domains (some warm-started from a parent's result,
// one without splits, some stopping early at stop_above) bounded at once and
// one at a time: the same results row by row (up to summation order), and
// every bound sound at sampled points satisfying its splits.
void checkBatch(const nn::Network& net, const spec::Box& box, unsigned seed, double stop_quantile) {
  std::mt19937 rng(seed);
  const auto root = bounds::crownBounds(net, box);
  const auto cand = unstable(net, root);
  ASSERT_GE(cand.size(), 4u);
  std::normal_distribution<double> nd(0.0, 1.0);
  VectorXd c(net.outputSize());
  for (Eigen::Index i = 0; i < c.size(); ++i) c[i] = nd(rng);
  BetaCrownParams p;
  p.iters = 8;
  p.time_limit_s = 100;
  std::vector<std::vector<ReluSplit>> splits;
  std::vector<bounds::BoundTable> tables;
  std::vector<bounds::BetaCrownState> parents;
  std::uniform_int_distribution<int> nsplit(1, 4);
  splits.push_back({});
  tables.push_back(root);
  parents.emplace_back();
  while (splits.size() < 14) {
    auto s = randomSplits(rng, cand, nsplit(rng));
    const auto t = bounds::crownBoundsSplit(net, box, s, &root);
    if (!t) continue;
    // The parent: the same splits but the last (its state warm-starts the node).
    std::vector<ReluSplit> ps(s.begin(), s.end() - 1);
    const auto tp = bounds::crownBoundsSplit(net, box, ps, &root);
    parents.push_back(tp ? bounds::betaCrownLowerBound(net, box, *tp, ps, c, p).state
                         : bounds::BetaCrownState{});
    splits.push_back(std::move(s));
    tables.push_back(*t);
  }
  std::vector<double> crown;
  for (const auto& t : tables) crown.push_back(bounds::crownLowerBound(net, box, t, c));
  std::vector<double> sorted = crown;
  std::sort(sorted.begin(), sorted.end());
  // Between two starting bounds (a tie would be decided by rounding).
  const size_t q = static_cast<size_t>(stop_quantile * sorted.size());
  p.stop_above = stop_quantile < 1 ? 0.5 * (sorted[q - 1] + sorted[q])
                                   : std::numeric_limits<double>::infinity();
  std::vector<bounds::BetaCrownNode> nodes;
  for (size_t b = 0; b < splits.size(); ++b)
    nodes.push_back({&tables[b], &splits[b], b % 2 ? &parents[b] : nullptr});
  const auto batch = bounds::betaCrownLowerBoundBatch(net, box, nodes, c, p);
  ASSERT_EQ(batch.size(), nodes.size());
  int early = 0;
  for (size_t b = 0; b < nodes.size(); ++b) {
    const auto one = bounds::betaCrownLowerBound(net, box, tables[b], splits[b], c, p, nodes[b].warm);
    const std::string what = "node " + std::to_string(b);
    EXPECT_EQ(batch[b].empty, one.empty) << what;
    if (one.empty) continue;
    EXPECT_NEAR(batch[b].bound, one.bound, 1e-7 * (1 + std::abs(one.bound))) << what;
    EXPECT_EQ(batch[b].iters, one.iters) << what;
    if (one.iters < p.iters) ++early;
    EXPECT_LE((batch[b].x - one.x).cwiseAbs().maxCoeff(), 1e-7) << what;
    expectVectorsNear(batch[b].act_coef, one.act_coef, 1e-6, what + " act_coef");
    expectVectorsNear(batch[b].state.alpha, one.state.alpha, 1e-6, what + " alpha");
    expectVectorsNear(batch[b].state.beta, one.state.beta, 1e-6, what + " beta");
    if (nodes[b].warm == nullptr) EXPECT_GE(batch[b].bound, crown[b] - kTol) << what;
    const SampleCheck sc = sampleCheck(rng, net, box, splits[b], c, batch[b].bound, 1000);
    if (sc.feasible > 0) EXPECT_LE(sc.violation, kTol) << what;
  }
  if (stop_quantile < 1) EXPECT_GT(early, 0) << "no row stopped early: the test would not see it";
}

}  // namespace

TEST(BetaCrown, BatchMatchesOneAtATime) {
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed + 60);
    const auto k = seed % 2 ? nn::ActKind::kRelu : nn::ActKind::kLeakyRelu;
    const auto net = randomDense(rng, {6, 12, 12, 12, 3}, k);
    const auto box = centredBox(rng, 6, 0.6);
    checkBatch(net, box, 500 + seed, seed <= 2 ? 0.5 : 1.0);
  }
}

TEST(BetaCrown, BatchMatchesOneAtATimeOnConvolutions) {
  for (bool sparse : {false, true}) {
    std::mt19937 rng(9);
    const auto net = randomConv(rng, sparse);
    std::mt19937 rb(59);
    checkBatch(net, centredBox(rb, 36, 0.15), 600, 0.5);
  }
}

// Max pooling: the batch falls back to one node at a time (same results).
TEST(BetaCrown, BatchWithMaxPoolIsOneAtATime) {
  std::mt19937 rng(33);
  const auto net = randomPoolNet(rng);
  checkBatch(net, centredBox(rng, 4, 0.6), 700, 0.5);
}

TEST(BetaCrown, BatchBadInputThrows) {
  std::mt19937 rng(1);
  const auto net = randomDense(rng, {3, 4, 2}, nn::ActKind::kRelu);
  const spec::Box box{VectorXd::Zero(3), VectorXd::Ones(3)};
  const auto t = bounds::crownBounds(net, box);
  const std::vector<ReluSplit> none, bad = {{1, 9, true}};
  EXPECT_ANY_THROW(bounds::betaCrownLowerBoundBatch(net, box, {{&t, &none}, {&t, &bad}},
                                                    VectorXd::Ones(2)));
  EXPECT_ANY_THROW(bounds::betaCrownLowerBoundBatch(net, box, {{&t, &none}, {nullptr, &none}},
                                                    VectorXd::Ones(2)));
  EXPECT_ANY_THROW(bounds::betaCrownLowerBoundBatch(net, box, {{&t, &none}, {&t, &none}},
                                                    VectorXd::Ones(3)));
  EXPECT_TRUE(bounds::betaCrownLowerBoundBatch(net, box, {}, VectorXd::Ones(2)).empty());
}
