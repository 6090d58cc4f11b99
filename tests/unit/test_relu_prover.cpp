// The ReLU-split branch and bound (bab/relu_bab.h) as verify's exact method
// for one unsafe disjunct (verify/relu_prover.h): decisions against sampled
// points, the node-bound modes against each other, a conv net.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bab/relu_bab.h"
#include "core/log.h"
#include "bounds/crown.h"
#include "io/onnx.h"
#include "nn/network.h"
#include "spec/property.h"
#include "verify/disjunct_model.h"
#include "verify/relu_prover.h"
#include "random_net.h"

using namespace nnopt;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using test::randomNet;


TEST(ReluProver, ProvesAndFinds) {
  std::mt19937 rng(77);
  nn::Network net = randomNet(rng, 6, {12, 12, 2});
  spec::Box box{VectorXd::Constant(6, -1.0), VectorXd::Constant(6, 1.0)};
  auto t = bounds::crownBounds(net, box);
  // y0 >= the sampled max - 0.01: found; y0 >= crown ub + 0.01: proven.
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  double best = -1e300;
  for (int s = 0; s < 3000; ++s) {
    VectorXd x(6);
    for (int j = 0; j < 6; ++j) x[j] = u(rng);
    best = std::max(best, net.forward(x)[0]);
  }
  spec::OutputConstraint c;
  c.coefs = {{0, -1.0}};
  c.rhs = -(best - 0.01);
  verify::ReluProverParams p;
  p.threads = 2;
  p.pgd_steps = 0;
  auto r = verify::decideDisjunct(net, box, t, {c}, p);
  ASSERT_EQ(r.status, bab::BabStatus::kViolated);
  EXPECT_GE(net.forward(r.x)[0], best - 0.01);
  EXPECT_TRUE(box.contains(r.x, 0.0));
  c.rhs = -(t.hi.back()[0] + 0.01);
  r = verify::decideDisjunct(net, box, t, {c}, p);
  EXPECT_EQ(r.status, bab::BabStatus::kHolds);
}

// verify's LP / beta-CROWN race (two threads) and its one-thread form (a
// short beta-CROWN search, then the node LPs) decide as the node-LP search
// alone: below the sampled maximum a replayed point, above CROWN's upper
// bound a refutation, and near the true maximum the same answer.
TEST(ReluProver, LpBetaRaceDecidesAsTheLpSearch) {
  std::mt19937 rng(91);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  int beta_won = 0, lp_won = 0;
  for (int trial = 0; trial < 4; ++trial) {
    nn::Network net = randomNet(rng, 6, {12, 12, 12, 2});
    spec::Box box{VectorXd::Constant(6, -1.0), VectorXd::Constant(6, 1.0)};
    const auto t = bounds::crownBounds(net, box);
    double best = -1e300;
    for (int s = 0; s < 3000; ++s) {
      VectorXd x(6);
      for (int j = 0; j < 6; ++j) x[j] = u(rng);
      best = std::max(best, net.forward(x)[0]);
    }
    for (double thr : {best - 0.01, best + 0.02, t.hi.back()[0] + 0.01}) {
      spec::OutputConstraint c;  // unsafe: y0 >= thr
      c.coefs = {{0, -1.0}};
      c.rhs = -thr;
      verify::ReluProverParams p;
      p.pgd_steps = 0;
      p.node_bounds = bab::NodeBounds::kLp;
      const auto lp = verify::decideDisjunct(net, box, t, {c}, p);
      ASSERT_TRUE(verify::decidedBy(lp)) << "trial " << trial;
      p.node_bounds = bab::NodeBounds::kAuto;
      for (int threads : {1, 2}) {
        p.threads = threads;
        p.time_limit = 60;
        const auto race =
            verify::raceLpAndBeta(net, box, t, {c}, p, false, nullptr, Deadline(60));
        const std::string what = "trial " + std::to_string(trial) + " threads " +
                                 std::to_string(threads) + " thr " + std::to_string(thr);
        ASSERT_EQ(race.result.status, lp.status) << what;
        EXPECT_NE(race.lp_decided, race.beta_decided) << what;
        beta_won += race.beta_decided;
        lp_won += race.lp_decided;
        if (race.result.status == bab::BabStatus::kViolated) {
          EXPECT_TRUE(box.contains(race.result.x, 0.0)) << what;
          EXPECT_GE(net.forward(race.result.x)[0], thr - 1e-9) << what;
        }
      }
    }
  }
  EXPECT_GT(beta_won, 0);  // the one-thread form's beta-CROWN turn decides some
}

// The node bounds of the ReLU B&B (LP, CROWN with the node's splits, auto)
// never contradict each other nor a sampled counterexample: on random MLPs
// and conjunctions of two constraints near the sampled optimum, the LP
// search decides every case; CROWN-only and auto give the same decision or
// (CROWN-only, whose split-out leaves need the LP) an incomplete search;
// `found` points replay inside the box; `proven` never where a sample
// satisfies the conjunction.
TEST(ReluProver, NodeBoundModesAgreeAndStaySound) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  int proven = 0, found = 0, crown_pruned = 0;
  long beta_nodes = 0, crown_only_nodes = 0;
  for (int trial = 0; trial < 8; ++trial) {
    nn::Network net = randomNet(rng, 4, {10, 10, 3}, trial % 2 ? nn::ActKind::kLeakyRelu
                                                                : nn::ActKind::kRelu);
    spec::Box box{VectorXd::Constant(4, -1.0), VectorXd::Constant(4, 1.0)};
    auto t = bounds::crownBounds(net, box);
    // Unsafe: y0 >= thr and y1 - y2 >= -1 (thr around the sampled max of y0).
    std::vector<VectorXd> samples;
    double best = -1e300;
    for (int s = 0; s < 4000; ++s) {
      VectorXd x(4);
      for (int j = 0; j < 4; ++j) x[j] = u(rng);
      const VectorXd y = net.forward(x);
      if (y[1] - y[2] >= -1.0) best = std::max(best, y[0]);
      samples.push_back(x);
    }
    if (best < -1e299) continue;
    const double thr = best + (trial % 3 == 0 ? -0.02 : 0.05 * (t.hi.back()[0] - best));
    spec::OutputConstraint c0, c1;
    c0.coefs = {{0, -1.0}};
    c0.rhs = -thr;
    c1.coefs = {{1, -1.0}, {2, 1.0}};
    c1.rhs = 1.0;
    const std::vector<spec::OutputConstraint> conj = {c0, c1};
    bool sampled_sat = false;
    for (const auto& x : samples) sampled_sat |= verify::conjunctionMargin(conj, net.forward(x)) <= 0;
    std::vector<bab::BabResult> rs;
    // lp, crown, auto, auto with no time for the root LP (falls back to
    // CROWN), crown with beta-CROWN node bounds, auto without the root LP
    // with the default beta-CROWN at LP-less nodes, crown + beta-CROWN on the
    // parents' tables (splits clipped), the LP on CROWN tables with the splits
    for (int v = 0; v < 8; ++v) {
      verify::ReluProverParams p;
      p.threads = 1;
      p.pgd_steps = 0;
      p.node_bounds = v == 0   ? bab::NodeBounds::kLp
                      : v == 1 ? bab::NodeBounds::kCrown
                               : bab::NodeBounds::kAuto;
      if (v == 3 || v == 5) p.root_lp_time_s = 0.0;
      if (v == 1 || v == 3) p.beta_iters_no_lp = 0;  // plain CROWN
      if (v == 4 || v == 6) {
        p.node_bounds = bab::NodeBounds::kCrown;
        p.beta_iters = 10;
      }
      if (v == 6) p.crown_tables_no_lp = false;
      if (v == 7) {
        p.node_bounds = bab::NodeBounds::kLp;
        p.node_crown = true;
      }
      p.time_limit = 30;
      // The CROWN-only search of some trials would branch ~130,000 nodes
      // before its leaves end it incomplete (too slow under ASan): capped.
      p.max_nodes = 20000;
      auto r = verify::decideDisjunct(net, box, t, conj, p);
      SCOPED_TRACE("trial " + std::to_string(trial) + " variant " + std::to_string(v));
      if (sampled_sat) EXPECT_NE(r.status, bab::BabStatus::kHolds);
      if (r.status == bab::BabStatus::kViolated) {
        EXPECT_TRUE(box.contains(r.x, 0.0));
        EXPECT_LE(verify::conjunctionMargin(conj, net.forward(r.x)), 0.0);
      }
      EXPECT_NE(r.status, bab::BabStatus::kTimeout);
      // Only the CROWN modes branch without an LP; CROWN closes nodes before
      // their LP in every mode. The root LP is dropped only when it had no time.
      if (v == 1 || v == 4 || v == 6) EXPECT_EQ(r.crown_nodes, r.nodes);
      if (v == 0 || v == 2 || v == 7) EXPECT_EQ(r.crown_nodes, r.crown_pruned);
      if ((v == 3 || v == 5) && r.nodes > 1) EXPECT_TRUE(r.lp_dropped);
      if (v != 3 && v != 5) EXPECT_FALSE(r.lp_dropped);
      crown_pruned += r.crown_pruned;
      rs.push_back(r);
    }
    const auto lp = rs[0].status;
    ASSERT_TRUE(lp == bab::BabStatus::kHolds || lp == bab::BabStatus::kViolated);
    EXPECT_EQ(rs[2].status, lp) << "auto";
    EXPECT_EQ(rs[2].nodes, rs[0].nodes) << "auto with a fast LP is the LP search";
    auto undecided = [](bab::BabStatus st) {
      return st == bab::BabStatus::kIncomplete || st == bab::BabStatus::kNodeLimit;
    };
    EXPECT_TRUE(rs[1].status == lp || undecided(rs[1].status)) << "crown";
    EXPECT_EQ(rs[3].status, rs[1].status) << "auto without the LP is the CROWN search";
    EXPECT_TRUE(rs[4].status == lp || undecided(rs[4].status)) << "beta";
    EXPECT_TRUE(rs[5].status == lp || undecided(rs[5].status)) << "auto, beta without the LP";
    EXPECT_TRUE(rs[6].status == lp || undecided(rs[6].status)) << "beta on the parents' tables";
    EXPECT_EQ(rs[7].status, lp) << "LP on CROWN tables";
    // beta-CROWN's node bounds are at least as tight as CROWN's from the
    // same table: wherever the CROWN-only search decides, so does beta's.
    if (rs[1].status == lp) EXPECT_EQ(rs[4].status, lp) << "beta decides where CROWN does";
    beta_nodes += rs[4].nodes;
    crown_only_nodes += rs[1].nodes;
    proven += lp == bab::BabStatus::kHolds;
    found += lp == bab::BabStatus::kViolated;
  }
  EXPECT_GT(proven, 0);
  EXPECT_GT(found, 0);
  EXPECT_GT(crown_pruned, 0);
  std::fprintf(stderr, "nodes: crown-only %ld, beta-crown %ld\n", crown_only_nodes, beta_nodes);
}

// A convolutional network (sparse weights): the CROWN-only B&B agrees with
// the LP B&B (or stops incomplete), never proves a margin threshold a sample
// violates, and its points replay.
TEST(ReluProver, CrownNodeBoundsOnAConvNet) {
  const nn::Network net =
      io::loadOnnx(NNOPT_FIXTURES_DIR "/../../models/mnist_convnet.onnx")
          .withInputNormalization(0.1307, 0.3081);
  VectorXd x0 = VectorXd::Zero(net.inputSize());
  for (Eigen::Index i = 300; i < 480; ++i) x0[i] = 0.9;
  const spec::Box box = spec::linfBall(x0, 0.06, 0.0, 1.0);
  const auto t = bounds::crownBounds(net, box);
  const VectorXd y0 = net.forward(x0);
  Eigen::Index label;
  y0.maxCoeff(&label);
  const int other = label == 0 ? 1 : 0;
  // y_other - y_label >= thr
  VectorXd c = VectorXd::Zero(net.outputSize());
  c[other] = -1.0;
  c[label] = 1.0;
  const double lb = bounds::crownLowerBound(net, box, t, c);  // of y_label - y_other
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double worst = y0[label] - y0[other];
  for (int s = 0; s < 200; ++s) {
    VectorXd x(box.size());
    for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = box.lo[i] + u(rng) * (box.hi[i] - box.lo[i]);
    const VectorXd y = net.forward(x);
    worst = std::min(worst, y[label] - y[other]);
  }
  ASSERT_LT(lb, worst);
  int decided = 0;
  // Unsafe: margin y_label - y_other <= tau, for tau just above the sampled
  // minimum (a sample satisfies it) and just above CROWN's bound (proven
  // after a few splits: 9 nodes, 5 closed by CROWN, when written).
  for (double tau : {worst + 1e-3, lb + 0.05 * (worst - lb)}) {
    spec::OutputConstraint k;
    k.coefs = {{static_cast<int>(label), 1.0}, {other, -1.0}};
    k.rhs = tau;
    verify::ReluProverParams p;
    p.threads = 1;
    p.pgd_steps = 0;
    p.time_limit = 60;
    p.node_bounds = bab::NodeBounds::kCrown;
    const auto rc = verify::decideDisjunct(net, box, t, {k}, p);
    p.node_bounds = bab::NodeBounds::kLp;
    const auto rl = verify::decideDisjunct(net, box, t, {k}, p);
    SCOPED_TRACE("tau " + std::to_string(tau));
    EXPECT_TRUE(rl.status == bab::BabStatus::kHolds || rl.status == bab::BabStatus::kViolated);
    EXPECT_TRUE(rc.status == rl.status || rc.status == bab::BabStatus::kIncomplete);
    if (tau > worst) {
      EXPECT_NE(rc.status, bab::BabStatus::kHolds);
      EXPECT_NE(rl.status, bab::BabStatus::kHolds);
    }
    if (rc.status == bab::BabStatus::kViolated) {
      EXPECT_TRUE(box.contains(rc.x, 0.0));
      const VectorXd y = net.forward(rc.x);
      EXPECT_LE(y[label] - y[other], tau);
    }
    decided += rc.status == bab::BabStatus::kHolds || rc.status == bab::BabStatus::kViolated;
    EXPECT_GT(rc.crown_nodes, 0);
    std::fprintf(stderr, "mnist_convnet tau %.4f: crown %d (%ld nodes, %ld closed by CROWN), lp %d (%ld nodes)\n",
                 tau, int(rc.status), rc.nodes, rc.crown_pruned, int(rl.status), rl.nodes);
  }
  EXPECT_GT(decided, 0);
}
