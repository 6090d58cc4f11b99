// Minimal-perturbation attack: hand-computable networks with known minimal
// L1 / Linf / L2 distances, infeasibility proofs, the replay rule, and the
// MIP optimum as a lower bound of the NLP's local optimum on an MNIST fixture.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "attack/min_distortion.h"
#include "core/error.h"
#include "io/images.h"
#include "io/onnx.h"
#include "nn/network.h"
#include "random_net.h"

using namespace nnopt;
using attack::Method;
using attack::MinDistVerdict;
using attack::Norm;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

nn::Layer dense(const MatrixXd& W, const VectorXd& b, const std::string& name) {
  return nn::Layer{name, nn::Dense{W, b}, {W.rows()}};
}
nn::Layer relu(int64_t n) { return nn::Layer{"relu", nn::Activation{}, {n}}; }

// logit0 = 0, logit1 = 4 relu(x1 - 0.5) + relu(x2 - 0.5), x in [0,1]^2.
// From x0 = (0.3, 0.3), reaching logit1 >= logit0 + 0.4 needs
//   L1:   x1 = 0.6 alone (0.3); x2 would need 0.6 -> min L1 = 0.3
//   Linf: both by t: 4(t - 0.2) + (t - 0.2) = 0.4 -> t = 0.28 (< 0.3 for x1 alone)
//   L2:   x1 alone 0.3 (with x2 active too the cost exceeds 0.3) -> 0.3
// With |d_i| <= 0.29 (L1): d1 = 0.29 gives 0.36, d2 - 0.2 = 0.04 -> 0.53.
nn::Network kinkNet() {
  MatrixXd W1 = MatrixXd::Identity(2, 2);
  VectorXd b1 = VectorXd::Constant(2, -0.5);
  MatrixXd W2(2, 2);
  W2 << 0, 0, 4, 1;
  return nn::Network({2}, {dense(W1, b1, "fc1"), relu(2), dense(W2, VectorXd::Zero(2), "fc2")});
}

// All ReLUs stably active on [0,1]^2: logit1 - logit0 = 2 x1 + x2 - 1 (zero at
// x0 = (0.3, 0.4)). Gap 0.2 needs a.d >= 0.2 with a = (2, 1):
//   L1 = 0.2 / 2 = 0.1, Linf = 0.2 / 3, L2 = 0.2 / sqrt(5).
nn::Network linearNet() {
  MatrixXd W1 = MatrixXd::Identity(2, 2);
  VectorXd b1 = VectorXd::Constant(2, 0.1);
  MatrixXd W2(2, 2);
  W2 << 0, 0, 2, 1;
  VectorXd b2(2);
  b2 << 0.0, -1.3;  // 2 (x1 + 0.1) + (x2 + 0.1) - 1.3 = 2 x1 + x2 - 1
  return nn::Network({2}, {dense(W1, b1, "fc1"), relu(2), dense(W2, b2, "fc2")});
}

attack::MinDistortionParams params(Method m, Norm n, double gap,
                                   attack::LocalSolver local = attack::LocalSolver::kAuto) {
  attack::MinDistortionParams p;
  p.method = m;
  p.local = local;
  p.norm = n;
  p.gap = gap;
  p.time_limit = 60;
  return p;
}

// The reported point must replay: in [0,1] (and the max-eps box), gap reached.
void expectReplays(const nn::Network& net, const VectorXd& x0,
                   const attack::MinDistortionResult& r) {
  ASSERT_EQ(r.verdict, MinDistVerdict::kAttackFound) << r.status;
  attack::MinDistortionResult c = r;
  const spec::Box box = attack::minDistortionBox(x0, r.max_eps);
  EXPECT_TRUE(attack::replayMinDistortion(net, box, x0, r.adversarial, c));
  EXPECT_NEAR(c.distance, r.distance, 1e-12);
  EXPECT_GE(r.achieved_gap, r.gap - 1e-6);
  const VectorXd y = net.forward(r.adversarial);
  EXPECT_NEAR(y[r.target_label] - y[r.true_label], r.achieved_gap, 1e-12);
  EXPECT_NEAR((r.adversarial - x0).lpNorm<1>(), r.l1, 1e-12);
  EXPECT_NEAR((r.adversarial - x0).norm(), r.l2, 1e-12);
  EXPECT_NEAR((r.adversarial - x0).lpNorm<Eigen::Infinity>(), r.linf, 1e-12);
}

}  // namespace

TEST(MinDistortion, LinearRegionAnalyticDistances) {
  const auto net = linearNet();
  VectorXd x0(2);
  x0 << 0.3, 0.4;
  struct Case {
    Method m;
    Norm n;
    double expect;
  };
  const std::vector<Case> cases = {
      {Method::kMip, Norm::kL1, 0.1},         {Method::kMip, Norm::kLinf, 0.2 / 3},
      {Method::kNlp, Norm::kL1, 0.1},         {Method::kNlp, Norm::kLinf, 0.2 / 3},
      {Method::kNlp, Norm::kL2, 0.2 / std::sqrt(5.0)}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(attack::methodName(c.m)) + " " + attack::normName(c.n));
    auto r = attack::minDistortionAttack(net, x0, 0, 1, params(c.m, c.n, 0.2));
    expectReplays(net, x0, r);
    EXPECT_NEAR(r.distance, c.expect, 1e-5);
    EXPECT_EQ(r.binaries, 0);  // every ReLU is stable over [0,1]^2
    if (c.m == Method::kMip) {
      EXPECT_TRUE(r.optimal);
      EXPECT_NEAR(r.lower_bound, c.expect, 1e-5);
    }
  }
}

TEST(MinDistortion, NativeWalkAndIpoptReachTheAnalyticDistances) {
  const auto net = linearNet();
  VectorXd x0(2);
  x0 << 0.3, 0.4;
  for (auto local : {attack::LocalSolver::kPwl, attack::LocalSolver::kIpopt}) {
    for (Norm n : {Norm::kL1, Norm::kLinf}) {
      SCOPED_TRACE(std::string(attack::localSolverName(local)) + " " + attack::normName(n));
      auto r = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kNlp, n, 0.2, local));
      expectReplays(net, x0, r);
      EXPECT_EQ(r.method, local == attack::LocalSolver::kPwl ? "nlp:pwl" : "nlp:scholtes");
      EXPECT_NEAR(r.distance, n == Norm::kL1 ? 0.1 : 0.2 / 3, 1e-7);
      if (local == attack::LocalSolver::kPwl) {
        EXPECT_TRUE(r.local_certified) << r.status;
        EXPECT_NEAR(r.solver_objective, r.distance, 1e-9);
      }
    }
  }
  // The walk's objective is linear: L2 (quadratic) is refused, auto takes Ipopt.
  EXPECT_THROW(attack::minDistortionAttack(
                   net, x0, 0, 1, params(Method::kNlp, Norm::kL2, 0.2, attack::LocalSolver::kPwl)),
               Error);
  auto r2 = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kNlp, Norm::kL2, 0.2));
  EXPECT_EQ(r2.method, "nlp:scholtes");
}

// Random ReLU / LeakyReLU nets: the walk's point replays, is certified, is
// never closer than the MIP's proven lower bound, and no sampled nearby point
// (coordinate moves towards x0, random small moves) that still reaches the
// gap is closer.
TEST(MinDistortion, NativeWalkOnRandomNetsIsAboveTheMipAndLocallyMinimal) {
  int found = 0, runs = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    for (auto act : {nn::ActKind::kRelu, nn::ActKind::kLeakyRelu}) {
      const auto net = test::randomNet({6, 10, 10, 8, 3}, seed, act);
      const VectorXd x0 = test::randomPoint(6, 200 + seed);
      const VectorXd clean = net.forward(x0);
      Eigen::Index label = 0;
      clean.maxCoeff(&label);
      VectorXd others = clean;
      others[label] = -INFINITY;
      Eigen::Index target = 0;
      others.maxCoeff(&target);
      for (Norm n : {Norm::kL1, Norm::kLinf}) {
        SCOPED_TRACE(testing::Message() << "seed " << seed << " " << nn::actName(act) << " "
                                        << attack::normName(n));
        // Halve the clean margin (a negative gap): reachable on most of these nets.
        const double gap = 0.5 * (clean[target] - clean[label]);
        auto pm = params(Method::kMip, n, gap);
        pm.max_eps = 1.0;
        auto pw = params(Method::kNlp, n, gap, attack::LocalSolver::kPwl);
        pw.max_eps = 1.0;
        const auto mip = attack::minDistortionAttack(net, x0, int(label), int(target), pm);
        const auto walk = attack::minDistortionAttack(net, x0, int(label), int(target), pw);
        if (mip.verdict == MinDistVerdict::kInfeasible) {
          EXPECT_NE(walk.verdict, MinDistVerdict::kAttackFound);
          continue;
        }
        ++runs;
        ASSERT_EQ(mip.verdict, MinDistVerdict::kAttackFound) << mip.status;
        ASSERT_TRUE(mip.optimal);
        if (walk.verdict != MinDistVerdict::kAttackFound) continue;
        ++found;
        expectReplays(net, x0, walk);
        EXPECT_TRUE(walk.local_certified) << walk.status;
        EXPECT_LE(mip.lower_bound, walk.distance + 1e-6);
        const spec::Box box = attack::minDistortionBox(x0, 1.0);
        auto dist = [&](const VectorXd& x) {
          const VectorXd d = x - x0;
          return n == Norm::kL1 ? d.lpNorm<1>() : d.lpNorm<Eigen::Infinity>();
        };
        auto reaches = [&](const VectorXd& x) {
          const VectorXd y = net.forward(x);
          return y[target] - y[label] >= gap;
        };
        std::mt19937 rng(seed);
        std::normal_distribution<double> g(0.0, 1.0);
        for (double h : {1e-4, 1e-5}) {
          for (int i = 0; i < 6; ++i) {  // one pixel towards x0
            VectorXd x = walk.adversarial;
            x[i] += std::clamp(x0[i] - x[i], -h, h);
            if (reaches(x)) EXPECT_GE(dist(x), walk.distance - 1e-12) << "pixel " << i;
          }
          for (int k = 0; k < 200; ++k) {
            VectorXd x = walk.adversarial;
            for (int i = 0; i < 6; ++i) x[i] += h * g(rng);
            x = x.cwiseMax(box.lo).cwiseMin(box.hi);
            if (reaches(x)) EXPECT_GE(dist(x), walk.distance - 1e-9 * h) << "sample " << k;
          }
        }
      }
    }
  }
  EXPECT_GE(runs, 10) << "too few feasible cases to test the walk";
  EXPECT_GE(found, runs - 1) << "the walk found too few points (16 of 16 when written)";
}

// Method::kBab (L-inf): the bisection's proven lower bound never exceeds the
// MIP's optimum, its replayed point is never closer, and on these small nets
// it closes the bracket (optimal) where the MIP finds a point.
TEST(MinDistortion, BabBisectionBracketsTheMipOptimum) {
  int runs = 0, closed = 0, infeasible = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    for (auto act : {nn::ActKind::kRelu, nn::ActKind::kLeakyRelu}) {
      const auto net = test::randomNet({6, 10, 10, 8, 3}, seed, act);
      const VectorXd x0 = test::randomPoint(6, 300 + seed);
      const VectorXd clean = net.forward(x0);
      Eigen::Index label = 0;
      clean.maxCoeff(&label);
      const int target = (int(label) + 1 + int(seed % 2)) % 3;
      const double gap = 0.5 * (clean[target] - clean[label]);
      SCOPED_TRACE(testing::Message() << "seed " << seed << " " << nn::actName(act));
      auto pm = params(Method::kMip, Norm::kLinf, gap);
      pm.max_eps = 0.5;
      auto pb = params(Method::kBab, Norm::kLinf, gap);
      pb.max_eps = 0.5;
      pb.time_limit = 20;
      const auto mip = attack::minDistortionAttack(net, x0, int(label), target, pm);
      const auto bab = attack::minDistortionAttack(net, x0, int(label), target, pb);
      EXPECT_EQ(bab.method, "bab");
      if (mip.verdict == MinDistVerdict::kInfeasible) {
        ++infeasible;
        EXPECT_NE(bab.verdict, MinDistVerdict::kAttackFound);
        EXPECT_EQ(bab.verdict, MinDistVerdict::kInfeasible) << bab.status;
        continue;
      }
      ASSERT_EQ(mip.verdict, MinDistVerdict::kAttackFound) << mip.status;
      ASSERT_TRUE(mip.optimal);
      ++runs;
      EXPECT_LE(bab.lower_bound, mip.distance + 1e-6) << bab.status;
      if (bab.verdict != MinDistVerdict::kAttackFound) continue;
      expectReplays(net, x0, bab);
      EXPECT_GE(bab.distance, mip.distance - 1e-6);
      if (bab.optimal) {
        ++closed;
        EXPECT_NEAR(bab.distance, mip.distance, 2e-4 * mip.distance + 1e-6) << bab.status;
      }
    }
  }
  EXPECT_GE(runs, 4) << "too few feasible cases";
  EXPECT_GE(closed, runs - 1) << "the bisection closed too few brackets";
  std::printf("bab bisection: %d feasible, %d closed, %d infeasible\n", runs, closed, infeasible);
}

TEST(MinDistortion, ReluKinkAnalyticDistances) {
  const auto net = kinkNet();
  VectorXd x0(2);
  x0 << 0.3, 0.3;
  {
    auto r = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kMip, Norm::kL1, 0.4));
    expectReplays(net, x0, r);
    EXPECT_NEAR(r.distance, 0.3, 1e-6);
    EXPECT_NEAR(r.adversarial[0], 0.6, 1e-6);
    EXPECT_NEAR(r.adversarial[1], 0.3, 1e-6);
    EXPECT_TRUE(r.optimal);
    EXPECT_NEAR(r.lower_bound, 0.3 - 1e-6, 1e-6);  // minus CBC's cutoff increment
    EXPECT_EQ(r.binaries, 2);
    EXPECT_EQ(r.predicted_label_adv, 1);
  }
  {
    auto r = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kMip, Norm::kLinf, 0.4));
    expectReplays(net, x0, r);
    EXPECT_NEAR(r.distance, 0.28, 1e-6);
    EXPECT_NEAR(r.adversarial[0], 0.58, 1e-6);
    EXPECT_NEAR(r.adversarial[1], 0.58, 1e-6);
    EXPECT_TRUE(r.optimal);
  }
  {
    auto r = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kNlp, Norm::kL2, 0.4));
    expectReplays(net, x0, r);
    EXPECT_NEAR(r.distance, 0.3, 1e-4);  // local optimum found from x0: the global one here
    EXPECT_TRUE(std::isinf(r.lower_bound));  // no proof from the NLP
  }
  for (Norm n : {Norm::kL1, Norm::kLinf}) {  // local NLP optima are never below the MIP's
    SCOPED_TRACE(attack::normName(n));
    auto mip = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kMip, n, 0.4));
    auto nlp = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kNlp, n, 0.4));
    ASSERT_EQ(mip.verdict, MinDistVerdict::kAttackFound);
    if (nlp.verdict == MinDistVerdict::kAttackFound) {
      expectReplays(net, x0, nlp);
      EXPECT_LE(mip.distance, nlp.distance + 1e-6);
    }
  }
}

TEST(MinDistortion, MaxEpsBoxAndInfeasibility) {
  const auto net = kinkNet();
  VectorXd x0(2);
  x0 << 0.3, 0.3;
  {
    auto p = params(Method::kMip, Norm::kL1, 0.4);
    p.max_eps = 0.29;
    auto r = attack::minDistortionAttack(net, x0, 0, 1, p);
    expectReplays(net, x0, r);
    EXPECT_NEAR(r.distance, 0.53, 1e-6);
    EXPECT_LE(r.linf, 0.29 + 1e-9);
  }
  {  // Linf needs 0.28: a 0.25 box has no solution
    auto p = params(Method::kMip, Norm::kLinf, 0.4);
    p.max_eps = 0.25;
    auto r = attack::minDistortionAttack(net, x0, 0, 1, p);
    EXPECT_EQ(r.verdict, MinDistVerdict::kInfeasible) << r.status;
    EXPECT_EQ(r.adversarial.size(), 0);
  }
  {  // logit1 <= 2.5 on [0,1]^2: gap 3 is unreachable
    auto r = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kMip, Norm::kL1, 3.0));
    EXPECT_EQ(r.verdict, MinDistVerdict::kInfeasible) << r.status;
  }
  {  // the bisection proves it too (its first radius is the whole box)
    auto p = params(Method::kBab, Norm::kLinf, 0.4);
    p.max_eps = 0.25;
    auto r = attack::minDistortionAttack(net, x0, 0, 1, p);
    EXPECT_EQ(r.verdict, MinDistVerdict::kInfeasible) << r.status;
    EXPECT_EQ(r.adversarial.size(), 0);
  }
  {  // and brackets the L-inf optimum 0.28 when the box allows it
    auto p = params(Method::kBab, Norm::kLinf, 0.4);
    auto r = attack::minDistortionAttack(net, x0, 0, 1, p);
    expectReplays(net, x0, r);
    EXPECT_TRUE(r.optimal) << r.status;
    EXPECT_NEAR(r.distance, 0.28, 1e-4);
    EXPECT_LE(r.lower_bound, 0.28 + 1e-9);
    EXPECT_GE(r.lower_bound, 0.28 * (1 - 1e-4) - 1e-9);
  }
  {  // the NLP cannot prove infeasibility
    auto r = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kNlp, Norm::kL1, 3.0));
    EXPECT_NE(r.verdict, MinDistVerdict::kAttackFound);
    EXPECT_NE(r.verdict, MinDistVerdict::kInfeasible);
  }
}

TEST(MinDistortion, CleanPointAlreadyReachingTheGapHasDistanceZero) {
  const auto net = kinkNet();
  VectorXd x0(2);
  x0 << 0.9, 0.2;  // logit1 = 1.6
  auto r = attack::minDistortionAttack(net, x0, 0, 1, params(Method::kMip, Norm::kL1, 0.4));
  expectReplays(net, x0, r);
  EXPECT_NEAR(r.distance, 0.0, 1e-9);
}

TEST(MinDistortion, ArgumentErrors) {
  const auto net = kinkNet();
  VectorXd x0(2);
  x0 << 0.3, 0.3;
  try {
    attack::minDistortionAttack(net, x0, 0, 1, params(Method::kMip, Norm::kL2, 0.4));
    ADD_FAILURE() << "L2 MIP must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("quadratic"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--method nlp"), std::string::npos) << e.what();
  }
  EXPECT_THROW(attack::minDistortionAttack(net, x0, 1, 1, params(Method::kMip, Norm::kL1, 0.4)),
               Error);
  EXPECT_THROW(attack::minDistortionAttack(net, x0, 0, 2, params(Method::kMip, Norm::kL1, 0.4)),
               Error);
  EXPECT_THROW(attack::minDistortionAttack(net, VectorXd::Zero(3), 0, 1,
                                           params(Method::kMip, Norm::kL1, 0.4)),
               Error);
  try {
    attack::minDistortionAttack(net, x0, 0, 1, params(Method::kBab, Norm::kL1, 0.4));
    ADD_FAILURE() << "L1 bisection must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("L-inf"), std::string::npos) << e.what();
  }
  EXPECT_THROW(attack::parseNorm("l3"), Error);
  EXPECT_EQ(attack::parseNorm("linf"), Norm::kLinf);
}

TEST(MinDistortion, ReplayRejectsPointsOutsideTheBoxOrShortOfTheGap) {
  const auto net = kinkNet();
  VectorXd x0(2);
  x0 << 0.3, 0.3;
  attack::MinDistortionResult r;
  r.true_label = 0;
  r.target_label = 1;
  r.gap = 0.4;
  r.norm = Norm::kL1;
  const spec::Box box = attack::minDistortionBox(x0, 0.35);
  VectorXd x(2);
  x << 0.6, 0.3;  // exactly the gap
  EXPECT_TRUE(attack::replayMinDistortion(net, box, x0, x, r));
  EXPECT_NEAR(r.distance, 0.3, 1e-12);
  x << 0.5999, 0.3;  // gap 0.3996 < 0.4 - 1e-6
  EXPECT_FALSE(attack::replayMinDistortion(net, box, x0, x, r));
  x << 0.66, 0.3;  // gap reached, but |d_1| = 0.36 > 0.35
  EXPECT_FALSE(attack::replayMinDistortion(net, box, x0, x, r));
  x << 0.6, -0.01;  // outside [0,1]
  EXPECT_FALSE(attack::replayMinDistortion(net, attack::minDistortionBox(x0, INFINITY), x0, x, r));
}

TEST(MinDistortion, MipIsALowerBoundOfNlpOnMnistMlp) {
  // The seed tutorial's experiment: digit 7 -> target 2, gap 0.1, L1, on the
  // committed 784-20-10 network (normalisation folded in).
  nn::Network net = io::loadOnnx(NNOPT_FIXTURES_DIR "/../../models/mnist_mlp_1x20.onnx")
                        .withInputNormalization(0.1307, 0.3081);
  const io::Image img = io::loadImage(NNOPT_FIXTURES_DIR "/../../data/mnist_test_0.pgm");
  ASSERT_EQ(img.pixels.size(), 784);
  auto mip = attack::minDistortionAttack(net, img.pixels, 7, 2, params(Method::kMip, Norm::kL1, 0.1));
  auto nlp = attack::minDistortionAttack(net, img.pixels, 7, 2, params(Method::kNlp, Norm::kL1, 0.1));
  expectReplays(net, img.pixels, mip);
  expectReplays(net, img.pixels, nlp);
  EXPECT_TRUE(mip.optimal);
  EXPECT_LE(mip.lower_bound, mip.distance + 1e-6);
  EXPECT_GE(mip.lower_bound, mip.distance - 1e-4);  // proven optimal (CBC gap 1e-9 rel)
  EXPECT_LE(mip.distance, nlp.distance + 1e-6);
  EXPECT_GT(mip.distance, 0.0);
  // L-inf with the NLP warm start: the box shrinks to the NLP's distance (fewer
  // unstable ReLUs) and the MIP proves the optimum.
  auto pi = params(Method::kMip, Norm::kLinf, 0.1);
  pi.nlp_warm_start = true;
  auto mipi = attack::minDistortionAttack(net, img.pixels, 7, 2, pi);
  auto nlpi = attack::minDistortionAttack(net, img.pixels, 7, 2, params(Method::kNlp, Norm::kLinf, 0.1));
  expectReplays(net, img.pixels, mipi);
  expectReplays(net, img.pixels, nlpi);
  EXPECT_TRUE(mipi.optimal) << mipi.status;
  EXPECT_LT(mipi.mip_box_eps, 1.0);
  EXPECT_LE(mipi.distance, nlpi.distance + 1e-6);
  EXPECT_LE(mipi.lower_bound, mipi.distance + 1e-6);
  EXPECT_GE(mipi.lower_bound, mipi.distance - 1e-4);
  // L2 by NLP (local): replays.
  auto nlp2 = attack::minDistortionAttack(net, img.pixels, 7, 2, params(Method::kNlp, Norm::kL2, 0.1));
  expectReplays(net, img.pixels, nlp2);
  // The warm-started MIP (NLP first, then CBC in the shrunk box) reaches the
  // same optimum and proves it.
  auto pw = params(Method::kMip, Norm::kL1, 0.1);
  pw.nlp_warm_start = true;
  auto mipw = attack::minDistortionAttack(net, img.pixels, 7, 2, pw);
  expectReplays(net, img.pixels, mipw);
  EXPECT_NEAR(mipw.distance, mip.distance, 1e-5);
  EXPECT_TRUE(std::isfinite(mipw.warm_start_distance));
  EXPECT_LE(mipw.lower_bound, mipw.distance + 1e-6);
}
