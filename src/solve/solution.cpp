#include "solve/solver.h"

namespace nnopt::solve {

const char* statusName(SolveStatus s) {
  switch (s) {
    case SolveStatus::kOptimal: return "optimal";
    case SolveStatus::kFeasible: return "feasible";
    case SolveStatus::kInfeasible: return "infeasible";
    case SolveStatus::kUnbounded: return "unbounded";
    case SolveStatus::kNoSolution: return "no_solution";
    case SolveStatus::kError: return "error";
  }
  return "?";
}

}  // namespace nnopt::solve
