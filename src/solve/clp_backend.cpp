// Clp backend: the LP relaxation of a linear MathModel (integrality dropped),
// solved with Clp's dual simplex after presolve. Each call owns its solver
// objects; Clp keeps no process-wide state on this path, so concurrent
// solves of distinct models are fine.
#include <cmath>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "ClpSimplex.hpp"
#include "ClpSolve.hpp"
#include "CoinError.hpp"
#include "OsiClpSolverInterface.hpp"
#include "core/error.h"
#include "core/log.h"
#include "solve/solver.h"

namespace nnopt::solve {

namespace detail {
// Defined in cbc_backend.cpp: loads and validates the linear model as a
// minimisation without offset; returns the sign (+1 min, -1 max).
double loadLinearModel(const model::MathModel& m, OsiClpSolverInterface& solver, const char* who);
}  // namespace detail

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string clpStatusText(const ClpSimplex& clp) {
  static const char* const kStatus[] = {"optimal",
                                        "primal infeasible",
                                        "dual infeasible (unbounded)",
                                        "stopped on iterations or time",
                                        "stopped due to errors",
                                        "stopped by event handler"};
  const int s = clp.status();
  std::string text = "Clp status " + std::to_string(s);
  if (s >= 0 && s < 6) {
    text += ": ";
    text += kStatus[s];
  }
  if (clp.secondaryStatus() != 0) text += " (secondary " + std::to_string(clp.secondaryStatus()) + ")";
  return text;
}

}  // namespace

Solution solveLp(const model::MathModel& m, const SolveParams& p) {
  Timer timer;
  require(!m.hasNonlinear(), "LP backend needs a linear model (nonlinear row terms or a "
                             "quadratic objective found); use the NLP backend");
  require(!std::isnan(p.time_limit), "LP: time_limit is NaN");
  const int n = m.numVars();
  const double offset = m.objOffset();
  Solution sol;
  try {
    OsiClpSolverInterface osi;
    const double sign = detail::loadLinearModel(m, osi, "LP");  // validates; no integers set
    ClpSimplex& clp = *osi.getModelPtr();
    sol.bound = sign * -kInf;  // none known (model terms) unless set below
    const int log_level = p.verbose ? 1 : 0;
    clp.setLogLevel(log_level);
    osi.messageHandler()->setLogLevel(log_level);
    if (std::isfinite(p.time_limit)) {
      // Wall clock, not setMaximumSeconds: that one is process CPU time, which
      // concurrent solves in other threads would use up.
      clp.setMaximumWallSeconds(std::max(p.time_limit - timer.seconds(), 0.0));
    }
    ClpSolve options;
    options.setSolveType(ClpSolve::useDual);
    options.setPresolveType(ClpSolve::presolveOn);
    clp.initialSolve(options);

    sol.iterations = clp.numberIterations();
    sol.message = clpStatusText(clp);
    switch (clp.status()) {
      case 0: {
        sol.status = SolveStatus::kOptimal;
        const double* x = clp.primalColumnSolution();
        sol.x.assign(x, x + n);
        sol.objective = m.evalObjective(sol.x);
        sol.bound = sol.objective;  // LP optimum: the objective is its own bound
        break;
      }
      case 1:
        sol.status = SolveStatus::kInfeasible;
        sol.bound = offset + sign * kInf;
        break;
      case 2:
        sol.status = SolveStatus::kUnbounded;
        sol.objective = offset + sign * -kInf;
        sol.bound = sol.objective;
        break;
      case 3:
      case 5: sol.status = SolveStatus::kNoSolution; break;  // time/iteration limit
      default: sol.status = SolveStatus::kError; break;
    }
  } catch (const Error&) {
    throw;  // invalid input, not a solver failure
  } catch (const CoinError& e) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = "CoinError in " + e.className() + "::" + e.methodName() + ": " + e.message();
  } catch (const std::exception& e) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = std::string("exception in Clp: ") + e.what();
  } catch (...) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = "unknown exception in Clp";
  }
  sol.time_s = timer.seconds();
  return sol;
}

}  // namespace nnopt::solve
