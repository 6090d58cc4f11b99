// Cross-checks between methods on small networks: the exact MIP optimum is a
// lower bound of every NLP local optimum; verdicts follow the replay rules.
#include <gtest/gtest.h>

#include <random>

#include "attack/attack.h"
#include "attack/multistart.h"
#include "core/error.h"
#include "attack_params.h"
#include "random_net.h"

using namespace nnopt;

namespace {

using test::argmax;
using test::kAllForms;
using test::mipParams;
using test::nlpParams;

using test::randomNet;
using test::randomPoint;

}  // namespace

TEST(Attack, MipMatchesGridOnTwoInputNet) {
  auto net = randomNet({2, 8, 8, 3}, 1);
  Eigen::VectorXd x0(2);
  x0 << 0.5, 0.5;
  auto box = spec::linfBall(x0, 0.4);
  Eigen::VectorXd clean = net.forward(x0);
  int label = argmax(clean), target = attack::runnerUp(clean, label);
  auto r = attack::marginAttack(net, box, x0, label, target, mipParams());
  ASSERT_TRUE(r.verdict == attack::Verdict::kAttackFound || r.verdict == attack::Verdict::kRobust ||
              r.verdict == attack::Verdict::kNoAttackFound);
  // Brute force over a fine grid: the MIP optimum is a lower bound and close.
  double grid_min = 1e300;
  const int n = 400;
  for (int i = 0; i <= n; ++i)
    for (int j = 0; j <= n; ++j) {
      Eigen::VectorXd x(2);
      x << box.lo[0] + (box.hi[0] - box.lo[0]) * i / n, box.lo[1] + (box.hi[1] - box.lo[1]) * j / n;
      Eigen::VectorXd y = net.forward(x);
      grid_min = std::min(grid_min, y[label] - y[target]);
    }
  EXPECT_LE(r.margin, grid_min + 1e-6);
  EXPECT_GE(r.margin, grid_min - 0.05);  // grid spacing 0.002 times a modest Lipschitz constant
  // The reported margin is the forward pass at the reported point.
  Eigen::VectorXd y = net.forward(r.adversarial);
  EXPECT_NEAR(r.margin, y[label] - y[target], 1e-12);
  EXPECT_TRUE(box.contains(r.adversarial, 0.0));
  if (r.verdict == attack::Verdict::kRobust) EXPECT_GT(r.bound, 0.0);
}

TEST(Attack, MipIsLowerBoundOfEveryNlpForm) {
  auto net = randomNet({30, 20, 20, 5}, 2);
  Eigen::VectorXd x0 = randomPoint(30, 3);
  auto box = spec::linfBall(x0, 0.1);
  Eigen::VectorXd clean = net.forward(x0);
  int label = argmax(clean), target = attack::runnerUp(clean, label);
  auto mip = attack::marginAttack(net, box, x0, label, target, mipParams());
  ASSERT_EQ(mip.status, "optimal");
  for (auto f : kAllForms) {
    auto r = attack::marginAttack(net, box, x0, label, target, nlpParams(f));
    SCOPED_TRACE(r.method);
    ASSERT_FALSE(std::isnan(r.margin)) << r.status;
    EXPECT_LE(mip.margin, r.margin + 1e-6);
    EXPECT_TRUE(box.contains(r.adversarial, 0.0));
    if (r.verdict == attack::Verdict::kAttackFound) EXPECT_LT(r.margin, 0.0);
    EXPECT_NE(r.verdict, attack::Verdict::kRobust);  // a local method never claims robust
  }
}

TEST(Attack, NlpWarmStartedMipReachesTheSameOptimum) {
  // The NLP's point as CBC's incumbent must not change the proven optimum,
  // and the NLP stage is reported (margin >= the optimum, time > 0).
  auto net = randomNet({30, 20, 20, 5}, 11);
  Eigen::VectorXd x0 = randomPoint(30, 12);
  auto box = spec::linfBall(x0, 0.1);
  Eigen::VectorXd clean = net.forward(x0);
  int label = argmax(clean), target = attack::runnerUp(clean, label);
  auto cold = attack::marginAttack(net, box, x0, label, target, mipParams());
  ASSERT_EQ(cold.status, "optimal");
  EXPECT_TRUE(std::isnan(cold.warm_start_margin));
  auto p = mipParams();
  p.mip_warm_start = true;
  auto warm = attack::marginAttack(net, box, x0, label, target, p);
  ASSERT_EQ(warm.status, "optimal");
  EXPECT_NEAR(warm.margin, cold.margin, 1e-6);
  ASSERT_FALSE(std::isnan(warm.warm_start_margin));
  EXPECT_GE(warm.warm_start_margin, warm.margin - 1e-6);
  EXPECT_GT(warm.warm_start_time_s, 0.0);
  EXPECT_GE(warm.time_s, warm.warm_start_time_s);
  EXPECT_EQ(warm.verdict, cold.verdict);
}

TEST(Attack, PortfolioProvesTheMipOptimumAndVerdict) {
  // CBC and the BaB in a race: the reported margin is a replayed point at the
  // MIP optimum, the bound is proven (<= margin, within 1e-4 of it), and the
  // verdict is the MIP's, for attackable and for robust boxes.
  for (int seed : {21, 22, 23}) {
    auto net = randomNet({30, 16, 16, 5}, seed);
    Eigen::VectorXd x0 = randomPoint(30, seed + 100);
    Eigen::VectorXd clean = net.forward(x0);
    int label = argmax(clean), target = attack::runnerUp(clean, label);
    for (double eps : {0.002, 0.1}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " eps " + std::to_string(eps));
      auto box = spec::linfBall(x0, eps);
      auto mip = attack::marginAttack(net, box, x0, label, target, mipParams());
      ASSERT_EQ(mip.status, "optimal");
      auto p = mipParams();
      p.method = attack::Method::kPortfolio;
      p.mip_warm_start = seed == 22;  // the NLP seeds both solvers
      auto r = attack::marginAttack(net, box, x0, label, target, p);
      EXPECT_EQ(r.method, "portfolio");
      EXPECT_EQ(std::isnan(r.warm_start_margin), !p.mip_warm_start);
      if (p.mip_warm_start) EXPECT_GE(r.warm_start_margin, r.margin - 1e-9);
      EXPECT_EQ(r.status.rfind("optimal", 0), 0u) << r.status;
      EXPECT_NEAR(r.margin, mip.margin, 1e-4 * std::max(1.0, std::abs(mip.margin)));
      EXPECT_LE(r.bound, r.margin + 1e-12);
      EXPECT_GE(r.bound, mip.margin - 2e-4 * std::max(1.0, std::abs(mip.margin)));
      EXPECT_EQ(r.verdict, mip.verdict);
      ASSERT_EQ(r.adversarial.size(), 30);
      EXPECT_TRUE(box.contains(r.adversarial, 0.0));
      Eigen::VectorXd y = net.forward(r.adversarial);
      EXPECT_NEAR(r.margin, y[label] - y[target], 1e-12);
    }
  }
}

TEST(Attack, ChunkedFirstLayerIsTheSameNlp) {
  // Partial sums over input blocks change the model, not the problem: the
  // start point (the clean image) is feasible, and the optimum of the
  // product form from that start stays above the MIP optimum and replays.
  auto net = randomNet({50, 12, 12, 4}, 5);
  Eigen::VectorXd x0 = randomPoint(50, 6);
  auto box = spec::linfBall(x0, 0.15);
  Eigen::VectorXd clean = net.forward(x0);
  int label = argmax(clean), target = attack::runnerUp(clean, label);
  auto mip = attack::marginAttack(net, box, x0, label, target, mipParams());
  ASSERT_EQ(mip.status, "optimal");
  auto plain = attack::marginAttack(net, box, x0, label, target, nlpParams(attack::NlpForm::kProduct));
  for (int chunk : {7, 16}) {
    SCOPED_TRACE(chunk);
    auto p = nlpParams(attack::NlpForm::kProduct);
    p.input_chunk = chunk;
    auto r = attack::marginAttack(net, box, x0, label, target, p);
    const int blocks = (50 + chunk - 1) / chunk;
    EXPECT_EQ(r.variables, plain.variables + 12 * blocks);
    EXPECT_EQ(r.constraints, plain.constraints + 12 * blocks);
    ASSERT_FALSE(std::isnan(r.margin)) << r.status;
    EXPECT_LE(mip.margin, r.margin + 1e-6);
    EXPECT_TRUE(box.contains(r.adversarial, 0.0));
    Eigen::VectorXd y = net.forward(r.adversarial);
    EXPECT_NEAR(r.margin, y[label] - y[target], 1e-12);
  }
}

TEST(Attack, ZeroEpsIsRobustWhenCorrect) {
  auto net = randomNet({10, 12, 4}, 4);
  Eigen::VectorXd x0 = randomPoint(10, 5);
  Eigen::VectorXd clean = net.forward(x0);
  int label = argmax(clean), target = attack::runnerUp(clean, label);
  auto box = spec::linfBall(x0, 0.0);
  auto r = attack::marginAttack(net, box, x0, label, target, mipParams());
  EXPECT_EQ(r.verdict, attack::Verdict::kRobust);
  EXPECT_NEAR(r.margin, clean[label] - clean[target], 1e-9);
}

TEST(Attack, ReplayRejectsPointsOutsideTheBox) {
  auto net = randomNet({4, 6, 3}, 6);
  Eigen::VectorXd x0 = randomPoint(4, 7);
  auto box = spec::linfBall(x0, 0.01);
  attack::MarginAttackResult r;
  Eigen::VectorXd clean = net.forward(x0);
  r.true_label = argmax(clean);
  r.target_label = attack::runnerUp(clean, r.true_label);
  Eigen::VectorXd far = x0.array() + 0.5;
  EXPECT_FALSE(attack::replayMarginAttack(net, box, x0, far, r));
}

TEST(Attack, TanhNetworkNlpOnly) {
  auto net = randomNet({8, 10, 3}, 8, nn::ActKind::kTanh);
  Eigen::VectorXd x0 = randomPoint(8, 9);
  auto box = spec::linfBall(x0, 0.2);
  Eigen::VectorXd clean = net.forward(x0);
  int label = argmax(clean), target = attack::runnerUp(clean, label);
  EXPECT_THROW(attack::marginAttack(net, box, x0, label, target, mipParams()), Error);
  auto r = attack::marginAttack(net, box, x0, label, target, nlpParams(attack::NlpForm::kScholtes));
  ASSERT_FALSE(std::isnan(r.margin));
  // A local optimum is no worse than the clean point's margin.
  EXPECT_LE(r.margin, clean[label] - clean[target] + 1e-6);
}

TEST(Attack, BadLabelsThrow) {
  auto net = randomNet({4, 6, 3}, 10);
  Eigen::VectorXd x0 = randomPoint(4, 11);
  auto box = spec::linfBall(x0, 0.1);
  EXPECT_THROW(attack::marginAttack(net, box, x0, 3, 0, mipParams()), Error);
  EXPECT_THROW(attack::marginAttack(net, box, x0, 1, 1, mipParams()), Error);
  EXPECT_THROW(spec::linfBall(x0, -0.1), Error);
}

TEST(MultiStart, SobolPointsFillTheBoxDeterministically) {
  Eigen::VectorXd x0 = randomPoint(50, 12);
  auto box = spec::linfBall(x0, 0.1);
  auto a = attack::sobolPoints(box, 64);
  auto b = attack::sobolPoints(box, 64);
  ASSERT_EQ(a.size(), 64u);
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_TRUE(box.contains(a[k], 0.0));
    EXPECT_EQ(a[k], b[k]);
    if (k) EXPECT_GT((a[k] - a[k - 1]).norm(), 1e-6);
  }
  auto c = attack::sobolPoints(box, 8, true, 42);
  for (const auto& p : c) EXPECT_TRUE(box.contains(p, 0.0));
  EXPECT_GT((c[0] - a[0]).norm(), 1e-6);
}

TEST(MultiStart, BestOfStartsIsNoWorseThanSingleStartAndEarlyStopWorks) {
  auto net = randomNet({20, 16, 16, 4}, 13);
  Eigen::VectorXd x0 = randomPoint(20, 14);
  auto box = spec::linfBall(x0, 0.3);
  Eigen::VectorXd clean = net.forward(x0);
  int label = argmax(clean), target = attack::runnerUp(clean, label);
  auto single = attack::marginAttack(net, box, x0, label, target, nlpParams(attack::NlpForm::kScholtes));
  attack::MultiStartParams mp;
  mp.nlp = nlpParams(attack::NlpForm::kScholtes);
  mp.starts = 8;
  mp.early_stop = false;
  mp.threads = 2;
  auto ms = attack::multiStartAttack(net, box, x0, label, target, mp);
  EXPECT_EQ(ms.starts_run, 8);
  EXPECT_LE(ms.best.margin, single.margin + 1e-6);  // start 0 is the clean image
  auto mip = attack::marginAttack(net, box, x0, label, target, mipParams());
  EXPECT_LE(mip.margin, ms.best.margin + 1e-6);
  if (mip.margin < -1e-3) {
    mp.early_stop = true;
    mp.threads = 1;
    auto es = attack::multiStartAttack(net, box, x0, label, target, mp);
    if (es.first_attack_start >= 0) {
      EXPECT_EQ(es.starts_run, es.first_attack_start + 1);
      EXPECT_EQ(es.best.verdict, attack::Verdict::kAttackFound);
    }
  }
}
