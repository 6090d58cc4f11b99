#pragma once
// MPS and LP files of a linear (mixed-integer) MathModel, so a formulation can
// be taken to another solver (CPLEX, Gurobi, HiGHS, the cbc executable...).
#include <string>

#include "model/math_model.h"

namespace nnopt::solve {

// Writes m to `path`: free MPS with full precision when the name ends in
// ".mps", CPLEX LP format for ".lp". The file holds exactly what solveMip
// hands to CBC (duplicate terms merged, negligible terms dropped with the
// row widened, see cbc_backend.cpp), as a minimisation: a maximisation is
// written as minimising -objective. The objective offset is written too (MPS:
// minus the RHS of the objective row, as CPLEX and Gurobi read it; LP: a
// constant term). Variable names come from the model (a missing or repeated
// name becomes C<index>, rows R<index>). Throws Error for a nonlinear model,
// another extension or a file that cannot be written.
void writeModelFile(const model::MathModel& m, const std::string& path);

// Reads an MPS (".mps", ".mps.gz") or LP (".lp") file into a linear
// MathModel (minimisation, integrality and names kept). Throws Error naming
// the file when it cannot be read or parsed.
model::MathModel readModelFile(const std::string& path);

}  // namespace nnopt::solve
