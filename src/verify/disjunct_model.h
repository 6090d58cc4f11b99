#pragma once
// One unsafe disjunct (a conjunction of output constraints c_k^T y <= d_k) as
// an optimisation model over an input box:
//     min t   s.t.   c_k^T f(x) - d_k <= t  (all k),   x in box,
// with the network embedded by formulate::embedNetwork. The optimum is <= 0
// iff some x in the box satisfies the conjunction. Two uses:
//  - exact: big-M MIP (CBC) with early stop below 0; a proven bound > 0
//    refutes the disjunct;
//  - local: a falsifier, on piecewise-linear networks the native walk over
//    the LPCC's linear regions (solve::LpccLocalSolver: a point optimal for
//    its region and every single-flip neighbour), else the complementarity
//    NLP (Ipopt) with Scholtes continuation (y*s <= tau, tau 1 -> 1e-8).
#include <Eigen/Dense>
#include <atomic>
#include <limits>
#include <string>
#include <vector>

#include "attack/attack.h"
#include "bounds/bound_table.h"
#include "formulate/embed.h"
#include "model/math_model.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::verify {

struct DisjunctModel {
  model::MathModel m;
  formulate::Embedding e;
  int t = -1;  // the objective variable
};

// t gets the bounds [max_k lb_k, max_k ub_k] (slightly widened) from the
// table's output bounds (valid at every optimum). Throws Error on an output
// index out of range or when big-M is asked for a smooth activation.
DisjunctModel buildDisjunctModel(const nn::Network& net, const bounds::BoundTable& bt,
                                 const std::vector<spec::OutputConstraint>& conj,
                                 const formulate::EmbedOptions& opt);

// Sets the start of every variable by a forward pass from x0 (t = its value).
void setDisjunctStart(DisjunctModel& dm, const nn::Network& net,
                      const std::vector<spec::OutputConstraint>& conj, const Eigen::VectorXd& x0);

// Input point of a solution, clamped into the box.
Eigen::VectorXd inputOf(const DisjunctModel& dm, const std::vector<double>& sol,
                        const spec::Box& box);

// max_k (c_k^T y - d_k); -inf for an empty conjunction.
double conjunctionMargin(const std::vector<spec::OutputConstraint>& conj, const Eigen::VectorXd& y);

enum class MipOutcome {
  kRefuted,    // proven bound > unsat_tol (no input satisfies the conjunction)
  kCandidate,  // incumbent with t <= 0 (x holds its input point; replay it)
  kOpen,       // stopped (time limit) without either
  kUnknown,    // finished without a decision (bound within tolerance, solver error)
};
const char* mipOutcomeName(MipOutcome o);

struct MipParams {
  double time_limit = std::numeric_limits<double>::infinity();
  const std::atomic<bool>* cancel = nullptr;  // optional: once true, CBC stops (bound so far)
  int threads = 1;
  double unsat_tol = 1e-6;
  Eigen::VectorXd start;    // optional MIP start input point
  bool solver_log = false;  // CBC log to stdout (CLI debugging only)
};

struct MipResult {
  MipOutcome outcome = MipOutcome::kUnknown;
  Eigen::VectorXd x;  // incumbent input point (clamped), empty when none
  double objective = std::numeric_limits<double>::quiet_NaN();
  double bound = -std::numeric_limits<double>::infinity();
  long nodes = 0;
  double time_s = 0.0;
  int binaries = 0;
  std::string status;  // solver status and message
};

MipResult solveDisjunctMip(const nn::Network& net, const spec::Box& box,
                           const bounds::BoundTable& bt,
                           const std::vector<spec::OutputConstraint>& conj, const MipParams& p);

struct NlpFalsifyParams {
  double time_limit = std::numeric_limits<double>::infinity();  // +inf: 300 s
  const std::atomic<bool>* cancel = nullptr;  // optional: once true, stop as on the time limit
  // kAuto: the native walk on ReLU/LeakyReLU/MaxPool networks, Ipopt otherwise.
  attack::LocalSolver local = attack::LocalSolver::kAuto;
  int explore = 16;  // the walk's exploration LPs (solve::LpccParams::explore)
  double tau_start = 1.0, tau_factor = 0.01, tau_end = 1e-8;
};

struct NlpFalsifyResult {
  std::string method;  // "nlp:pwl" or "nlp:scholtes"
  Eigen::VectorXd x;  // last NLP input point (clamped), empty when none
  double margin = std::numeric_limits<double>::infinity();  // conjunctionMargin at f(x)
  int solves = 0;
  long iterations = 0;
  double time_s = 0.0;
  std::string status;
};

// Local search from x0 (clamped into the box). Never throws for solver
// trouble (status says what happened).
NlpFalsifyResult nlpFalsify(const nn::Network& net, const spec::Box& box,
                            const bounds::BoundTable& bt,
                            const std::vector<spec::OutputConstraint>& conj,
                            const Eigen::VectorXd& x0, const NlpFalsifyParams& p);

}  // namespace nnopt::verify
