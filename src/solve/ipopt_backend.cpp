// Ipopt backend: MathModel -> Ipopt::TNLP with exact sparse first and second
// derivatives. Integers are relaxed. Every call builds its own evaluator,
// TNLP and IpoptApplication (no shared mutable state).
//
// Thread safety: Debian's sequential MUMPS 5.5 (under Ipopt 3.11) is NOT
// thread-safe: two concurrent factorizations abort the process ("PB allocation
// in DMUMPS_LOAD_INIT ... MPI_ABORT", also coin-or/Ipopt#733; Ipopt >= 3.14
// serialises its MUMPS calls itself, 3.11 does not). Ipopt reaches MUMPS only
// through dmumps_c, so this file interposes dmumps_c: each MUMPS call runs
// under one process-wide mutex and the rest of Ipopt (and our evaluations) run
// in parallel. Until a solve has shown that the interposition is in effect,
// whole solves are serialised instead (safe fallback, e.g. static linking).
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "IpIpoptApplication.hpp"
#include "IpSolveStatistics.hpp"
#include "IpTNLP.hpp"
#include "core/error.h"
#include "solve/ipopt_nlp.h"
#include "solve/solver.h"

namespace {
std::mutex g_mumps_mutex;
std::atomic<long> g_mumps_calls{0};
using DmumpsFn = void (*)(void*);

// Debian's SCOTCH 7 orders with several pthreads by default, which makes the
// ordering (and so Ipopt's iterates, at the 1e-15 level, sometimes more)
// differ from run to run. One thread makes every solve bitwise reproducible;
// set before main() (no other threads yet) and only when the user has not
// chosen a value.
const bool g_scotch_single_thread = [] {
  setenv("SCOTCH_PTHREAD_NUMBER", "1", /*overwrite=*/0);
  return true;
}();
}  // namespace

// Interposes MUMPS's C entry point (resolved before libdmumps_seq's because the
// executable or libnnopt is searched first); forwards under g_mumps_mutex.
// SCOTCH (MUMPS's ordering, see mumps_pivot_order) draws from one global
// random generator; resetting it before every call makes the ordering, and so
// every solve, bitwise reproducible whatever ran before or concurrently.
extern "C" void dmumps_c(void* id) {
  static const DmumpsFn real = reinterpret_cast<DmumpsFn>(dlsym(RTLD_NEXT, "dmumps_c"));
  static const auto scotch_reset =
      reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "SCOTCH_randomReset"));
  if (real == nullptr) std::abort();  // cannot happen when Ipopt's call reached us
  std::lock_guard<std::mutex> lock(g_mumps_mutex);
  g_mumps_calls.fetch_add(1, std::memory_order_relaxed);
  if (scotch_reset != nullptr) scotch_reset();
  real(id);
}

namespace nnopt::solve {

namespace detail {

long mumpsCallCount() { return g_mumps_calls.load(); }

using model::NlKind;

bool nlIsBinary(NlKind k) {
  return k == NlKind::kProduct || k == NlKind::kFischerBurmeister ||
         k == NlKind::kChenMangasarian;
}

namespace {
// Floor under the radicand of FB/CM: keeps 1/r finite at the kink (param = 0,
// a = b = 0) without visibly changing values elsewhere (sqrt(1e-24) = 1e-12).
constexpr double kSqrtFloor = 1e-24;
}  // namespace

NlDerivs nlDerivatives(const model::NlTerm& t, double a, double b) {
  NlDerivs d;
  const double c = t.coef;
  switch (t.kind) {
    case NlKind::kNone: break;
    case NlKind::kProduct:
      d.f = c * a * b;
      d.fa = c * b;
      d.fb = c * a;
      d.fab = c;
      break;
    case NlKind::kTanh: {
      const double th = std::tanh(a);
      const double s = 1.0 - th * th;
      d.f = c * th;
      d.fa = c * s;
      d.faa = -2.0 * c * th * s;
      break;
    }
    case NlKind::kSigmoid: {
      double sg;
      if (a >= 0) {
        sg = 1.0 / (1.0 + std::exp(-a));
      } else {
        const double e = std::exp(a);
        sg = e / (1.0 + e);
      }
      const double s1 = sg * (1.0 - sg);
      d.f = c * sg;
      d.fa = c * s1;
      d.faa = c * s1 * (1.0 - 2.0 * sg);
      break;
    }
    case NlKind::kFischerBurmeister: {
      // sqrt(a^2 + b^2 + 2p) - a - b
      const double rad = a * a + b * b + 2.0 * t.param;
      const double r = std::sqrt(std::max(rad, kSqrtFloor));
      const double r3 = r * r * r;
      d.f = c * (std::sqrt(std::max(rad, 0.0)) - a - b);
      d.fa = c * (a / r - 1.0);
      d.fb = c * (b / r - 1.0);
      // d2r/da2 = (r^2 - a^2)/r^3 = (b^2 + 2p)/r^3 (numerators kept >= 0)
      d.faa = c * std::max(b * b + 2.0 * t.param, 0.0) / r3;
      d.fbb = c * std::max(a * a + 2.0 * t.param, 0.0) / r3;
      d.fab = -c * a * b / r3;
      break;
    }
    case NlKind::kChenMangasarian: {
      // a + b - sqrt((a-b)^2 + 4p^2)
      const double dd = a - b;
      const double p2 = 4.0 * t.param * t.param;
      const double rad = dd * dd + p2;
      const double r = std::sqrt(std::max(rad, kSqrtFloor));
      const double r3 = r * r * r;
      d.f = c * (a + b - std::sqrt(rad));
      d.fa = c * (1.0 - dd / r);
      d.fb = c * (1.0 + dd / r);
      // d2r/da2 = d2r/db2 = 4p^2/r^3, d2r/dadb = -4p^2/r^3; f = ... - r
      const double h = c * p2 / r3;
      d.faa = -h;
      d.fbb = -h;
      d.fab = h;
      break;
    }
  }
  return d;
}

NlpEvaluator::NlpEvaluator(const model::MathModel& m) {
  n_ = m.numVars();
  m_ = m.numRows();
  sign_ = m.sense() == model::Sense::kMaximize ? -1.0 : 1.0;
  obj_offset_ = m.objOffset();
  auto checkVar = [&](int v, const char* where) {
    require(v >= 0 && v < n_, std::string("NLP model: variable index ") + std::to_string(v) +
                                  " out of range in " + where + " (" + std::to_string(n_) +
                                  " variables)");
  };

  obj_lin_.assign(n_, 0.0);
  for (const auto& t : m.objLinear()) {
    checkVar(t.var, "the objective");
    obj_lin_[t.var] += sign_ * t.coef;
  }

  // Hessian structure: lower triangle, merged via a map from (row, col).
  std::unordered_map<int64_t, int> hpos;
  auto hessPos = [&](int i, int j) {
    if (i < j) std::swap(i, j);
    const int64_t key = static_cast<int64_t>(i) * n_ + j;
    auto [it, inserted] = hpos.emplace(key, static_cast<int>(hess_row_.size()));
    if (inserted) {
      hess_row_.push_back(i);
      hess_col_.push_back(j);
    }
    return it->second;
  };
  std::vector<std::pair<int, double>> hobj;  // (position, value) of the quadratic objective
  for (const auto& q : m.objQuadratic()) {
    checkVar(q.i, "the objective");
    checkVar(q.j, "the objective");
    if (q.coef == 0.0) continue;
    quads_.push_back({q.i, q.j, sign_ * q.coef});
    // d2/dxi2 (c xi^2) = 2c; d2/dxi dxj (c xi xj) = c
    hobj.emplace_back(hessPos(q.i, q.j), (q.i == q.j ? 2.0 : 1.0) * sign_ * q.coef);
  }

  // Jacobian: per row, merged linear terms then the nonlinear variables not
  // already present.
  row_start_.reserve(m_ + 1);
  row_lin_end_.reserve(m_);
  std::vector<int> where(n_, -1);  // var -> Jacobian position within the current row
  for (int r = 0; r < m_; ++r) {
    const model::Row& row = m.rows()[r];
    const int start = static_cast<int>(jac_row_.size());
    row_start_.push_back(start);
    for (const auto& t : row.terms) {
      checkVar(t.var, "a row");
      if (where[t.var] < 0) {
        where[t.var] = static_cast<int>(jac_row_.size());
        jac_row_.push_back(r);
        jac_col_.push_back(t.var);
        jac_const_.push_back(0.0);
      }
      jac_const_[where[t.var]] += t.coef;
    }
    row_lin_end_.push_back(static_cast<int>(jac_row_.size()));
    const model::NlTerm& nl = row.nl;
    if (nl.kind != NlKind::kNone) {
      NlRow e;
      e.row = r;
      e.t = nl;
      const bool bin = nlIsBinary(nl.kind);
      checkVar(nl.a, "a nonlinear row term");
      if (bin) checkVar(nl.b, "a nonlinear row term");
      auto jpos = [&](int v) {
        if (where[v] < 0) {
          where[v] = static_cast<int>(jac_row_.size());
          jac_row_.push_back(r);
          jac_col_.push_back(v);
          jac_const_.push_back(0.0);
        }
        return where[v];
      };
      e.ja = jpos(nl.a);
      if (bin) e.jb = jpos(nl.b);
      e.same = bin && nl.a == nl.b;
      switch (nl.kind) {
        case NlKind::kProduct:
          if (e.same) e.haa = hessPos(nl.a, nl.a);  // 2c x^2'' = 2c
          else e.hab = hessPos(nl.a, nl.b);
          break;
        case NlKind::kTanh:
        case NlKind::kSigmoid: e.haa = hessPos(nl.a, nl.a); break;
        case NlKind::kFischerBurmeister:
        case NlKind::kChenMangasarian:
          e.haa = hessPos(nl.a, nl.a);
          if (!e.same) {
            e.hbb = hessPos(nl.b, nl.b);
            e.hab = hessPos(nl.a, nl.b);
          }
          break;
        case NlKind::kNone: break;
      }
      if (!bin) e.t.b = nl.a;  // unary: never read x_b out of range
      nl_.push_back(e);
    }
    for (int k = start; k < static_cast<int>(jac_row_.size()); ++k) where[jac_col_[k]] = -1;
  }
  row_start_.push_back(static_cast<int>(jac_row_.size()));

  hess_obj_.assign(hess_row_.size(), 0.0);
  for (const auto& [pos, v] : hobj) hess_obj_[pos] += v;
}

double NlpEvaluator::objective(const double* x) const {
  double v = sign_ * obj_offset_;
  for (int j = 0; j < n_; ++j) v += obj_lin_[j] * x[j];
  for (const auto& q : quads_) v += q.c * x[q.i] * x[q.j];
  return v;
}

void NlpEvaluator::objGradient(const double* x, double* grad) const {
  std::copy(obj_lin_.begin(), obj_lin_.end(), grad);
  for (const auto& q : quads_) {
    grad[q.i] += q.c * x[q.j];
    grad[q.j] += q.c * x[q.i];
  }
}

void NlpEvaluator::rows(const double* x, double* g) const {
  for (int r = 0; r < m_; ++r) {
    double v = 0;
    for (int k = row_start_[r]; k < row_lin_end_[r]; ++k) v += jac_const_[k] * x[jac_col_[k]];
    g[r] = v;
  }
  for (const auto& e : nl_) g[e.row] += nlDerivatives(e.t, x[e.t.a], x[e.t.b]).f;
}

void NlpEvaluator::jacobian(const double* x, double* values) const {
  std::copy(jac_const_.begin(), jac_const_.end(), values);
  for (const auto& e : nl_) {
    const NlDerivs d = nlDerivatives(e.t, x[e.t.a], x[e.t.b]);
    values[e.ja] += d.fa;
    if (e.jb >= 0) values[e.jb] += d.fb;  // a == b: same position, fa + fb
  }
}

void NlpEvaluator::hessian(const double* x, double obj_factor, const double* lambda,
                           double* values) const {
  const size_t nnz = hess_row_.size();
  for (size_t k = 0; k < nnz; ++k) values[k] = obj_factor * hess_obj_[k];
  for (const auto& e : nl_) {
    const double l = lambda[e.row];
    if (l == 0.0) continue;
    const NlDerivs d = nlDerivatives(e.t, x[e.t.a], x[e.t.b]);
    if (e.same) {
      values[e.haa] += l * (d.faa + 2.0 * d.fab + d.fbb);
      continue;
    }
    if (e.haa >= 0) values[e.haa] += l * d.faa;
    if (e.hab >= 0) values[e.hab] += l * d.fab;
    if (e.hbb >= 0) values[e.hbb] += l * d.fbb;
  }
}

}  // namespace detail

namespace {

using Ipopt::Index;
using Ipopt::Number;
using Clock = std::chrono::steady_clock;

constexpr double kIpoptInf = 1e20;  // Ipopt treats |bound| >= 1e19 as infinite
constexpr double kFeasTol = 1e-6;

double toIpopt(double v) { return std::clamp(v, -kIpoptInf, kIpoptInf); }

class ModelTnlp : public Ipopt::TNLP {
 public:
  ModelTnlp(const model::MathModel& m, const detail::NlpEvaluator& ev, std::vector<double> x0,
            Clock::time_point deadline, bool has_deadline, const SolveParams* warm = nullptr,
            const std::atomic<bool>* cancel = nullptr)
      : m_(m), ev_(ev), x0_(std::move(x0)), deadline_(deadline), has_deadline_(has_deadline),
        warm_(warm), cancel_(cancel) {}

  bool get_nlp_info(Index& n, Index& m, Index& nnz_jac_g, Index& nnz_h_lag,
                    IndexStyleEnum& index_style) override {
    n = ev_.numVars();
    m = ev_.numRows();
    nnz_jac_g = ev_.jacNnz();
    nnz_h_lag = ev_.hessNnz();
    index_style = C_STYLE;
    return true;
  }

  bool get_bounds_info(Index n, Number* x_l, Number* x_u, Index m, Number* g_l,
                       Number* g_u) override {
    const auto& vars = m_.vars();
    for (Index j = 0; j < n; ++j) {
      x_l[j] = toIpopt(vars[j].lb);
      x_u[j] = toIpopt(vars[j].ub);
    }
    const auto& rows = m_.rows();
    for (Index r = 0; r < m; ++r) {
      g_l[r] = toIpopt(rows[r].lo);
      g_u[r] = toIpopt(rows[r].hi);
    }
    return true;
  }

  bool get_starting_point(Index n, bool init_x, Number* x, bool init_z, Number* z_l, Number* z_u,
                          Index m, bool init_lambda, Number* lambda) override {
    if ((init_z || init_lambda) && warm_ == nullptr) return false;  // no dual start offered
    if (init_x) std::copy(x0_.begin(), x0_.begin() + n, x);
    if (init_z) {
      std::copy(warm_->warm_z_l.begin(), warm_->warm_z_l.begin() + n, z_l);
      std::copy(warm_->warm_z_u.begin(), warm_->warm_z_u.begin() + n, z_u);
    }
    if (init_lambda) std::copy(warm_->warm_lambda.begin(), warm_->warm_lambda.begin() + m, lambda);
    return true;
  }

  bool eval_f(Index, const Number* x, bool, Number& obj_value) override {
    obj_value = ev_.objective(x);
    return std::isfinite(obj_value);
  }
  bool eval_grad_f(Index, const Number* x, bool, Number* grad_f) override {
    ev_.objGradient(x, grad_f);
    return true;
  }
  bool eval_g(Index, const Number* x, bool, Index, Number* g) override {
    ev_.rows(x, g);
    return true;
  }
  bool eval_jac_g(Index, const Number* x, bool, Index, Index, Index* iRow, Index* jCol,
                  Number* values) override {
    if (values == nullptr) {
      std::copy(ev_.jacRows().begin(), ev_.jacRows().end(), iRow);
      std::copy(ev_.jacCols().begin(), ev_.jacCols().end(), jCol);
    } else {
      ev_.jacobian(x, values);
    }
    return true;
  }
  bool eval_h(Index, const Number* x, bool, Number obj_factor, Index, const Number* lambda, bool,
              Index, Index* iRow, Index* jCol, Number* values) override {
    if (values == nullptr) {
      std::copy(ev_.hessRows().begin(), ev_.hessRows().end(), iRow);
      std::copy(ev_.hessCols().begin(), ev_.hessCols().end(), jCol);
    } else {
      ev_.hessian(x, obj_factor, lambda, values);
    }
    return true;
  }

  void finalize_solution(Ipopt::SolverReturn, Index n, const Number* x, const Number* z_l,
                         const Number* z_u, Index m, const Number*, const Number* lambda, Number,
                         const Ipopt::IpoptData*, Ipopt::IpoptCalculatedQuantities*) override {
    x_final.assign(x, x + n);
    z_l_final.assign(z_l, z_l + n);
    z_u_final.assign(z_u, z_u + n);
    lambda_final.assign(lambda, lambda + m);
  }

  bool intermediate_callback(Ipopt::AlgorithmMode, Index, Number, Number, Number, Number, Number,
                             Number, Number, Number, Index, const Ipopt::IpoptData*,
                             Ipopt::IpoptCalculatedQuantities*) override {
    if (has_deadline_ && Clock::now() >= deadline_) {
      time_limit_hit = true;
      return false;
    }
    if (cancel_ != nullptr && cancel_->load()) {  // SolveParams::cancel (e.g. Ctrl-C in Python)
      cancelled = true;
      return false;
    }
    return true;
  }

  std::vector<double> x_final, z_l_final, z_u_final, lambda_final;
  bool time_limit_hit = false;
  bool cancelled = false;

 private:
  const model::MathModel& m_;
  const detail::NlpEvaluator& ev_;
  std::vector<double> x0_;
  Clock::time_point deadline_;
  bool has_deadline_;
  const SolveParams* warm_;  // multipliers for a warm start, or nullptr
  const std::atomic<bool>* cancel_;
};

const char* ipoptStatusText(Ipopt::ApplicationReturnStatus s) {
  using namespace Ipopt;
  switch (s) {
    case Solve_Succeeded: return "Solve_Succeeded";
    case Solved_To_Acceptable_Level: return "Solved_To_Acceptable_Level";
    case Infeasible_Problem_Detected: return "Infeasible_Problem_Detected";
    case Search_Direction_Becomes_Too_Small: return "Search_Direction_Becomes_Too_Small";
    case Diverging_Iterates: return "Diverging_Iterates";
    case User_Requested_Stop: return "User_Requested_Stop";
    case Feasible_Point_Found: return "Feasible_Point_Found";
    case Maximum_Iterations_Exceeded: return "Maximum_Iterations_Exceeded";
    case Restoration_Failed: return "Restoration_Failed";
    case Error_In_Step_Computation: return "Error_In_Step_Computation";
    case Maximum_CpuTime_Exceeded: return "Maximum_CpuTime_Exceeded";
    case Not_Enough_Degrees_Of_Freedom: return "Not_Enough_Degrees_Of_Freedom";
    case Invalid_Problem_Definition: return "Invalid_Problem_Definition";
    case Invalid_Option: return "Invalid_Option";
    case Invalid_Number_Detected: return "Invalid_Number_Detected";
    case Unrecoverable_Exception: return "Unrecoverable_Exception";
    case NonIpopt_Exception_Thrown: return "NonIpopt_Exception_Thrown";
    case Insufficient_Memory: return "Insufficient_Memory";
    case Internal_Error: return "Internal_Error";
  }
  return "Unknown_Ipopt_Status";
}

// Initial point: params.start (size checked) or Variable::start, clamped into
// the bounds (non-finite entries replaced by the clamped 0).
std::vector<double> startPoint(const model::MathModel& m, const SolveParams& p) {
  const int n = m.numVars();
  require(p.start.empty() || static_cast<int>(p.start.size()) == n,
          "NLP start vector has " + std::to_string(p.start.size()) + " entries, the model has " +
              std::to_string(n) + " variables");
  std::vector<double> x(n);
  for (int j = 0; j < n; ++j) {
    const auto& v = m.vars()[j];
    double s = p.start.empty() ? v.start : p.start[j];
    if (!std::isfinite(s)) s = 0.0;
    s = std::max(s, v.lb);
    s = std::min(s, v.ub);
    x[j] = s;
  }
  return x;
}

}  // namespace

Solution solveNlp(const model::MathModel& m, const SolveParams& p) {
  const auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  Solution sol;
  std::vector<double> x0 = startPoint(m, p);          // may throw nnopt::Error (bad input)
  const detail::NlpEvaluator ev(m);                    // may throw nnopt::Error (bad indices)
  require(p.nlp_max_iter >= 0, "NLP: nlp_max_iter must be >= 0");
  require(p.nlp_tol > 0, "NLP: nlp_tol must be > 0");

  const bool has_deadline = std::isfinite(p.time_limit);
  Clock::time_point deadline = t0;
  if (has_deadline)
    deadline += std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(std::max(p.time_limit, 0.0)));

  // Whole-solve lock until the dmumps_c interposition has been seen working.
  static std::mutex solve_mutex;
  static std::atomic<bool> interposed{false};
  std::unique_lock<std::mutex> coarse_lock;
  if (!interposed.load()) coarse_lock = std::unique_lock<std::mutex>(solve_mutex);

  try {
    // No console journal unless verbose: nothing (not even the banner) can
    // reach stdout.
    Ipopt::SmartPtr<Ipopt::IpoptApplication> app = new Ipopt::IpoptApplication(p.verbose);
    auto opts = app->Options();
    bool ok = true;
    ok &= opts->SetIntegerValue("print_level", p.verbose ? 5 : 0);
    ok &= opts->SetStringValue("sb", "yes");
    ok &= opts->SetNumericValue("tol", p.nlp_tol);
    ok &= opts->SetIntegerValue("max_iter", p.nlp_max_iter);
    ok &= opts->SetStringValue("hessian_approximation", "exact");
    ok &= opts->SetStringValue("linear_solver", "mumps");
    // AMD ordering. With OpenBLAS (scripts/setup.sh installs it; Debian's
    // reference BLAS made dgemm 90% of the time) AMD needs 40% fewer
    // instructions than SCOTCH on the 784-40-40-10 complementarity model
    // (callgrind, same 155 iterations) and was fastest on 784-20-10 too.
    ok &= opts->SetIntegerValue("mumps_pivot_order", 0);
    // MUMPS workspace: Ipopt's default (1000 % of MUMPS' estimate) is allocated
    // and touched at every factorisation; on the sweep networks (product form,
    // one solve) that was 0.2-0.4 s of system time per solve (page faults):
    // 2x40 0.84 -> 0.57 s, 3x30 0.88 -> 0.49 s, 5x60 2.36 -> 1.89 s wall with
    // 100 %. Ipopt raises the percentage and refactorises if MUMPS runs short.
    ok &= opts->SetIntegerValue("mumps_mem_percent", 100);
    // Adaptive mu with the quality-function oracle: on 7 sweep networks
    // (1x10 .. 5x20, Scholtes continuation) 63-163 iterations where the
    // probing oracle needed 85-497 (2x60: 126 vs 384, 3x50: 148 vs 497), with
    // equal margins on 6 of 7 (1x40: -4.345 vs -4.406). Monotone mu needed
    // 4x more iterations.
    ok &= opts->SetStringValue("mu_strategy", "adaptive");
    ok &= opts->SetStringValue("mu_oracle", "quality-function");
    // bound_relax_factor stays at its default 1e-8: 0 changed the iteration
    // count by < 3% on the benchmark models and led one Scholtes model to a
    // worse local optimum; the final point is checked at 1e-6 anyway.
    // The wall-clock limit is enforced in intermediate_callback: Ipopt 3.11's
    // max_cpu_time is process CPU time (getrusage), which concurrent solves in
    // other threads would consume. Keep it only as a generous backstop.
    if (has_deadline)
      ok &= opts->SetNumericValue("max_cpu_time", std::max(1e-3, 64.0 * p.time_limit + 1.0));
    // Primal-dual warm start (continuation): start at the previous solution
    // with its multipliers and moderate pushes. Pushes of 1e-9 kept the
    // iterate at its bounds (ConvNet min-L1: 162 -> 402 iterations); 1e-2
    // halved the iterations on the sweep MLPs (2x40 151 -> 71, 5x30 170 -> 84).
    const size_t nv = static_cast<size_t>(m.numVars()), nr = static_cast<size_t>(m.numRows());
    const bool warm = !p.start.empty() && p.warm_z_l.size() == nv && p.warm_z_u.size() == nv &&
                      p.warm_lambda.size() == nr;
    if (warm) {
      ok &= opts->SetStringValue("warm_start_init_point", "yes");
            ok &= opts->SetNumericValue("warm_start_bound_push", p.warm_push);
      ok &= opts->SetNumericValue("warm_start_bound_frac", p.warm_push);
      ok &= opts->SetNumericValue("warm_start_slack_bound_push", p.warm_push);
      ok &= opts->SetNumericValue("warm_start_slack_bound_frac", p.warm_push);
      ok &= opts->SetNumericValue("warm_start_mult_bound_push", p.warm_push);
    }
    if (!ok) {
      sol.status = SolveStatus::kError;
      sol.message = "Invalid_Option";
      sol.time_s = elapsed();
      return sol;
    }
    Ipopt::ApplicationReturnStatus st = app->Initialize("");  // no ipopt.opt file
    if (st != Ipopt::Solve_Succeeded) {
      sol.status = SolveStatus::kError;
      sol.message = std::string("Initialize: ") + ipoptStatusText(st);
      sol.time_s = elapsed();
      return sol;
    }
    Ipopt::SmartPtr<ModelTnlp> tnlp =
        new ModelTnlp(m, ev, std::move(x0), deadline, has_deadline, warm ? &p : nullptr, p.cancel);
    st = app->OptimizeTNLP(Ipopt::SmartPtr<Ipopt::TNLP>(Ipopt::GetRawPtr(tnlp)));
    sol.message = ipoptStatusText(st);
    if (tnlp->time_limit_hit) sol.message += " (time limit)";
    if (tnlp->cancelled) sol.message += " (cancelled)";
    if (Ipopt::IsValid(app->Statistics())) sol.iterations = app->Statistics()->IterationCount();
    if (static_cast<int>(tnlp->x_final.size()) == m.numVars()) {
      sol.x = std::move(tnlp->x_final);
      sol.z_l = std::move(tnlp->z_l_final);
      sol.z_u = std::move(tnlp->z_u_final);
      sol.lambda = std::move(tnlp->lambda_final);
    }

    switch (st) {
      case Ipopt::Solve_Succeeded:
      case Ipopt::Solved_To_Acceptable_Level: sol.status = SolveStatus::kOptimal; break;
      case Ipopt::Infeasible_Problem_Detected: sol.status = SolveStatus::kInfeasible; break;
      case Ipopt::Not_Enough_Degrees_Of_Freedom:
      case Ipopt::Invalid_Problem_Definition:
      case Ipopt::Invalid_Option:
      case Ipopt::Invalid_Number_Detected:
      case Ipopt::Unrecoverable_Exception:
      case Ipopt::NonIpopt_Exception_Thrown:
      case Ipopt::Insufficient_Memory:
      case Ipopt::Internal_Error: sol.status = SolveStatus::kError; break;
      default:  // iteration/time limit, restoration failure, tiny steps, divergence
        sol.status = SolveStatus::kNoSolution;
        if (sol.hasPoint() && m.maxViolation(sol.x) <= kFeasTol) sol.status = SolveStatus::kFeasible;
        break;
    }
    if (sol.status == SolveStatus::kError) sol.x.clear();
  } catch (const Ipopt::IpoptException& e) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = "Ipopt exception: " + e.Message();
  } catch (const std::exception& e) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = std::string("exception in Ipopt: ") + e.what();
  } catch (...) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = "unknown exception in Ipopt";
  }
  if (g_mumps_calls.load() > 0) interposed.store(true);
  if (sol.hasPoint()) sol.objective = m.evalObjective(sol.x);
  sol.time_s = elapsed();
  return sol;
}

}  // namespace nnopt::solve
