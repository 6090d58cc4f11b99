// Active-set walk over the pieces of an LPCC (see lpcc_local.h): one Clp model
// whose pair bounds encode the current piece; flips are bound changes, each
// re-solve is a warm-started primal simplex from the current (still feasible)
// vertex, and a rejected flip restores the saved basis.
#include "solve/lpcc_local.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "ClpSimplex.hpp"
#include "CoinError.hpp"
#include "CoinFinite.hpp"
#include "OsiClpSolverInterface.hpp"
#include "core/error.h"
#include "core/log.h"

namespace nnopt::solve {

namespace detail {
// cbc_backend.cpp: loads and validates a linear model as a minimisation
// without offset; returns the sign (+1 min, -1 max).
double loadLinearModel(const model::MathModel& m, OsiClpSolverInterface& solver, const char* who);
}  // namespace detail

namespace {

double toClp(double v) {
  if (v >= 1e30) return COIN_DBL_MAX;
  if (v <= -1e30) return -COIN_DBL_MAX;
  return v;
}

}  // namespace

struct LpccLocalSolver::Impl {
  OsiClpSolverInterface osi;
  ClpSimplex* clp = nullptr;
  std::vector<ComplementarityPair> pairs;
  std::vector<double> ub_p, ub_n;  // the pair variables' own upper bounds
  std::vector<bool> active;        // current piece
  double offset = 0.0;
  int ncols = 0, nrows = 0;

  // Limits of the running solve() call.
  const LpccParams* par = nullptr;
  Deadline* deadline = nullptr;
  LpccResult* res = nullptr;
  std::string stop;  // non-empty once a limit was hit

  // The accepted point.
  std::vector<double> x, dj;
  double obj = 0.0;

  void setSide(size_t k, bool act) {
    const auto& pr = pairs[k];
    active[k] = act;
    if (act) {
      clp->setColumnBounds(pr.p, 0.0, toClp(ub_p[k]));
      clp->setColumnBounds(pr.n, 0.0, 0.0);
    } else {
      clp->setColumnBounds(pr.p, 0.0, 0.0);
      clp->setColumnBounds(pr.n, 0.0, toClp(ub_n[k]));
    }
    // A released side that is nonbasic sits at its lower bound 0 (where the
    // tie put it); the newly fixed side is at 0 as well.
    const int rel = act ? pr.p : pr.n;
    if (clp->getColumnStatus(rel) != ClpSimplex::basic)
      clp->setColumnStatus(rel, ClpSimplex::atLowerBound);
    const int fix = act ? pr.n : pr.p;
    if (clp->getColumnStatus(fix) != ClpSimplex::basic)
      clp->setColumnStatus(fix, ClpSimplex::atLowerBound);
  }
  int freeSide(size_t k) const { return active[k] ? pairs[k].p : pairs[k].n; }
  int fixedSide(size_t k) const { return active[k] ? pairs[k].n : pairs[k].p; }

  bool limitHit() {
    if (!stop.empty()) return true;
    if (par->cancel && par->cancel->load()) stop = "cancelled";
    else if (deadline->expired()) stop = "time limit";
    else if (res->lp_solves >= par->max_lp_solves) stop = "LP solve limit";
    else if (res->pivots >= par->max_pivots) stop = "pivot limit";
    return !stop.empty();
  }

  // One LP solve; returns Clp's status (0 optimal) or -1 when not run (limit).
  int lp() {
    if (limitHit()) return -1;
    clp->setMaximumWallSeconds(deadline->unlimited() ? -1.0 : std::max(1e-3, deadline->remaining()));
    clp->setMaximumIterations(static_cast<int>(
        std::min<long>(par->max_pivots - res->pivots, std::numeric_limits<int>::max())));
    clp->dual();
    res->pivots += clp->numberIterations();
    ++res->lp_solves;
    int st = clp->status();
    if (st == 4 || st == 5) {  // numerical trouble from the warm start: once more, cold
      clp->allSlackBasis(true);
      clp->dual();
      res->pivots += clp->numberIterations();
      ++res->lp_solves;
      st = clp->status();
    }
    if (st == 3) stop = "time or pivot limit inside an LP";
    return st;
  }

  void accept() {
    const double* v = clp->primalColumnSolution();
    const double* d = clp->dualColumnSolution();
    x.assign(v, v + ncols);
    dj.assign(d, d + ncols);
    obj = clp->objectiveValue() + offset;
  }
  bool improves(double v) const { return v < obj - 1e-9 * (1.0 + std::abs(obj)); }

  // Flips the pairs in ks together; keeps them when the LP improves.
  bool tryFlip(const std::vector<size_t>& ks) {
    std::vector<unsigned char> basis(clp->statusArray(), clp->statusArray() + ncols + nrows);
    for (size_t k : ks) setSide(k, !active[k]);
    // Dual simplex: the released side enters dual infeasible and is moved to
    // its other bound at once, with the inputs whose preferred bound changed;
    // on the sweep MLPs this took 3-4x fewer pivots than primal simplex from
    // the still-feasible vertex (5x30: 795 vs 1716, 3x30: 228 vs 938).
    const int st = lp();
    if (st == 0 && improves(clp->objectiveValue() + offset)) {
      accept();
      res->flips += static_cast<int>(ks.size());
      return true;
    }
    for (size_t k : ks) setSide(k, !active[k]);
    std::copy(basis.begin(), basis.end(), clp->statusArray());
    ++res->rejected;
    return false;
  }

  void applyCrash(const std::vector<signed char>& crash) {
    const bool rows = static_cast<int>(crash.size()) == ncols + nrows;
    require(static_cast<int>(crash.size()) == ncols || rows,
            "LPCC solver: crash has the wrong size");
    std::vector<signed char> st = crash;
    if (!rows) st.resize(ncols + nrows, -1);
    for (size_t k = 0; k < pairs.size(); ++k) {
      st[freeSide(k)] = 0;
      st[fixedSide(k)] = -1;
    }
    int basic = 0;
    for (signed char c : st) basic += c == 0 ? 1 : 0;
    if (basic != nrows) return;  // not a basis: keep the previous one
    auto status = [](signed char c) {
      return c == 0 ? ClpSimplex::basic : c > 0 ? ClpSimplex::atUpperBound
                                                : ClpSimplex::atLowerBound;
    };
    for (int j = 0; j < ncols; ++j) clp->setColumnStatus(j, status(st[j]));
    for (int i = 0; i < nrows; ++i) clp->setRowStatus(i, status(st[ncols + i]));
  }

  bool isTie(size_t k) const { return x[freeSide(k)] <= par->tie_tol; }

  void walk() {
    const size_t K = pairs.size();
    for (;;) {
      // Step 3: ties whose fixed side has a negative reduced cost.
      std::vector<size_t> cand;
      for (size_t k = 0; k < K; ++k)
        if (isTie(k) && dj[fixedSide(k)] < -par->dj_tol) cand.push_back(k);
      std::sort(cand.begin(), cand.end(),
                [&](size_t a, size_t b) { return dj[fixedSide(a)] < dj[fixedSide(b)]; });
      bool moved = false;
      std::vector<bool> tried(K, false);
      if (!cand.empty()) {
        moved = tryFlip(cand);
        if (cand.size() > 1) {
          const size_t n = std::min<size_t>(cand.size(), std::max(0, par->single_trials));
          for (size_t i = 0; !moved && i < n && !limitHit(); ++i) {
            moved = tryFlip({cand[i]});
            tried[cand[i]] = true;
          }
        } else {
          tried[cand[0]] = true;
        }
      }
      if (moved) continue;
      if (limitHit()) return;
      // Step 4: every other tie alone.
      int checked = 0, ties = 0;
      for (size_t k = 0; k < K; ++k) {
        if (!isTie(k)) continue;
        ++ties;
        if (tried[k]) {
          ++checked;
          continue;
        }
        if (par->max_certify >= 0 && checked >= par->max_certify) break;
        if (limitHit()) break;
        if (tryFlip({k})) {
          moved = true;
          break;
        }
        ++checked;
      }
      if (moved) continue;
      res->ties = 0;
      for (size_t k = 0; k < K; ++k) res->ties += isTie(k) ? 1 : 0;
      res->ties_checked = std::min(checked, res->ties);
      res->certified = stop.empty() && res->ties_checked == res->ties;
      // Step 5 (params.explore > 0): jumps to pieces that do not touch the
      // point - one pair flipped, the pairs nearest their boundary first; an
      // improving one restarts the walk from the new piece's optimum.
      if (explored < par->explore && !limitHit()) {
        std::vector<size_t> far;
        for (size_t k = 0; k < K; ++k)
          if (!isTie(k)) far.push_back(k);
        std::sort(far.begin(), far.end(),
                  [&](size_t a, size_t b) { return x[freeSide(a)] < x[freeSide(b)]; });
        for (size_t k : far) {
          if (explored >= par->explore || limitHit()) break;
          ++explored;
          ++res->explored;
          if (tryFlip({k})) {
            moved = true;
            ++res->explore_moves;
            break;
          }
        }
        if (moved) continue;
      }
      return;
    }
  }
  int explored = 0;
};

LpccLocalSolver::LpccLocalSolver(const model::MathModel& m, std::vector<ComplementarityPair> pairs)
    : impl_(std::make_unique<Impl>()) {
  require(!m.hasNonlinear(), "LPCC solver: the model must be linear (complementarity is given "
                             "as pairs)");
  require(m.sense() == model::Sense::kMinimize, "LPCC solver: the model must be a minimisation");
  auto& I = *impl_;
  detail::loadLinearModel(m, I.osi, "LPCC");
  I.osi.messageHandler()->setLogLevel(0);
  I.clp = I.osi.getModelPtr();
  I.clp->setLogLevel(0);
  I.clp->setMaximumSeconds(-1.0);  // CPU time counts all threads: wall clock only
  // No scaling: the rows are network layers of similar magnitudes, and on
  // the ConvNet min-L1 walk Clp's default scaling took 7370 pivots / 1.7 s
  // where none took 5093 / 1.16 s (sweep MLP margins: equal pivots).
  I.clp->scaling(0);

  I.offset = m.objOffset();
  I.ncols = m.numVars();
  I.nrows = m.numRows();
  for (const auto& pr : pairs) {
    require(pr.p >= 0 && pr.p < I.ncols && pr.n >= 0 && pr.n < I.ncols && pr.p != pr.n,
            "LPCC solver: pair variable out of range");
    require(m.vars()[pr.p].lb == 0.0 && m.vars()[pr.n].lb == 0.0,
            "LPCC solver: pair variables need lower bound 0");
    I.ub_p.push_back(m.vars()[pr.p].ub);
    I.ub_n.push_back(m.vars()[pr.n].ub);
  }
  I.pairs = std::move(pairs);
  I.active.assign(I.pairs.size(), true);
}

LpccLocalSolver::~LpccLocalSolver() = default;
LpccLocalSolver::LpccLocalSolver(LpccLocalSolver&&) noexcept = default;
LpccLocalSolver& LpccLocalSolver::operator=(LpccLocalSolver&&) noexcept = default;

int LpccLocalSolver::numVars() const { return impl_->ncols; }
int LpccLocalSolver::numRows() const { return impl_->nrows; }
int LpccLocalSolver::numPairs() const { return static_cast<int>(impl_->pairs.size()); }

void LpccLocalSolver::setObjective(const std::vector<model::LinTerm>& c, double offset) {
  auto& I = *impl_;
  std::vector<double> obj(I.ncols, 0.0);
  for (const auto& t : c) {
    require(t.var >= 0 && t.var < I.ncols && std::isfinite(t.coef),
            "LPCC solver: bad objective term");
    obj[t.var] += t.coef;
  }
  for (int j = 0; j < I.ncols; ++j) I.clp->setObjectiveCoefficient(j, obj[j]);
  require(std::isfinite(offset), "LPCC solver: non-finite objective offset");
  I.offset = offset;
}

void LpccLocalSolver::setRowBounds(int row, double lo, double hi) {
  require(row >= 0 && row < impl_->nrows && !(lo > hi), "LPCC solver: bad row bounds");
  impl_->clp->setRowBounds(row, toClp(lo), toClp(hi));
}

LpccResult LpccLocalSolver::solve(const std::vector<double>& start, const LpccParams& params,
                                  const std::vector<signed char>* crash) {
  auto& I = *impl_;
  require(static_cast<int>(start.size()) == I.ncols, "LPCC solver: start has the wrong size");
  std::vector<bool> act(I.pairs.size());
  for (size_t k = 0; k < I.pairs.size(); ++k)
    act[k] = start[I.pairs[k].p] >= start[I.pairs[k].n];
  return solveFromPiece(act, params, crash);
}

LpccResult LpccLocalSolver::solveFromPiece(const std::vector<bool>& active,
                                           const LpccParams& params,
                                           const std::vector<signed char>* crash) {
  auto& I = *impl_;
  require(active.size() == I.pairs.size(), "LPCC solver: piece has the wrong size");
  Timer timer;
  Deadline deadline(params.time_limit);
  LpccResult res;
  I.par = &params;
  I.deadline = &deadline;
  I.res = &res;
  I.stop.clear();
  I.explored = 0;
  try {
    for (size_t k = 0; k < I.pairs.size(); ++k) I.setSide(k, active[k]);
    if (crash) I.applyCrash(*crash);
    const int st = I.lp();
    if (st != 0) {
      res.status = st == 1 ? SolveStatus::kNoSolution : st == -1 || st == 3
                                                            ? SolveStatus::kNoSolution
                                                            : SolveStatus::kError;
      res.message = st == 1 ? "the start's piece is infeasible"
                            : st == 2 ? "the start's piece LP is unbounded"
                                      : "start piece LP not solved (" +
                                            (I.stop.empty() ? "Clp status " + std::to_string(st)
                                                            : I.stop) + ")";
      if (st == 2) res.status = SolveStatus::kUnbounded;
    } else {
      I.accept();
      res.start_piece_objective = I.obj;
      I.walk();
      res.x = I.x;
      res.objective = I.obj;
      res.status = res.certified ? SolveStatus::kOptimal : SolveStatus::kFeasible;
      res.message = I.stop.empty() ? (res.certified ? "no single flip improves"
                                                    : "certification limit reached")
                                   : I.stop;
    }
  } catch (const Error&) {
    throw;
  } catch (const CoinError& e) {
    res = LpccResult{};
    res.status = SolveStatus::kError;
    res.message = "CoinError in " + e.className() + "::" + e.methodName() + ": " + e.message();
  } catch (const std::exception& e) {
    res = LpccResult{};
    res.status = SolveStatus::kError;
    res.message = std::string("exception in Clp: ") + e.what();
  }
  res.time_s = timer.seconds();
  I.par = nullptr;
  I.deadline = nullptr;
  I.res = nullptr;
  return res;
}

}  // namespace nnopt::solve
