#include "verify/verify.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "attack/pgd.h"
#include "bounds/beta_crown.h"
#include "bounds/crown.h"
#include "bounds/lp_tighten.h"
#include "core/error.h"
#include "core/log.h"
#include "verify/disjunct_model.h"
#include "verify/falsify.h"
#include "verify/relu_prover.h"

namespace nnopt::verify {

namespace {

using Eigen::VectorXd;
using Conj = std::vector<spec::OutputConstraint>;

void checkProperty(const nn::Network& net, const std::vector<spec::PropertyCase>& cases) {
  require(!cases.empty(), "verify: the property has no input box");
  const int64_t n_in = net.inputSize(), n_out = net.outputSize();
  for (size_t c = 0; c < cases.size(); ++c) {
    const auto& b = cases[c].input;
    require(b.size() == n_in, "verify: input box " + std::to_string(c) + " has " +
                                  std::to_string(b.size()) + " dimensions, the network has " +
                                  std::to_string(n_in) + " inputs");
    require(b.lo.allFinite() && b.hi.allFinite() && !b.empty(),
            "verify: input box " + std::to_string(c) + " is empty or not finite");
    require(!cases[c].unsafe.disjuncts.empty(),
            "verify: case " + std::to_string(c) + " has no unsafe output condition");
    for (const auto& conj : cases[c].unsafe.disjuncts)
      for (const auto& k : conj)
        for (const auto& [j, a] : k.coefs)
          require(j >= 0 && j < n_out, "verify: output constraint refers to Y_" +
                                           std::to_string(j) + " but the network has " +
                                           std::to_string(n_out) + " outputs");
  }
}

class Verifier {
 public:
  Verifier(const nn::Network& net, const spec::Property& prop, const VerifyParams& p)
      : net_(net), prop_(prop), p_(p), deadline_(p.timeout_s, p.cancel), cases_(propertyCases(prop)) {
    checkProperty(net, cases_);
    threads_ = p.threads > 0 ? p.threads
                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    r_.cases = static_cast<int>(cases_.size());
    for (const auto& c : cases_) r_.disjuncts += static_cast<int>(c.unsafe.disjuncts.size());
    best_x_.resize(cases_.size());
    best_val_.assign(cases_.size(), std::numeric_limits<double>::infinity());
    tables_.resize(cases_.size());
    has_table_.assign(cases_.size(), false);
    screened_.assign(cases_.size(), false);
    refuted_.resize(cases_.size());
    for (size_t c = 0; c < cases_.size(); ++c)
      refuted_[c].assign(cases_[c].unsafe.disjuncts.size(), false);
  }

  VerifyResult run() {
    if (!timed(r_.pgd_s, [&] { return stagePgd(); })) {
      if (p_.prover == Prover::kNone) {
        timed(r_.nlp_s, [&] { return stageNlp(); });
        reason_ = "falsification only (--prover none)";
      } else if (useInputBab()) {
        // The input B&B searches every node with PGD and is complete: the
        // NLP would only delay it.
        if (!p_.nlp_before_bab || !timed(r_.nlp_s, [&] { return stageNlp(); }))
          timed(r_.prove_s, [&] {
            return besideFalsifier(p_.falsify_beside_input_bab, [&] { return stageInputBab(); });
          });
      } else {
        // Screen with (alpha-)CROWN and LP-tightened bounds first, so the
        // NLP and the exact method only see the disjuncts left open.
        timed(r_.prove_s, [&] { return stageScreen(); });
        if (!allRefuted() && !timed(r_.nlp_s, [&] { return stageNlp(); }))
          timed(r_.prove_s, [&] {
            return besideFalsifier(p_.falsify_beside, [&] { return stageExact(); });
          });
      }
    }
    finish();
    r_.time_s = timer_.seconds();
    return r_;
  }

 private:
  // Runs f, adds its wall time to acc, returns f's result.
  template <class F>
  bool timed(double& acc, F f) {
    Timer t;
    const bool r = f();
    acc += t.seconds();
    return r;
  }

  bool allRefuted() const {
    for (const auto& v : refuted_)
      if (std::count(v.begin(), v.end(), false)) return false;
    return true;
  }

  // Replays x for case c; on success records the answer and returns true.
  // Thread-safe (the falsifier beside the search calls it too); once sat
  // is recorded, later calls return true without changing it.
  bool trySat(size_t c, const VectorXd& x, const std::string& by) {
    if (x.size() != net_.inputSize()) return false;
    VectorXd xo, yo;
    const VectorXd xc = x.cwiseMax(cases_[c].input.lo).cwiseMin(cases_[c].input.hi);
    if (!replayCounterexample(net_, prop_, cases_[c].input, xc, xo, yo)) return false;
    std::lock_guard<std::mutex> lock(sat_mu_);
    if (sat_.load()) return true;
    sat_ = true;
    r_.answer = VerifyAnswer::kSat;
    r_.x = xo;
    r_.y = yo;
    r_.case_index = static_cast<int>(c);
    spec::specMargin(cases_[c].unsafe, yo, &r_.disjunct_index);
    r_.decided_by = by;
    r_.best_margin = std::min(r_.best_margin, spec::specMargin(cases_[c].unsafe, yo));
    r_.reason = "counterexample found by " + by + " and replayed (case " + std::to_string(c) +
                ", disjunct " + std::to_string(r_.disjunct_index) + ")";
    return true;
  }

  void noteMargin(size_t c, const VectorXd& x, double v) {
    if (x.size() == 0) return;
    std::lock_guard<std::mutex> lock(sat_mu_);
    if (best_x_[c].size() == 0 || v < best_val_[c]) {
      best_x_[c] = x;
      best_val_[c] = v;
    }
    r_.best_margin = std::min(r_.best_margin, v);
  }

  // CROWN bounds of case c's box, computed once.
  const bounds::BoundTable& table(size_t c) {
    if (!has_table_[c]) {
      tables_[c] = bounds::crownBounds(net_, cases_[c].input);
      has_table_[c] = true;
    }
    return tables_[c];
  }

  // ---- stage 1: PGD on each case's whole disjunction.
  bool stagePgd() {
    const double budget = std::min(p_.pgd_time_frac * p_.timeout_s, p_.pgd_time_max_s);
    Deadline stage(budget, p_.cancel);
    for (size_t c = 0; c < cases_.size(); ++c) {
      if (deadline_.expired()) return false;
      const double limit = std::min(stage.remaining() / static_cast<double>(cases_.size() - c),
                                    deadline_.remaining());
      if (pgdCase(c, p_.pgd_samples, p_.seed + c, limit)) return true;
    }
    if (p_.falsify_rounds <= 0) return false;
    // On the high-dimensional route the CROWN screen comes first (the
    // bounds are needed anyway, and cost milliseconds on MLPs): disjuncts it
    // refutes are not attacked. MNIST-FC 256x2 / 256x4: every instance CROWN
    // proves spent 3.9 / 5.1 s in the rounds below before.
    const bool screen_first = p_.prover != Prover::kNone && !useInputBab();
    // Then the falsifier's rounds: every open disjunct targeted on its own.
    for (size_t c = 0; c < cases_.size(); ++c) {
      if (stage.expired() || deadline_.expired()) return false;
      std::vector<int> all;
      if (screen_first) {
        all = openDisjuncts(c, table(c), "crown");
        screened_[c] = true;
      } else {
        all.resize(cases_[c].unsafe.disjuncts.size());
        std::iota(all.begin(), all.end(), 0);
      }
      if (all.empty()) continue;
      FalsifyParams fp = falsifyParams(p_.seed + 1000 * (c + 1));
      fp.max_rounds = p_.falsify_rounds * (static_cast<int>(all.size()) + (all.size() > 1));
      fp.local_every = 0;  // the walk is stage 2's (after the screen)
      fp.time_limit = std::min(stage.remaining() / static_cast<double>(cases_.size() - c),
                               deadline_.remaining());
      if (falsify(c, all, fp, bounds::BoundTable())) return true;
    }
    return false;
  }

  // PGD on case c's whole disjunction; on low-dimensional inputs half of the
  // starts are the best of `samples` uniform points (cheap forward passes),
  // the other half Sobol points and corners. True on a replayed sat.
  bool pgdCase(size_t c, int samples, uint64_t seed, double time_limit) {
    attack::PgdParams pp;
    pp.restarts = p_.pgd_restarts;
    pp.steps = p_.pgd_steps;
    pp.seed = seed;
    pp.cancel = p_.cancel;
    pp.time_limit = time_limit;
    if (samples > 0 && net_.inputSize() <= p_.input_split_max_dims) {
      Deadline sd(0.25 * pp.time_limit, p_.cancel);
      pp.starts = sampledStarts(net_, cases_[c].input, cases_[c].unsafe, samples,
                                std::max(1, p_.pgd_restarts / 2), seed, &sd);
    }
    auto pr = attack::pgdMinimize(net_, cases_[c].input, cases_[c].unsafe, pp);
    noteMargin(c, pr.x, pr.value);
    return pr.reached && trySat(c, pr.x, "pgd");
  }

  FalsifyParams falsifyParams(uint64_t seed) const {
    FalsifyParams fp;
    fp.seed = seed;
    fp.restarts = p_.falsify_restarts;
    fp.steps = p_.pgd_steps;
    fp.cancel = p_.cancel;
    return fp;
  }

  // One falsifier run on case c's disjuncts `open`; true when it found a
  // replayed counterexample (recorded by trySat).
  bool falsify(size_t c, const std::vector<int>& open, const FalsifyParams& fp,
               const bounds::BoundTable& bt) {
    VectorXd start;
    {
      std::lock_guard<std::mutex> lock(sat_mu_);
      start = best_x_[c];
    }
    const FalsifyResult fr = falsifyCase(
        net_, cases_[c].input, cases_[c].unsafe, open, bt, start, fp,
        [&](const VectorXd& x, const std::string& by) { return trySat(c, x, "falsify:" + by); });
    std::lock_guard<std::mutex> lock(sat_mu_);
    r_.falsify_rounds += fr.rounds;
    r_.falsify_starts += fr.pgd_starts;
    r_.falsify_local += fr.local_runs;
    if (std::isfinite(fr.best_margin)) r_.best_margin = std::min(r_.best_margin, fr.best_margin);
    return fr.found;
  }

  // Runs prove() with the falsifier on a thread beside it (when `on` and
  // something is open): both stop at the first replayed counterexample; the
  // exact methods then see stop_ as their cancel flag. The caller's cancel
  // reaches them through a relay thread, which copies it over.
  template <class F>
  bool besideFalsifier(bool on, F prove) {
    if (!on || !net_.isPiecewiseLinear()) return prove();
    std::vector<std::vector<int>> open(cases_.size());
    bool any = false;
    for (size_t c = 0; c < cases_.size(); ++c) {
      if (!useInputBab()) table(c);  // the walk's model; computed here, read-only beside
      for (size_t d = 0; d < refuted_[c].size(); ++d)
        if (!refuted_[c][d]) open[c].push_back(static_cast<int>(d));
      any = any || !open[c].empty();
    }
    if (!any) return prove();
    beside_ = true;
    std::thread th([&] {
      uint64_t round = 0;
      while (!stop_.load() && !deadline_.expired()) {
        for (size_t c = 0; c < cases_.size() && !stop_.load(); ++c) {
          if (open[c].empty()) continue;
          FalsifyParams fp = falsifyParams(p_.seed + 7777 + 131 * round++);
          fp.cancel = &stop_;
          fp.duty = p_.falsify_duty;
          fp.max_rounds = 4;
          fp.local_every = useInputBab() ? 0 : 2;
          fp.time_limit = deadline_.remaining();
          static const bounds::BoundTable kNone;
          try {
            if (falsify(c, open[c], fp, useInputBab() ? kNone : tables_[c])) stop_ = true;
          } catch (const Error&) {
            // A falsifier failure never decides anything: the search goes on.
          }
        }
      }
    });
    // The caller's cancel reaches the falsifier (inside a round) and the
    // exact methods (which watch stop_) within a few milliseconds.
    std::thread relay([&] {
      while (!stop_.load()) {
        if (p_.cancel != nullptr && p_.cancel->load()) stop_ = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    bool out = false;
    try {
      out = prove();
    } catch (...) {
      stop_ = true;
      th.join();
      relay.join();
      beside_ = false;
      throw;
    }
    stop_ = true;
    th.join();
    relay.join();
    beside_ = false;
    return out || sat_.load();
  }

  // The cancel flag of the exact methods: stop_ while the falsifier runs
  // beside them (it carries the caller's cancel over), else the caller's.
  const std::atomic<bool>* exactCancel() const { return beside_ ? &stop_ : p_.cancel; }

  // ---- stage 2: complementarity NLP on the most promising disjuncts.
  // Whether stage 3 uses the input B&B for this network.
  bool useInputBab() const {
    const bool low_dim = net_.inputSize() <= p_.input_split_max_dims;
    return p_.prover == Prover::kInputBab ||
           (p_.prover == Prover::kAuto && (low_dim || !net_.isPiecewiseLinear()));
  }

  // Local NLP from the best PGD point on the most promising open disjuncts.
  bool stageNlp() {
    if (!p_.nlp || p_.nlp_disjuncts <= 0) return false;
    const double budget = std::min(p_.nlp_time_frac * p_.timeout_s, p_.nlp_time_max_s);
    Deadline stage(budget, p_.cancel);
    struct Job {
      size_t c;
      int d;
      double v;
    };
    std::vector<Job> jobs;
    for (size_t c = 0; c < cases_.size(); ++c) {
      if (best_x_[c].size() == 0) continue;
      const VectorXd y = net_.forward(best_x_[c]);
      std::vector<Job> cj;
      const auto& ds = cases_[c].unsafe.disjuncts;
      for (size_t d = 0; d < ds.size(); ++d)
        if (!refuted_[c][d]) cj.push_back({c, static_cast<int>(d), conjunctionMargin(ds[d], y)});
      std::sort(cj.begin(), cj.end(), [](const Job& a, const Job& b) { return a.v < b.v; });
      if (static_cast<int>(cj.size()) > p_.nlp_disjuncts) cj.resize(p_.nlp_disjuncts);
      jobs.insert(jobs.end(), cj.begin(), cj.end());
    }
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (stage.expired() || deadline_.expired()) return false;
      const auto& job = jobs[i];
      const Conj& conj = cases_[job.c].unsafe.disjuncts[job.d];
      NlpFalsifyParams np;
      np.cancel = p_.cancel;
      np.time_limit =
          std::min(stage.remaining() / static_cast<double>(jobs.size() - i), deadline_.remaining());
      auto nr = nlpFalsify(net_, cases_[job.c].input, table(job.c), conj, best_x_[job.c], np);
      if (nr.x.size() == 0) continue;
      if (nr.margin <= 0.0 && trySat(job.c, nr.x, "nlp")) return true;
      // Polish: a few PGD steps on this disjunct from the NLP point.
      attack::PgdParams pp;
      pp.restarts = 1;
      pp.steps = 50;
      pp.step_init = 0.01;
      pp.step_final = 1e-4;
      pp.starts = {nr.x};
      pp.time_limit = std::min(1.0, deadline_.remaining());
      pp.cancel = p_.cancel;
      spec::OutputSpec one;
      one.disjuncts = {conj};
      auto pr = attack::pgdMinimize(net_, cases_[job.c].input, one, pp);
      noteMargin(job.c, pr.x, pr.value);
      if (pr.reached && trySat(job.c, pr.x, "nlp+pgd")) return true;
    }
    return false;
  }

  // ---- stage 3, low-dimensional inputs: input B&B per case.
  bool stageInputBab() {
    for (size_t c = 0; c < cases_.size(); ++c) {
      if (sat_.load()) return true;  // the falsifier beside it
      if (deadline_.expired()) {
        timed_out_ = true;
        return false;
      }
      if (proveByInputBab(c)) return true;
    }
    return false;
  }

  bool proveByInputBab(size_t c) {
    bab::InputSplitParams bp;
    bp.time_limit = deadline_.remaining();
    bp.cancel = exactCancel();
    bp.threads = threads_;
    bp.node_attack = pgdNodeAttack(net_, p_.bab_pgd_steps);
    bp.max_nodes = p_.bab_max_nodes;
    bp.prune_tol = p_.prune_tol;
    bp.split = p_.bab_split;
    bp.order = p_.bab_order;
    bp.lookahead = p_.bab_lookahead;
    bp.incremental = p_.bab_incremental;
    bp.combine_iters = p_.bab_combine_iters;
    bp.exact_unstable_max = p_.bab_exact_unstable_max;
    bp.exact_unstable_late = p_.bab_exact_unstable_late;
    bp.exact_late_s = p_.bab_exact_late_s;
    uint64_t interludes = 0;
    if (p_.bab_interlude && net_.isPiecewiseLinear()) {
      // The falsifier (PGD rounds and LPCC walks) between nodes; its own
      // replay (trySat) records the answer.
      bp.interlude_first_s = p_.bab_interlude_first_s;
      bp.interlude_share = p_.bab_interlude_share;
      bp.interlude = [this, c, &interludes](double budget, VectorXd* x) {
        std::vector<int> open(cases_[c].unsafe.disjuncts.size());
        std::iota(open.begin(), open.end(), 0);
        const uint64_t seed = p_.seed + 4242 + 977 * interludes++;
        Deadline until(budget, p_.cancel);
        bool hit = false;
        if (p_.bab_interlude_samples > 0)  // a fresh PGD, half of it from many samples
          hit = pgdCase(c, p_.bab_interlude_samples, seed, 0.5 * until.remaining());
        FalsifyParams fp = falsifyParams(seed);
        fp.time_limit = std::min(until.remaining(), deadline_.remaining());
        fp.local_every = 2;
        if (!hit && !falsify(c, open, fp, table(c))) return false;
        std::lock_guard<std::mutex> lock(sat_mu_);
        *x = r_.x;
        return true;
      };
    }
    auto br = bab::inputSplitBranchAndBound(net_, cases_[c].input, cases_[c].unsafe, bp);
    r_.nodes += br.nodes;
    r_.max_depth = std::max(r_.max_depth, br.max_depth);
    r_.exact_runs += br.exact_runs;
    r_.exact_nodes += br.exact_nodes;
    r_.exact_s += br.exact_time_s;
    r_.interlude_s += br.interlude_time_s;
    methods_.insert("input-bab");
    switch (br.status) {
      case bab::BabStatus::kHolds:
        std::fill(refuted_[c].begin(), refuted_[c].end(), true);
        return false;
      case bab::BabStatus::kViolated:
        if (trySat(c, br.x, "input-bab")) return true;
        reason_ = "input B&B point failed the replay";
        return false;
      case bab::BabStatus::kTimeout:
        timed_out_ = true;
        return false;
      case bab::BabStatus::kNodeLimit:
        reason_ = "input B&B node limit reached";
        return false;
      case bab::BabStatus::kIncomplete:
      case bab::BabStatus::kOptimal:  // not a decision-mode status
        reason_ = "input B&B reached the width floor (" + std::to_string(br.unresolved) +
                  " unresolved leaves)";
        return false;
    }
    return false;
  }

  // CROWN lower bounds (alpha-CROWN with alpha_iters_root iterations) refute
  // disjunct d of case c when some constraint's bound exceeds prune_tol.
  bool crownRefutes(size_t c, int d, const bounds::BoundTable& bt) {
    bounds::CrownParams cp;
    cp.alpha_iters = p_.alpha_iters_root;
    for (const auto& k : cases_[c].unsafe.disjuncts[d]) {
      VectorXd coef = VectorXd::Zero(net_.outputSize());
      for (const auto& [j, a] : k.coefs) coef[j] += a;
      if (bounds::crownLowerBound(net_, cases_[c].input, bt, coef, cp) - k.rhs > p_.prune_tol)
        return true;
    }
    return false;
  }

  // Disjuncts of case c not refuted (by CROWN with table bt when check),
  // most suspicious (smallest margin at the best point seen) first.
  std::vector<int> openDisjuncts(size_t c, const bounds::BoundTable& bt, const std::string& tag,
                                 bool check = true) {
    const auto& ds = cases_[c].unsafe.disjuncts;
    std::vector<std::pair<double, int>> order;
    const VectorXd yb = best_x_[c].size() ? net_.forward(best_x_[c]) : VectorXd();
    for (size_t d = 0; d < ds.size(); ++d)
      if (!refuted_[c][d])
        order.push_back({yb.size() ? conjunctionMargin(ds[d], yb) : 0.0, static_cast<int>(d)});
    std::sort(order.begin(), order.end());
    std::vector<int> open;
    for (const auto& [v, d] : order) {
      if (check && deadline_.expired()) break;
      if (check && crownRefutes(c, d, bt)) {
        refuted_[c][d] = true;
        methods_.insert(tag);
      } else {
        open.push_back(d);
      }
    }
    return open;
  }

  // The root alpha-CROWN tightening of case c's table (VerifyParams::
  // root_alpha_iters); true when it ran and the table changed.
  bool tightenByAlpha(size_t c) {
    const double budget = std::min(
        {p_.root_alpha_frac * p_.timeout_s, p_.root_alpha_max_s, deadline_.remaining()});
    if (p_.root_alpha_iters <= 0 || !(budget > 0)) return false;
    Timer t;
    const int before = static_cast<int>(bounds::countRelus(net_, tables_[c]).unstable);
    const bool changed = bounds::alphaTightenTable(net_, cases_[c].input, tables_[c],
                                                   p_.root_alpha_iters, budget, p_.cancel);
    r_.alpha_s += t.seconds();
    if (r_.alpha_unstable_before < 0) r_.alpha_unstable_before = r_.alpha_unstable_after = 0;
    r_.alpha_unstable_before += before;
    r_.alpha_unstable_after += static_cast<int>(bounds::countRelus(net_, tables_[c]).unstable);
    return changed;
  }

  // ---- high-dimensional route. Screening: (alpha-)CROWN at the root, then
  // LP-tightened bounds (kept as the case's table) and CROWN again.
  bool stageScreen() {
    for (size_t c = 0; c < cases_.size(); ++c) {
      if (deadline_.expired()) {
        timed_out_ = true;
        return false;
      }
      // (Already screened on this table before the falsifier's rounds: the
      // same CROWN bounds would only be computed again.)
      std::vector<int> open = openDisjuncts(c, table(c), "crown", !screened_[c]);
      if (open.empty() || !net_.isPiecewiseLinear()) continue;
      // After the alpha-CROWN tightening the LPs stabilised 0-1 more neurons on
      // MNIST-FC (256x2 in 1-3.5 s, 256x4 in 15 s) while the searches took
      // the same nodes: skipped then (VerifyParams::lp_after_alpha).
      if (tightenByAlpha(c)) {
        open = openDisjuncts(c, tables_[c], "alpha+crown");
        if (!p_.lp_after_alpha) continue;
      }
      if (open.empty()) continue;
      const double lp_budget =
          std::min({p_.lp_tighten_frac * p_.timeout_s, p_.lp_tighten_max_s, deadline_.remaining()});
      if (!(lp_budget > 0)) continue;
      Timer t;
      bounds::LpTightenParams lp;
      lp.time_limit_s = lp_budget;
      lp.cancel = p_.cancel;
      lp.probe_lps = p_.lp_tighten_probe_lps;
      bounds::LpTightenStats st;
      tables_[c] = bounds::lpTightenBounds(net_, cases_[c].input, table(c), lp, &st);
      r_.lp_s += t.seconds();
      r_.lp_lps += st.lps;
      r_.lp_stabilised += st.stabilised;
      r_.lp_gave_up = r_.lp_gave_up || st.gave_up;
      openDisjuncts(c, tables_[c], "lp+crown");
    }
    return false;
  }

  // The exact method on every open disjunct, most suspicious first.
  bool stageExact() {
    for (size_t c = 0; c < cases_.size(); ++c) {
      std::vector<int> open = openDisjuncts(c, table(c), "", false);
      if (open.empty()) continue;
      if (!net_.isPiecewiseLinear()) {
        reason_ = "the network has smooth activations: no exact method (try --prover input-bab)";
        continue;
      }
      for (int d : open) {
        if (sat_.load()) return true;  // the falsifier beside it
        if (deadline_.expired()) {
          timed_out_ = true;
          return false;
        }
        if (exactOn(c, d)) return true;
        if (timed_out_) return sat_.load();
      }
    }
    return false;
  }

  // A candidate point of an exact method for disjunct d: replay, else polish
  // with PGD and replay.
  bool candidate(size_t c, int d, const VectorXd& x, const std::string& by) {
    if (trySat(c, x, by)) return true;
    attack::PgdParams pp;
    pp.restarts = 1;
    pp.steps = 50;
    pp.step_init = 1e-3;
    pp.step_final = 1e-6;
    pp.starts = {x};
    pp.cancel = p_.cancel;
    spec::OutputSpec one;
    one.disjuncts = {cases_[c].unsafe.disjuncts[d]};
    auto pr = attack::pgdMinimize(net_, cases_[c].input, one, pp);
    if (pr.reached && trySat(c, pr.x, by + "+pgd")) return true;
    reason_ = by + " point with margin <= 0 failed the replay (numerical tolerance)";
    return false;
  }

  // The exact method of stage 3 on disjunct d of case c.
  bool exactOn(size_t c, int d) {
    switch (p_.prover) {
      case Prover::kMip: return mip(c, d, table(c));
      case Prover::kPortfolio: return portfolio(c, d, table(c));
      default: return reluBab(c, d, table(c));
    }
  }

  MipParams mipParams(size_t c) {
    MipParams mp;
    mp.time_limit = deadline_.remaining();
    mp.cancel = exactCancel();
    mp.threads = p_.mip_threads;
    mp.unsat_tol = p_.mip_unsat_tol;
    {
      std::lock_guard<std::mutex> lock(sat_mu_);
      mp.start = best_x_[c];
    }
    mp.solver_log = p_.solver_log;
    return mp;
  }

  ReluProverParams reluBabParams() const {
    ReluProverParams rp;
    rp.time_limit = deadline_.remaining();
    rp.cancel = exactCancel();
    rp.threads = threads_;
    rp.prune_tol = p_.mip_unsat_tol;
    rp.branching = p_.relu_branching;
    rp.node_bounds = p_.relu_node_bounds;
    rp.beta_iters = p_.relu_beta_iters;
    rp.beta_iters_no_lp = p_.relu_beta_no_lp;
    rp.node_crown = p_.relu_node_crown;
    rp.crown_tables_no_lp = p_.relu_crown_tables_no_lp;
    rp.fresh_candidates = p_.relu_fresh;
    rp.batch = p_.relu_batch;
    return rp;
  }

  bool mip(size_t c, int d, const bounds::BoundTable& bt) {
    const MipParams mp = mipParams(c);
    auto mr = solveDisjunctMip(net_, cases_[c].input, bt, cases_[c].unsafe.disjuncts[d], mp);
    return onMip(c, d, mr);
  }

  bool onMip(size_t c, int d, const MipResult& mr) {
    r_.nodes += mr.nodes;
    methods_.insert("mip");
    switch (mr.outcome) {
      case MipOutcome::kRefuted:
        refuted_[c][d] = true;
        return false;
      case MipOutcome::kCandidate:
        return candidate(c, d, mr.x, "mip");
      case MipOutcome::kOpen:
        timed_out_ = true;
        return false;
      case MipOutcome::kUnknown:
        reason_ = "MIP finished without a decision: " + mr.status;
        return false;
    }
    return false;
  }

  bool reluBab(size_t c, int d, const bounds::BoundTable& bt) {
    const ReluProverParams rp = reluBabParams();
    const auto& conj = cases_[c].unsafe.disjuncts[d];
    if (p_.relu_node_bounds != bab::NodeBounds::kAuto || !net_.isFullyConnected())
      return onReluBab(c, d, decideDisjunct(net_, cases_[c].input, bt, conj, rp));
    // kAuto on a fully-connected network: node LPs race beta-CROWN nodes
    // without LPs (one thread: beta-CROWN first, for a short time).
    const auto race = raceLpAndBeta(net_, cases_[c].input, bt, conj, rp, p_.relu_tables_given,
                                    exactCancel(), deadline_);
    r_.nodes += race.other_nodes;
    r_.relu_race_lp_wins += race.lp_decided;
    r_.relu_race_beta_wins += race.beta_decided;
    return onReluBab(c, d, race.result);
  }

  // The ReLU B&B (threads - 1 workers) and CBC (one thread) race on disjunct
  // d: each watches a shared flag, set when the other decided (refuted or a
  // candidate) or when the stage's own cancel is set. The deciding side's
  // outcome is taken (both sound: a refutation from a finished search, a
  // candidate only after replay); undecided, the better-informed one.
  bool portfolio(size_t c, int d, const bounds::BoundTable& bt) {
    ReluProverParams rp = reluBabParams();
    rp.threads = std::max(1, threads_ - 1);
    MipParams mp = mipParams(c);
    mp.threads = 1;
    auto race = raceDisjunct(net_, cases_[c].input, bt, cases_[c].unsafe.disjuncts[d], rp, mp,
                             exactCancel(), deadline_);
    const bab::BabResult& rr = race.bab;
    const MipResult& mr = race.mip;
    const std::exception_ptr &err_bab = race.err_bab, &err_mip = race.err_mip;
    if (err_bab && err_mip) std::rethrow_exception(err_bab);
    const bool bab_decided = !err_bab && decidedBy(rr);
    const bool mip_decided = !err_mip && (mr.outcome == MipOutcome::kRefuted ||
                                          mr.outcome == MipOutcome::kCandidate);
    methods_.insert("portfolio");
    if (bab_decided) {
      ++r_.portfolio_bab_wins;
      r_.nodes += err_mip ? 0 : mr.nodes;
      return onReluBab(c, d, rr);
    }
    if (mip_decided) {
      ++r_.portfolio_mip_wins;
      r_.nodes += err_bab ? 0 : rr.nodes;
      return onMip(c, d, mr);
    }
    if (!err_bab) {
      r_.nodes += err_mip ? 0 : mr.nodes;
      return onReluBab(c, d, rr);
    }
    return onMip(c, d, mr);
  }

  bool onReluBab(size_t c, int d, const bab::BabResult& rr) {
    r_.nodes += rr.nodes;
    r_.bab_crown_nodes += rr.crown_nodes;
    r_.bab_crown_pruned += rr.crown_pruned;
    r_.bab_fresh_fixed += rr.fresh_fixed;
    r_.bab_lp_dropped = r_.bab_lp_dropped || rr.lp_dropped;
    r_.max_depth = std::max(r_.max_depth, rr.max_depth);
    if (rr.status == bab::BabStatus::kTimeout || rr.status == bab::BabStatus::kNodeLimit) {
      ++r_.bab_stopped_runs;
      r_.bab_closed_fraction = std::min(r_.bab_closed_fraction, rr.closed_fraction);
    }
    methods_.insert("relu-bab");
    switch (rr.status) {
      case bab::BabStatus::kHolds:
        refuted_[c][d] = true;
        return false;
      case bab::BabStatus::kViolated:
        return candidate(c, d, rr.x, "relu-bab");
      case bab::BabStatus::kTimeout:
        timed_out_ = true;
        return false;
      case bab::BabStatus::kNodeLimit:
        reason_ = "ReLU B&B stopped at its node limit";
        return false;
      default:
        reason_ = "ReLU B&B left " + std::to_string(rr.unresolved) + " subdomains undecided";
        return false;
    }
  }

  void finish() {
    if (r_.answer == VerifyAnswer::kSat) return;
    int refuted = 0;
    for (const auto& v : refuted_)
      refuted += static_cast<int>(std::count(v.begin(), v.end(), true));
    r_.disjuncts_refuted = refuted;
    if (refuted == r_.disjuncts) {
      r_.answer = VerifyAnswer::kUnsat;
      std::string by;
      for (const auto& m : methods_) by += (by.empty() ? "" : "+") + m;
      r_.decided_by = by;
      r_.reason = "every unsafe disjunct refuted (" + std::to_string(refuted) + " of " +
                  std::to_string(r_.disjuncts) + ")";
      return;
    }
    if (p_.cancel != nullptr && p_.cancel->load()) {
      // A cancelled search is not a finished one: whatever the stages
      // reported after the flag was set, nothing open was decided.
      r_.answer = VerifyAnswer::kUnknown;
      r_.reason = "cancelled with " + std::to_string(refuted) + " of " +
                  std::to_string(r_.disjuncts) + " disjuncts refuted";
      return;
    }
    const bool expired = timed_out_ || deadline_.expired();
    r_.answer = expired ? VerifyAnswer::kTimeout : VerifyAnswer::kUnknown;
    r_.reason = expired ? "deadline reached with " + std::to_string(refuted) + " of " +
                              std::to_string(r_.disjuncts) + " disjuncts refuted"
                        : (reason_.empty() ? "undecided" : reason_);
  }

  const nn::Network& net_;
  const spec::Property& prop_;
  const VerifyParams& p_;
  Timer timer_;
  Deadline deadline_;
  std::vector<spec::PropertyCase> cases_;
  int threads_ = 1;
  VerifyResult r_;
  std::vector<VectorXd> best_x_;
  std::vector<double> best_val_;
  std::vector<bounds::BoundTable> tables_;
  std::vector<bool> has_table_;
  std::vector<bool> screened_;  // CROWN screen on table(c) done (stagePgd)
  std::vector<std::vector<bool>> refuted_;
  std::set<std::string> methods_;
  bool timed_out_ = false;
  std::string reason_;
  // The falsifier beside the search: the exact methods' cancel flag while it
  // runs (set by a found counterexample, the caller's cancel or the end of
  // the search), and whether it runs.
  std::atomic<bool> stop_{false};
  bool beside_ = false;
  std::atomic<bool> sat_{false};  // a counterexample was recorded (trySat)
  std::mutex sat_mu_;             // guards r_'s sat fields, best_x_, best_val_
};

}  // namespace

VerifyResult verifyProperty(const nn::Network& net, const spec::Property& prop,
                            const VerifyParams& params) {
  require(params.timeout_s > 0 && !std::isnan(params.timeout_s),
          "verify: the timeout must be > 0 seconds");
  require(!net.hasMaxPool(),
          "verify: networks with MaxPool layers are not supported yet (nnopt attack --method mip "
          "handles them)");
  Verifier v(net, prop, params);
  return v.run();
}

}  // namespace nnopt::verify
