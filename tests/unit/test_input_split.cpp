// The input-split policy of the branch and bound (bab/input_split.h) and the
// incremental CROWN bounds it refines its nodes with (bounds/refine.h):
// soundness against sampled points, decisions against sampled
// counterexamples, agreement between its variants (combinations, exact
// leaves handed to the ReLU split).
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "bab/input_split.h"
#include "bounds/crown.h"
#include "bounds/refine.h"
#include "nn/network.h"
#include "random_net.h"
#include "spec/property.h"
#include "verify/falsify.h"

using namespace nnopt;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using test::actLayer;
using test::denseLayer;
using test::randomNet;
using test::sumDiffNet;

TEST(RefineBounds, SoundAndNoLooserThanTheParent) {
  std::mt19937 rng(31);
  for (auto kind : {nn::ActKind::kRelu, nn::ActKind::kLeakyRelu, nn::ActKind::kTanh}) {
    nn::Network net = randomNet(rng, 4, {16, 16, 16, 3}, kind);
    spec::Box root{VectorXd::Constant(4, -1.0), VectorXd::Constant(4, 1.0)};
    bounds::BoundTable t = bounds::crownBounds(net, root);
    spec::Box box = root;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int depth = 0; depth < 8; ++depth) {
      const int i = depth % 4;
      const double mid = 0.5 * (box.lo[i] + box.hi[i]);
      (depth % 3 ? box.hi[i] : box.lo[i]) = mid;
      bounds::BoundTable c = bounds::refineCrownBounds(net, box, t);
      for (size_t k = 0; k < net.numLayers(); ++k) {
        EXPECT_TRUE((c.lo[k].array() >= t.lo[k].array()).all());
        EXPECT_TRUE((c.hi[k].array() <= t.hi[k].array()).all());
      }
      for (int s = 0; s < 300; ++s) {
        VectorXd x(4);
        for (int j = 0; j < 4; ++j) x[j] = box.lo[j] + u(rng) * (box.hi[j] - box.lo[j]);
        auto acts = net.forwardAll(x);
        for (size_t k = 0; k < acts.size(); ++k)
          for (Eigen::Index j = 0; j < acts[k].size(); ++j) {
            ASSERT_GE(acts[k][j], c.lo[k][j] - 1e-9) << "layer " << k;
            ASSERT_LE(acts[k][j], c.hi[k][j] + 1e-9) << "layer " << k;
          }
      }
      t = std::move(c);
    }
  }
}

TEST(InputSplit, ProvesAndFinds) {
  nn::Network net = sumDiffNet();
  spec::Box box{VectorXd::Zero(2), VectorXd::Ones(2)};
  spec::OutputSpec s;
  spec::OutputConstraint c;
  c.coefs = {{0, -1.0}};
  c.rhs = -2.5;
  s.disjuncts = {{c}};
  bab::InputSplitParams p;
  p.threads = 2;
  p.node_attack = verify::pgdNodeAttack(net, 5);
  auto r = bab::inputSplitBranchAndBound(net, box, s, p);
  EXPECT_EQ(r.status, bab::BabStatus::kHolds);
  s.disjuncts[0][0].rhs = -1.99;
  p.node_attack = nullptr;  // centres only
  r = bab::inputSplitBranchAndBound(net, box, s, p);
  ASSERT_EQ(r.status, bab::BabStatus::kViolated);
  EXPECT_GE(r.y[0], 1.99);
}

// A conjunction whose constraints are each satisfiable but never together:
// y0 = x, y1 = -x on [-1, 1], unsafe y0 <= -0.1 and y1 <= -0.1. The
// combination 0.5 (y0 + 0.1) + 0.5 (y1 + 0.1) = 0.1 > 0 refutes it at the
// root; without it the box must be split.
TEST(InputSplit, CombinationRefutesAConjunctionAtTheRoot) {
  // relu(x) - relu(-x) = x: a ReLU network computing (x, -x) exactly.
  MatrixXd W(2, 1), W2(2, 2);
  W << 1, -1;
  W2 << 1, -1, -1, 1;
  nn::Network net({1}, {denseLayer(W, VectorXd::Zero(2)), actLayer(nn::ActKind::kRelu, 2),
                        denseLayer(W2, VectorXd::Zero(2))});
  spec::Box box{VectorXd::Constant(1, -1.0), VectorXd::Constant(1, 1.0)};
  spec::OutputConstraint c0, c1;
  c0.coefs = {{0, 1.0}};
  c0.rhs = -0.1;
  c1.coefs = {{1, 1.0}};
  c1.rhs = -0.1;
  spec::OutputSpec s;
  s.disjuncts = {{c0, c1}};
  bab::InputSplitParams p;
  p.combine_iters = 8;
  auto r = bab::inputSplitBranchAndBound(net, box, s, p);
  EXPECT_EQ(r.status, bab::BabStatus::kHolds);
  EXPECT_EQ(r.nodes, 1);
  p.combine_iters = 0;
  r = bab::inputSplitBranchAndBound(net, box, s, p);
  EXPECT_EQ(r.status, bab::BabStatus::kHolds);
  EXPECT_GT(r.nodes, 1);
  // Satisfiable once the thresholds overlap (x = 0 gives y0 = y1 = 0).
  s.disjuncts[0][0].rhs = s.disjuncts[0][1].rhs = 0.05;
  p.combine_iters = 8;
  r = bab::inputSplitBranchAndBound(net, box, s, p);
  ASSERT_EQ(r.status, bab::BabStatus::kViolated);
  EXPECT_LE(r.y[0], 0.05);
  EXPECT_LE(r.y[1], 0.05);
}

// "Output 0 is the smallest" (ACAS Xu properties 3 and 4) on random
// networks, with a margin of +-delta around the sampled optimum: every
// variant of the input B&B (`tweak` applied to the default parameters) is
// never proven when a sampled point is unsafe, finds only unsafe points in
// the box and decides as the first variant. Counts the proven and found
// trials (of the first variant) into *proven / *found.
namespace {
void expectArgminVariantsAgree(uint32_t seed, int trials, const std::vector<int>& widths,
                               double delta,
                               const std::vector<std::function<void(bab::InputSplitParams&)>>& tweak,
                               int* proven, int* found) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const int n_out = widths.back();
  for (int trial = 0; trial < trials; ++trial) {
    const int n_in = 2 + trial % 3;
    nn::Network net = randomNet(rng, n_in, widths);
    spec::Box box{VectorXd::Constant(n_in, -1.0), VectorXd::Constant(n_in, 1.0)};
    // g(x) = max_j (y0 - yj): unsafe where g <= eps; eps around the sampled min.
    double gmin = 1e300;
    std::vector<VectorXd> pts;
    for (int k = 0; k < 2000; ++k) {
      VectorXd x(n_in);
      for (int i = 0; i < n_in; ++i) x[i] = u(rng);
      const VectorXd y = net.forward(x);
      double g = -1e300;
      for (int j = 1; j < n_out; ++j) g = std::max(g, y[0] - y[j]);
      gmin = std::min(gmin, g);
      pts.push_back(x);
    }
    spec::OutputSpec s;
    std::vector<spec::OutputConstraint> conj(n_out - 1);
    for (int j = 1; j < n_out; ++j) {
      conj[j - 1].coefs = {{0, 1.0}, {j, -1.0}};
      conj[j - 1].rhs = gmin + (trial % 2 ? delta : -delta);
    }
    s.disjuncts = {conj};
    bool sampled_unsafe = false;
    for (const auto& x : pts) sampled_unsafe |= spec::specMargin(s, net.forward(x)) <= 0.0;
    std::vector<bab::BabStatus> st;
    for (size_t v = 0; v < tweak.size(); ++v) {
      bab::InputSplitParams p;
      p.time_limit = 20.0;
      p.node_attack = verify::pgdNodeAttack(net, 5);  // as verify runs it
      tweak[v](p);
      auto r = bab::inputSplitBranchAndBound(net, box, s, p);
      st.push_back(r.status);
      if (sampled_unsafe) {
        EXPECT_NE(r.status, bab::BabStatus::kHolds) << "trial " << trial << " variant " << v;
      }
      if (r.status == bab::BabStatus::kViolated) {
        EXPECT_TRUE(box.contains(r.x, 0.0));
        EXPECT_LE(spec::specMargin(s, net.forward(r.x)), 0.0) << "trial " << trial;
      }
      EXPECT_EQ(st[0], r.status) << "trial " << trial << " variant " << v;
    }
    *proven += st[0] == bab::BabStatus::kHolds;
    *found += st[0] == bab::BabStatus::kViolated;
  }
}
}  // namespace

// With and without the combination of the conjunction's constraints.
TEST(InputSplit, CombinationIsSoundOnArgminConjunctions) {
  int proven = 0, found = 0;
  expectArgminVariantsAgree(
      7, 16, {12, 12, 4}, 0.05,
      {[](bab::InputSplitParams& p) { p.combine_iters = 8; },
       [](bab::InputSplitParams& p) { p.combine_iters = 0; }},
      &proven, &found);
  EXPECT_GT(proven, 0);
  EXPECT_GT(found, 0);
}

// Nodes handed to the ReLU B&B (exact_unstable_max: every node, then only
// nearly stable ones; the late threshold: every node once it applies, from
// the start or after a delay) against input splits alone.
TEST(InputSplit, ExactLeavesAgreeWithInputSplits) {
  int proven = 0, found = 0;
  expectArgminVariantsAgree(
      13, 12, {8, 8, 3}, 0.02,
      {[](bab::InputSplitParams& p) { p.exact_unstable_max = -1; },
       [](bab::InputSplitParams& p) { p.exact_unstable_max = 1000; },
       [](bab::InputSplitParams& p) { p.exact_unstable_max = 4; },
       [](bab::InputSplitParams& p) {
         p.exact_unstable_max = -1;
         p.exact_unstable_late = 1000;
         p.exact_late_s = 0.0;
       },
       [](bab::InputSplitParams& p) {
         p.exact_unstable_max = 2;
         p.exact_unstable_late = 1000;
         p.exact_late_s = 0.01;
       }},
      &proven, &found);
  EXPECT_GT(proven, 0);
  EXPECT_GT(found, 0);
}
