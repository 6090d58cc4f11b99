// CBC (solveMip) and Clp (solveLp) backends: hand-computed optima, status
// and bound mapping (sense, offset), MIP starts, time limits, stop_below,
// quiet output, concurrency and a 40-binary big-M ReLU model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "model/math_model.h"
#include "solve/solver.h"

namespace {

using nnopt::model::kInf;
using nnopt::model::LinTerm;
using nnopt::model::MathModel;
using nnopt::model::NlKind;
using nnopt::model::Row;
using nnopt::model::Sense;
using nnopt::solve::Solution;
using nnopt::solve::SolveParams;
using nnopt::solve::SolveStatus;
using nnopt::solve::solveLp;
using nnopt::solve::solveMip;
using nnopt::solve::statusName;

constexpr double kTol = 1e-6;

::testing::AssertionResult hasStatus(const Solution& s, SolveStatus want) {
  if (s.status == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "status " << statusName(s.status) << " (want "
                                       << statusName(want) << "), message: " << s.message;
}

// max 3 + 4a + 2b + c + 2d + 10e  s.t.  12a + 2b + c + d + 4e <= 15, binaries.
// MIP optimum {b, c, d, e}: 3 + 15 = 18. LP relaxation: e, d, b, c whole
// (weight 8, value 15) plus 7/12 of a: 3 + 15 + 7/3.
MathModel knapsack() {
  MathModel m;
  const std::vector<double> w = {12, 2, 1, 1, 4};
  const std::vector<double> v = {4, 2, 1, 2, 10};
  std::vector<LinTerm> row;
  for (size_t i = 0; i < w.size(); ++i) {
    const int j = m.addVar(0, 1, true);
    row.push_back({j, w[i]});
    m.objLinear().push_back({j, v[i]});
  }
  m.addRow(row, -kInf, 15);
  m.setSense(Sense::kMaximize);
  m.setObjOffset(3);
  return m;
}

// min x + 2y + 3z  s.t.  x + y + z = 6,  x - y = 0,  z >= 1,  x, y, z >= 0.
// LP: x = y = 2.5, z = 1, objective 10.5. Integer: x = y = 2, z = 2, 12.
MathModel equalities(bool integer) {
  MathModel m;
  const int x = m.addVar(0, kInf, integer);
  const int y = m.addVar(0, kInf, integer);
  const int z = m.addVar(1, kInf, integer);
  m.addRow({{x, 1}, {y, 1}, {z, 1}}, 6, 6);
  m.addRow({{x, 1}, {y, -1}}, 0, 0);
  m.objLinear() = {{x, 1}, {y, 2}, {z, 3}};
  return m;
}

// A random fully connected ReLU network on the box [-1, 1]^nin as a big-M
// MIP (interval bounds as M; one binary per unstable ReLU); the objective is
// the scalar output. forward() evaluates the network itself.
struct ReluNet {
  std::vector<std::vector<std::vector<double>>> w;  // layer, neuron, input
  std::vector<std::vector<double>> b;
  MathModel m;
  int nin = 0;
  int out = -1;

  double forward(const std::vector<double>& x) const {
    std::vector<double> a = x;
    for (size_t l = 0; l < w.size(); ++l) {
      std::vector<double> z(w[l].size());
      for (size_t j = 0; j < w[l].size(); ++j) {
        z[j] = b[l][j];
        for (size_t i = 0; i < a.size(); ++i) z[j] += w[l][j][i] * a[i];
        if (l + 1 < w.size()) z[j] = std::max(z[j], 0.0);
      }
      a = z;
    }
    return a[0];
  }
};

ReluNet reluNet(int nin, const std::vector<int>& hidden, unsigned seed) {
  ReluNet net;
  net.nin = nin;
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<int> prev;
  std::vector<double> lo, hi;
  for (int i = 0; i < nin; ++i) {
    prev.push_back(net.m.addVar(-1, 1));
    lo.push_back(-1);
    hi.push_back(1);
  }
  for (size_t l = 0; l <= hidden.size(); ++l) {
    const bool last = l == hidden.size();
    const int width = last ? 1 : hidden[l];
    net.w.emplace_back(width, std::vector<double>(prev.size()));
    net.b.emplace_back(width);
    std::vector<int> next;
    std::vector<double> nlo, nhi;
    for (int j = 0; j < width; ++j) {
      std::vector<LinTerm> terms;
      double zl = 0, zu = 0;
      for (size_t i = 0; i < prev.size(); ++i) {
        const double c = u(gen);
        net.w[l][j][i] = c;
        terms.push_back({prev[i], c});
        zl += std::min(c * lo[i], c * hi[i]);
        zu += std::max(c * lo[i], c * hi[i]);
      }
      const double bias = 0.3 * u(gen);
      net.b[l][j] = bias;
      zl += bias;
      zu += bias;
      const int z = net.m.addVar(zl, zu);
      terms.push_back({z, -1});
      net.m.addRow(terms, -bias, -bias);  // z = w.x + b
      if (last) {
        net.out = z;
        break;
      }
      const int y = net.m.addVar(std::max(zl, 0.0), std::max(zu, 0.0));
      if (zl >= 0) {
        net.m.addRow({{y, 1}, {z, -1}}, 0, 0);
      } else if (zu > 0) {
        const int d = net.m.addVar(0, 1, true);
        net.m.addRow({{y, 1}, {z, -1}}, 0, kInf);                 // y >= z
        net.m.addRow({{y, 1}, {z, -1}, {d, -zl}}, -kInf, -zl);    // y <= z - zl (1 - d)
        net.m.addRow({{y, 1}, {d, -zu}}, -kInf, 0);               // y <= zu d
      }  // zu <= 0: y is fixed at 0 by its bounds
      next.push_back(y);
      nlo.push_back(std::max(zl, 0.0));
      nhi.push_back(std::max(zu, 0.0));
    }
    prev = next;
    lo = nlo;
    hi = nhi;
  }
  net.m.objLinear() = {{net.out, 1.0}};
  return net;
}

// A feasible MIP point: the network evaluated at input x (binaries = active).
std::vector<double> feasiblePoint(const ReluNet& net, const std::vector<double>& x) {
  // Variables were added per neuron as z, y[, d]; replay the same order.
  std::vector<double> pt(net.m.numVars(), 0.0);
  for (int i = 0; i < net.nin; ++i) pt[i] = x[i];
  int next = net.nin;
  std::vector<double> a = x;
  for (size_t l = 0; l < net.w.size(); ++l) {
    const bool last = l + 1 == net.w.size();
    std::vector<double> act;
    for (size_t j = 0; j < net.w[l].size(); ++j) {
      double z = net.b[l][j];
      for (size_t i = 0; i < a.size(); ++i) z += net.w[l][j][i] * a[i];
      const int zi = next++;
      pt[zi] = z;
      if (last) break;
      const auto& zv = net.m.vars()[zi];
      pt[next++] = std::max(z, 0.0);
      if (zv.lb < 0 && zv.ub > 0) pt[next++] = z > 0 ? 1.0 : 0.0;
      act.push_back(std::max(z, 0.0));
    }
    a = act;
  }
  return pt;
}

std::vector<double> inputOf(const ReluNet& net, const std::vector<double>& pt) {
  return std::vector<double>(pt.begin(), pt.begin() + net.nin);
}

// ---------------------------------------------------------------- LP (Clp)

// max 3x + 2y  s.t.  x + y <= 4,  x + 3y <= 6,  0 <= x <= 3,  y >= 0:
// vertex (3, 1), objective 11.
MathModel smallLp() {
  MathModel m;
  const int x = m.addVar(0, 3);
  const int y = m.addVar(0, kInf);
  m.addRow({{x, 1}, {y, 1}}, -kInf, 4);
  m.addRow({{x, 1}, {y, 3}}, -kInf, 6);
  m.objLinear() = {{x, 3}, {y, 2}};
  m.setSense(Sense::kMaximize);
  return m;
}

TEST(Lp, HandComputedMaximum) {
  const Solution s = solveLp(smallLp());
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  ASSERT_EQ(s.x.size(), 2u);
  EXPECT_NEAR(s.x[0], 3.0, kTol);
  EXPECT_NEAR(s.x[1], 1.0, kTol);
  EXPECT_NEAR(s.objective, 11.0, kTol);
  EXPECT_NEAR(s.bound, 11.0, kTol);
}

TEST(Lp, OffsetAndMinimisation) {
  MathModel m = smallLp();
  m.setSense(Sense::kMinimize);  // min 3x + 2y + 5: origin
  m.setObjOffset(5);
  const Solution s = solveLp(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 5.0, kTol);
  EXPECT_NEAR(s.bound, 5.0, kTol);
}

TEST(Lp, RelaxesIntegers) {
  const Solution s = solveLp(knapsack());
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 18.0 + 7.0 / 3.0, kTol);
  EXPECT_NEAR(s.x[0], 7.0 / 12.0, kTol);
}

TEST(Lp, EqualityRows) {
  const Solution s = solveLp(equalities(false));
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 10.5, kTol);
  EXPECT_NEAR(s.x[0], 2.5, kTol);
  EXPECT_NEAR(s.x[1], 2.5, kTol);
  EXPECT_NEAR(s.x[2], 1.0, kTol);
}

TEST(Lp, Infeasible) {
  MathModel m;
  const int x = m.addVar(0, kInf);
  const int y = m.addVar(0, kInf);
  m.addRow({{x, 1}, {y, 1}}, -kInf, -1);
  m.objLinear() = {{x, 1}};
  Solution s = solveLp(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kInfeasible));
  EXPECT_FALSE(s.hasPoint());
  EXPECT_EQ(s.bound, kInf);
  m.setSense(Sense::kMaximize);
  s = solveLp(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kInfeasible));
  EXPECT_EQ(s.bound, -kInf);
}

TEST(Lp, Unbounded) {
  MathModel m;
  const int x = m.addVar(0, kInf);
  const int y = m.addVar(-kInf, kInf);
  m.addRow({{x, 1}, {y, -1}}, -kInf, 3);
  m.objLinear() = {{x, -1}};  // x can grow with y
  Solution s = solveLp(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kUnbounded));
  EXPECT_EQ(s.objective, -kInf);
  m.objLinear() = {{x, 1}};
  m.setSense(Sense::kMaximize);
  s = solveLp(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kUnbounded));
  EXPECT_EQ(s.objective, kInf);
}

TEST(Lp, ZeroTimeLimitIsHandled) {
  const ReluNet net = reluNet(10, {20, 20}, 2);
  SolveParams p;
  p.time_limit = 0.0;
  const Solution s = solveLp(net.m, p);
  // A small LP may finish before the first time check.
  ASSERT_TRUE(s.status == SolveStatus::kOptimal || s.status == SolveStatus::kNoSolution)
      << statusName(s.status) << ": " << s.message;
  if (s.status == SolveStatus::kNoSolution) {
    EXPECT_FALSE(s.hasPoint());
  } else {
    EXPECT_LE(net.m.maxViolation(s.x), 1e-6);
  }
}

TEST(Lp, BoundsTheMip) {
  const ReluNet net = reluNet(10, {20, 20}, 1);
  const Solution lp = solveLp(net.m);
  const Solution mip = solveMip(net.m);
  ASSERT_TRUE(hasStatus(lp, SolveStatus::kOptimal));
  ASSERT_TRUE(hasStatus(mip, SolveStatus::kOptimal));
  EXPECT_LT(lp.objective, mip.objective - 1e-3);  // big-M relaxation is loose here
}

// ---------------------------------------------------------------- MIP (CBC)

TEST(Mip, KnapsackMaximisationWithOffset) {
  const Solution s = solveMip(knapsack());
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 18.0, kTol);
  EXPECT_NEAR(s.bound, 18.0 + 1e-6, 1e-9);  // maximisation: plus CBC's cutoff increment
  const std::vector<double> want = {0, 1, 1, 1, 1};
  ASSERT_EQ(s.x.size(), want.size());
  for (size_t j = 0; j < want.size(); ++j) EXPECT_NEAR(s.x[j], want[j], kTol) << j;
}

TEST(Mip, LinearModelWithoutIntegers) {
  const Solution s = solveMip(smallLp());
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 11.0, kTol);
}

TEST(Mip, EqualityRows) {
  const Solution s = solveMip(equalities(true));
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 12.0, kTol);
  EXPECT_NEAR(s.bound, 12.0 - 1e-6, 1e-9);  // minus CBC's cutoff increment
  EXPECT_NEAR(s.x[0], 2.0, kTol);
  EXPECT_NEAR(s.x[1], 2.0, kTol);
  EXPECT_NEAR(s.x[2], 2.0, kTol);
}

TEST(Mip, Infeasible) {
  // 2x + 2y = 3 has no integer solution; its LP relaxation is feasible.
  MathModel m;
  const int x = m.addVar(0, 10, true);
  const int y = m.addVar(0, 10, true);
  m.addRow({{x, 2}, {y, 2}}, 3, 3);
  m.objLinear() = {{x, 1}};
  Solution s = solveMip(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kInfeasible));
  EXPECT_FALSE(s.hasPoint());
  EXPECT_EQ(s.bound, kInf);
  EXPECT_TRUE(hasStatus(solveLp(m), SolveStatus::kOptimal));
  m.setSense(Sense::kMaximize);
  s = solveMip(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kInfeasible));
  EXPECT_EQ(s.bound, -kInf);
}

TEST(Mip, Unbounded) {
  MathModel m;
  const int x = m.addVar(0, kInf, true);
  const int y = m.addVar(0, kInf);
  m.addRow({{x, 1}, {y, -1}}, -kInf, 3);
  m.objLinear() = {{x, -1}};
  const Solution s = solveMip(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kUnbounded));
  EXPECT_EQ(s.objective, -kInf);
  EXPECT_EQ(s.bound, -kInf);
}

TEST(Mip, DuplicateTermsAreMerged) {
  // x + x - 0.5 x <= 3 is 1.5 x <= 3: max x = 2.
  MathModel m;
  const int x = m.addVar(0, 10, true);
  m.addRow({{x, 1}, {x, 1}, {x, -0.5}}, -kInf, 3);
  m.objLinear() = {{x, 1}, {x, 1}};
  m.setSense(Sense::kMaximize);
  const Solution s = solveMip(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.x[0], 2.0, kTol);
  EXPECT_NEAR(s.objective, 4.0, kTol);
}

TEST(Mip, EmptyModel) {
  MathModel m;
  m.setObjOffset(4);
  const Solution s = solveMip(m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_EQ(s.objective, 4.0);
}

TEST(Mip, InvalidInputThrows) {
  MathModel m = knapsack();
  SolveParams p;
  p.start = {0, 1};  // wrong size
  EXPECT_THROW(solveMip(m, p), nnopt::Error);
  MathModel bad;
  bad.addVar(0, 1, true);
  bad.addRow({{3, 1.0}}, 0, 1);  // no variable 3
  EXPECT_THROW(solveMip(bad), nnopt::Error);
  EXPECT_THROW(solveLp(bad), nnopt::Error);
}

TEST(Mip, NonlinearModelThrows) {
  MathModel m;
  const int x = m.addVar(0, 1);
  const int y = m.addVar(0, 1, true);
  Row r;
  r.terms = {{x, 1}};
  r.nl.kind = NlKind::kProduct;
  r.nl.a = x;
  r.nl.b = y;
  r.lo = 0;
  r.hi = 1;
  m.addRow(std::move(r));
  EXPECT_THROW(solveMip(m), nnopt::Error);
  EXPECT_THROW(solveLp(m), nnopt::Error);
  MathModel q;
  const int z = q.addVar(0, 1);
  q.objQuadratic().push_back({z, z, 1.0});
  EXPECT_THROW(solveMip(q), nnopt::Error);
}

// The 40-binary big-M model is solved exactly: the optimum is attained by
// the network at the returned input and no sampled input does better.
TEST(Mip, BigMReluModelIsExact) {
  const ReluNet net = reluNet(10, {20, 20}, 2);
  ASSERT_EQ(net.m.numIntegers(), 40);
  const Solution s = solveMip(net.m);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_LE(net.m.maxViolation(s.x), 1e-6);
  EXPECT_NEAR(net.forward(inputOf(net, s.x)), s.objective, 1e-5);
  // Proven optimal to within CBC's cutoff increment (1e-6): the bound is at
  // most the objective minus the increment (cbc_backend.cpp).
  EXPECT_LE(s.bound, s.objective - 1e-6 + 1e-12);
  EXPECT_GE(s.bound, s.objective - 1e-6 - 1e-6 * std::max(1.0, std::abs(s.objective)));
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int k = 0; k < 2000; ++k) {
    std::vector<double> x(net.nin);
    for (double& v : x) v = k % 2 ? u(gen) : (u(gen) < 0 ? -1.0 : 1.0);  // also box corners
    ASSERT_GE(net.forward(x), s.objective - 1e-6);
  }
}

TEST(Mip, ThreadsGiveTheSameOptimum) {
  const ReluNet net = reluNet(10, {20, 20}, 1);
  const Solution s1 = solveMip(net.m);
  SolveParams p;
  p.threads = 2;
  const Solution s2 = solveMip(net.m, p);
  ASSERT_TRUE(hasStatus(s1, SolveStatus::kOptimal));
  ASSERT_TRUE(hasStatus(s2, SolveStatus::kOptimal));
  EXPECT_NEAR(s2.objective, s1.objective, 1e-6);
}

TEST(Mip, MaximisationBoundIsAnUpperBound) {
  ReluNet net = reluNet(10, {20, 20}, 3);
  net.m.setSense(Sense::kMaximize);
  net.m.setObjOffset(100);
  const Solution full = solveMip(net.m);
  ASSERT_TRUE(hasStatus(full, SolveStatus::kOptimal));
  EXPECT_NEAR(net.forward(inputOf(net, full.x)) + 100.0, full.objective, 1e-5);
  SolveParams p;
  p.time_limit = 0.0;  // stops at the root: bound = LP relaxation, above the optimum
  const Solution s = solveMip(net.m, p);
  ASSERT_TRUE(s.status == SolveStatus::kNoSolution || s.status == SolveStatus::kFeasible)
      << statusName(s.status);
  EXPECT_GE(s.bound, full.objective - 1e-6);
  if (s.hasPoint()) {
    EXPECT_LE(s.objective, full.objective + 1e-6);
    EXPECT_GE(s.bound, s.objective);
  }
}

TEST(Mip, ZeroTimeLimitGivesSensibleStatus) {
  const ReluNet net = reluNet(10, {20, 20}, 4);
  const double optimum = solveMip(net.m).objective;
  SolveParams p;
  p.time_limit = 0.0;
  const Solution s = solveMip(net.m, p);
  ASSERT_TRUE(s.status == SolveStatus::kNoSolution || s.status == SolveStatus::kFeasible)
      << statusName(s.status) << ": " << s.message;
  EXPECT_EQ(s.hasPoint(), s.status == SolveStatus::kFeasible);
  EXPECT_LE(s.bound, optimum + 1e-6);
  EXPECT_LT(s.time_s, 1.0);
}

TEST(Mip, TimeLimitIsHonoured) {
  // Seed 5 takes several seconds to prove optimal.
  const ReluNet net = reluNet(10, {20, 20}, 5);
  SolveParams p;
  p.time_limit = 0.5;
  const Solution s = solveMip(net.m, p);
  ASSERT_TRUE(s.status == SolveStatus::kFeasible || s.status == SolveStatus::kNoSolution)
      << statusName(s.status);
  EXPECT_LT(s.time_s, 1.5);
  if (s.hasPoint()) {
    EXPECT_LE(net.m.maxViolation(s.x), 1e-6);
    EXPECT_LE(s.bound, s.objective);
  }
}

TEST(Mip, FeasibleStartIsKeptUnderZeroTime) {
  const ReluNet net = reluNet(10, {20, 20}, 2);
  const std::vector<double> start = feasiblePoint(net, std::vector<double>(10, 0.25));
  ASSERT_LE(net.m.maxViolation(start), 1e-9);
  const double start_obj = net.m.evalObjective(start);
  SolveParams p;
  p.start = start;
  p.time_limit = 0.0;
  const Solution s = solveMip(net.m, p);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kFeasible));
  EXPECT_LE(s.objective, start_obj + 1e-9);
  EXPECT_LE(net.m.maxViolation(s.x), 1e-6);
}

TEST(Mip, StartDoesNotChangeTheOptimum) {
  const ReluNet net = reluNet(10, {20, 20}, 4);
  const Solution plain = solveMip(net.m);
  SolveParams p;
  p.start = feasiblePoint(net, std::vector<double>(10, -0.5));
  const Solution s = solveMip(net.m, p);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, plain.objective, 1e-6);
  // The same start through Variable::start.
  MathModel m = net.m;
  for (int j = 0; j < m.numVars(); ++j) m.vars()[j].start = p.start[j];
  const Solution v = solveMip(m);
  ASSERT_TRUE(hasStatus(v, SolveStatus::kOptimal));
  EXPECT_NEAR(v.objective, plain.objective, 1e-6);
}

TEST(Mip, BadStartsAreIgnored) {
  SolveParams p;
  p.start = {1, 1, 1, 1, 1};  // weight 20 > 15: infeasible, value 22 beats the optimum
  Solution s = solveMip(knapsack(), p);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 18.0, kTol);
  p.start = {0.5, 1, 1, 1, 1};  // fractional binary
  s = solveMip(knapsack(), p);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 18.0, kTol);
  p.start = {0, 1, 1, 1, 1};  // the optimum itself
  p.time_limit = 0.0;
  s = solveMip(knapsack(), p);
  EXPECT_NEAR(s.objective, 18.0, kTol);
}

TEST(Mip, StopBelowStopsAtTheFirstGoodIncumbent) {
  const ReluNet net = reluNet(10, {20, 20}, 5);
  SolveParams p;
  p.stop_below = -5.0;  // optimum is about -19.6
  const Solution s = solveMip(net.m, p);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kFeasible));
  EXPECT_LT(s.objective, -5.0);
  EXPECT_LE(net.m.maxViolation(s.x), 1e-6);
  EXPECT_LT(s.time_s, 2.0);  // the full solve takes several seconds
  EXPECT_NE(s.message.find("stop_below"), std::string::npos) << s.message;
}

TEST(Mip, StopBelowUnreachableSolvesToOptimality) {
  MathModel m = equalities(true);
  m.setObjOffset(-2);  // optimum 10
  SolveParams p;
  p.stop_below = 9.5;
  Solution s = solveMip(m, p);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, 10.0, kTol);
  const ReluNet net = reluNet(10, {20, 20}, 1);
  const double optimum = solveMip(net.m).objective;
  p.stop_below = optimum - 1e-3;
  s = solveMip(net.m, p);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kOptimal));
  EXPECT_NEAR(s.objective, optimum, 1e-6);
}

TEST(Mip, StopBelowMetByTheStart) {
  const ReluNet net = reluNet(10, {20, 20}, 2);
  SolveParams p;
  p.start = feasiblePoint(net, std::vector<double>(10, 0.25));
  p.stop_below = net.m.evalObjective(p.start) + 1.0;
  const Solution s = solveMip(net.m, p);
  ASSERT_TRUE(hasStatus(s, SolveStatus::kFeasible));
  EXPECT_EQ(s.x, p.start);
  EXPECT_EQ(s.bound, -kInf);
}

TEST(MipLp, NothingIsPrinted) {
  const ReluNet net = reluNet(10, {20, 20}, 1);
  ::testing::internal::CaptureStdout();
  solveMip(knapsack());
  solveMip(equalities(true));
  SolveParams p;
  p.time_limit = 0.01;
  solveMip(net.m, p);
  p.start = feasiblePoint(net, std::vector<double>(10, 0.0));
  p.time_limit = kInf;
  solveMip(net.m, p);
  MathModel inf;
  const int x = inf.addVar(0, 1, true);
  inf.addRow({{x, 1}}, 0.2, 0.8);
  solveMip(inf);
  solveLp(smallLp());
  solveLp(net.m);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(out, "");
}

TEST(MipLp, ConcurrentSolves) {
  const ReluNet net = reluNet(10, {20, 20}, 1);
  const double optimum = solveMip(net.m).objective;
  std::vector<double> mip(4, 0.0), lp(4, 0.0);
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      mip[t] = t % 2 ? solveMip(knapsack()).objective : solveMip(net.m).objective;
      lp[t] = solveLp(equalities(false)).objective;
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_NEAR(mip[t], t % 2 ? 18.0 : optimum, 1e-6) << t;
    EXPECT_NEAR(lp[t], 10.5, kTol) << t;
  }
}

}  // namespace
