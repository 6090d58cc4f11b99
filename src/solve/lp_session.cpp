#include "solve/lp_session.h"

#include <ClpSimplex.hpp>
#include <CoinFinite.hpp>
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/error.h"

namespace nnopt::solve {

namespace {

// Clp's infinity is COIN_DBL_MAX; anything this large is treated as infinite.
constexpr double kBig = 1e30;

double toClp(double v) {
  if (v >= kBig) return COIN_DBL_MAX;
  if (v <= -kBig) return -COIN_DBL_MAX;
  return v;
}

// Merges repeated variables and drops zero coefficients: Clp rejects
// duplicate entries in a packed matrix.
std::vector<model::LinTerm> normalise(std::vector<model::LinTerm> t, int num_vars,
                                      const char* what) {
  for (const auto& x : t)
    require(x.var >= 0 && x.var < num_vars, std::string("lp session: ") + what +
                                                " refers to variable " + std::to_string(x.var) +
                                                " of " + std::to_string(num_vars));
  std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.var < b.var; });
  std::vector<model::LinTerm> out;
  for (const auto& x : t) {
    if (!out.empty() && out.back().var == x.var)
      out.back().coef += x.coef;
    else
      out.push_back(x);
  }
  std::erase_if(out, [](const auto& x) { return x.coef == 0.0; });
  return out;
}

}  // namespace

struct LpSession::Impl {
  ClpSimplex clp;
  // Own copy of the matrix by column, for the dual bound (Clp may hold it
  // scaled or in another storage format).
  std::vector<std::vector<std::pair<int, double>>> cols;
  int num_rows = 0;
  // Objective in minimisation form: sign * (off + c^T x), sign = -1 when maximising.
  std::vector<double> obj;
  double off = 0.0;
  double sign = 1.0;
  bool solved_once = false;

  Impl() {
    clp.setLogLevel(0);
    // Perturb from the start (Clp's default waits until it stalls): bound
    // tightening objectives (a single variable) are highly dual degenerate,
    // and a late perturbation cost thousands of extra pivots per solve.
    clp.setPerturbation(50);
    clp.setOptimizationDirection(1.0);
    // Wall-clock limits only: Clp's CPU-time limit counts all threads of the process.
    clp.setMaximumSeconds(-1.0);
  }

  void addRowsImpl(const std::vector<LinRow>& rows) {
    const int n = static_cast<int>(cols.size());
    std::vector<CoinBigIndex> starts{0};
    std::vector<int> idx;
    std::vector<double> val, lo, hi;
    for (const auto& r : rows) {
      require(!(r.lo > r.hi), "lp session: row with lo > hi");
      auto t = normalise(r.terms, n, "a row");
      for (const auto& x : t) {
        require(std::isfinite(x.coef), "lp session: non-finite row coefficient");
        idx.push_back(x.var);
        val.push_back(x.coef);
        cols[x.var].push_back({num_rows, x.coef});
      }
      starts.push_back(static_cast<CoinBigIndex>(idx.size()));
      lo.push_back(toClp(r.lo));
      hi.push_back(toClp(r.hi));
      ++num_rows;
    }
    if (rows.empty()) return;
    clp.addRows(static_cast<int>(rows.size()), lo.data(), hi.data(), starts.data(),
                idx.empty() ? nullptr : idx.data(), val.empty() ? nullptr : val.data());
  }

  // Weak duality for min c^T x + off s.t. rlo <= A x <= rhi, lb <= x <= ub:
  // for any y, c^T x = y^T A x + d^T x with d = c - A^T y, so
  //   c^T x >= sum_i min(y_i rlo_i, y_i rhi_i) + sum_j min(d_j lb_j, d_j ub_j).
  // Duals whose sign would pick an infinite row side are set to 0 (that keeps
  // the bound valid). A rounding-error estimate of the evaluation is subtracted.
  double safeLowerBound() const {
    const double* y_clp = clp.dualRowSolution();
    const double* rlo = clp.rowLower();
    const double* rhi = clp.rowUpper();
    const double* lb = clp.columnLower();
    const double* ub = clp.columnUpper();
    if (num_rows > 0 && !y_clp) return -model::kInf;
    std::vector<double> y(num_rows, 0.0);
    double val = off, abs_sum = std::abs(off), extra_err = 0.0;
    long terms = 1;
    for (int i = 0; i < num_rows; ++i) {
      double yi = y_clp[i];
      if (!std::isfinite(yi)) yi = 0.0;
      if (yi > 0 && rlo[i] <= -kBig) yi = 0.0;
      if (yi < 0 && rhi[i] >= kBig) yi = 0.0;
      y[i] = yi;
      double t = yi > 0 ? yi * rlo[i] : (yi < 0 ? yi * rhi[i] : 0.0);
      val += t;
      abs_sum += std::abs(t);
      ++terms;
    }
    const double u = std::numeric_limits<double>::epsilon();
    for (size_t j = 0; j < cols.size(); ++j) {
      double d = obj[j], d_abs = std::abs(d);
      for (const auto& [i, a] : cols[j]) {
        d -= a * y[i];
        d_abs += std::abs(a * y[i]);
      }
      // |computed d - exact d| <= d_err (standard summation error bound).
      const double d_err = (cols[j].size() + 2) * u * d_abs;
      const double l = lb[j], h = ub[j];
      const bool l_fin = l > -kBig, h_fin = h < kBig;
      double t = 0.0;
      if (d > 0) {
        if (!l_fin) return -model::kInf;
        t = d * l;
      } else if (d < 0) {
        if (!h_fin) return -model::kInf;
        t = d * h;
      }
      // The error in d moves the term by at most d_err * |chosen bound| (or
      // the larger finite bound when d is ~0); free variables with d ~ 0 are
      // taken as exact.
      double mag = 0.0;
      if (l_fin) mag = std::max(mag, std::abs(l));
      if (h_fin) mag = std::max(mag, std::abs(h));
      extra_err += d_err * mag;
      val += t;
      abs_sum += std::abs(t);
      ++terms;
    }
    const double err = (terms + 2) * u * abs_sum + extra_err * (1.0 + 4 * u);
    return val - err;
  }
};

LpSession::LpSession(const model::MathModel& m) : impl_(std::make_unique<Impl>()) {
  require(m.objQuadratic().empty(), "lp session: the objective is quadratic");
  const int n = m.numVars();
  auto& I = *impl_;
  I.cols.assign(n, {});
  I.obj.assign(n, 0.0);
  std::vector<double> collb(n), colub(n), zero(n, 0.0);
  for (int j = 0; j < n; ++j) {
    const auto& v = m.vars()[j];
    require(!(v.lb > v.ub), "lp session: variable " + std::to_string(j) + " has lb > ub");
    collb[j] = toClp(v.lb);
    colub[j] = toClp(v.ub);
  }
  std::vector<CoinBigIndex> start(n + 1, 0);
  // No rows yet: load the columns, then add the rows in one batch.
  I.clp.loadProblem(n, 0, start.data(), nullptr, nullptr, collb.data(), colub.data(), zero.data(),
                    nullptr, nullptr);
  std::vector<LinRow> rows;
  rows.reserve(m.rows().size());
  for (const auto& r : m.rows()) {
    require(r.nl.kind == model::NlKind::kNone,
            "lp session: row '" + r.name + "' has a nonlinear term");
    rows.push_back(LinRow{r.terms, r.lo, r.hi});
  }
  I.addRowsImpl(rows);
  setObjective(m.objLinear(), m.sense(), m.objOffset());
}

LpSession::~LpSession() = default;
LpSession::LpSession(LpSession&&) noexcept = default;
LpSession& LpSession::operator=(LpSession&&) noexcept = default;

int LpSession::numVars() const { return static_cast<int>(impl_->cols.size()); }
int LpSession::numRows() const { return impl_->num_rows; }

void LpSession::setObjective(const std::vector<model::LinTerm>& c, model::Sense sense,
                             double offset) {
  auto& I = *impl_;
  const int n = numVars();
  const double sign = sense == model::Sense::kMaximize ? -1.0 : 1.0;
  std::vector<double> obj(n, 0.0);
  for (const auto& t : c) {
    require(t.var >= 0 && t.var < n, "lp session: objective refers to variable " +
                                         std::to_string(t.var) + " of " + std::to_string(n));
    require(std::isfinite(t.coef), "lp session: non-finite objective coefficient");
    obj[t.var] += sign * t.coef;
  }
  for (int j = 0; j < n; ++j)
    if (obj[j] != I.obj[j]) I.clp.setObjectiveCoefficient(j, obj[j]);
  I.obj = std::move(obj);
  I.off = sign * offset;
  I.sign = sign;
}

void LpSession::setVarBounds(int j, double lb, double ub) {
  require(j >= 0 && j < numVars(), "lp session: variable " + std::to_string(j) + " out of range");
  require(!(lb > ub), "lp session: variable " + std::to_string(j) + " gets lb > ub");
  impl_->clp.setColumnBounds(j, toClp(lb), toClp(ub));
}

int LpSession::addVars(const std::vector<double>& lb, const std::vector<double>& ub) {
  require(lb.size() == ub.size(), "lp session: addVars needs as many lower as upper bounds");
  auto& I = *impl_;
  const int first = numVars();
  const int k = static_cast<int>(lb.size());
  if (k == 0) return first;
  std::vector<double> lo(k), hi(k), zero(k, 0.0);
  for (int i = 0; i < k; ++i) {
    require(!(lb[i] > ub[i]), "lp session: new variable with lb > ub");
    lo[i] = toClp(lb[i]);
    hi[i] = toClp(ub[i]);
  }
  std::vector<CoinBigIndex> starts(k + 1, 0);
  int dummy_idx = 0;
  double dummy_val = 0.0;
  I.clp.addColumns(k, lo.data(), hi.data(), zero.data(), starts.data(), &dummy_idx, &dummy_val);
  I.cols.resize(first + k);
  I.obj.resize(first + k, 0.0);
  return first;
}

int LpSession::addRows(const std::vector<LinRow>& rows) {
  const int first = impl_->num_rows;
  impl_->addRowsImpl(rows);
  return first;
}

LpSession::Result LpSession::solve(double time_limit_s) {
  auto& I = *impl_;
  Result r;
  if (!(time_limit_s > 0)) {
    r.status = SolveStatus::kNoSolution;
    return r;
  }
  I.clp.setMaximumWallSeconds(std::isfinite(time_limit_s) ? time_limit_s : -1.0);
  // Warm start: the status arrays of the previous solve are the starting
  // basis (new columns start at a bound, new rows basic). Dual simplex in
  // every case, also after an objective change: when every variable and row
  // is boxed, the old basis becomes dual feasible by moving nonbasic
  // variables to their other bound, and the dual then needs tens of pivots
  // where primal simplex walks across the input box (one pivot per input
  // that changes bound: hundreds on MNIST). With unboxed rows Clp's dual
  // falls back to primal by itself.
  I.clp.dual();
  long iters = I.clp.numberIterations();
  // A numerical failure from a warm start: retry once from the slack basis.
  if (I.clp.status() == 4 || I.clp.status() == 5) {
    I.clp.allSlackBasis(true);
    I.clp.dual();
    iters += I.clp.numberIterations();
    if (I.clp.status() == 4 || I.clp.status() == 5) {
      I.clp.primal();
      iters += I.clp.numberIterations();
    }
  }
  I.solved_once = true;
  r.iterations = iters;
  switch (I.clp.status()) {
    case 0:
      r.status = SolveStatus::kOptimal;
      break;
    case 1:
      r.status = SolveStatus::kInfeasible;
      break;
    case 2:
      r.status = SolveStatus::kUnbounded;
      break;
    case 3:
      r.status = I.clp.primalFeasible() ? SolveStatus::kFeasible : SolveStatus::kNoSolution;
      break;
    default:
      r.status = SolveStatus::kError;
      break;
  }
  if (r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible)
    r.objective = I.sign * (I.clp.objectiveValue() + I.off);
  // The weak-duality bound holds for any dual vector, so it is computed
  // whenever Clp has one (also after a time-limit stop).
  if (r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible ||
      r.status == SolveStatus::kNoSolution) {
    double lb = I.safeLowerBound();
    r.bound = I.sign * lb;
  } else {
    r.bound = I.sign * -model::kInf;
  }
  return r;
}

std::vector<double> LpSession::primal() const {
  if (!impl_->solved_once) return {};
  const double* x = impl_->clp.primalColumnSolution();
  return std::vector<double>(x, x + numVars());
}

}  // namespace nnopt::solve
