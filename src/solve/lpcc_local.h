#pragma once
// A local solver for linear programs with complementarity constraints (LPCC):
//
//   min c'v  s.t.  lo <= A v <= hi,  lb <= v <= ub,
//                  p_k >= 0, n_k >= 0, p_k * n_k = 0   for every pair k.
//
// A ReLU network embedded with formulate::ComplForm::kNone is exactly this
// (t = p - n per unstable ReLU, LeakyReLU and max-pool cascade step), so the
// problem is piecewise linear: fixing one side of every pair (a "piece":
// n_k = 0, the neuron is active, or p_k = 0, inactive) leaves an LP whose
// feasible set is one linear region of the network intersected with the box.
//
// The method is an active-set walk over pieces (the complementarity analogue
// of the simplex method):
//   1. the piece of the start point (p_k > n_k: active, else inactive);
//   2. solve its LP (Clp dual simplex, warm-started from the previous basis);
//   3. at the optimum v*, a pair is a *tie* when its free side is 0 too, so v*
//      also lies in the piece with that pair flipped; a negative reduced cost
//      of the fixed side says releasing it improves the objective to first
//      order. Flip those pairs (all at once, else one at a time) and re-solve;
//      keep a flip only when the LP objective drops (by more than 1e-9 relative):
//      v* stays feasible for the flipped piece, so the walk is monotone and
//      ends (finitely many pieces);
//   4. when no reduced cost signals an improvement, every remaining tie is
//      flipped alone and its LP solved (the certificate of step 5).
// The returned point v* is optimal for its own piece's LP and for the LP of
// every piece obtained by flipping one tied pair (`certified` = all ties were
// checked within the limits): no neighbouring linear region across a single
// ReLU boundary through v* contains a better point. It is a local minimum
// over the union of those pieces - B-stationary for the MPCC when the active
// constraints at v* are linearly independent (MPCC-LICQ); with several
// simultaneous ties, flips of two or more pairs at once are not enumerated.
//
// Every solve() ends: a wall-clock limit, an LP-solve cap and a pivot cap.
// One object holds one Clp model; independent objects may be used in
// different threads (no shared state). COIN headers are only in the .cpp.
#include <atomic>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "model/math_model.h"
#include "solve/solver.h"

namespace nnopt::solve {

struct ComplementarityPair {
  int p;  // positive part (the active side: free when the neuron is active)
  int n;  // negative part
};

struct LpccParams {
  double time_limit = 10.0;     // wall seconds for the whole solve() call
  int max_lp_solves = 5000;     // LP solves (the first one included)
  long max_pivots = 2000000;    // simplex pivots over all LP solves
  // Ties: the free side of a pair at most this (absolute, in model units).
  double tie_tol = 1e-7;
  // Step 3: a fixed side's reduced cost below -dj_tol signals a flip.
  double dj_tol = 1e-9;
  // Step 3: single-flip trials after a failed group flip, per round.
  int single_trials = 8;
  // Step 4: at most this many certification LPs per stationary point (-1: all ties).
  int max_certify = -1;
  // Step 5: at most this many LPs of pieces one flip away that do not touch
  // the point (pairs nearest their boundary first; 0 = off). An improving one
  // moves there and the walk goes on (a larger neighbourhood than the
  // certificate's, searched after it).
  int explore = 0;
  const std::atomic<bool>* cancel = nullptr;
};

struct LpccResult {
  // kOptimal: a certified point (all ties checked); kFeasible: a point of the
  // start's piece or better, stopped by a limit (time, LP solves, pivots,
  // cancel) or with ties left unchecked; kNoSolution: the start's piece LP
  // failed (e.g. infeasible start); kError: numerical failure.
  SolveStatus status = SolveStatus::kError;
  std::vector<double> x;        // the point (all variables), empty when none
  double objective = std::numeric_limits<double>::quiet_NaN();
  double start_piece_objective = std::numeric_limits<double>::quiet_NaN();  // step 2's LP
  int lp_solves = 0;
  long pivots = 0;
  int flips = 0;         // accepted pair flips
  int rejected = 0;      // flip trials that did not improve
  int ties = 0;          // tied pairs at the returned point
  int ties_checked = 0;  // of those, neighbouring pieces solved without improvement
  int explored = 0;      // step 5 LPs
  int explore_moves = 0; // step 5 jumps that improved
  bool certified = false;
  std::string message;   // why it stopped
  double time_s = 0.0;
};

class LpccLocalSolver {
 public:
  // m: linear rows only (a quadratic objective or nonlinear row throws Error),
  // integers relaxed. Every pair's variables must have lower bound 0.
  LpccLocalSolver(const model::MathModel& m, std::vector<ComplementarityPair> pairs);
  ~LpccLocalSolver();
  LpccLocalSolver(LpccLocalSolver&&) noexcept;
  LpccLocalSolver& operator=(LpccLocalSolver&&) noexcept;
  LpccLocalSolver(const LpccLocalSolver&) = delete;
  LpccLocalSolver& operator=(const LpccLocalSolver&) = delete;

  // Replaces the objective (minimised): offset + sum c_j v_j.
  void setObjective(const std::vector<model::LinTerm>& c, double offset = 0.0);
  void setRowBounds(int row, double lo, double hi);

  // Walks from the piece of `start` (one value per variable; only the pairs'
  // values are read, to choose each pair's side). The start point itself need
  // not be feasible, but its piece's LP must be for a point to come back.
  //
  // crash (optional, one entry per variable, or per variable then per row):
  // the starting basis of the first LP, -1 / +1 = nonbasic at the lower /
  // upper bound, 0 = basic (the pairs' entries are overridden: free side
  // basic, fixed side at 0; rows not given are nonbasic at their lower
  // bound). Used only when it has exactly one basic entry per row; else
  // the first LP starts from the previous solve's basis. For a network LPCC,
  // inputs at the bound their objective gradient in the start's piece prefers
  // and every neuron variable basic give a dual feasible basis whose vertex
  // is the start piece's optimum whenever that lies at a box corner.
  LpccResult solve(const std::vector<double>& start, const LpccParams& params,
                   const std::vector<signed char>* crash = nullptr);

  // Same, with each pair's side given (true = active: n fixed at 0).
  LpccResult solveFromPiece(const std::vector<bool>& active, const LpccParams& params,
                            const std::vector<signed char>* crash = nullptr);

  int numVars() const;
  int numRows() const;
  int numPairs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nnopt::solve
