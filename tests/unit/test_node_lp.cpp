// The node LP of the ReLU branch and bound (bab/node_lp.h): the compact form
// against the full big-M form, and the automatic choice between them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "bab/node_lp.h"
#include "bab_fixtures.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "random_net.h"
#include "spec/property.h"
#include "split_points.h"

using namespace nnopt;
using bounds::ReluSplit;
using Eigen::VectorXd;
using test::objectiveAt;
using test::randomBox;
using test::randomNet;
using test::randomObjective;
using test::samplePoint;
using test::unstable;

// The compact LP (stable neurons substituted out) against the full big-M
// LP: a relaxation at every node (below every sampled objective value), never
// tighter than the full LP at the root (its feasible set projects onto a
// superset), and equal to it where every unstable neuron is fixed (both are
// then the exact minimum over one activation region).
TEST(NodeLp, CompactLpIsASoundRelaxationAndExactAtFixedNodes) {
  std::mt19937 rng(4711);
  for (int trial = 0; trial < 12; ++trial) {
    const bool leaky = trial % 3 == 2;
    const int in = 2 + trial % 4;
    const auto net = randomNet(rng, in, {10, 10, 10, 4},
                               leaky ? nn::ActKind::kLeakyRelu : nn::ActKind::kRelu, 0.1);
    const auto box = randomBox(rng, in, 1.5);
    const auto root = bounds::crownBounds(net, box);
    const auto obj = randomObjective(rng, 4, 1 + trial % 3);
    bab::NodeLp full(net, box, root, obj, false, true, bab::NodeLpForm::kFull);
    bab::NodeLp compact(net, box, root, obj, false, true, bab::NodeLpForm::kCompact);
    ASSERT_FALSE(full.compact());
    ASSERT_TRUE(compact.compact());
    const auto rf = full.solve(root, 10.0);
    const auto rc = compact.solve(root, 10.0);
    ASSERT_TRUE(rf.solved && rc.solved) << "trial " << trial;
    EXPECT_LE(rc.bound, rf.bound + 1e-6) << "trial " << trial;
    ASSERT_EQ(rc.x.size(), in);
    EXPECT_TRUE(box.contains(rc.x, 0.0));
    EXPECT_EQ(rc.relus.size(), rf.relus.size());
    double best = std::numeric_limits<double>::infinity();
    for (int s = 0; s < 400; ++s) {
      const VectorXd x = samplePoint(rng, box);
      const double v = objectiveAt(net, obj, x);
      best = std::min(best, v);
      EXPECT_GE(v, rc.bound - 1e-6) << "trial " << trial;
    }
    // Fix every unstable neuron by the activation pattern of a few points.
    const auto cand = unstable(net, root);
    for (int p = 0; p < 4; ++p) {
      const VectorXd x0 = samplePoint(rng, box);
      const auto outs = net.forwardAll(x0);
      std::vector<ReluSplit> splits;
      for (auto s : cand) {
        const double z = s.layer == 0 ? x0[s.neuron] : outs[s.layer - 1][s.neuron];
        s.active = z >= 0;
        splits.push_back(s);
      }
      ASSERT_TRUE(test::satisfiesSplits(outs, x0, splits));
      const auto node = bounds::crownBoundsSplit(net, box, splits, &root);
      ASSERT_TRUE(node.has_value());
      const auto nf = full.solve(*node, splits, 10.0);
      const auto nc = compact.solve(*node, splits, 10.0);
      ASSERT_TRUE(nf.solved && nc.solved) << "trial " << trial << " point " << p;
      EXPECT_NEAR(nc.bound, nf.bound, 1e-6 * (1.0 + std::abs(nf.bound)))
          << "trial " << trial << " point " << p;
      EXPECT_LE(nc.bound, objectiveAt(net, obj, x0) + 1e-6);
    }
  }
}

TEST(NodeLp, AutoFormIsCompactOnlyWhereItIsSmaller) {
  std::mt19937 rng(5);
  const auto narrow_in = randomNet(rng, 5, {50, 50, 50, 50, 5});
  const auto box5 = randomBox(rng, 5, 0.02);  // small box: few unstable neurons
  const auto obj = randomObjective(rng, 5, 1);
  bab::NodeLp a(narrow_in, box5, bounds::crownBounds(narrow_in, box5), obj);
  EXPECT_TRUE(a.compact());
  const auto wide_in = randomNet(rng, 300, {20, 20, 5});
  const auto box300 = randomBox(rng, 300, 0.5);
  bab::NodeLp b(wide_in, box300, bounds::crownBounds(wide_in, box300), obj);
  EXPECT_FALSE(b.compact());
}
