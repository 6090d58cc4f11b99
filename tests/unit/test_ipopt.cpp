// Ipopt backend: hand-computed optima, status mapping, analytic derivatives
// vs finite differences, quiet output, concurrency and speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "model/math_model.h"
#include "solve/ipopt_nlp.h"
#include "solve/solver.h"
#include "sanitizer.h"

namespace {

using nnopt::model::kInf;
using nnopt::model::LinTerm;
using nnopt::model::MathModel;
using nnopt::model::NlKind;
using nnopt::model::NlTerm;
using nnopt::model::Row;
using nnopt::model::Sense;
using nnopt::solve::SolveParams;
using nnopt::solve::SolveStatus;
using nnopt::solve::solveNlp;

// Small deterministic generator (same numbers on every platform).
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ULL + 1) {}
  double uniform(double lo, double hi) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return lo + (hi - lo) * static_cast<double>(s >> 11) * 0x1.0p-53;
  }
};

int nlRow(MathModel& m, std::vector<LinTerm> lin, NlTerm nl, double lo, double hi) {
  Row r;
  r.terms = std::move(lin);
  r.nl = nl;
  r.lo = lo;
  r.hi = hi;
  return m.addRow(std::move(r));
}

NlTerm term(NlKind k, int a, int b = -1, double coef = 1.0, double param = 0.0) {
  NlTerm t;
  t.kind = k;
  t.a = a;
  t.b = b;
  t.coef = coef;
  t.param = param;
  return t;
}

// ---------------------------------------------------------------- optima

TEST(Ipopt, LinearProgram) {
  // min x + y  s.t. x + 2y >= 2, 0 <= x, y <= 10  ->  (0, 1), objective 1
  MathModel m;
  int x = m.addVar(0, 10), y = m.addVar(0, 10);
  m.addRow({{x, 1}, {y, 2}}, 2, kInf);
  m.objLinear() = {{x, 1}, {y, 1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_EQ(s.message, "Solve_Succeeded");
  EXPECT_NEAR(s.x[x], 0.0, 1e-6);
  EXPECT_NEAR(s.x[y], 1.0, 1e-6);
  EXPECT_NEAR(s.objective, 1.0, 1e-6);
  EXPECT_GT(s.iterations, 0);
  EXPECT_GE(s.time_s, 0.0);
}

TEST(Ipopt, MultipliersSatisfyKkt) {
  // min x + y  s.t. x + 2y >= 2 (row 0), x, y in [0, 10]: optimum (0, 1).
  // Stationarity: grad f = (1, 1) = lambda * (1, 2) + z_l - z_u with Ipopt's
  // sign convention grad f + J^T lambda - z_l + z_u = 0, so lambda = -1/2
  // (a lower-bounded row is active), z_l[x] = 1/2, z_l[y] = 0, z_u = 0.
  MathModel m;
  int x = m.addVar(0, 10), y = m.addVar(0, 10);
  m.addRow({{x, 1}, {y, 2}}, 2, kInf);
  m.objLinear() = {{x, 1}, {y, 1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  ASSERT_EQ(s.lambda.size(), 1u);
  ASSERT_EQ(s.z_l.size(), 2u);
  ASSERT_EQ(s.z_u.size(), 2u);
  EXPECT_NEAR(s.lambda[0], -0.5, 1e-6);
  EXPECT_NEAR(s.z_l[x], 0.5, 1e-6);
  EXPECT_NEAR(s.z_l[y], 0.0, 1e-6);
  EXPECT_NEAR(s.z_u[x], 0.0, 1e-6);
  EXPECT_NEAR(s.z_u[y], 0.0, 1e-6);
}

TEST(Ipopt, PrimalDualWarmStartFromTheOptimumIsShort) {
  // A small complementarity network: solved cold, then restarted from its own
  // primal-dual solution. The warm restart must reach the same point, and in
  // fewer iterations than a restart from the primal point alone (which
  // re-centres the barrier).
  MathModel m;
  int x = m.addVar(-1, 1), t = m.addVar(-5, 5), y = m.addVar(0, 5), s_ = m.addVar(0, 5);
  m.addRow({{x, 2.0}, {t, -1.0}}, -0.5, -0.5);  // t = 2x + 0.5
  m.addRow({{y, 1}, {s_, -1}, {t, -1}}, 0, 0);  // y - s = t
  nlRow(m, {}, term(NlKind::kProduct, y, s_), -kInf, 1e-8);  // y * s <= 1e-8
  m.objLinear() = {{y, -1.0}, {x, 0.3}};  // max y - 0.3x  ->  x = 1, y = 2.5
  auto cold = solveNlp(m);
  ASSERT_EQ(cold.status, SolveStatus::kOptimal) << cold.message;
  EXPECT_NEAR(cold.x[x], 1.0, 1e-5);
  EXPECT_NEAR(cold.x[y], 2.5, 1e-5);
  SolveParams primal;
  primal.start = cold.x;
  auto p_only = solveNlp(m, primal);
  SolveParams warm = primal;
  warm.warm_z_l = cold.z_l;
  warm.warm_z_u = cold.z_u;
  warm.warm_lambda = cold.lambda;
  auto w = solveNlp(m, warm);
  ASSERT_EQ(w.status, SolveStatus::kOptimal) << w.message;
  EXPECT_NEAR(w.x[x], 1.0, 1e-5);
  EXPECT_NEAR(w.x[y], 2.5, 1e-5);
  EXPECT_LT(w.iterations, p_only.iterations);
  // Multipliers of the wrong size are ignored (primal start only), not used.
  SolveParams bad = primal;
  bad.warm_z_l = {1.0};
  bad.warm_z_u = cold.z_u;
  bad.warm_lambda = cold.lambda;
  auto b = solveNlp(m, bad);
  ASSERT_EQ(b.status, SolveStatus::kOptimal) << b.message;
  EXPECT_EQ(b.iterations, p_only.iterations);
}

TEST(Ipopt, QuadraticObjective) {
  // (x-1)^2 + (y-2)^2 = x^2 + y^2 - 2x - 4y + 5  ->  (1, 2), objective 0
  MathModel m;
  int x = m.addVar(-10, 10), y = m.addVar(-10, 10);
  m.objQuadratic() = {{x, x, 1.0}, {y, y, 1.0}};
  m.objLinear() = {{x, -2}, {y, -4}};
  m.setObjOffset(5);
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 1.0, 1e-6);
  EXPECT_NEAR(s.x[y], 2.0, 1e-6);
  EXPECT_NEAR(s.objective, 0.0, 1e-9);
}

TEST(Ipopt, QuadraticCrossTerm) {
  // min x^2 + x*y + y^2 - 3x  ->  grad: 2x + y - 3 = 0, x + 2y = 0  ->  (2, -1), objective -3
  MathModel m;
  int x = m.addVar(-10, 10), y = m.addVar(-10, 10);
  m.objQuadratic() = {{x, x, 1.0}, {x, y, 0.5}, {y, x, 0.5}, {y, y, 1.0}};
  m.objLinear() = {{x, -3}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 2.0, 1e-6);
  EXPECT_NEAR(s.x[y], -1.0, 1e-6);
  EXPECT_NEAR(s.objective, -3.0, 1e-8);
}

TEST(Ipopt, ProductRow) {
  // min x + y  s.t. x*y >= 1, x, y in [0, 10]  ->  (1, 1)
  MathModel m;
  int x = m.addVar(0, 10), y = m.addVar(0, 10);
  m.vars()[x].start = 3;
  m.vars()[y].start = 2;
  nlRow(m, {}, term(NlKind::kProduct, x, y), 1, kInf);
  m.objLinear() = {{x, 1}, {y, 1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 1.0, 1e-5);
  EXPECT_NEAR(s.x[y], 1.0, 1e-5);
  EXPECT_NEAR(s.objective, 2.0, 1e-6);
}

TEST(Ipopt, SquareProductRow) {
  // min x  s.t. x*x >= 4 (product with a == b), x in [0, 10]  ->  x = 2
  MathModel m;
  int x = m.addVar(0, 10);
  m.vars()[x].start = 5;
  nlRow(m, {}, term(NlKind::kProduct, x, x), 4, kInf);
  m.objLinear() = {{x, 1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 2.0, 1e-6);
}

TEST(Ipopt, TanhRow) {
  // y = tanh(x) (row y - tanh(x) = 0), x <= 0.5, min -y  ->  y = tanh(0.5)
  MathModel m;
  int x = m.addVar(-2, 0.5), y = m.addVar(-2, 2);
  nlRow(m, {{y, 1}}, term(NlKind::kTanh, x, -1, -1.0), 0, 0);
  m.objLinear() = {{y, -1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 0.5, 1e-6);
  EXPECT_NEAR(s.x[y], std::tanh(0.5), 1e-6);  // 0.46211715726
  EXPECT_NEAR(s.objective, -0.46211715726, 1e-6);
}

TEST(Ipopt, SigmoidRow) {
  // y = 1/(1+exp(-x)), x <= 0.5, min -y  ->  y = 1/(1+exp(-0.5)) = 0.62245933120
  MathModel m;
  int x = m.addVar(-2, 0.5), y = m.addVar(-2, 2);
  nlRow(m, {{y, 1}}, term(NlKind::kSigmoid, x, -1, -1.0), 0, 0);
  m.objLinear() = {{y, -1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 0.5, 1e-6);
  EXPECT_NEAR(s.x[y], 0.62245933120, 1e-6);
}

TEST(Ipopt, FischerBurmeisterRow) {
  // sqrt(a^2 + b^2 + 2*0.01) - a - b = 0 with a = 1:
  // 1 + b^2 + 0.02 = (1 + b)^2  ->  0.02 = 2b  ->  b = 0.01
  MathModel m;
  int a = m.addVar(1, 1), b = m.addVar(0, 10);
  m.vars()[b].start = 2;
  nlRow(m, {}, term(NlKind::kFischerBurmeister, a, b, 1.0, 0.01), 0, 0);
  m.objLinear() = {{b, 1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[a], 1.0, 1e-12);
  EXPECT_NEAR(s.x[b], 0.01, 1e-7);
}

TEST(Ipopt, ChenMangasarianRow) {
  // a + b - sqrt((a-b)^2 + 4*0.1^2) = 0 with a = 1:
  // (1 + b)^2 = (1 - b)^2 + 0.04  ->  4b = 0.04  ->  b = 0.01
  MathModel m;
  int a = m.addVar(1, 1), b = m.addVar(0, 10);
  m.vars()[b].start = 2;
  nlRow(m, {}, term(NlKind::kChenMangasarian, a, b, 1.0, 0.1), 0, 0);
  m.objLinear() = {{b, 1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[b], 0.01, 1e-7);
}

TEST(Ipopt, ComplementarityWithZeroParamIsNotNaN) {
  // FB and CM with param 0 are exact complementarity (kink at a = b = 0).
  // Start exactly at the kink: the solver must not see NaN and must reach
  // a complementary point (y * s = 0) with y - s = -1 given.
  for (NlKind k : {NlKind::kFischerBurmeister, NlKind::kChenMangasarian}) {
    MathModel m;
    int y = m.addVar(0, 5), s = m.addVar(0, 5);
    m.addRow({{y, 1}, {s, -1}}, -1, -1);
    nlRow(m, {}, term(k, y, s, 1.0, 0.0), 0, 0);
    m.objLinear() = {{y, 1}, {s, 1}};
    auto sol = solveNlp(m);
    EXPECT_NE(sol.status, SolveStatus::kError) << sol.message;
    ASSERT_TRUE(sol.hasPoint());
    EXPECT_TRUE(std::isfinite(sol.x[y]) && std::isfinite(sol.x[s]));
    EXPECT_NEAR(sol.x[y], 0.0, 1e-5);
    EXPECT_NEAR(sol.x[s], 1.0, 1e-5);
  }
}

TEST(Ipopt, Maximise) {
  // max x + y  s.t. x + 2y <= 4, x, y in [0, 3]  ->  (3, 0.5), objective 3.5
  MathModel m;
  int x = m.addVar(0, 3), y = m.addVar(0, 3);
  m.addRow({{x, 1}, {y, 2}}, -kInf, 4);
  m.objLinear() = {{x, 1}, {y, 1}};
  m.setSense(Sense::kMaximize);
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 3.0, 1e-6);
  EXPECT_NEAR(s.x[y], 0.5, 1e-6);
  EXPECT_NEAR(s.objective, 3.5, 1e-6);
}

TEST(Ipopt, MaximiseConcave) {
  // max -(x-1)^2 + 3 = -x^2 + 2x + 2  ->  x = 1, objective 3
  MathModel m;
  int x = m.addVar(-5, 5);
  m.objQuadratic() = {{x, x, -1.0}};
  m.objLinear() = {{x, 2}};
  m.setObjOffset(2);
  m.setSense(Sense::kMaximize);
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 1.0, 1e-6);
  EXPECT_NEAR(s.objective, 3.0, 1e-9);
}

TEST(Ipopt, InfeasibleIsNeverOptimal) {
  // x*y >= 1 with x, y in [0, 0.5]: at most 0.25
  MathModel m;
  int x = m.addVar(0, 0.5), y = m.addVar(0, 0.5);
  nlRow(m, {}, term(NlKind::kProduct, x, y), 1, kInf);
  m.objLinear() = {{x, 1}, {y, 1}};
  auto s = solveNlp(m);
  EXPECT_TRUE(s.status == SolveStatus::kInfeasible || s.status == SolveStatus::kNoSolution)
      << nnopt::solve::statusName(s.status) << " " << s.message;
}

TEST(Ipopt, IntegersAreRelaxed) {
  // min -x, x integer in [0, 2.5], x <= 1.7  ->  1.7
  MathModel m;
  int x = m.addVar(0, 2.5, true);
  m.addRow({{x, 1}}, -kInf, 1.7);
  m.objLinear() = {{x, -1}};
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 1.7, 1e-6);
}

TEST(Ipopt, IterationLimitMapsToFeasibleOrNoSolution) {
  MathModel m;
  int x = m.addVar(0, 10), y = m.addVar(0, 10);
  m.vars()[x].start = 3;
  m.vars()[y].start = 2;
  nlRow(m, {}, term(NlKind::kProduct, x, y), 1, kInf);
  m.objLinear() = {{x, 1}, {y, 1}};
  SolveParams p;
  p.nlp_max_iter = 1;
  auto s = solveNlp(m, p);
  EXPECT_EQ(s.message, "Maximum_Iterations_Exceeded");
  ASSERT_TRUE(s.hasPoint());
  const bool feasible = m.maxViolation(s.x) <= 1e-6;
  EXPECT_EQ(s.status, feasible ? SolveStatus::kFeasible : SolveStatus::kNoSolution);
  EXPECT_EQ(s.iterations, 1);
}

TEST(Ipopt, StartVectorIsUsedAndClamped) {
  // Two local minima of min -(x^2) on [-1, 2] reached from different starts
  // (x^2 via a product row t = x*x; min -t): start 1.5 -> x = 2.
  MathModel m;
  int x = m.addVar(-1, 2), t = m.addVar(-10, 10);
  nlRow(m, {{t, 1}}, term(NlKind::kProduct, x, x, -1.0), 0, 0);
  m.objLinear() = {{t, -1}};
  SolveParams p;
  p.start = {1.5, 2.25};
  auto s = solveNlp(m, p);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], 2.0, 1e-6);
  p.start = {-7.0, 0.0};  // clamped to -1: the other local minimum
  s = solveNlp(m, p);
  ASSERT_EQ(s.status, SolveStatus::kOptimal) << s.message;
  EXPECT_NEAR(s.x[x], -1.0, 1e-6);
}

TEST(Ipopt, WrongStartSizeThrows) {
  MathModel m;
  m.addVar(0, 1);
  m.objLinear() = {{0, 1}};
  SolveParams p;
  p.start = {0.5, 0.5};
  EXPECT_THROW(solveNlp(m, p), nnopt::Error);
}

TEST(Ipopt, PrintsNothing) {
  MathModel m;
  int x = m.addVar(0, 10), y = m.addVar(0, 10);
  nlRow(m, {}, term(NlKind::kProduct, x, y), 1, kInf);
  m.objLinear() = {{x, 1}, {y, 1}};
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  auto s = solveNlp(m);
  std::fflush(stdout);
  std::string out = testing::internal::GetCapturedStdout();
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.status, SolveStatus::kOptimal);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
}

// ---------------------------------------------------------------- derivatives

// A model with every kind of term, duplicated linear entries, nonlinear
// variables also present linearly, a == b products, cross quadratic terms.
MathModel derivativeModel(Sense sense, double param) {
  MathModel m;
  for (int j = 0; j < 6; ++j) m.addVar(-3, 3);
  nlRow(m, {{0, 1.5}, {1, -2}, {0, 0.5}}, term(NlKind::kProduct, 0, 1, 2.0), -kInf, 1);
  nlRow(m, {{2, 1}}, term(NlKind::kProduct, 3, 3, -1.5), 0, 0);
  nlRow(m, {{4, 1}, {1, 1}}, term(NlKind::kTanh, 1, -1, 0.7), 0, 0);
  nlRow(m, {{5, -1}}, term(NlKind::kSigmoid, 2, -1, 1.3), 0, 0);
  nlRow(m, {{3, 1}}, term(NlKind::kFischerBurmeister, 4, 5, 0.9, param), 0, 0);
  nlRow(m, {}, term(NlKind::kChenMangasarian, 5, 0, -1.1, param), 0, 0);
  nlRow(m, {{1, 1}}, term(NlKind::kFischerBurmeister, 2, 2, 1.0, param), 0, 0);
  nlRow(m, {{0, 1}, {5, 1}}, {}, 0, 1);  // linear only
  nlRow(m, {}, {}, 0, 0);                // empty row
  m.objLinear() = {{0, 1}, {3, -2}, {0, 0.25}};
  m.objQuadratic() = {{0, 0, 0.5}, {1, 2, -1.0}, {2, 1, 0.3}, {4, 4, 2.0}, {5, 3, 0.8}};
  m.setObjOffset(0.7);
  m.setSense(sense);
  return m;
}

void checkDerivatives(const MathModel& m, uint64_t seed) {
  nnopt::solve::detail::NlpEvaluator ev(m);
  const int n = ev.numVars(), rows = ev.numRows();
  Rng rng(seed);
  const double h = 1e-6;
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> x(n);
    for (double& v : x) v = rng.uniform(-2, 2);
    // values agree with the model's own evaluation
    EXPECT_NEAR(ev.objective(x.data()), ev.sign() * m.evalObjective(x), 1e-12);
    std::vector<double> g(rows);
    ev.rows(x.data(), g.data());
    for (int r = 0; r < rows; ++r) EXPECT_NEAR(g[r], m.evalRow(r, x), 1e-12) << "row " << r;

    // gradient
    std::vector<double> grad(n);
    ev.objGradient(x.data(), grad.data());
    for (int j = 0; j < n; ++j) {
      auto xp = x, xm = x;
      xp[j] += h;
      xm[j] -= h;
      double fd = (ev.objective(xp.data()) - ev.objective(xm.data())) / (2 * h);
      EXPECT_NEAR(grad[j], fd, 1e-6 * (1 + std::abs(fd))) << "grad " << j;
    }

    // Jacobian (dense copy of the sparse one)
    std::vector<double> jv(ev.jacNnz());
    ev.jacobian(x.data(), jv.data());
    std::vector<double> J(static_cast<size_t>(rows) * n, 0.0);
    for (int k = 0; k < ev.jacNnz(); ++k) J[ev.jacRows()[k] * n + ev.jacCols()[k]] += jv[k];
    for (int j = 0; j < n; ++j) {
      auto xp = x, xm = x;
      xp[j] += h;
      xm[j] -= h;
      std::vector<double> gp(rows), gm(rows);
      ev.rows(xp.data(), gp.data());
      ev.rows(xm.data(), gm.data());
      for (int r = 0; r < rows; ++r) {
        double fd = (gp[r] - gm[r]) / (2 * h);
        EXPECT_NEAR(J[r * n + j], fd, 1e-6 * (1 + std::abs(fd))) << "jac " << r << "," << j;
      }
    }

    // Hessian of the Lagrangian vs finite differences of its gradient
    const double sigma = rng.uniform(0.5, 2);
    std::vector<double> lambda(rows);
    for (double& l : lambda) l = rng.uniform(-2, 2);
    auto lagGrad = [&](const std::vector<double>& xx) {
      std::vector<double> lg(n), gr(n), jj(ev.jacNnz());
      ev.objGradient(xx.data(), gr.data());
      ev.jacobian(xx.data(), jj.data());
      for (int j = 0; j < n; ++j) lg[j] = sigma * gr[j];
      for (int k = 0; k < ev.jacNnz(); ++k) lg[ev.jacCols()[k]] += lambda[ev.jacRows()[k]] * jj[k];
      return lg;
    };
    std::vector<double> hv(ev.hessNnz());
    ev.hessian(x.data(), sigma, lambda.data(), hv.data());
    std::vector<double> H(static_cast<size_t>(n) * n, 0.0);
    for (int k = 0; k < ev.hessNnz(); ++k) {
      int i = ev.hessRows()[k], j = ev.hessCols()[k];
      EXPECT_GE(i, j) << "Hessian entry above the diagonal";
      H[i * n + j] += hv[k];
      if (i != j) H[j * n + i] += hv[k];
    }
    for (int j = 0; j < n; ++j) {
      auto xp = x, xm = x;
      xp[j] += h;
      xm[j] -= h;
      auto gp = lagGrad(xp), gm = lagGrad(xm);
      for (int i = 0; i < n; ++i) {
        double fd = (gp[i] - gm[i]) / (2 * h);
        EXPECT_NEAR(H[i * n + j], fd, 2e-6 * (1 + std::abs(fd))) << "hess " << i << "," << j;
      }
    }
  }
}

TEST(IpoptDerivatives, AllKindsMatchFiniteDifferences) {
  checkDerivatives(derivativeModel(Sense::kMinimize, 0.05), 1);
  checkDerivatives(derivativeModel(Sense::kMaximize, 0.3), 2);
}

TEST(IpoptDerivatives, SingleTermsOfEachKind) {
  const NlKind kinds[] = {NlKind::kProduct, NlKind::kTanh, NlKind::kSigmoid,
                          NlKind::kFischerBurmeister, NlKind::kChenMangasarian};
  uint64_t seed = 10;
  for (NlKind k : kinds) {
    for (bool same : {false, true}) {
      MathModel m;
      m.addVar(-3, 3);
      m.addVar(-3, 3);
      nlRow(m, {{1, 0.5}}, term(k, 0, same ? 0 : 1, -1.7, 0.02), 0, 0);
      checkDerivatives(m, ++seed);
    }
  }
}

TEST(IpoptDerivatives, StructureIsMergedAndLower) {
  MathModel m = derivativeModel(Sense::kMinimize, 0.1);
  nnopt::solve::detail::NlpEvaluator ev(m);
  // row 0: vars {0, 1} (0 listed twice, product of 0 and 1) -> 2 entries
  int row0 = 0;
  for (int k = 0; k < ev.jacNnz(); ++k) row0 += ev.jacRows()[k] == 0;
  EXPECT_EQ(row0, 2);
  // no duplicated (row, col) pairs
  std::vector<std::pair<int, int>> jp, hp;
  for (int k = 0; k < ev.jacNnz(); ++k) jp.emplace_back(ev.jacRows()[k], ev.jacCols()[k]);
  for (int k = 0; k < ev.hessNnz(); ++k) hp.emplace_back(ev.hessRows()[k], ev.hessCols()[k]);
  std::sort(jp.begin(), jp.end());
  std::sort(hp.begin(), hp.end());
  EXPECT_EQ(std::adjacent_find(jp.begin(), jp.end()), jp.end());
  EXPECT_EQ(std::adjacent_find(hp.begin(), hp.end()), hp.end());
  // Jacobian entries: row0 {0,1}, row1 {2,3}, row2 {4,1}, row3 {5,2}, row4 {3,4,5},
  // row5 {5,0}, row6 {1,2}, row7 {0,5}, row8 {}
  EXPECT_EQ(ev.jacNnz(), 2 + 2 + 2 + 2 + 3 + 2 + 2 + 2);
}

TEST(IpoptDerivatives, KinkWithZeroParamIsFinite) {
  for (NlKind k : {NlKind::kFischerBurmeister, NlKind::kChenMangasarian}) {
    auto d = nnopt::solve::detail::nlDerivatives(term(k, 0, 1, 1.0, 0.0), 0.0, 0.0);
    for (double v : {d.f, d.fa, d.fb, d.faa, d.fab, d.fbb}) EXPECT_TRUE(std::isfinite(v));
    EXPECT_EQ(d.f, 0.0);
  }
}

// ---------------------------------------------------------------- network-sized model

// An MNIST-like 784-20-10 network with complementarity ReLUs (same shape as
// the formulation's NLP): input box, normalisation rows, pre-activations,
// y - s = t, y, s >= 0, complementarity row, outputs; minimise the margin
// z_true - z_target. ~1,650 variables, ~850 rows, ~16k Jacobian entries.
struct NetModel {
  MathModel m;
  std::vector<int> compl_rows;
};

NetModel mnistLikeModel(NlKind compl_kind, double param, uint64_t seed) {
  const int n_in = 784, n_hid = 20, n_out = 10;
  Rng rng(seed);
  NetModel nm;
  MathModel& m = nm.m;
  std::vector<double> x0(n_in), u0(n_in);
  std::vector<int> xv(n_in), uv(n_in);
  const double mean = 0.1307, std = 0.3081, eps = 0.05;
  for (int i = 0; i < n_in; ++i) {
    x0[i] = rng.uniform(0, 1) < 0.8 ? 0.0 : rng.uniform(0, 1);
    xv[i] = m.addVar(std::max(0.0, x0[i] - eps), std::min(1.0, x0[i] + eps));
    m.vars()[xv[i]].start = x0[i];
  }
  for (int i = 0; i < n_in; ++i) {
    u0[i] = (x0[i] - mean) / std;
    uv[i] = m.addVar(-mean / std, (1 - mean) / std);
    m.vars()[uv[i]].start = u0[i];
    m.addRow({{uv[i], 1.0}, {xv[i], -1.0 / std}}, -mean / std, -mean / std);
  }
  std::vector<double> y0(n_hid);
  std::vector<int> yv(n_hid);
  for (int k = 0; k < n_hid; ++k) {
    std::vector<LinTerm> terms;
    double t0 = rng.uniform(-0.1, 0.1);
    const double b = t0;
    for (int i = 0; i < n_in; ++i) {
      double w = rng.uniform(-0.08, 0.08);
      terms.push_back({uv[i], w});
      t0 += w * u0[i];
    }
    int t = m.addVar(-200, 200);
    m.vars()[t].start = t0;
    terms.push_back({t, -1.0});
    m.addRow(std::move(terms), -b, -b);
    yv[k] = m.addVar(0, 200);
    int s = m.addVar(0, 200);
    y0[k] = std::max(t0, 0.0);
    m.vars()[yv[k]].start = y0[k];
    m.vars()[s].start = y0[k] - t0;
    m.addRow({{yv[k], 1}, {s, -1}, {t, -1}}, 0, 0);
    if (compl_kind == NlKind::kProduct)
      nm.compl_rows.push_back(nlRow(m, {}, term(NlKind::kProduct, yv[k], s), -kInf, param));
    else
      nm.compl_rows.push_back(nlRow(m, {}, term(compl_kind, yv[k], s, 1.0, param), 0, 0));
  }
  std::vector<int> zv(n_out);
  for (int o = 0; o < n_out; ++o) {
    std::vector<LinTerm> terms;
    double z0 = rng.uniform(-0.1, 0.1);
    const double b = z0;
    for (int k = 0; k < n_hid; ++k) {
      double w = rng.uniform(-0.5, 0.5);
      terms.push_back({yv[k], w});
      z0 += w * y0[k];
    }
    zv[o] = m.addVar(-1000, 1000);
    m.vars()[zv[o]].start = z0;
    terms.push_back({zv[o], -1.0});
    m.addRow(std::move(terms), -b, -b);
  }
  m.objLinear() = {{zv[3], 1.0}, {zv[7], -1.0}};
  return nm;
}

bool sameSolution(const nnopt::solve::Solution& a, const nnopt::solve::Solution& b) {
  return a.status == b.status && a.x == b.x && a.iterations == b.iterations &&
         a.message == b.message;
}

TEST(IpoptNetwork, SolvesQuicklyFischerBurmeister) {
  auto nm = mnistLikeModel(NlKind::kFischerBurmeister, 1e-4, 7);
  EXPECT_GT(nm.m.numVars(), 1600);
  EXPECT_GT(nm.m.numRows(), 800);
  auto t0 = std::chrono::steady_clock::now();
  auto s = solveNlp(nm.m);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(s.status == SolveStatus::kOptimal) << s.message;
  EXPECT_LE(nm.m.maxViolation(s.x), 1e-6);
  std::printf("[ info ] FB 784-20-10: %s, %ld iterations, %.3f s\n", s.message.c_str(),
              s.iterations, wall);
  // Speed is the benchmarks' to measure (a 2 s wall-time bound failed under a
  // loaded 2-core machine); the work is bounded by Ipopt's iterations (59 here).
  EXPECT_LT(s.iterations, 200);
}

TEST(IpoptNetwork, SolvesQuicklyRelaxedProduct) {
  auto nm = mnistLikeModel(NlKind::kProduct, 1e-3, 8);
  auto t0 = std::chrono::steady_clock::now();
  auto s = solveNlp(nm.m);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(s.status == SolveStatus::kOptimal) << s.message;
  std::printf("[ info ] Scholtes 784-20-10: %s, %ld iterations, %.3f s\n", s.message.c_str(),
              s.iterations, wall);
  EXPECT_LT(s.iterations, 200);  // 46 here; wall time is the benchmarks' to measure
}

TEST(IpoptNetwork, TimeLimitStopsAtOnce) {
  auto nm = mnistLikeModel(NlKind::kFischerBurmeister, 1e-4, 9);
  SolveParams p;
  p.time_limit = 0.0;
  auto s = solveNlp(nm.m, p);
  EXPECT_NE(s.status, SolveStatus::kOptimal);
  EXPECT_NE(s.message.find("User_Requested_Stop"), std::string::npos) << s.message;
  EXPECT_LE(s.iterations, 1);
}

TEST(IpoptNetwork, MumpsCallsGoThroughTheSerialisingWrapper) {
  MathModel m;
  int x = m.addVar(0, 10), y = m.addVar(0, 10);
  nlRow(m, {}, term(NlKind::kProduct, x, y), 1, kInf);
  m.objLinear() = {{x, 1}, {y, 1}};
  const long before = nnopt::solve::detail::mumpsCallCount();
  auto s = solveNlp(m);
  ASSERT_EQ(s.status, SolveStatus::kOptimal);
  EXPECT_GT(nnopt::solve::detail::mumpsCallCount(), before);
}

TEST(IpoptNetwork, ConcurrentSolvesMatchSequential) {
  std::vector<NetModel> models;
  models.push_back(mnistLikeModel(NlKind::kFischerBurmeister, 1e-3, 21));
  models.push_back(mnistLikeModel(NlKind::kChenMangasarian, 1e-2, 22));
  models.push_back(mnistLikeModel(NlKind::kProduct, 1e-3, 23));
  models.push_back(mnistLikeModel(NlKind::kFischerBurmeister, 1e-4, 24));
  const int k = static_cast<int>(models.size());
  std::vector<nnopt::solve::Solution> seq(k);
  for (int i = 0; i < k; ++i) seq[i] = solveNlp(models[i].m);
  // Several rounds, two threads each solving every model (in opposite orders
  // so different problems overlap in time).
  for (int round = 0; round < 2; ++round) {
    std::vector<nnopt::solve::Solution> a(k), b(k);
    std::thread ta([&] {
      for (int i = 0; i < k; ++i) a[i] = solveNlp(models[i].m);
    });
    std::thread tb([&] {
      for (int i = k - 1; i >= 0; --i) b[i] = solveNlp(models[i].m);
    });
    ta.join();
    tb.join();
    for (int i = 0; i < k; ++i) {
      EXPECT_TRUE(sameSolution(a[i], seq[i])) << "round " << round << " model " << i;
      EXPECT_TRUE(sameSolution(b[i], seq[i])) << "round " << round << " model " << i;
    }
  }
}

}  // namespace
