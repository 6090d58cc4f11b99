#pragma once
// Backend interface. Each backend translates a model::MathModel into its
// solver, runs it and translates status/solution back. Solver exceptions and
// statuses never leave this folder.
#include <atomic>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "model/math_model.h"

namespace nnopt::solve {

enum class SolveStatus {
  kOptimal,          // proven optimal (MIP/LP) or locally optimal (NLP)
  kFeasible,         // stopped (time/node limit) with a feasible incumbent
  kInfeasible,       // proven infeasible
  kUnbounded,
  kNoSolution,       // stopped without any feasible point (time limit, restoration failure)
  kError,
};
const char* statusName(SolveStatus s);

struct SolveParams {
  double time_limit = std::numeric_limits<double>::infinity();  // seconds
  int threads = 1;
  bool verbose = false;            // solver log to stdout (CLI debug only)
  double mip_rel_gap = 1e-9;       // CBC allowableFractionGap
  double mip_abs_gap = 1e-7;       // CBC allowableGap
  // CBC's cutoff increment: nodes whose LP bound is within it of the incumbent
  // are pruned, so a finished MIP is optimal to within it, and
  // Solution::bound is at most the incumbent minus it (cbc_backend.cpp).
  double mip_cutoff_increment = 1e-6;
  // Initial point (NLP) or MIP start; empty = model's Variable::start.
  std::vector<double> start;
  // Ipopt
  double nlp_tol = 1e-8;
  // Ipopt warm start from a previous solve of a model with the same variables
  // and rows (a continuation step): its bound and row multipliers. Used only
  // when all three sizes match and `start` is set; then Ipopt starts from the
  // given primal-dual point with small bound pushes instead of re-centring.
  std::vector<double> warm_z_l, warm_z_u, warm_lambda;
  double warm_push = 1e-2;  // Ipopt warm_start_{bound,slack_bound,mult_bound}_{push,frac}
  int nlp_max_iter = 3000;
  // Stop the MIP as soon as an incumbent with objective < this is found
  // (CBC cutoff-style early stop); +inf = disabled.
  double stop_below = std::numeric_limits<double>::infinity();
  // MIP and NLP: stop when *cancel becomes true (another solver finished
  // first, Ctrl-C in Python); the NLP returns its current point as kFeasible/kNoSolution.
  const std::atomic<bool>* cancel = nullptr;
  // MIP progress, called from CBC's search (any thread, keep it cheap):
  // x = a new incumbent in model columns (nullptr when only the bound moved),
  // bound = a proven lower bound on the (minimised) model objective so far.
  std::function<void(const double* x, double bound)> mip_progress;
  // MIP (CBC) only: a cut separator, called in CBC's cut loop with the LP
  // point (model columns); it returns rows lo <= sum(terms) <= hi violated
  // there that every feasible point of the model satisfies (globally valid:
  // they stay in the whole search). Empty function = none.
  std::function<std::vector<model::Row>(const std::vector<double>& x)> mip_cuts;
  // Depth of CBC's tree down to which mip_cuts is called (0 = root only), and
  // CBC's cut passes at the root (-passC) when mip_cuts is set: each pass
  // re-solves the LP (100 passes of 153 dense cuts took 22 s on mlp_2x30).
  int mip_cuts_depth = 0;
  int mip_cuts_passes = 5;
};

struct Solution {
  SolveStatus status = SolveStatus::kError;
  std::vector<double> x;      // primal values (empty when none)
  double objective = std::numeric_limits<double>::quiet_NaN();
  double bound = -std::numeric_limits<double>::infinity();  // proven dual bound (MIP/LP)
  double time_s = 0.0;
  long iterations = 0;        // NLP iterations / LP iterations / MIP nodes
  std::string message;        // solver's own status text
  // Ipopt's final multipliers (bounds, rows); empty for other solvers.
  std::vector<double> z_l, z_u, lambda;
  bool hasPoint() const { return !x.empty(); }
};

// CBC: linear rows, integer variables; throws Error if the model is nonlinear.
Solution solveMip(const model::MathModel& m, const SolveParams& p = {});
// Clp: linear rows, integers relaxed.
Solution solveLp(const model::MathModel& m, const SolveParams& p = {});
// Ipopt with exact sparse first and second derivatives; integers relaxed.
Solution solveNlp(const model::MathModel& m, const SolveParams& p = {});

}  // namespace nnopt::solve
