#pragma once
// A reusable LP held in one Clp simplex object, for many related solves
// (bound tightening: one objective per neuron, rows added layer by layer).
// Each solve is a dual simplex run from the previous basis. After new rows or
// variables or tighter bounds the old basis stays dual feasible; after an
// objective change it becomes dual feasible by moving nonbasic variables to
// their other bound, provided every variable and every row has two finite
// bounds. So give rows a finite (even loose, redundant) second side where
// possible: with one-sided rows Clp falls back to primal simplex, which needs
// one pivot per variable that changes bound (hundreds over an MNIST input box).
//
// Every solve also reports a "safe" bound computed from the row duals by weak
// duality (Neumaier-Shcherbina): it is a valid bound on the LP optimum for any
// dual vector, so it does not rely on the solver's feasibility/optimality
// tolerances (only on a rounding-error estimate included in it). Callers that
// need a provable bound should use Result::bound, not Result::objective.
//
// Not thread-safe per object; independent objects may be used in different
// threads (no global state). Clp output is silenced. COIN headers are only
// included by the .cpp.
#include <limits>
#include <memory>
#include <vector>

#include "model/math_model.h"
#include "solve/solver.h"

namespace nnopt::solve {

class LpSession {
 public:
  // Variables (integrality relaxed), linear rows and the linear objective
  // (with offset and sense) of m. Throws Error when m has a nonlinear row
  // term or a quadratic objective, or an index out of range.
  explicit LpSession(const model::MathModel& m);
  ~LpSession();
  LpSession(LpSession&&) noexcept;
  LpSession& operator=(LpSession&&) noexcept;
  LpSession(const LpSession&) = delete;
  LpSession& operator=(const LpSession&) = delete;

  int numVars() const;
  int numRows() const;

  // Replaces the objective: sense * (offset + sum c_j x_j). Repeated indices add up.
  void setObjective(const std::vector<model::LinTerm>& c, model::Sense sense, double offset = 0.0);
  void setVarBounds(int j, double lb, double ub);
  // New variables (objective coefficient 0); returns the index of the first.
  int addVars(const std::vector<double>& lb, const std::vector<double>& ub);
  int addVar(double lb, double ub) { return addVars({lb}, {ub}); }
  // New rows lo <= sum terms <= hi (lo/hi may be +-model::kInf); returns the
  // index of the first. Adding many rows in one call is much cheaper.
  struct LinRow {
    std::vector<model::LinTerm> terms;
    double lo = -model::kInf;
    double hi = model::kInf;
  };
  int addRows(const std::vector<LinRow>& rows);
  int addRow(std::vector<model::LinTerm> terms, double lo, double hi) {
    return addRows({LinRow{std::move(terms), lo, hi}});
  }

  struct Result {
    SolveStatus status = SolveStatus::kError;  // kOptimal, kInfeasible, kUnbounded,
                                               // kFeasible/kNoSolution (time), kError
    double objective = std::numeric_limits<double>::quiet_NaN();  // solver's value
    // Weak-duality bound on the LP optimum (a lower bound when minimising, an
    // upper bound when maximising), -+inf when none could be derived (e.g. a
    // variable with an infinite bound and a nonzero reduced cost).
    double bound = std::numeric_limits<double>::quiet_NaN();
    long iterations = 0;
  };
  // time_limit_s: wall-clock seconds for this solve (<= 0 returns kNoSolution
  // without solving; +inf = unlimited).
  Result solve(double time_limit_s = std::numeric_limits<double>::infinity());

  // Values of the variables at the last solve (empty before the first).
  std::vector<double> primal() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nnopt::solve
