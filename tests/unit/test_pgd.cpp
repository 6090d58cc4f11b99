#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "attack/pgd.h"
#include "core/error.h"
#include "nn/gradient.h"
#include "nn/network.h"
#include "spec/property.h"
#include "random_net.h"

using namespace nnopt;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using test::randomNet;

namespace {

nn::Layer denseLayer(const MatrixXd& W, const VectorXd& b) {
  nn::Dense d;
  d.W = W;
  d.b = b;
  return nn::Layer{"fc", d, {W.rows()}};
}

nn::Layer actLayer(nn::ActKind k, int64_t n, double alpha = 0.1) {
  nn::Activation a;
  a.kind = k;
  a.alpha = alpha;
  return nn::Layer{"act", a, {n}};
}


spec::Box unitBox(int n, double lo = -1.0, double hi = 1.0) {
  return {VectorXd::Constant(n, lo), VectorXd::Constant(n, hi)};
}

spec::OutputConstraint le(std::vector<std::pair<int, double>> coefs, double rhs) {
  spec::OutputConstraint c;
  c.coefs = std::move(coefs);
  c.rhs = rhs;
  return c;
}

}  // namespace

TEST(Pgd, GradientMatchesFiniteDifferences) {
  std::mt19937 rng(7);
  for (auto kind :
       {nn::ActKind::kRelu, nn::ActKind::kLeakyRelu, nn::ActKind::kTanh, nn::ActKind::kSigmoid}) {
    nn::Network net = randomNet(rng, 6, {12, 9, 3}, kind);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (int trial = 0; trial < 5; ++trial) {
      VectorXd x(6), c(3);
      for (int i = 0; i < 6; ++i) x[i] = u(rng);
      for (int j = 0; j < 3; ++j) c[j] = u(rng);
      VectorXd y;
      VectorXd g = nn::outputGradient(net, x, c, &y);
      EXPECT_LT((y - net.forward(x)).norm(), 1e-12);
      const double h = 1e-6;
      for (int i = 0; i < 6; ++i) {
        VectorXd a = x, b = x;
        a[i] += h;
        b[i] -= h;
        const double fd = (c.dot(net.forward(a)) - c.dot(net.forward(b))) / (2 * h);
        // ReLU kinks inside [x-h, x+h] are improbable at random points.
        EXPECT_NEAR(g[i], fd, 1e-5) << nn::actName(kind) << " dim " << i;
      }
    }
  }
}

TEST(Pgd, GradientOfLinearNetworkIsExact) {
  MatrixXd W(2, 3);
  W << 1, -2, 3, 0.5, 0, -1;
  nn::Network net({3}, {denseLayer(W, VectorXd::Zero(2))});
  VectorXd c(2);
  c << 2, -1;
  VectorXd g = nn::outputGradient(net, VectorXd::Zero(3), c);
  EXPECT_LT((g - W.transpose() * c).norm(), 1e-15);
}

TEST(Pgd, SpecMarginIsMinOverDisjunctsOfMaxOverConstraints) {
  spec::OutputSpec s;
  // (y0 <= 1 and y1 <= 2) or (y0 - y1 <= -3)
  s.disjuncts = {{le({{0, 1.0}}, 1.0), le({{1, 1.0}}, 2.0)}, {le({{0, 1.0}, {1, -1.0}}, -3.0)}};
  VectorXd y(2);
  y << 2.0, 1.0;  // disjunct 0: max(1, -1) = 1; disjunct 1: 1 + 3 = 4
  int d = -1, k = -1;
  EXPECT_DOUBLE_EQ(spec::specMargin(s, y, &d, &k), 1.0);
  EXPECT_EQ(d, 0);
  EXPECT_EQ(k, 0);
  y << 0.0, 5.0;  // disjunct 0: max(-1, 3) = 3; disjunct 1: -5 + 3 = -2
  EXPECT_DOUBLE_EQ(spec::specMargin(s, y, &d, &k), -2.0);
  EXPECT_EQ(d, 1);
  EXPECT_TRUE(s.satisfiedBy(y));
}

TEST(Pgd, FindsTheCornerMinimumOfALinearFunction) {
  MatrixXd W(1, 4);
  W << 1, -2, 0.5, -0.25;
  nn::Network net({4}, {denseLayer(W, VectorXd::Zero(1))});
  spec::OutputSpec s;
  s.disjuncts = {{le({{0, 1.0}}, -100.0)}};  // unreachable: PGD minimises y0
  for (auto step : {attack::PgdStep::kSign, attack::PgdStep::kScaled}) {
    attack::PgdParams p;
    p.restarts = 2;
    p.steps = 200;
    p.step = step;
    auto r = attack::pgdMinimize(net, unitBox(4), s, p);
    EXPECT_FALSE(r.reached);
    // min over [-1,1]^4 of y0 is -(1 + 2 + 0.5 + 0.25) = -3.75; margin = y0 + 100.
    EXPECT_NEAR(r.value, -3.75 + 100.0, 1e-9);
    EXPECT_TRUE(unitBox(4).contains(r.x, 0.0));
  }
}

TEST(Pgd, ReachesTheTargetAndStops) {
  std::mt19937 rng(3);
  nn::Network net = randomNet(rng, 5, {16, 16, 3});
  // Target: y0 - y1 <= (the value at some box point), so it is reachable.
  VectorXd x0 = VectorXd::Constant(5, 0.3);
  VectorXd y0 = net.forward(x0);
  spec::OutputSpec s;
  s.disjuncts = {{le({{0, 1.0}, {1, -1.0}}, y0[0] - y0[1])}};
  attack::PgdParams p;
  p.restarts = 20;
  p.steps = 100;
  auto r = attack::pgdMinimize(net, unitBox(5), s, p);
  ASSERT_TRUE(r.reached);
  EXPECT_LE(r.value, 0.0);
  VectorXd y = net.forward(r.x);
  EXPECT_TRUE(s.satisfiedBy(y));
  EXPECT_TRUE(unitBox(5).contains(r.x, 0.0));
}

TEST(Pgd, IsDeterministicForASeed) {
  std::mt19937 rng(11);
  nn::Network net = randomNet(rng, 30, {20, 4});
  spec::OutputSpec s;
  s.disjuncts = {{le({{0, 1.0}, {2, -1.0}}, -50.0)}, {le({{1, 1.0}}, -50.0)}};
  attack::PgdParams p;
  p.restarts = 6;
  p.steps = 30;
  p.seed = 42;
  auto a = attack::pgdMinimize(net, unitBox(30, 0.0, 1.0), s, p);
  auto b = attack::pgdMinimize(net, unitBox(30, 0.0, 1.0), s, p);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ((a.x - b.x).norm(), 0.0);
  EXPECT_EQ(a.restarts_run, 6);
  p.seed = 43;
  auto c = attack::pgdMinimize(net, unitBox(30, 0.0, 1.0), s, p);
  EXPECT_EQ(c.restarts_run, 6);
}

TEST(Pgd, SoftMaxDescendsAConjunction) {
  // y = x (2 inputs); unsafe: y0 <= -0.9 and y1 <= -0.9 in [-1,1]^2.
  nn::Network net({2}, {denseLayer(MatrixXd::Identity(2, 2), VectorXd::Zero(2))});
  spec::OutputSpec s;
  s.disjuncts = {{le({{0, 1.0}}, -0.9), le({{1, 1.0}}, -0.9)}};
  attack::PgdParams p;
  p.restarts = 1;
  p.steps = 50;
  p.starts = {VectorXd::Constant(2, 0.5)};
  auto r = attack::pgdMinimize(net, unitBox(2), s, p);
  EXPECT_TRUE(r.reached);
  EXPECT_LE(r.x.maxCoeff(), -0.9);
}

TEST(Pgd, RespectsTheDeadline) {
  std::mt19937 rng(5);
  nn::Network net = randomNet(rng, 50, {64, 64, 2});
  spec::OutputSpec s;
  s.disjuncts = {{le({{0, 1.0}}, -1e9)}};
  attack::PgdParams p;
  p.restarts = 1000000;
  p.steps = 1000;
  p.time_limit = 0.2;
  auto r = attack::pgdMinimize(net, unitBox(50), s, p);
  EXPECT_LT(r.time_s, 1.0);
  EXPECT_LT(r.restarts_run, 1000000);
}

TEST(Pgd, RejectsBadInput) {
  std::mt19937 rng(1);
  nn::Network net = randomNet(rng, 3, {4, 2});
  spec::OutputSpec s;
  s.disjuncts = {{le({{5, 1.0}}, 0.0)}};
  EXPECT_THROW(attack::pgdMinimize(net, unitBox(3), s, {}), Error);  // Y_5 out of range
  s.disjuncts = {{le({{0, 1.0}}, 0.0)}};
  EXPECT_THROW(attack::pgdMinimize(net, unitBox(4), s, {}), Error);  // box size
  spec::Box empty = unitBox(3);
  empty.lo[1] = 2.0;
  EXPECT_THROW(attack::pgdMinimize(net, empty, s, {}), Error);
  EXPECT_THROW(attack::pgdMinimize(net, unitBox(3), spec::OutputSpec{}, {}), Error);
}
