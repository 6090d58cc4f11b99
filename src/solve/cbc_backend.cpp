// CBC backend: MathModel -> OsiClpSolverInterface -> CBC's standard driver
// (CbcMain0/CbcMain1, what the `cbc` executable runs): dynamic pseudo-costs,
// strong branching and the primal heuristics are set up by the driver; a bare
// CbcModel with hand-added generators and heuristics was 1.5-3x slower on
// random 40-binary big-M ReLU models (same optima).
//
// Driver options, measured with `nnopt attack --method mip` on
// data/mnist_test_0.pgm and on random 10-20-20-1 big-M models (40 binaries):
// -cuts off: the default cut generators (dense Gomory/TwoMir/MIR cuts over
//   the 784 input columns) dominate the time. mnist_mlp_2x20, eps 0.06:
//   53 s -> 1.2 s; eps 0.1: no proof in 60 s -> 3.2 s; 3x10, eps 0.1:
//   11.6 s -> 0.7 s (same optima). Random models: 23.7 s -> 12.0 s for 5.
// -preprocess off: CglPreProcess did not pay off on any of these (10-30%
//   slower with it).
// Heuristics stay on: they find incumbents early, which time-limited and
//   stop_below runs need, at up to ~2x the time to prove optimality.
// -increment SolveParams::mip_cutoff_increment (1e-6; CBC's default is 1e-5):
//   CBC prunes every node whose LP bound is within the increment of the
//   incumbent, and a finished search reports the incumbent as the best
//   possible value, so "optimal" means optimal to within the increment. With
//   CBC's 1e-5 a 35-binary max-pool margin model was "proven" at 0.0178012
//   with a point at 0.0177957, above the 1e-6 tolerance of the robust and
//   unsat verdicts; 1e-6 finds 0.0177957 with the same node counts on the
//   max-pool and MLP margin models tried, while 1e-7 (the LP tolerance scale)
//   took 3-10x the nodes on max-pool models (ties between pooled zeros).
//   Solution::bound is at most the incumbent minus the increment, so it stays
//   below every feasible point.
//
// Thread safety: CBC 2.10's driver keeps process-wide state (CbcSolver.cpp:
// the command reader's CbcOrClpRead_mode/CbcOrClpReadCommand, the pointers
// for its signal handler and preprocessor, the pump tuning), so every
// CbcMain0/CbcMain1 call runs under one process-wide mutex: concurrent MIP
// solves are serialised (time spent waiting counts against time_limit).
// Model building and result translation are per call; CBC's own threads
// (SolveParams::threads) still parallelise one solve.
//
// Early stop (SolveParams::stop_below): a CbcEventHandler looks at the
// incumbent on solution, heuristic-solution, node and tree-status events and
// returns `stop` once its objective (model terms, offset included) is below
// the threshold; literally "<" for either sense, as solver.h states (meant
// for minimisations such as the attack margin). A feasible MIP start already
// below it is returned without running CBC. A cutoff cannot do this: it would
// also prune every solution above the threshold and turn "no solution below
// it" into a false "infeasible". The same handler enforces the wall-clock
// time limit as a backstop to CBC's own check (-sec with -timeMode elapsed;
// CBC's default is CPU time).
#include <algorithm>
#include <atomic>
#include <functional>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "CbcEventHandler.hpp"
#include "CbcModel.hpp"
#include "CbcSolver.hpp"
#include "CglCutGenerator.hpp"
#include "CglTreeInfo.hpp"
#include "ClpEventHandler.hpp"
#include "CoinError.hpp"
#include "CoinFinite.hpp"
#include "CoinPackedMatrix.hpp"
#include "OsiClpSolverInterface.hpp"
#include "OsiCuts.hpp"
#include "OsiRowCut.hpp"
#include "core/error.h"
#include "core/log.h"
#include "solve/solver.h"

namespace nnopt::solve {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kFeasTol = 1e-6;  // MIP start acceptance, rows/bounds and integrality
// Largest violation of a point CBC returns that is still taken as a solution,
// relative to the row's scale 1 + max_j |a_j| max(1, |x_j|) (bounds: 1 + |bound|),
// and for integrality. CBC's tolerances apply to its scaled model: on
// convSmall (eps 0.02, image 1) its optimal point left the pixel bounds by up
// to 1.4e-5 and was dropped at an absolute 1e-5, losing a proven optimum. The
// points to reject are LP-relaxation points (binaries at 0.5, rows violated
// by 1.4); every accepted point is replayed by the caller anyway (inputs
// clamped into the box).
constexpr double kPointRelTol = 1e-4;
constexpr double kPointIntTol = 1e-5;

std::mutex g_cbc_driver_mutex;  // see the file comment

double toCoin(double v) { return std::clamp(v, -COIN_DBL_MAX, COIN_DBL_MAX); }

}  // namespace

namespace detail {

// Terms a*x with |a| * max(|lb(x)|, |ub(x)|) below this are dropped (the row
// is relaxed by that amount). Trained networks carry denormal-sized weights
// (convSmallRELU__Point.onnx: 46811 of its 80000 Gemm weights are < 1e-6,
// the smallest 1e-44); with them in the matrix Clp's strong branching
// fathomed the root of a convSmall image-6 MIP at eps 0.02 and CBC returned
// "optimal" 4.0177 (and 4.1719 on a rerun) with bound above a point of
// margin 3.8861 -- a false proof. Without them CBC proves 3.8861.
constexpr double kNegligibleTerm = 1e-11;

// Loads m into `solver` as a minimisation (objective sign * c, no offset:
// the model objective is offset + sign * solver objective) and returns sign.
// Integrality is not set. `who` prefixes input errors ("MIP"/"LP").
// Declared again in clp_backend.cpp (solver.h is the folder's only header).
double loadLinearModel(const model::MathModel& m, OsiClpSolverInterface& solver, const char* who) {
  const int n = m.numVars();
  const int nr = m.numRows();
  const std::string pre = std::string(who) + " model: ";
  const double sign = m.sense() == model::Sense::kMaximize ? -1.0 : 1.0;
  auto checkVar = [&](int v, const char* where) {
    require(v >= 0 && v < n, pre + "variable index " + std::to_string(v) + " out of range in " +
                                 where + " (" + std::to_string(n) + " variables)");
  };
  auto checkCoef = [&](double c, const char* where) {
    require(std::isfinite(c), pre + "non-finite coefficient in " + where);
  };
  std::vector<double> col_lb(n), col_ub(n), obj(n, 0.0), row_lb(nr), row_ub(nr);
  for (int j = 0; j < n; ++j) {
    const auto& v = m.vars()[j];
    require(!std::isnan(v.lb) && !std::isnan(v.ub),
            pre + "NaN bound on variable " + std::to_string(j));
    col_lb[j] = toCoin(v.lb);
    col_ub[j] = toCoin(v.ub);
  }
  for (const auto& t : m.objLinear()) {
    checkVar(t.var, "the objective");
    checkCoef(t.coef, "the objective");
    obj[t.var] += sign * t.coef;
  }
  require(std::isfinite(m.objOffset()), pre + "non-finite objective offset");

  // Row-ordered matrix; duplicate terms of a row are merged (COIN expects
  // each (row, column) at most once) and exact zeros dropped.
  std::vector<double> elems;
  std::vector<int> cols;
  std::vector<CoinBigIndex> starts;
  std::vector<int> lengths;
  starts.reserve(nr + 1);
  lengths.reserve(nr);
  std::vector<int> where(n, -1);  // column -> position in the current row
  for (int r = 0; r < nr; ++r) {
    const model::Row& row = m.rows()[r];
    require(!std::isnan(row.lo) && !std::isnan(row.hi), pre + "NaN side in row " +
                                                             std::to_string(r));
    const auto start = static_cast<CoinBigIndex>(elems.size());
    starts.push_back(start);
    for (const auto& t : row.terms) {
      checkVar(t.var, "a row");
      checkCoef(t.coef, "a row");
      if (where[t.var] < 0) {
        where[t.var] = static_cast<int>(elems.size());
        cols.push_back(t.var);
        elems.push_back(0.0);
      }
      elems[where[t.var]] += t.coef;
    }
    CoinBigIndex out = start;
    double slack = 0.0;  // the most the dropped terms can contribute to the row
    for (auto k = start; k < static_cast<CoinBigIndex>(elems.size()); ++k) {
      where[cols[k]] = -1;
      if (elems[k] == 0.0) continue;
      const double reach = std::abs(elems[k]) * std::max(std::abs(col_lb[cols[k]]),
                                                         std::abs(col_ub[cols[k]]));
      if (reach <= kNegligibleTerm) {
        slack += reach;
        continue;
      }
      cols[out] = cols[k];
      elems[out] = elems[k];
      ++out;
    }
    cols.resize(out);
    elems.resize(out);
    lengths.push_back(static_cast<int>(out - start));
    // lo == hi: COIN treats the row as an equality. Dropped terms widen the
    // row by their reach, so the loaded model is a relaxation of m.
    row_lb[r] = toCoin(row.lo - slack);
    row_ub[r] = toCoin(row.hi + slack);
  }
  starts.push_back(static_cast<CoinBigIndex>(elems.size()));
  const CoinPackedMatrix matrix(/*colordered=*/false, n, nr,
                                static_cast<CoinBigIndex>(elems.size()), elems.data(),
                                cols.data(), starts.data(), lengths.data());
  solver.loadProblem(matrix, col_lb.data(), col_ub.data(), obj.data(), row_lb.data(),
                     row_ub.data());
  solver.setObjSense(1.0);
  return sign;
}

}  // namespace detail

namespace {

bool integral(const model::MathModel& m, const std::vector<double>& x, double tol = kFeasTol) {
  for (int j = 0; j < m.numVars(); ++j)
    if (m.vars()[j].integer && std::abs(x[j] - std::round(x[j])) > tol) return false;
  return true;
}

// Largest violation of a linear model's rows and bounds at x, each relative
// to its scale (see kPointRelTol).
double relativeViolation(const model::MathModel& m, const std::vector<double>& x) {
  double worst = 0.0;
  for (int j = 0; j < m.numVars(); ++j) {
    const auto& v = m.vars()[j];
    if (x[j] < v.lb) worst = std::max(worst, (v.lb - x[j]) / (1.0 + std::abs(v.lb)));
    if (x[j] > v.ub) worst = std::max(worst, (x[j] - v.ub) / (1.0 + std::abs(v.ub)));
    if (!std::isfinite(x[j])) return kInf;
  }
  for (const auto& r : m.rows()) {
    double act = 0.0, scale = 1.0;
    for (const auto& t : r.terms) {
      act += t.coef * x[t.var];
      scale = std::max(scale, 1.0 + std::abs(t.coef) * std::max(1.0, std::abs(x[t.var])));
    }
    double viol = 0.0;
    if (act < r.lo) viol = r.lo - act;
    if (act > r.hi) viol = act - r.hi;
    if (!std::isfinite(act)) return kInf;
    worst = std::max(worst, viol / scale);
  }
  return worst;
}

// The MIP start if it is usable: params.start, else Variable::start, with
// integer entries snapped to their integer; empty when not integral or not
// feasible (a wrong start must never reach CBC as an incumbent).
std::vector<double> mipStart(const model::MathModel& m, const SolveParams& p) {
  const int n = m.numVars();
  require(p.start.empty() || static_cast<int>(p.start.size()) == n,
          "MIP start vector has " + std::to_string(p.start.size()) + " entries, the model has " +
              std::to_string(n) + " variables");
  std::vector<double> x = p.start;
  if (x.empty()) {
    x.resize(n);
    for (int j = 0; j < n; ++j) x[j] = m.vars()[j].start;
  }
  for (double v : x)
    if (!std::isfinite(v)) return {};
  if (!integral(m, x)) return {};
  for (int j = 0; j < n; ++j)
    if (m.vars()[j].integer) x[j] = std::round(x[j]);
  if (m.maxViolation(x) > kFeasTol) return {};
  return x;
}

// Shared by the handler passed in and the clones CBC makes of it (the model
// clones it; the driver solves a copy of the model; CBC's threads and the
// heuristics' sub-MIPs get copies too). Read-only apart from the flags.
struct StopState {
  double stop_below = kInf;  // model terms; +inf = off
  double offset = 0.0;       // model objective = offset + sign * CBC objective
  double sign = 1.0;
  Timer timer;               // started with the solve
  double time_limit = kInf;  // seconds; +inf = none
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const double*, double)> progress;  // SolveParams::mip_progress
  int num_cols = 0;
  double increment = 0.0;  // cutoff increment
  std::atomic<bool> stopped_below{false};
  std::atomic<bool> stopped_time{false};
  std::atomic<bool> cancelled{false};
  // An event that CBC raises only after the root LP was solved (heuristics
  // on its solution, cuts, nodes) was seen: its best-possible value is then
  // the dual bound of a solved relaxation. convSmall, eps 0.02: the first
  // such event comes after 6.3 s; stopped at 3 s CBC still reported 8.97.
  std::atomic<bool> root_solved{false};
};

class StopHandler : public CbcEventHandler {
 public:
  explicit StopHandler(std::shared_ptr<StopState> s) : state_(std::move(s)) {}
  StopHandler(const StopHandler& o) = default;
  CbcEventHandler* clone() const override { return new StopHandler(*this); }

  CbcAction event(CbcEvent e) override {
    if (model_ == nullptr) return noAction;
    // Cancel on every event CBC raises (heuristic passes and cut rounds too):
    // checked only at nodes, a Ctrl-C in Python waited for the root's
    // heuristics (about 4 s on a 5x60 margin model).
    if (state_->cancel != nullptr && state_->cancel->load()) {
      state_->cancelled = true;
      return stop;
    }
    if ((model_->specialOptions() & 2048) == 0 &&
        (e == node || e == treeStatus || e == afterHeuristic || e == heuristicPass ||
         e == generatedCuts))
      state_->root_solved = true;
    if (e != solution && e != heuristicSolution && e != node && e != treeStatus) return noAction;
    // Sub-MIPs of heuristics (specialOptions bit 2048) solve a restricted
    // problem: their incumbent is not the search's, so only the time applies.
    const bool sub_mip = (model_->specialOptions() & 2048) != 0;
    // getObjValue() is in CBC's minimisation terms, offset-free as loaded.
    if (!sub_mip && std::isfinite(state_->stop_below) && model_->bestSolution() != nullptr &&
        state_->offset + state_->sign * model_->getObjValue() < state_->stop_below) {
      state_->stopped_below = true;
      return stop;
    }
    if (state_->timer.seconds() > state_->time_limit) {
      state_->stopped_time = true;
      return stop;
    }
    if (state_->cancel != nullptr && state_->cancel->load()) {
      state_->cancelled = true;
      return stop;
    }
    // Progress for a caller racing another solver; minimisation only (the
    // margin), where model objective = offset + CBC objective.
    if (!sub_mip && state_->progress && state_->sign > 0) {
      const double* best = model_->bestSolution();
      const bool have = best != nullptr && model_->getNumCols() == state_->num_cols;
      double b = model_->getBestPossibleObjValue();
      if (b <= -1e30) b = -kInf;
      // Nodes within the cutoff increment of the incumbent were pruned.
      if (have) b = std::min(b, model_->getObjValue() - state_->increment);
      state_->progress((e == solution || e == heuristicSolution) && have ? best : nullptr,
                       state_->offset + b);
    }
    return noAction;
  }

 private:
  std::shared_ptr<StopState> state_;
};

// Stops Clp's simplex (as on a time limit) once *cancel is set, so a cancelled
// search does not wait for the LPs inside a root heuristic: CBC raises no
// event of its own there (Ctrl-C in Python on a 5x60 margin model took 1.7 s
// without it). Cloned with the solver into every heuristic's copy.
// An LP stopped this way reads to CBC as unfinished or infeasible (a node
// pruned, the root "infeasible"), so once it has fired (*stopped) the solve
// claims no status or bound beyond its incumbent.
class ClpCancelHandler : public ClpEventHandler {
 public:
  ClpCancelHandler(const std::atomic<bool>* cancel, std::atomic<bool>* stopped)
      : cancel_(cancel), stopped_(stopped) {}
  ClpEventHandler* clone() const override { return new ClpCancelHandler(*this); }
  int event(Event e) override {
    if (e != endOfIteration || !cancel_->load()) return -1;
    stopped_->store(true);
    return 0;
  }

 private:
  const std::atomic<bool>* cancel_;
  std::atomic<bool>* stopped_;
};

// SolveParams::mip_cuts as a CGL generator: CBC calls it in its cut loop
// (cloned per thread; the separator is shared and must be thread-safe,
// which a function of its arguments only is). Rows come back globally valid.
class SeparatorCuts : public CglCutGenerator {
 public:
  SeparatorCuts(std::function<std::vector<model::Row>(const std::vector<double>&)> sep,
                int max_depth)
      : sep_(std::move(sep)), max_depth_(max_depth) {}
  CglCutGenerator* clone() const override { return new SeparatorCuts(*this); }
  void generateCuts(const OsiSolverInterface& si, OsiCuts& cs,
                    const CglTreeInfo info = CglTreeInfo()) override {
    if (info.level > max_depth_) return;
    const int n = si.getNumCols();
    const double* sol = si.getColSolution();
    if (sol == nullptr) return;
    const std::vector<double> x(sol, sol + n);
    for (const auto& r : sep_(x)) {
      std::vector<int> idx;
      std::vector<double> val;
      idx.reserve(r.terms.size());
      val.reserve(r.terms.size());
      bool ok = true;
      for (const auto& t : r.terms) {
        if (t.var < 0 || t.var >= n) ok = false;
        idx.push_back(t.var);
        val.push_back(t.coef);
      }
      if (!ok) continue;
      OsiRowCut cut;
      cut.setRow(static_cast<int>(idx.size()), idx.data(), val.data(), false);
      cut.setLb(std::isfinite(r.lo) ? r.lo : -COIN_DBL_MAX);
      cut.setUb(std::isfinite(r.hi) ? r.hi : COIN_DBL_MAX);
      cut.setGloballyValid(true);
      cs.insertIfNotDuplicate(cut);
    }
  }

 private:
  std::function<std::vector<model::Row>(const std::vector<double>&)> sep_;
  int max_depth_;
};

int noCallback(CbcModel*, int) { return 0; }  // CbcMain1's per-stage callback: nothing to do

// CBC's "infinite" values (1e50, COIN_DBL_MAX) as IEEE infinities.
double cbcValue(double v) {
  if (v >= 1e30) return kInf;
  if (v <= -1e30) return -kInf;
  return v;
}

std::string cbcStatusText(const CbcModel& model) {
  static const char* const kSecondary[] = {
      "search completed",       "linear relaxation infeasible", "stopped on gap",
      "stopped on nodes",       "stopped on time",              "stopped on user event",
      "stopped on solutions",   "linear relaxation unbounded",  "stopped on iteration limit"};
  const int s2 = model.secondaryStatus();
  std::string text = "CBC status " + std::to_string(model.status());
  if (s2 >= 0 && s2 < static_cast<int>(std::size(kSecondary))) {
    text += ": ";
    text += kSecondary[s2];
  }
  return text;
}

std::string indexedName(char prefix, int i) {
  std::string s(1, prefix);
  s += std::to_string(i);
  return s;
}

std::string fmtArg(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

Solution solveMip(const model::MathModel& m, const SolveParams& p) {
  Timer timer;
  require(!m.hasNonlinear(), "MIP backend needs a linear model (nonlinear row terms or a "
                             "quadratic objective found); use the NLP backend");
  require(!std::isnan(p.time_limit), "MIP: time_limit is NaN");
  require(!std::isnan(p.stop_below), "MIP: stop_below is NaN");
  require(p.mip_rel_gap >= 0 && p.mip_abs_gap >= 0, "MIP: gaps must be >= 0");
  require(p.mip_cutoff_increment >= 0 && std::isfinite(p.mip_cutoff_increment),
          "MIP: the cutoff increment must be finite and >= 0");
  const int n = m.numVars();
  const double offset = m.objOffset();
  Solution sol;
  try {
    OsiClpSolverInterface solver;
    const double sign = detail::loadLinearModel(m, solver, "MIP");  // validates the model
    std::vector<double> start = mipStart(m, p);
    if (n == 0) {
      // Nothing to search (and CBC's driver does not handle an empty model):
      // the only point is feasible iff every row admits 0.
      if (m.maxViolation({}) <= kFeasTol) {
        sol.status = SolveStatus::kOptimal;
        sol.objective = offset;
        sol.bound = offset;
      } else {
        sol.status = SolveStatus::kInfeasible;
        sol.bound = sign * kInf;
      }
      sol.message = "empty model";
      sol.time_s = timer.seconds();
      return sol;
    }
    if (!start.empty() && std::isfinite(p.stop_below) && m.evalObjective(start) < p.stop_below) {
      // The start already is the incumbent the caller asked for.
      sol.status = SolveStatus::kFeasible;
      sol.objective = m.evalObjective(start);
      sol.x = std::move(start);
      sol.bound = sign * -kInf;  // none known
      sol.message = "MIP start is below stop_below; CBC not run";
      sol.time_s = timer.seconds();
      return sol;
    }

    for (int j = 0; j < n; ++j)
      if (m.vars()[j].integer) solver.setInteger(j);
    const int log_level = p.verbose ? 1 : 0;
    solver.messageHandler()->setLogLevel(log_level);
    solver.getModelPtr()->setLogLevel(log_level);
    if (!start.empty()) {
      // Column names are how CbcMain1 matches a MIP start to columns. Rows are
      // named too: with named columns only, CBC 2.10.8 segfaulted in
      // ClpPresolve during its final resolve (40-binary big-M test).
      for (int j = 0; j < n; ++j) solver.setColName(j, indexedName('x', j));
      for (int r = 0; r < m.numRows(); ++r) solver.setRowName(r, indexedName('r', r));
    }
    // The root LP inside CbcMain1 does not look at -sec: on convSmall (eps 0.02)
    // Clp's initial dual simplex alone ran 245 s under a 120 s limit. Clp's own
    // limits (CPU and wall seconds) stop it; CBC then ends without a solution (timeout).
    if (std::isfinite(p.time_limit)) {
      const double left = std::max(p.time_limit - timer.seconds(), 1e-3);
      solver.getModelPtr()->setMaximumSeconds(left);
      solver.getModelPtr()->setMaximumWallSeconds(left);
    }
    std::atomic<bool> lp_cancelled{false};  // the handler below stopped a simplex
    if (p.cancel != nullptr) {
      const ClpCancelHandler lp_cancel(p.cancel, &lp_cancelled);
      solver.getModelPtr()->passInEventHandler(&lp_cancel);  // clones it
    }
    CbcModel model(solver);  // copies the solver
    model.setLogLevel(log_level);
    // The driver's copy of the model keeps the generators added here ("-cuts
    // off" only leaves out its own).
    std::unique_ptr<SeparatorCuts> user_cuts;
    if (p.mip_cuts) {
      user_cuts = std::make_unique<SeparatorCuts>(p.mip_cuts, p.mip_cuts_depth);
      model.addCutGenerator(user_cuts.get(), p.mip_cuts_depth > 0 ? 1 : -99, "nnopt");
    }

    auto state = std::make_shared<StopState>();
    state->stop_below = p.stop_below;
    state->offset = offset;
    state->sign = sign;
    state->timer = timer;
    state->time_limit = std::max(p.time_limit, 0.0);
    state->cancel = p.cancel;
    state->progress = p.mip_progress;
    state->num_cols = n;
    state->increment = p.mip_cutoff_increment;
    {
      std::lock_guard<std::mutex> lock(g_cbc_driver_mutex);
      std::vector<std::string> args = {"nnopt", "-log", std::to_string(log_level), "-slog",
                                       std::to_string(log_level), "-timeMode", "elapsed"};
      if (std::isfinite(p.time_limit)) {  // what is left after waiting for the lock
        args.insert(args.end(),
                    {"-sec", fmtArg(std::max(p.time_limit - timer.seconds(), 0.0))});
      }
      if (p.threads > 1) args.insert(args.end(), {"-threads", std::to_string(p.threads)});
      args.insert(args.end(), {"-ratio", fmtArg(p.mip_rel_gap), "-allow", fmtArg(p.mip_abs_gap),
                               "-increment", fmtArg(p.mip_cutoff_increment),
                               "-cuts", "off", "-preprocess", "off"});
      if (p.mip_cuts) args.insert(args.end(), {"-passC", std::to_string(p.mip_cuts_passes)});
      args.insert(args.end(), {"-solve", "-quit"});
      std::vector<const char*> argv;
      argv.reserve(args.size());
      for (const auto& a : args) argv.push_back(a.c_str());

      CbcSolverUsefulData data;  // the driver's parameters, per call
      CbcMain0(model, data);
      data.noPrinting_ = !p.verbose;
      data.useSignalHandler_ = false;  // never touch the process's SIGINT handler
      model.setLogLevel(log_level);
      const StopHandler handler(state);
      model.passInEventHandler(&handler);  // clones it
      if (!start.empty()) {
        std::vector<std::pair<std::string, double>> ms;
        ms.reserve(n);
        for (int j = 0; j < n; ++j) ms.emplace_back(indexedName('x', j), start[j]);
        model.setMIPStart(ms);
      }
      CbcMain1(static_cast<int>(argv.size()), argv.data(), model, noCallback, data);
    }

    sol.iterations = model.getNodeCount();
    const bool below = state->stopped_below.load();
    const bool timed_out = state->stopped_time.load() || model.isSecondsLimitReached();
    sol.message = cbcStatusText(model) + (below ? " (stop_below reached)" : "") +
                  (timed_out ? " (time limit)" : "") +
                  (state->cancelled.load() || lp_cancelled.load() ? " (cancelled)" : "");
    // CbcMain1 leaves the incumbent in the model it was given, in its columns.
    const double* best = model.bestSolution();
    if (best != nullptr && model.getNumCols() == n) sol.x.assign(best, best + n);
    // Only a point that satisfies the model is an incumbent. Stopped by the
    // time limit after the root LP (mnist_convpool, eps 0.05, 120 s), CBC
    // returned the LP relaxation's point as its best solution (binaries at
    // 0.5, rows violated by 1.4, objective -0.54 where the input replays to
    // 7.2) and it displaced the feasible MIP start.
    if (sol.hasPoint()) {
      const double viol = relativeViolation(m, sol.x);
      if (!integral(m, sol.x, kPointIntTol) || !(viol <= kPointRelTol)) {
        sol.message += "; CBC's point violates the model (by " + fmtArg(viol) +
                       " relative, or integrality) and was dropped";
        sol.x.clear();
      }
    }
    // CBC's objective in its own (minimisation, offset-free) terms.
    auto cbcObj = [&](const std::vector<double>& x) { return sign * (m.evalObjective(x) - offset); };
    double obj = sol.hasPoint() ? cbcObj(sol.x) : kInf;
    double bound = cbcValue(model.getBestPossibleObjValue());
    const double increment = std::max(p.mip_cutoff_increment, model.getCutoffIncrement());

    if (model.isProvenInfeasible()) {
      sol.status = SolveStatus::kInfeasible;
      bound = kInf;
    } else if (model.isContinuousUnbounded() || model.isProvenDualInfeasible()) {
      // The LP relaxation is unbounded; with integers CBC does not go on to
      // decide whether an integer point exists, as usual for MIP solvers.
      sol.status = SolveStatus::kUnbounded;
      bound = -kInf;
    } else if (model.isProvenOptimal() && sol.hasPoint()) {
      sol.status = SolveStatus::kOptimal;
    } else if (model.status() == 2) {
      sol.status = sol.hasPoint() ? SolveStatus::kFeasible : SolveStatus::kError;
    } else {  // stopped on time, stop_below (user event) or another limit
      sol.status = sol.hasPoint() ? SolveStatus::kFeasible : SolveStatus::kNoSolution;
    }

    // An LP cut short by the cancel flag proves nothing (ClpCancelHandler).
    if (lp_cancelled.load()) {
      sol.status = sol.hasPoint() ? SolveStatus::kFeasible : SolveStatus::kNoSolution;
      bound = -kInf;
    }
    // Stopped before the root LP was solved (time limit inside the
    // root LP, cancelled, ...): the best-possible value need not come from a
    // solved relaxation (a primal simplex stopped early bounds nothing), so no
    // bound is claimed.
    const bool finished = sol.status == SolveStatus::kOptimal ||
                          sol.status == SolveStatus::kInfeasible ||
                          sol.status == SolveStatus::kUnbounded;
    if (!finished && !state->root_solved.load()) {
      bound = -kInf;
      sol.message += "; stopped before the root LP was solved: no bound claimed";
    }

    // The checked start is a valid incumbent whatever CBC did with it (CBC
    // may drop it, e.g. when stopped before using it).
    if (!start.empty() && sol.status != SolveStatus::kUnbounded) {
      const double s_obj = cbcObj(start);
      if (!sol.hasPoint() || s_obj < obj) {
        if (sol.status == SolveStatus::kInfeasible) {
          sol.message += "; CBC reported infeasible although the MIP start is feasible";
          bound = -kInf;
        }
        if (sol.status != SolveStatus::kOptimal) sol.status = SolveStatus::kFeasible;
        sol.x = start;
        obj = s_obj;
      }
    }
    if (sol.status == SolveStatus::kUnbounded) {
      sol.x.clear();
      obj = -kInf;
    }
    if (sol.hasPoint() || sol.status == SolveStatus::kUnbounded) {
      // CBC's bound may lag the incumbent by its tolerances, and nodes within
      // the cutoff increment of an incumbent were pruned (file comment).
      bound = std::min(bound, obj - increment);
      sol.objective = offset + sign * obj;
    }
    sol.bound = offset + sign * bound;
  } catch (const Error&) {
    throw;  // invalid input, not a solver failure
  } catch (const CoinError& e) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = "CoinError in " + e.className() + "::" + e.methodName() + ": " + e.message();
  } catch (const std::exception& e) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = std::string("exception in CBC: ") + e.what();
  } catch (...) {
    sol = Solution{};
    sol.status = SolveStatus::kError;
    sol.message = "unknown exception in CBC";
  }
  sol.time_s = timer.seconds();
  return sol;
}

}  // namespace nnopt::solve
