// The native local solver (solve/lpcc_local, attack/local_pwl): known optima
// of hand-computed networks, the local-minimum certificate checked from
// outside (no sampled neighbour of the returned point is better), MIP optimum
// <= its margin, replay, multi-start, limits.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "attack/attack.h"
#include "attack/local_pwl.h"
#include "attack/multistart.h"
#include "core/error.h"
#include "core/log.h"
#include "io/images.h"
#include "io/onnx.h"
#include "solve/lpcc_local.h"
#include "attack_params.h"
#include "random_net.h"

using namespace nnopt;

namespace {

using test::argmax;
using test::mipParams;
using test::pwlParams;
using test::randomNet;
using test::randomPoint;

const std::string kRepo = NNOPT_FIXTURES_DIR "/../..";

// One input x in [-1, 2], outputs (f(x), 0) with
//   f(x) = 0.1 (x + 1) + relu(x) - 2 relu(x - 0.5) + 3 relu(x - 1):
// slopes 0.1 | 1.1 | -0.9 | 2.1 on the pieces split at 0, 0.5, 1; a local
// minimum f(1) = 0.2 and the global minimum f(-1) = 0.
nn::Network kinkNet() {
  nn::Dense d1;
  d1.W = (Eigen::MatrixXd(4, 1) << 1, 1, 1, 1).finished();
  d1.b.resize(4);
  d1.b << 0, -0.5, -1, 1;
  nn::Dense d2;
  d2.W = (Eigen::MatrixXd(2, 4) << 1, -2, 3, 0.1, 0, 0, 0, 0).finished();
  d2.b = Eigen::VectorXd::Zero(2);
  return nn::Network({1}, {{"fc1", d1, {4}},
                           {"relu", nn::Activation{nn::ActKind::kRelu}, {4}},
                           {"fc2", d2, {2}}});
}

attack::MarginAttackParams walkOnly() {
  auto p = pwlParams();
  p.local_pgd_steps = 0;  // the region walk alone
  p.local_explore = 0;    // and no jumps after the certificate
  return p;
}

double marginAt(const nn::Network& net, const Eigen::VectorXd& x, int t, int g) {
  const Eigen::VectorXd y = net.forward(x);
  return y[t] - y[g];
}

// The certificate from outside: no point of the box near x (coordinate steps,
// random sign steps and random directions, of three small lengths) has a
// smaller margin. A PWL function is linear on each piece around x, so a
// certified local minimum passes for every small enough step.
void expectLocalMin(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x,
                    int t, int g, unsigned seed) {
  const double f0 = marginAt(net, x, t, g);
  const double tol = 1e-7 * (1.0 + std::abs(f0));
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const Eigen::Index n = x.size();
  auto check = [&](const Eigen::VectorXd& d, const char* kind) {
    for (double step : {1e-5, 1e-6}) {
      const Eigen::VectorXd y = (x + step * d).cwiseMax(box.lo).cwiseMin(box.hi);
      const double f = marginAt(net, y, t, g);
      ASSERT_GE(f, f0 - tol) << kind << " step " << step << ": " << f << " < " << f0;
    }
  };
  for (Eigen::Index i = 0; i < n; ++i)
    for (double s : {-1.0, 1.0}) {
      Eigen::VectorXd d = Eigen::VectorXd::Zero(n);
      d[i] = s;
      check(d, "coordinate");
    }
  for (int k = 0; k < 100; ++k) {
    Eigen::VectorXd d(n), r(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      d[i] = gauss(rng) < 0 ? -1.0 : 1.0;
      r[i] = gauss(rng);
    }
    check(d, "sign");
    check(r / r.norm(), "random");
  }
}

}  // namespace

TEST(LocalPwl, HandComputedLocalAndGlobalMinima) {
  const auto net = kinkNet();
  spec::Box box{Eigen::VectorXd::Constant(1, -1.0), Eigen::VectorXd::Constant(1, 2.0)};
  const Eigen::VectorXd x0 = Eigen::VectorXd::Constant(1, 0.9);
  auto p = walkOnly();
  // From 0.9 (slope -0.9): down to the kink at 1, where the next piece
  // rises (slope 2.1): the local minimum 0.2, certified.
  p.nlp_start = Eigen::VectorXd::Constant(1, 0.9);
  auto r = attack::marginAttack(net, box, x0, 0, 1, p);
  EXPECT_EQ(r.method, "nlp:pwl");
  EXPECT_NEAR(r.margin, 0.2, 1e-9);
  EXPECT_NEAR(r.adversarial[0], 1.0, 1e-9);
  EXPECT_TRUE(r.local_certified);
  EXPECT_GE(r.local_ties, 1);
  EXPECT_EQ(r.verdict, attack::Verdict::kNoAttackFound);
  // From 0.2 (slope 1.1): left to 0, across the kink (slope 0.1 still
  // improves), on to the box's end -1: the global minimum 0.
  p.nlp_start = Eigen::VectorXd::Constant(1, 0.2);
  r = attack::marginAttack(net, box, x0, 0, 1, p);
  EXPECT_NEAR(r.margin, 0.0, 1e-9);
  EXPECT_NEAR(r.adversarial[0], -1.0, 1e-9);
  EXPECT_GE(r.local_flips, 1);
  EXPECT_TRUE(r.local_certified);
  // From 1.5 (slope 2.1): left to 1, the same local minimum.
  p.nlp_start = Eigen::VectorXd::Constant(1, 1.5);
  r = attack::marginAttack(net, box, x0, 0, 1, p);
  EXPECT_NEAR(r.margin, 0.2, 1e-9);
  EXPECT_EQ(r.local_explored, 0);
  // Exploration: at x = 1 the pair nearest its boundary that does not touch
  // the point is relu(x - 0.5) (0.5 away). Reached from 0.9 the tied
  // relu(x - 1) is on its inactive side, so the flipped piece is x in
  // [0, 0.5] with the better f(0) = 0.1, and the walk goes on from there to
  // -1. (Reached from 1.5 the tie is on its active side, x >= 1, and that
  // flipped piece is empty: exploration keeps the ties' sides.)
  p.local_explore = 16;
  r = attack::marginAttack(net, box, x0, 0, 1, p);
  EXPECT_NEAR(r.margin, 0.2, 1e-9);
  EXPECT_EQ(r.local_explore_moves, 0);
  EXPECT_GE(r.local_explored, 1);
  p.nlp_start = Eigen::VectorXd::Constant(1, 0.9);
  r = attack::marginAttack(net, box, x0, 0, 1, p);
  EXPECT_NEAR(r.margin, 0.0, 1e-9);
  EXPECT_NEAR(r.adversarial[0], -1.0, 1e-9);
  EXPECT_GE(r.local_explore_moves, 1);
  EXPECT_GE(r.local_explored, r.local_explore_moves);
  EXPECT_TRUE(r.local_certified);
  p.local_explore = 0;
  // The MIP knows the global minimum; multi-start finds it too.
  const auto mip = attack::marginAttack(net, box, x0, 0, 1, mipParams());
  EXPECT_NEAR(mip.margin, 0.0, 1e-7);
  attack::MultiStartParams ms;
  ms.nlp = walkOnly();
  ms.starts = 8;
  ms.early_stop = false;
  ms.threads = 1;
  const auto best = attack::multiStartAttack(net, box, x0, 0, 1, ms);
  EXPECT_NEAR(best.best.margin, 0.0, 1e-9);
  EXPECT_EQ(best.starts_run, 8);
}

TEST(LocalPwl, RandomNetsMipBelowCertifiedLocalMinima) {
  int certified = 0, runs = 0;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    for (auto act : {nn::ActKind::kRelu, nn::ActKind::kLeakyRelu}) {
      SCOPED_TRACE(testing::Message() << "seed " << seed << " act " << nn::actName(act));
      const auto net = randomNet({6, 10, 10, 8, 3}, seed, act);
      const Eigen::VectorXd x0 = randomPoint(6, 100 + seed);
      const auto box = spec::linfBall(x0, 0.3);
      const Eigen::VectorXd clean = net.forward(x0);
      const int label = argmax(clean), target = attack::runnerUp(clean, label);
      const auto mip = attack::marginAttack(net, box, x0, label, target, mipParams());
      ASSERT_EQ(mip.status, "optimal");
      for (const auto& pr : {walkOnly(), pwlParams()}) {
        const auto r = attack::marginAttack(net, box, x0, label, target, pr);
        ASSERT_FALSE(std::isnan(r.margin)) << r.status;
        ++runs;
        certified += r.local_certified;
        EXPECT_LE(mip.margin, r.margin + 1e-6);
        EXPECT_TRUE(box.contains(r.adversarial, 0.0));
        // The reported margin is the forward pass's at the reported point,
        // and the walk never ends above the start (the clean image).
        EXPECT_DOUBLE_EQ(r.margin, marginAt(net, r.adversarial, label, target));
        EXPECT_LE(r.margin, clean[label] - clean[target] + 1e-9);
        EXPECT_NEAR(r.solver_objective, r.margin, 1e-6 * (1 + std::abs(r.margin)));
        if (r.local_certified) expectLocalMin(net, box, r.adversarial, label, target, seed);
      }
    }
  }
  EXPECT_EQ(certified, runs);
}

TEST(LocalPwl, FixtureNetworksOnTheMnistDigit) {
  const auto img = io::loadImage(kRepo + "/data/mnist_test_0.pgm");
  for (const char* name : {"mnist_mlp_1x10", "mnist_mlp_2x20", "mnist_mlp_3x10", "mnist_convpool"}) {
    SCOPED_TRACE(name);
    const auto net = io::loadOnnx(kRepo + "/models/" + name + ".onnx")
                         .withInputNormalization(0.1307, 0.3081);
    const Eigen::VectorXd& x0 = img.pixels;
    const auto box = spec::linfBall(x0, 0.02);
    const Eigen::VectorXd clean = net.forward(x0);
    const int label = 7, target = attack::runnerUp(clean, label);
    const auto r = attack::marginAttack(net, box, x0, label, target, pwlParams());
    ASSERT_FALSE(std::isnan(r.margin)) << r.status;
    EXPECT_TRUE(box.contains(r.adversarial, 0.0));
    EXPECT_DOUBLE_EQ(r.margin, marginAt(net, r.adversarial, label, target));
    EXPECT_TRUE(r.local_certified) << r.status;
    if (!net.hasMaxPool()) {  // CBC proves the MLPs in well under a second
      const auto mip = attack::marginAttack(net, box, x0, label, target, mipParams());
      ASSERT_EQ(mip.status, "optimal");
      EXPECT_LE(mip.margin, r.margin + 1e-6);
    }
    if (r.local_certified) expectLocalMin(net, box, r.adversarial, label, target, 7);
  }
}

TEST(LocalPwl, MultiStartNeverWorseThanItsFirstStartAndThreadsAgree) {
  const auto net = randomNet({20, 16, 16, 4}, 9);
  const Eigen::VectorXd x0 = randomPoint(20, 3);
  const auto box = spec::linfBall(x0, 0.25);
  const Eigen::VectorXd clean = net.forward(x0);
  const int label = argmax(clean), target = attack::runnerUp(clean, label);
  const auto single = attack::marginAttack(net, box, x0, label, target, pwlParams());
  attack::MultiStartParams ms;
  ms.nlp = pwlParams();
  ms.starts = 64;
  ms.early_stop = false;
  ms.threads = 1;
  const auto one = attack::multiStartAttack(net, box, x0, label, target, ms);
  ms.threads = 2;
  const auto two = attack::multiStartAttack(net, box, x0, label, target, ms);
  EXPECT_EQ(one.starts_run, 64);
  EXPECT_EQ(two.starts_run, 64);
  EXPECT_LE(one.best.margin, single.margin + 1e-12);
  EXPECT_NEAR(one.margins[0], single.margin, 1e-9);
  EXPECT_NEAR(one.best.margin, two.best.margin, 1e-9);
  EXPECT_GT(one.starts_per_s, 0.0);
  for (double m : one.margins) EXPECT_GE(m, one.best.margin);
  // A time budget stops launching starts.
  ms.starts = 1000000;
  ms.time_budget = 0.2;
  Timer t;
  const auto budget = attack::multiStartAttack(net, box, x0, label, target, ms);
  EXPECT_LT(t.seconds(), 5.0);
  EXPECT_GT(budget.starts_run, 0);
  EXPECT_LT(budget.starts_run, 1000000);
}

TEST(LocalPwl, TimeLimitEndsTheWalk) {
  const auto net = randomNet({200, 80, 80, 80, 10}, 4);
  const Eigen::VectorXd x0 = randomPoint(200, 5);
  const auto box = spec::linfBall(x0, 0.5);
  const Eigen::VectorXd clean = net.forward(x0);
  const int label = argmax(clean), target = attack::runnerUp(clean, label);
  auto p = walkOnly();
  p.time_limit = 1e-3;
  Timer t;
  const auto r = attack::marginAttack(net, box, x0, label, target, p);
  EXPECT_LT(t.seconds(), 2.0);
  // Whatever was reached is a replayed point of the box.
  if (!std::isnan(r.margin)) EXPECT_TRUE(box.contains(r.adversarial, 0.0));
}

TEST(LocalPwl, RefusesSmoothNetworksAndBadPairs) {
  const auto net = randomNet({4, 5, 2}, 1, nn::ActKind::kTanh);
  const Eigen::VectorXd x0 = randomPoint(4, 1);
  const auto box = spec::linfBall(x0, 0.1);
  EXPECT_THROW(attack::PwlMarginLocal(net, box, x0, 0, 1, pwlParams()), Error);
  // kAuto picks Ipopt for smooth networks.
  auto p = pwlParams();
  p.local = attack::LocalSolver::kAuto;
  const auto r = attack::marginAttack(net, box, x0, 0, 1, p);
  EXPECT_EQ(r.method, "nlp:scholtes");
  model::MathModel m;
  m.addVar(0, 1);
  m.addVar(-1, 1);
  EXPECT_THROW(solve::LpccLocalSolver(m, {{0, 1}}), Error);  // n has lower bound -1
  EXPECT_THROW(solve::LpccLocalSolver(m, {{0, 5}}), Error);
  EXPECT_THROW(attack::parseLocalSolver("cplex"), Error);
}
