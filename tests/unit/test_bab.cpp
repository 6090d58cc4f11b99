// Branch and bound over ReLU splits (bab/relu_bab.h) and the crown extensions
// it uses (bounds::crownBoundsSplit, bounds::crownLowerBoundDetail).
// References: the big-M MIP solved by CBC (formulate::embedNetwork +
// solve::solveMip) and brute force over a dense grid of a 2-D input box.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "bab/node_lp.h"
#include "bab/relu_bab.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "formulate/embed.h"
#include "model/math_model.h"
#include "nn/network.h"
#include "solve/solver.h"
#include "spec/property.h"
#include "random_net.h"
#include "split_points.h"
#include "bab_fixtures.h"

using namespace nnopt;
using bounds::ReluSplit;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using test::randomBox;
using test::randomNet;
using test::samplePoint;
using test::unstable;

namespace {

nn::Layer denseLayer(const MatrixXd& W, const VectorXd& b) {
  nn::Dense d;
  d.W = W;
  d.b = b;
  return nn::Layer{"fc", d, {W.rows()}};
}

nn::Layer actLayer(nn::ActKind kind, int64_t n, double alpha = 0.0) {
  nn::Activation a;
  a.kind = kind;
  a.alpha = alpha;
  return nn::Layer{"act", a, {n}};
}





// Up to k random splits (random directions) of the unstable neurons of root.
std::vector<ReluSplit> randomSplits(std::mt19937& rng, const nn::Network& net,
                                    const bounds::BoundTable& root, size_t k) {
  auto cand = unstable(net, root);
  std::shuffle(cand.begin(), cand.end(), rng);
  std::bernoulli_distribution coin(0.5);
  std::vector<ReluSplit> splits(cand.begin(), cand.begin() + std::min(k, cand.size()));
  for (auto& s : splits) s.active = coin(rng);
  return splits;
}


// min c^T f(x) over the box by CBC on the big-M model (crown bounds).
double mipOptimum(const nn::Network& net, const spec::Box& box, const VectorXd& c) {
  model::MathModel m;
  const auto e =
      formulate::embedNetwork(m, net, bounds::crownBounds(net, box), formulate::EmbedOptions{});
  for (Eigen::Index j = 0; j < c.size(); ++j)
    if (c[j] != 0.0) m.objLinear().push_back({e.output_vars[j], c[j]});
  m.setSense(model::Sense::kMinimize);
  const auto sol = solve::solveMip(m);
  EXPECT_EQ(sol.status, solve::SolveStatus::kOptimal);
  return sol.objective;
}

VectorXd marginObjective(int n_out) {
  VectorXd c = VectorXd::Zero(n_out);
  c[0] = 1.0;
  c[1] = -1.0;
  return c;
}

// A random 5-input net of the given widths (last = 2 outputs), a box, the
// margin objective and CBC's optimum of it.
struct MarginCase {
  nn::Network net;
  spec::Box box;
  VectorXd c;
  double mip;
};
MarginCase marginCase(std::mt19937& rng, const std::vector<int>& widths) {
  MarginCase m{randomNet(rng, 5, widths), randomBox(rng, 5, 2.0), marginObjective(2), 0.0};
  m.mip = mipOptimum(m.net, m.box, m.c);
  return m;
}

// Decision mode with p's other settings: min c^T f > mip - 5 % holds, and
// min c^T f > mip + 5 % is violated by a replayed point below the threshold.
void expectDecisions(const nn::Network& net, const spec::Box& box, const VectorXd& c,
                     const bab::BabParams& p, double mip, const std::string& what) {
  bab::BabParams d = p;
  d.mode = bab::BabMode::kDecide;
  d.max_nodes = 10'000'000;
  d.threshold = mip - 0.05 * (1 + std::abs(mip));
  EXPECT_EQ(bab::reluBranchAndBound(net, box, c, d).status, bab::BabStatus::kHolds) << what;
  d.threshold = mip + 0.05 * (1 + std::abs(mip));
  const auto v = bab::reluBranchAndBound(net, box, c, d);
  ASSERT_EQ(v.status, bab::BabStatus::kViolated) << what;
  EXPECT_LT(v.objective, d.threshold) << what;
  EXPECT_NEAR(v.objective, (c.transpose() * net.forward(v.x))(0), 1e-9) << what;
}

bab::BabParams tightParams() {
  bab::BabParams p;
  p.abs_gap = 1e-8;
  p.rel_gap = 1e-9;
  p.time_limit = 60;
  return p;
}

}  // namespace

// ---------------------------------------------------------------- crown with splits

TEST(CrownSplit, BoundsContainSampledPointsOfTheSubDomain) {
  std::mt19937 rng(11);
  int checked = 0, empty = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const auto net = randomNet(rng, 4, {8, 8, 3});
    const auto box = randomBox(rng, 4, 1.5);
    const auto root = bounds::crownBounds(net, box);
    const auto splits = randomSplits(rng, net, root, 3);
    if (splits.empty()) continue;
    const auto t = bounds::crownBoundsSplit(net, box, splits, trial % 2 ? &root : nullptr);
    int inside = 0;
    for (int k = 0; k < 3000; ++k) {
      const VectorXd x = samplePoint(rng, box);
      const auto vals = net.forwardAll(x);
      if (!test::satisfiesSplits(vals, x, splits)) continue;
      ++inside;
      ASSERT_TRUE(t.has_value()) << "trial " << trial << ": a point satisfies the splits";
      for (size_t i = 0; i < net.numLayers(); ++i)
        for (Eigen::Index j = 0; j < vals[i].size(); ++j) {
          const double tol = 1e-9 * (1 + std::abs(vals[i][j]));
          ASSERT_GE(vals[i][j], t->lo[i][j] - tol) << "trial " << trial << " layer " << i;
          ASSERT_LE(vals[i][j], t->hi[i][j] + tol) << "trial " << trial << " layer " << i;
        }
    }
    checked += inside;
    if (!t) ++empty;
    if (t) {
      // The split neurons are clipped; every table is at least as tight as the base.
      for (const auto& s : splits) {
        if (s.active) {
          EXPECT_GE(t->preLo(s.layer)[s.neuron], 0.0);
        } else {
          EXPECT_LE(t->preHi(s.layer)[s.neuron], 0.0);
        }
      }
      if (trial % 2)
        for (size_t i = 0; i < net.numLayers(); ++i) {
          EXPECT_TRUE((t->lo[i].array() >= root.lo[i].array()).all());
          EXPECT_TRUE((t->hi[i].array() <= root.hi[i].array()).all());
        }
    }
  }
  EXPECT_GT(checked, 1000);
}

// crownNeuronBounds on a node's stale table (the root's with the splits
// clipped) bounds every sampled point of the node, and on the table of
// crownBoundsSplit (whose layers it back-substitutes through) it reproduces
// that table's bounds wherever the back-substitution, not the interval step,
// set them.
TEST(CrownSplit, NeuronBoundsContainSampledPointsOfTheNode) {
  std::mt19937 rng(17);
  int checked = 0, reproduced = 0, tighter = 0;
  for (int trial = 0; trial < 30; ++trial) {
    const auto net = randomNet(rng, 4, {8, 8, 8, 3});
    const auto box = randomBox(rng, 4, 1.5);
    const auto root = bounds::crownBounds(net, box);
    const auto splits = randomSplits(rng, net, root, 3);
    if (splits.empty()) continue;
    const auto stale = bab::withSplits(net, root, splits);
    const auto full = bounds::crownBoundsSplit(net, box, splits);
    if (!stale || !full) continue;
    for (size_t layer = 1; layer < net.numLayers(); ++layer) {
      if (!net.layers()[layer].isActivation()) continue;
      const auto n = net.layerInSize(layer);
      std::vector<int64_t> all(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) all[static_cast<size_t>(j)] = j;
      VectorXd lo, hi, flo, fhi;
      bounds::crownNeuronBounds(net, box, *stale, layer, all, lo, hi);
      bounds::crownNeuronBounds(net, box, *full, layer, all, flo, fhi);
      for (int k = 0; k < 500; ++k) {
        const VectorXd x = samplePoint(rng, box);
        const auto vals = net.forwardAll(x);
        if (!test::satisfiesSplits(vals, x, splits)) continue;
        ++checked;
        for (Eigen::Index j = 0; j < n; ++j) {
          const double z = vals[layer - 1][j], tol = 1e-9 * (1 + std::abs(z));
          ASSERT_GE(z, lo[j] - tol) << "trial " << trial << " layer " << layer;
          ASSERT_LE(z, hi[j] + tol) << "trial " << trial << " layer " << layer;
          ASSERT_GE(z, flo[j] - tol) << "trial " << trial << " layer " << layer;
          ASSERT_LE(z, fhi[j] + tol) << "trial " << trial << " layer " << layer;
        }
      }
      for (Eigen::Index j = 0; j < n; ++j) {
        // The full table is the intersection of these bounds with others.
        EXPECT_GE(full->preLo(layer)[j], flo[j] - 1e-9);
        EXPECT_LE(full->preHi(layer)[j], fhi[j] + 1e-9);
        if (std::abs(full->preLo(layer)[j] - flo[j]) < 1e-9) ++reproduced;
        if (lo[j] > stale->preLo(layer)[j] + 1e-9) ++tighter;
      }
    }
  }
  EXPECT_GT(checked, 1000);
  EXPECT_GT(reproduced, 50);
  EXPECT_GT(tighter, 0);  // fresh bounds improve on some stale ones
  const auto net = randomNet(rng, 4, {8, 3});
  const auto box = randomBox(rng, 4, 1.0);
  const auto t = bounds::crownBounds(net, box);
  VectorXd lo, hi;
  EXPECT_THROW(bounds::crownNeuronBounds(net, box, t, 0, {0}, lo, hi), Error);  // no dense below
  EXPECT_THROW(bounds::crownNeuronBounds(net, box, t, 2, {0}, lo, hi), Error);  // not an activation
  EXPECT_THROW(bounds::crownNeuronBounds(net, box, t, 1, {8}, lo, hi), Error);  // out of range
}

TEST(CrownSplit, ContradictorySplitsGiveAnEmptyDomain) {
  // y = relu(x) on x in [-1, 1], then t2 = y - 2 feeds a second ReLU: t2 <= -1
  // everywhere, so "t2 active" is empty.
  MatrixXd W1(1, 1), W2(1, 1), W3(1, 1);
  W1 << 1;
  W2 << 1;
  W3 << 1;
  VectorXd b0(1), b2(1);
  b0 << 0;
  b2 << -2;
  nn::Network net({1}, {denseLayer(W1, b0), actLayer(nn::ActKind::kRelu, 1), denseLayer(W2, b2),
                        actLayer(nn::ActKind::kRelu, 1), denseLayer(W3, b0)});
  spec::Box box{VectorXd::Constant(1, -1.0), VectorXd::Constant(1, 1.0)};
  EXPECT_FALSE(bounds::crownBoundsSplit(net, box, {{3, 0, true}}).has_value());
  EXPECT_TRUE(bounds::crownBoundsSplit(net, box, {{3, 0, false}}).has_value());
  // Inactive first neuron: x <= 0, so y = 0 and the output bounds are exact.
  auto t = bounds::crownBoundsSplit(net, box, {{1, 0, false}});
  ASSERT_TRUE(t.has_value());
  EXPECT_LE(t->hi[1][0], 1e-12);
  EXPECT_THROW(bounds::crownBoundsSplit(net, box, {{2, 0, true}}), Error);  // not an activation
  EXPECT_THROW(bounds::crownBoundsSplit(net, box, {{1, 5, true}}), Error);  // out of range
}

TEST(CrownSplit, LowerBoundDetailIsConsistent) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 10; ++trial) {
    const auto net = randomNet(rng, 5, {8, 8, 2});
    const auto box = randomBox(rng, 5, 1.0);
    const auto t = bounds::crownBounds(net, box);
    const VectorXd c = marginObjective(2);
    const auto d = bounds::crownLowerBoundDetail(net, box, t, c);
    EXPECT_DOUBLE_EQ(d.bound, bounds::crownLowerBound(net, box, t, c));
    EXPECT_LE(d.symbolic, d.bound);
    ASSERT_EQ(d.x.size(), 5);
    EXPECT_TRUE(box.contains(d.x, 0.0));
    ASSERT_EQ(d.act_coef.size(), net.numLayers());
    for (size_t i = 0; i < net.numLayers(); ++i)
      EXPECT_EQ(d.act_coef[i].size(), net.layers()[i].isActivation() ? 8 : 0);
    for (int k = 0; k < 500; ++k)
      EXPECT_LE(d.bound, c.dot(net.forward(samplePoint(rng, box))) + 1e-9);
  }
}

// ---------------------------------------------------------------- branch and bound

TEST(ReluBab, OptimumMatchesMipOnRandomNets) {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 20; ++trial) {
    const auto net = randomNet(rng, 4, {8, 8, 2});
    const auto box = randomBox(rng, 4, 1.5);
    const VectorXd c = marginObjective(2);
    const double mip = mipOptimum(net, box, c);
    const auto r = bab::reluBranchAndBound(net, box, c, tightParams());
    ASSERT_EQ(r.status, bab::BabStatus::kOptimal) << "trial " << trial;
    EXPECT_NEAR(r.objective, mip, 1e-6) << "trial " << trial;
    EXPECT_LE(r.lower_bound, r.objective + 1e-12);
    EXPECT_GE(r.lower_bound, mip - 1e-6);
    ASSERT_EQ(r.x.size(), 4);
    EXPECT_TRUE(box.contains(r.x, 0.0));
    EXPECT_DOUBLE_EQ(r.objective, c.dot(net.forward(r.x)));  // replayed value
  }
}

TEST(ReluBab, OptimumMatchesMipOnDeeperAndLeakyNets) {
  std::mt19937 rng(77);
  for (int trial = 0; trial < 6; ++trial) {
    const bool leaky = trial % 2 == 1;
    const auto net = randomNet(rng, 6, {10, 10, 10, 3},
                               leaky ? nn::ActKind::kLeakyRelu : nn::ActKind::kRelu, 0.1);
    const auto box = randomBox(rng, 6, 1.0);
    VectorXd c(3);
    c << 1.0, -0.5, -0.5;
    const double mip = mipOptimum(net, box, c);
    // Both node LP forms (the compact one substitutes the stable neurons out).
    for (auto form : {bab::NodeLpForm::kFull, bab::NodeLpForm::kCompact}) {
      auto p = tightParams();
      p.lp_form = form;
      const auto r = bab::reluBranchAndBound(net, box, c, p);
      ASSERT_EQ(r.status, bab::BabStatus::kOptimal) << "trial " << trial;
      EXPECT_NEAR(r.objective, mip, 1e-6) << "trial " << trial;
      EXPECT_GE(r.lower_bound, mip - 1e-6) << "trial " << trial;
    }
  }
}

TEST(ReluBab, OptimumMatchesDenseGridOn2dInput) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 5; ++trial) {
    const auto net = randomNet(rng, 2, {10, 10, 1});
    const auto box = randomBox(rng, 2, 2.0);
    const VectorXd c = VectorXd::Ones(1);
    const int n = 400;
    double grid = std::numeric_limits<double>::infinity();
    for (int a = 0; a <= n; ++a)
      for (int b = 0; b <= n; ++b) {
        VectorXd x(2);
        x << box.lo[0] + (box.hi[0] - box.lo[0]) * a / n, box.lo[1] + (box.hi[1] - box.lo[1]) * b / n;
        grid = std::min(grid, c.dot(net.forward(x)));
      }
    const auto r = bab::reluBranchAndBound(net, box, c, tightParams());
    ASSERT_EQ(r.status, bab::BabStatus::kOptimal);
    // The grid misses the exact minimiser by at most Lipschitz * spacing.
    EXPECT_LE(r.objective, grid + 1e-9);
    EXPECT_GE(r.objective, grid - 0.05);
    EXPECT_NEAR(r.objective, mipOptimum(net, box, c), 1e-6);
  }
}

// Decision mode with node LPs and with beta-CROWN nodes on the parents'
// tables without LPs (verify's default for fully-connected networks; leaves
// get their exact LP): decided both ways as the MIP optimum says.
TEST(ReluBab, DecisionModeNeverHoldsWhenACounterexampleExists) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 12; ++trial) {
    const auto net = randomNet(rng, 4, {8, 8, 2});
    const auto box = randomBox(rng, 4, 1.5);
    const VectorXd c = marginObjective(2);
    const double mip = mipOptimum(net, box, c);
    for (double delta : {-0.05, 0.05}) for (bool beta_only : {false, true}) {
      SCOPED_TRACE(beta_only ? "beta-CROWN nodes without LP" : "node LPs");
      bab::BabParams p = tightParams();
      p.mode = bab::BabMode::kDecide;
      p.threshold = mip + delta;
      p.order = trial % 2 ? bab::BabOrder::kDepthFirst : bab::BabOrder::kBestFirst;
      if (beta_only) {
        bab::useBetaNodes(p);
        p.branching = bab::BabBranching::kBabsr;
      }
      const auto r = bab::reluBranchAndBound(net, box, c, p);
      if (delta > 0) {
        ASSERT_EQ(r.status, bab::BabStatus::kViolated) << "trial " << trial;
        EXPECT_LT(r.objective, p.threshold);
        EXPECT_DOUBLE_EQ(r.objective, c.dot(net.forward(r.x)));
        // The nodes dropped when the violation stopped the search still
        // count: the lower bound stays below the optimum.
        EXPECT_LE(r.lower_bound, mip + 1e-6) << "trial " << trial;
      } else {
        ASSERT_EQ(r.status, bab::BabStatus::kHolds) << "trial " << trial;
        EXPECT_GT(r.lower_bound, p.threshold);
      }
    }
  }
}

TEST(ReluBab, OptionsDoNotChangeTheOptimum) {
  std::mt19937 rng(8);
  const auto net = randomNet(rng, 5, {10, 10, 2});
  const auto box = randomBox(rng, 5, 2.0);
  const VectorXd c = marginObjective(2);
  const double mip = mipOptimum(net, box, c);
  for (int variant = 0; variant < 14; ++variant) {
    bab::BabParams p = tightParams();
    p.order = variant % 2 ? bab::BabOrder::kDepthFirst : bab::BabOrder::kBestFirst;
    if (variant == 2) p.branching = bab::BabBranching::kBabsr;
    if (variant == 3) p.strong_branching = 0;
    if (variant == 4) {
      p.cut_rounds_root = 0;
      p.root_lp_time_limit = 0;
    }
    if (variant == 5) {
      p.cut_rounds_node = 2;
      p.crown_node.alpha_iters = 5;
    }
    if (variant == 6) p.beta_iters = 5;  // beta-CROWN node bounds
    if (variant == 7) {  // parents' tables with clipped splits, two workers
      p.node_crown = false;
      p.threads = 2;
    }
    if (variant == 8 || variant == 9) {  // beta-CROWN nodes without LPs (attack's bab), LPs at leaves
      bab::useBetaNodes(p);
      p.threads = variant - 7;
    }
    if (variant == 10) p.fresh_candidates = 0;  // no fresh candidate bounds
    if (variant == 11) {  // every candidate refreshed, beta-CROWN nodes
      bab::useBetaNodes(p);
      p.fresh_candidates = 1000;
    }
    if (variant == 12 || variant == 13) {  // beta-CROWN nodes one at a time / batches of 4
      bab::useBetaNodes(p);
      p.batch = variant == 12 ? 1 : 4;
    }
    const auto r = bab::reluBranchAndBound(net, box, c, p);
    ASSERT_EQ(r.status, bab::BabStatus::kOptimal) << "variant " << variant;
    EXPECT_NEAR(r.objective, mip, 1e-6) << "variant " << variant;
  }
}

// Fresh candidate bounds (BabParams::fresh_candidates) fix neurons that the
// parents' tables call unstable: on deeper random nets they engage, and the
// optimum (CBC's) is the same with them, without them, with node LPs and with
// beta-CROWN nodes; the decision mode agrees with the optimum's sign.
TEST(ReluBab, FreshCandidateBoundsKeepTheOptimum) {
  std::mt19937 rng(31);
  long fixed = 0;
  for (int trial = 0; trial < 6; ++trial) {
    const MarginCase mc = marginCase(rng, {10, 10, 10, 10, 2});
    const auto& [net, box, c, mip] = mc;
    const double tol = 1e-6 * (1 + std::abs(mip));
    for (int variant = 0; variant < 4; ++variant) {
      bab::BabParams p = tightParams();
      p.node_crown = false;  // parents' tables: the stale bounds the refresh is for
      // beta-CROWN nodes (LPs at leaves only) do not close a 1e-8 gap on
      // every net: they are checked in decision mode and by their bound.
      const bool beta = variant >= 2;
      if (beta) {
        bab::useBetaNodes(p);
        p.max_nodes = 5000;
      }
      p.fresh_candidates = variant % 2 ? 0 : 8;
      const auto r = bab::reluBranchAndBound(net, box, c, p);
      const std::string what = "trial " + std::to_string(trial) + " variant " + std::to_string(variant);
      if (!beta) {
        ASSERT_EQ(r.status, bab::BabStatus::kOptimal) << what;
        EXPECT_NEAR(r.objective, mip, tol) << what;
      }
      EXPECT_LE(r.lower_bound, mip + tol) << what;
      EXPECT_GE(r.objective, mip - tol) << what;
      if (variant % 2) EXPECT_EQ(r.fresh_fixed, 0) << what;
      fixed += r.fresh_fixed;
      expectDecisions(net, box, c, p, mip, what);
    }
  }
  EXPECT_GT(fixed, 0);
}

// Batched beta-CROWN nodes (BabParams::batch: a worker bounds the children
// of many open nodes in one betaCrownLowerBoundBatch call): the optimum
// (CBC's), the lower bound and the decisions are those of the one-at-a-time
// search, best-first and depth-first, one and two workers.
TEST(ReluBab, BatchedNodesKeepTheOptimumAndDecisions) {
  std::mt19937 rng(77);
  long nodes_batched = 0;
  for (int trial = 0; trial < 4; ++trial) {  // 200 to 24,000 nodes each
    const MarginCase mc = marginCase(rng, {10, 10, 10, 2});
    const auto& [net, box, c, mip] = mc;
    const double tol = 1e-5 * (1 + std::abs(mip));
    for (int variant = 0; variant < 4; ++variant) {
      bab::BabParams p = tightParams();
      bab::useBetaNodes(p);
      p.abs_gap = 1e-6;  // within tol of CBC's optimum
      p.rel_gap = 1e-6;
      p.batch = variant == 0 ? 1 : 8;
      p.order = variant == 2 ? bab::BabOrder::kDepthFirst : bab::BabOrder::kBestFirst;
      p.threads = variant == 3 ? 2 : 1;
      const std::string what = "trial " + std::to_string(trial) + " variant " + std::to_string(variant);
      const auto r = bab::reluBranchAndBound(net, box, c, p);
      ASSERT_EQ(r.status, bab::BabStatus::kOptimal) << what;
      EXPECT_NEAR(r.objective, mip, tol) << what;
      EXPECT_LE(r.lower_bound, mip + tol) << what;
      if (p.batch > 1) nodes_batched += r.nodes;
      expectDecisions(net, box, c, p, mip, what);
    }
  }
  EXPECT_GT(nodes_batched, 100) << "the searches were too small to batch anything";
}

TEST(ReluBab, LimitsAndStartPoints) {
  std::mt19937 rng(4);
  const auto net = randomNet(rng, 6, {16, 16, 2});
  const auto box = randomBox(rng, 6, 2.0);
  const VectorXd c = marginObjective(2);
  bab::BabParams p = tightParams();
  p.max_nodes = 1;
  p.cut_rounds_root = 0;
  auto r = bab::reluBranchAndBound(net, box, c, p);
  if (r.status != bab::BabStatus::kOptimal) {
    EXPECT_EQ(r.status, bab::BabStatus::kNodeLimit);
    EXPECT_LE(r.lower_bound, r.objective);
  }
  // A start point is replayed: the result is never worse than it.
  p = tightParams();
  const VectorXd x0 = box.lo;
  p.starts = {x0, box.hi + VectorXd::Ones(6)};  // the second is clamped into the box
  r = bab::reluBranchAndBound(net, box, c, p);
  ASSERT_EQ(r.status, bab::BabStatus::kOptimal);
  EXPECT_LE(r.objective, c.dot(net.forward(x0)));
  EXPECT_LE(r.objective, c.dot(net.forward(box.hi)));
}

// A search stopped by its node limit, with one or two workers, reports a
// lower bound no higher than the optimum: nodes held by a worker when another
// hits the limit stay open (their bounds count).
TEST(ReluBab, StoppedSearchesKeepASoundBound) {
  std::mt19937 rng(21);
  int stopped = 0;
  for (int trial = 0; trial < 5; ++trial) {
    const auto net = randomNet(rng, 6, {16, 16, 2});
    const auto box = randomBox(rng, 6, 2.0);
    const VectorXd c = marginObjective(2);
    const double mip = mipOptimum(net, box, c);
    for (int threads : {1, 2, 3}) {
      for (long limit : {2L, 5L, 20L, 60L}) {
        bab::BabParams p = tightParams();
        p.threads = threads;
        p.order = limit % 2 ? bab::BabOrder::kBestFirst : bab::BabOrder::kDepthFirst;
        p.max_nodes = limit;
        p.root_lp_time_limit = 0;
        p.cut_rounds_root = 0;
        const auto r = bab::reluBranchAndBound(net, box, c, p);
        SCOPED_TRACE("trial " + std::to_string(trial) + " threads " + std::to_string(threads) +
                     " limit " + std::to_string(limit) + " nodes " + std::to_string(r.nodes));
        EXPECT_LE(r.lower_bound, mip + 1e-6);
        EXPECT_GE(r.objective, mip - 1e-6);
        EXPECT_DOUBLE_EQ(r.objective, c.dot(net.forward(r.x)));
        if (r.status == bab::BabStatus::kNodeLimit) ++stopped;
        else EXPECT_EQ(r.status, bab::BabStatus::kOptimal);
      }
    }
  }
  EXPECT_GT(stopped, 0);  // the limit was hit at least once (the test is not vacuous)
}

// The closed share of the domain (BabResult::closed_fraction): 1 when a
// decision search finishes, below 1 when a node limit stops it, and never
// smaller with a larger limit (one thread, the same deterministic search
// stopped later).
TEST(ReluBab, ClosedFractionGrowsWithTheSearchAndIsOneWhenDone) {
  std::mt19937 rng(57);
  int stopped = 0;
  for (int trial = 0; trial < 6; ++trial) {
    const auto net = randomNet(rng, 5, {12, 12, 2});
    const auto box = randomBox(rng, 5, 1.5);
    const VectorXd c = marginObjective(2);
    const double mip = mipOptimum(net, box, c);
    double last = 0.0;
    for (long limit : {1L, 3L, 10L, 30L, 100L, 1000000L}) {
      bab::BabParams p = tightParams();
      p.mode = bab::BabMode::kDecide;
      p.threshold = mip - 0.02;  // holds, by a small margin: a tree to search
      p.order = trial % 2 ? bab::BabOrder::kDepthFirst : bab::BabOrder::kBestFirst;
      p.max_nodes = limit;
      const auto r = bab::reluBranchAndBound(net, box, c, p);
      SCOPED_TRACE("trial " + std::to_string(trial) + " limit " + std::to_string(limit));
      EXPECT_GE(r.closed_fraction, last - 1e-12);
      last = r.closed_fraction;
      if (r.status == bab::BabStatus::kHolds) {
        EXPECT_DOUBLE_EQ(r.closed_fraction, 1.0);
      } else {
        ASSERT_EQ(r.status, bab::BabStatus::kNodeLimit);
        EXPECT_GE(r.closed_fraction, 0.0);
        EXPECT_LT(r.closed_fraction, 1.0);
        ++stopped;
      }
    }
    EXPECT_DOUBLE_EQ(last, 1.0);  // the unlimited search finished
  }
  EXPECT_GT(stopped, 0);
}

TEST(ReluBab, SharedUpperBoundPrunesAndIsLoweredByOwnPoints) {
  // Racing hooks: with another solver's replayed optimum in shared_upper the
  // search still proves a lower bound within the gap of it, needs no more
  // nodes than alone, publishes its lower bound, and never raises the shared
  // value; a cancelled search stops at once with a timeout.
  std::mt19937 rng(77);
  for (int trial = 0; trial < 6; ++trial) {
    const auto net = randomNet(rng, 5, {12, 12, 2});
    const auto box = randomBox(rng, 5, 1.5);
    const VectorXd c = marginObjective(2);
    const double mip = mipOptimum(net, box, c);
    const auto alone = bab::reluBranchAndBound(net, box, c, tightParams());
    ASSERT_EQ(alone.status, bab::BabStatus::kOptimal);
    std::atomic<double> upper{mip + 1e-9}, lower{-1e300};
    bab::BabParams p = tightParams();
    p.shared_upper = &upper;
    p.lower_out = &lower;
    p.starts = {box.lo};
    const auto r = bab::reluBranchAndBound(net, box, c, p);
    ASSERT_EQ(r.status, bab::BabStatus::kOptimal) << "trial " << trial;
    EXPECT_LE(r.nodes, alone.nodes) << "trial " << trial;
    EXPECT_GE(r.lower_bound, mip - 1e-6) << "trial " << trial;
    EXPECT_LE(r.lower_bound, mip + 1e-6) << "trial " << trial;
    EXPECT_DOUBLE_EQ(lower.load(), r.lower_bound);
    EXPECT_LE(upper.load(), mip + 1e-9);
    // Its own better point lowers the shared value.
    std::atomic<double> high{1e9};
    bab::BabParams q = tightParams();
    q.shared_upper = &high;
    const auto own = bab::reluBranchAndBound(net, box, c, q);
    EXPECT_DOUBLE_EQ(high.load(), own.objective);
  }
  const auto net = randomNet(rng, 8, {24, 24, 2});
  const auto box = randomBox(rng, 8, 3.0);
  bab::BabParams p = tightParams();
  p.root_lp_time_limit = 0;
  // Uncancelled, this search needs more than its root: so the cancelled one
  // below must stop early (the branch is not vacuous).
  const auto full = bab::reluBranchAndBound(net, box, marginObjective(2), p);
  ASSERT_GT(full.nodes, 1);
  std::atomic<bool> cancel{true};
  p.cancel = &cancel;
  const auto r = bab::reluBranchAndBound(net, box, marginObjective(2), p);
  EXPECT_EQ(r.status, bab::BabStatus::kTimeout);
  EXPECT_LE(r.nodes, 1);
}

TEST(MipRaceHooks, ProgressBoundsNeverExceedTheOptimumAndCancelStops) {
  std::mt19937 rng(91);
  const auto net = randomNet(rng, 6, {20, 20, 2});
  const auto box = randomBox(rng, 6, 2.0);
  model::MathModel m;
  const auto e =
      formulate::embedNetwork(m, net, bounds::crownBounds(net, box), formulate::EmbedOptions{});
  m.objLinear() = {{e.output_vars[0], 1.0}, {e.output_vars[1], -1.0}};
  m.setSense(model::Sense::kMinimize);
  std::vector<double> bounds_seen;
  int points = 0;
  solve::SolveParams p;
  p.mip_progress = [&](const double* x, double b) {
    bounds_seen.push_back(b);
    if (x != nullptr) {
      ++points;
      VectorXd in(6);
      for (int i = 0; i < 6; ++i) in[i] = x[e.input_vars[i]];
      EXPECT_TRUE(box.contains(in, 1e-6));
    }
  };
  const auto sol = solve::solveMip(m, p);
  ASSERT_EQ(sol.status, solve::SolveStatus::kOptimal);
  ASSERT_FALSE(bounds_seen.empty());
  EXPECT_GT(points, 0);
  for (double b : bounds_seen) EXPECT_LE(b, sol.objective + 1e-6);
  // Cancelled from the start: CBC stops at its first event, never "optimal"
  // unless the root alone proved it (then no node events were needed).
  std::atomic<bool> cancel{true};
  solve::SolveParams q;
  q.cancel = &cancel;
  const auto c = solve::solveMip(m, q);
  if (c.status != solve::SolveStatus::kOptimal) {
    EXPECT_NE(c.message.find("cancelled"), std::string::npos) << c.message;
    EXPECT_LE(c.bound, sol.objective + 1e-6);
  }
}

TEST(MipRaceHooks, NoBoundIsClaimedBeforeTheRootLpIsSolved) {
  // Stopped by the time limit at once, CBC never solved its root LP: the
  // reported bound must be -inf (no claim), never a number that could make
  // a "robust" verdict. With time to finish, the same model is solved.
  std::mt19937 rng(93);
  const auto net = randomNet(rng, 10, {16, 16, 2});
  const auto box = randomBox(rng, 10, 1.0);
  model::MathModel m;
  const auto e =
      formulate::embedNetwork(m, net, bounds::crownBounds(net, box), formulate::EmbedOptions{});
  m.objLinear() = {{e.output_vars[0], 1.0}, {e.output_vars[1], -1.0}};
  m.setSense(model::Sense::kMinimize);
  solve::SolveParams p;
  p.time_limit = 1e-9;
  const auto s = solve::solveMip(m, p);
  ASSERT_NE(s.status, solve::SolveStatus::kOptimal) << s.message;
  EXPECT_EQ(s.bound, -std::numeric_limits<double>::infinity()) << s.message;
  EXPECT_NE(s.message.find("no bound claimed"), std::string::npos) << s.message;
  const auto full = solve::solveMip(m);
  ASSERT_EQ(full.status, solve::SolveStatus::kOptimal);
  EXPECT_LE(full.bound, full.objective);
}

TEST(ReluBab, RejectsUnsupportedInput) {
  std::mt19937 rng(1);
  const auto tanh_net = randomNet(rng, 3, {4, 2}, nn::ActKind::kTanh);
  const auto box = randomBox(rng, 3, 1.0);
  EXPECT_THROW(bab::reluBranchAndBound(tanh_net, box, marginObjective(2)), Error);
  const auto net = randomNet(rng, 3, {4, 2});
  EXPECT_THROW(bab::reluBranchAndBound(net, randomBox(rng, 2, 1.0), marginObjective(2)), Error);
  EXPECT_THROW(bab::reluBranchAndBound(net, box, VectorXd::Ones(3)), Error);
  spec::Box bad = box;
  bad.lo[0] = bad.hi[0] + 1;
  EXPECT_THROW(bab::reluBranchAndBound(net, bad, marginObjective(2)), Error);
}
