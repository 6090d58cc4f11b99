#include "bab/relu_bab.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bab/branching.h"
#include "bab/node_bounds.h"
#include "bab/node_lp.h"
#include "bounds/lp_tighten.h"
#include "core/atomic_minmax.h"
#include "core/error.h"
#include "core/log.h"

namespace nnopt::bab {

namespace {

using bounds::BoundTable;
using bounds::ReluSplit;
using Eigen::VectorXd;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Queued nodes beyond max(512, this many bytes of tables) keep the root table
// instead of their own (a CIFAR CNN's table is about 0.5 MB); their
// children's CROWN bounds are then computed from the root's, sound but looser.
constexpr double kQueuedTableBytes = 256e6;

struct Node {
  std::vector<ReluSplit> splits;
  std::shared_ptr<const BoundTable> table;
  double lb = -kInf;
  int depth = 0;
  // beta-CROWN's optimised multipliers and slopes per objective function
  // (BabParams::beta_iters), the children's warm start; null without.
  std::shared_ptr<const std::vector<bounds::BetaCrownState>> beta;
  ReluSplit branch;        // the neuron to split next (`active` unused)
  double branch_viol = 0;  // its LP violation (for pseudocosts)
};

void checkInputs(const nn::Network& net, const spec::Box& box,
                 const std::vector<spec::OutputConstraint>& obj, const BabParams& p) {
  require(box.lo.size() == net.inputSize() && box.hi.size() == net.inputSize(),
          "bab: box has " + std::to_string(box.size()) + " dimensions, network input has " +
              std::to_string(net.inputSize()));
  require(box.lo.allFinite() && box.hi.allFinite(), "bab: the input box must be finite");
  require(!box.empty(), "bab: the input box is empty (some lower bound > upper bound)");
  requireObjective(net, obj);
  for (const auto& l : net.layers()) {
    if (!l.isActivation()) continue;
    const auto& a = l.activation();
    const bool relu = a.kind == nn::ActKind::kRelu ||
                      (a.kind == nn::ActKind::kLeakyRelu && a.alpha >= 0 && a.alpha < 1);
    require(relu, "bab: layer '" + l.name + "' is " + nn::actName(a.kind) +
                      "; branch and bound over splits needs ReLU or LeakyReLU (alpha in [0, 1))");
  }
  if (p.root_table != nullptr)
    require(p.root_table->in_lo.size() == net.inputSize() &&
                p.root_table->lo.size() == net.numLayers(),
            "bab: the root table does not match the network");
}

class Search {
 public:
  Search(const nn::Network& net, const spec::Box& box,
         const std::vector<spec::OutputConstraint>& obj, const BabParams& p)
      : net_(net), box_(box), obj_(obj), p_(p), deadline_(p.time_limit, p.cancel),
        threads_(std::max(1, p.threads)) {
    for (const auto& c : obj) {
      VectorXd v = VectorXd::Zero(net.outputSize());
      for (const auto& [j, a] : c.coefs) v[j] += a;
      coefs_.push_back(std::move(v));
    }
    lp_on_ = p.node_bounds != NodeBounds::kCrown;
    neurons_ = static_cast<double>(net.inputSize());
    for (const auto& l : net.layers()) neurons_ += static_cast<double>(l.outSize());
  }

  BabResult run() {
    rootTable();
    for (const auto& x : p_.starts) tryPoint(x);
    if (p_.starts.empty()) tryPoint(0.5 * (box_.lo + box_.hi));
    workers_.resize(threads_);
    for (int w = 0; w < threads_; ++w) workers_[w] = std::make_unique<Worker>(net_);
    Node root;
    root.table = root_table_;
    Worker& w0 = *workers_[0];
    if (violated()) drop(-kInf);  // a start point decided it: the root was never bounded
    const bool open = !violated() && bound(w0, root);
    if (w0.lp && p_.purge_cuts && w0.lp->numCuts() > 0) r_.cuts_kept = w0.lp->purgeCuts();
    if (w0.lp) root_cuts_ = w0.lp->cutRows();
    r_.root_bound = root.lb;
    if (open) open_.push_back(std::move(root));
    std::vector<std::thread> pool;
    for (int w = 1; w < threads_; ++w) pool.emplace_back([this, w] { work(w); });
    work(0);
    for (auto& t : pool) t.join();
    finish();
    return r_;
  }

 private:
  // Per worker thread: its LP session and branching statistics.
  struct Worker {
    std::unique_ptr<NodeLp> lp;
    Pseudocosts pc;
    double inflight = kInf;  // lower bound of the node it holds (guarded by mu_)
    explicit Worker(const nn::Network& net) : pc(net) {}
  };

  // --- incumbent and pruning rules

  // The best objective known: own incumbent or another solver's replayed one.
  double upper() const {
    const double own = best_.load();
    return p_.shared_upper ? std::min(own, p_.shared_upper->load()) : own;
  }
  double gap() const { return std::max(p_.abs_gap, p_.rel_gap * std::abs(upper())); }

  // A node with this lower bound needs no further work.
  bool closes(double lb) const {
    if (p_.mode == BabMode::kDecide) return lb > p_.threshold;
    const double u = upper();
    return std::isfinite(u) && lb >= u - gap();
  }

  bool violates(double v) const {
    if (p_.mode != BabMode::kDecide) return false;
    return std::isnan(p_.violation_level) ? v < p_.threshold : v <= p_.violation_level;
  }
  bool violated() const { return violates(best_.load()); }

  double value(const VectorXd& y) const {
    double v = -kInf;
    for (const auto& c : obj_) {
      const double e = c.eval(y);
      v = std::isnan(e) ? kInf : std::max(v, e);
    }
    return v;
  }

  // Replays x (clamped into the box); returns its objective value.
  double tryPoint(const VectorXd& x) {
    VectorXd xc = x.cwiseMax(box_.lo).cwiseMin(box_.hi);
    const double v = value(net_.forward(xc));
    if (std::isfinite(v) && v < best_.load()) {
      std::lock_guard<std::mutex> lk(best_mu_);
      if (v < r_.objective) {
        r_.objective = v;
        r_.x = std::move(xc);
        best_ = v;
        if (p_.shared_upper) atomicMin(*p_.shared_upper, v);
      }
    }
    if (violated()) stop();
    return v;
  }

  // A node LP point: replayed, and polished when it does not violate.
  double tryLpPoint(const VectorXd& x) {
    const double v = tryPoint(x);
    if (!p_.polish || violates(v) || stopped()) return v;
    const VectorXd px = p_.polish(x);
    return px.size() == x.size() ? std::min(v, tryPoint(px)) : v;
  }

  // --- bounding

  void rootTable() {
    Timer t;
    if (p_.root_table != nullptr) {
      root_table_ = std::make_shared<const BoundTable>(*p_.root_table);
    } else {
      auto table = bounds::crownBounds(net_, box_, p_.crown_root);
      const double lp_budget = std::min(p_.root_lp_time_limit, 0.2 * p_.time_limit);
      if (lp_budget > 0) {
        bounds::LpTightenParams lp;
        lp.time_limit_s = lp_budget;
        lp.cancel = p_.cancel;
        table = bounds::lpTightenBounds(net_, box_, table, lp);
      }
      root_table_ = std::make_shared<const BoundTable>(std::move(table));
    }
    r_.unstable_root = static_cast<int>(bounds::countRelus(net_, *root_table_).unstable);
    double bytes = 16.0 * static_cast<double>(root_table_->in_lo.size());
    for (const auto& v : root_table_->lo) bytes += 16.0 * static_cast<double>(v.size());
    max_tables_ = std::max<size_t>(512, static_cast<size_t>(kQueuedTableBytes / bytes));
    r_.root_time_s = t.seconds();
  }

  // The worker's LP session, built on first use (with the root's cuts).
  NodeLp& sessionOf(Worker& w) {
    if (!w.lp) {
      w.lp = std::make_unique<NodeLp>(net_, box_, *root_table_, obj_, p_.lp_node_bounds,
                                      p_.drop_dead_rows, p_.lp_form);
      std::lock_guard<std::mutex> lk(mu_);
      if (!root_cuts_.empty()) w.lp->addCutRows(root_cuts_);
    }
    return *w.lp;
  }
  // The session for bounding nodes; null while nodes are bounded without LPs.
  NodeLp* lpOf(Worker& w) { return lp_on_.load() ? &sessionOf(w) : nullptr; }

  // Bounds n (its table is set) and picks its branching neuron. Returns false
  // when the node is closed (or the search stops).
  bool bound(Worker& w, Node& n) {
    enter(n);
    std::vector<Node*> one{&n};
    return afterObjective(w, n, std::move(objectiveBounds(one).front()));
  }

  // Counts n and LP-tightens its table when it is shallow enough.
  void enter(Node& n) {
    ++nodes_;
    for (int d = max_depth_.load(); n.depth > d && !max_depth_.compare_exchange_weak(d, n.depth);) {
    }
    if (n.depth > 0 && n.depth <= p_.tighten_depth) {
      bounds::LpTightenParams lp;
      lp.time_limit_s = std::min(p_.root_lp_time_limit, deadline_.remaining());
      lp.cancel = p_.cancel;
      n.table = std::make_shared<const BoundTable>(
          bounds::lpTightenBounds(net_, box_, *n.table, lp));
    }
  }

  int betaIters() const {
    return lp_on_.load() ? p_.beta_iters : std::max(p_.beta_iters, p_.beta_iters_no_lp);
  }

  // The objective bounds of each node (bab/node_bounds.h); their minimising
  // corners are replayed as incumbent candidates.
  std::vector<ObjectiveBound> objectiveBounds(const std::vector<Node*>& nodes) {
    std::vector<NodeView> views;
    for (const Node* n : nodes)
      views.push_back({n->table.get(), &n->splits, n->beta.get(), n->depth});
    ObjectiveSettings s;
    s.beta_iters = betaIters();
    s.decide = p_.mode == BabMode::kDecide;
    s.threshold = p_.threshold;
    s.crown = p_.crown_node;
    std::vector<ObjectiveBound> out = bab::objectiveBounds(net_, box_, obj_, coefs_, views, s);
    for (const auto& o : out)
      for (const auto& x : o.corners) tryPoint(x);
    return out;
  }

  // The rest of n's bounding once its objective bounds are known: closing,
  // branching candidates, the node LP, the choice of the branching neuron.
  bool afterObjective(Worker& w, Node& n, ObjectiveBound&& ob) {
    if (ob.empty) {  // no input reaches the node
      std::lock_guard<std::mutex> lk(mu_);
      ++r_.pruned;
      ++crown_pruned_;
      ++crown_nodes_;
      return false;
    }
    const double closest = ob.closest;
    const std::vector<VectorXd> act_coef = std::move(ob.act_coef);
    if (!ob.beta.empty())
      n.beta = std::make_shared<const std::vector<bounds::BetaCrownState>>(std::move(ob.beta));
    n.lb = std::max(n.lb, closest);
    NodeLp* lp = lpOf(w);
    if (closeIfDone(n.lb)) {
      ++crown_nodes_;
      ++crown_pruned_;
      return false;
    }
    std::vector<Candidate> cands = candidates(net_, *n.table, act_coef);
    bool fixed = false;
    if (!refreshCandidates(n, cands, fixed)) return false;
    double leaf_value = kInf;  // replayed value of the node's last LP point
    bool lp_solved = false;
    if (lp) {
      NodeLpResult res;
      if (!nodeLp(w, *lp, n, res, leaf_value)) return false;
      lp_solved = res.solved;
      if (lp_solved) addViolations(net_, cands, res, p_.branching == BabBranching::kLpViolation);
    }
    if (!lp_solved) ++crown_nodes_;
    if (stopped()) return false;
    if (cands.empty() && !lp) {
      // A leaf of a search without node LPs: its LP is exact on the region
      // (every ReLU fixed), where the CROWN / beta-CROWN bound may not be.
      NodeLpResult res;
      if (!nodeLp(w, sessionOf(w), n, res, leaf_value)) return false;
      if (stopped()) return false;
    }
    if (cands.empty()) {
      closeLeaf(n, leaf_value);
      return false;
    }
    chooseBranch(w, n, cands);
    return true;
  }

  // BabParams::fresh_candidates at nodes bounded without an LP
  // (bab::refreshCandidates on n's table). Returns false when the node is
  // empty (pruned without a bound, like an infeasible LP); *fixed tells
  // whether a candidate was fixed (n.table then changed).
  bool refreshCandidates(Node& n, std::vector<Candidate>& cands, bool& fixed) {
    fixed = false;
    if (p_.fresh_candidates <= 0 || cands.empty() || lp_on_.load()) return true;
    const FreshOutcome f = bab::refreshCandidates(net_, box_, *n.table, cands,
                                                  static_cast<size_t>(p_.fresh_candidates),
                                                  p_.branching == BabBranching::kBabsr);
    fresh_computed_ += f.computed;
    fresh_fixed_ += f.fixed;
    std::lock_guard<std::mutex> lk(mu_);
    r_.fresh_fixed += f.fixed;
    if (f.empty) {
      ++r_.pruned;
      return false;
    }
    if (f.table) n.table = f.table;
    fixed = f.fixed > 0;
    return true;
  }

  // A leaf's LP is exact up to the solver's tolerances and the 1e-7 slack of
  // the variable bounds: its minimum lies in [lb, value]. Closed (with its
  // bound kept for the global one) when that interval is below the leaf
  // tolerance, else left unresolved.
  void closeLeaf(const Node& n, double value) {
    const double tol = std::max(gap(), kLeafTol * (1.0 + std::abs(value)));
    std::lock_guard<std::mutex> lk(mu_);
    if (p_.mode == BabMode::kOptimize && std::isfinite(value) && value - n.lb <= tol) {
      ++r_.pruned;
      closed_lb_ = std::min(closed_lb_, n.lb);
      return;
    }
    ++r_.unresolved;
    unresolved_lb_ = std::min(unresolved_lb_, n.lb);
  }

  static constexpr double kLeafTol = 1e-6;

  // A node left unexplored because the search stops (a violation, a limit):
  // its region still counts in the lower bound.
  void drop(double lb) {
    std::lock_guard<std::mutex> lk(mu_);
    dropped_lb_ = std::min(dropped_lb_, lb);
  }

  // Closes the node when its bound allows (or the decision is already made:
  // the node then leaves the search with its bound kept for the global one).
  bool closeIfDone(double lb) {
    if (violated() || stopped()) {
      drop(lb);
      return true;
    }
    if (!closes(lb)) return false;
    std::lock_guard<std::mutex> lk(mu_);
    ++r_.pruned;
    closed_lb_ = std::min(closed_lb_, lb);
    return true;
  }

  // Returns false when the node LP closes the node.
  bool nodeLp(Worker& w, NodeLp& lp, Node& n, NodeLpResult& res, double& value) {
    Timer t;
    const bool capped = n.depth == 0 && p_.node_bounds == NodeBounds::kAuto;
    const double limit = capped ? std::min(p_.root_lp_cap_s, deadline_.remaining())
                                : deadline_.remaining();
    res = p_.fresh_node_lp ? solveFreshNodeLp(net_, box_, *n.table, obj_, limit)
                           : lp.solve(*n.table, n.splits, limit);
    const double secs = t.seconds();
    if (n.depth == 0) r_.root_lp_s = secs;
    {
      std::lock_guard<std::mutex> lk(mu_);
      r_.lp_time_s += secs;
      r_.lp_iterations += res.iterations;
    }
    if (res.infeasible) {  // no input reaches the node: no bound to keep
      std::lock_guard<std::mutex> lk(mu_);
      ++r_.pruned;
      return false;
    }
    if (!res.solved) {
      ++lp_failures_;
      // The LP costs more than the search can afford: CROWN alone from now.
      if (capped && !deadline_.expired()) {
        lp_on_ = false;
        r_.lp_dropped = true;
      }
      return true;
    }
    ++lps_;
    n.lb = std::max(n.lb, res.bound);
    value = tryLpPoint(res.x);
    if (closeIfDone(n.lb)) return false;
    return cutRounds(w, lp, n, res, value);
  }

  // Cut rounds (NodeLp::addCuts) with re-solves while they raise the bound.
  // Only the first worker's session gets cuts; the root's are shared with
  // the sessions built later.
  bool cutRounds(Worker& w, NodeLp& lp, Node& n, NodeLpResult& res, double& value) {
    const int rounds = n.depth == 0 ? p_.cut_rounds_root : p_.cut_rounds_node;
    if (&w != workers_[0].get() || (n.depth > 0 && threads_ > 1)) return true;
    for (int k = 0; k < rounds && !p_.fresh_node_lp && !deadline_.expired(); ++k) {
      const int room = p_.max_cuts - lp.numCuts();
      if (room <= 0 || lp.addCuts(p_.cut_min_violation, room) == 0) break;
      Timer t;
      NodeLpResult next = lp.solve(*n.table, n.splits, deadline_.remaining());
      r_.lp_time_s += t.seconds();
      r_.lp_iterations += next.iterations;
      ++lps_;
      if (next.infeasible) {
        std::lock_guard<std::mutex> lk(mu_);
        ++r_.pruned;
        return false;
      }
      if (!next.solved) break;
      const double gain = next.bound - n.lb;
      n.lb = std::max(n.lb, next.bound);
      value = tryLpPoint(next.x);
      res = std::move(next);
      if (closeIfDone(n.lb)) return false;
      if (gain < 1e-4 * (1.0 + std::abs(n.lb))) break;
    }
    return true;
  }

  // --- branching

  // Reliability branching: candidates in order of their score; a candidate
  // with reliable pseudocosts is scored by them, an unreliable one by strong
  // branching (at most strong_branching LP pairs per node, and none after
  // kLookahead evaluations without a better candidate).
  void chooseBranch(Worker& w, Node& n, std::vector<Candidate>& cands) {
    auto by_score = [](const Candidate& a, const Candidate& b) { return a.score > b.score; };
    std::sort(cands.begin(), cands.end(), by_score);
    n.branch = cands.front().split;
    n.branch_viol = cands.front().viol;
    NodeLp* lp = lpOf(w);
    if (p_.strong_branching <= 1 || !lp) return;
    const size_t m = std::min(cands.size(), static_cast<size_t>(4 * p_.strong_branching));
    double best = -1.0;
    int strong = 0, since_best = 0;
    for (size_t i = 0; i < m; ++i) {
      const Candidate& c = cands[i];
      double s;
      if (w.pc.reliable(c.split)) {
        s = w.pc.score(c);
      } else if (strong < p_.strong_branching && since_best < kLookahead) {
        s = strongScore(w, *lp, n, c);
        ++strong;
        ++since_best;
      } else {
        continue;
      }
      if (s > best) {
        best = s;
        since_best = 0;
        n.branch = c.split;
        n.branch_viol = c.viol;
      }
    }
  }

  static constexpr int kLookahead = 4;

  // Product of the two children's LP bound gains (SCIP's product score).
  double strongScore(Worker& w, NodeLp& lp, const Node& n, const Candidate& c) {
    double gain[2];
    ReluSplit s = c.split;
    for (int a = 0; a < 2; ++a) {
      s.active = a == 1;
      Timer t;
      const auto res = lp.solveChild(*n.table, n.splits, s, deadline_.remaining());
      {
        std::lock_guard<std::mutex> lk(mu_);
        r_.lp_time_s += t.seconds();
        r_.lp_iterations += res.iterations;
        ++r_.strong_lps;
      }
      // An infeasible child counts as a large gain (it is pruned at once).
      gain[a] = res.infeasible ? 1e6 : (res.solved ? std::max(res.bound - n.lb, 0.0) : 0.0);
      if (res.solved) w.pc.record(s, s.active, gain[a], c.viol);
    }
    return std::max(gain[0], 1e-6) * std::max(gain[1], 1e-6);
  }

  // --- search

  bool before(const Node& a, const Node& b) const {  // heap order: a is popped after b
    if (p_.order == BabOrder::kDepthFirst && a.depth != b.depth) return a.depth < b.depth;
    return a.lb > b.lb;
  }

  void push(Node n) {  // mu_ held
    if (open_.size() >= max_tables_ && n.table != root_table_) n.table = root_table_;
    open_.push_back(std::move(n));
    std::push_heap(open_.begin(), open_.end(),
                   [this](const Node& a, const Node& b) { return before(a, b); });
  }

  Node pop() {  // mu_ held
    std::pop_heap(open_.begin(), open_.end(),
                  [this](const Node& a, const Node& b) { return before(a, b); });
    Node n = std::move(open_.back());
    open_.pop_back();
    return n;
  }

  // The open children of each parent, bounded (their objective bounds in one
  // batch when nodes are bounded by beta-CROWN).
  std::vector<std::vector<Node>> expand(Worker& w, const std::vector<Node>& parents) {
    std::vector<std::vector<Node>> out(parents.size());
    std::vector<Node> kids;
    std::vector<size_t> parent_of;
    for (size_t i = 0; i < parents.size() && !stopped(); ++i) {
      const Node& n = parents[i];
      for (bool active : {false, true}) {
        Node child;
        child.splits = n.splits;
        child.splits.push_back({n.branch.layer, n.branch.neuron, active});
        child.depth = n.depth + 1;
        child.lb = n.lb;
        child.beta = n.beta;
        auto t = p_.node_crown || (!lp_on_.load() && p_.crown_tables_no_lp)
                     ? bounds::crownBoundsSplit(net_, box_, child.splits, n.table.get(), p_.crown_node)
                     : withSplits(net_, *n.table, child.splits);
        if (!t) {  // empty sub-domain
          std::lock_guard<std::mutex> lk(mu_);
          ++r_.pruned;
          continue;
        }
        child.table = std::make_shared<const BoundTable>(std::move(*t));
        kids.push_back(std::move(child));
        parent_of.push_back(i);
      }
    }
    if (stopped()) return out;
    std::vector<Node*> ptrs;
    for (auto& k : kids) {
      enter(k);
      ptrs.push_back(&k);
    }
    std::vector<ObjectiveBound> obs = objectiveBounds(ptrs);
    // Every counted child is closed, dropped or kept (also once the search
    // stops: afterObjective then drops it with its bound).
    for (size_t c = 0; c < kids.size(); ++c) {
      Node& child = kids[c];
      const Node& n = parents[parent_of[c]];
      const bool open = afterObjective(w, child, std::move(obs[c]));
      w.pc.record(n.branch, child.splits.back().active, child.lb - n.lb, n.branch_viol);
      if (open) out[parent_of[c]].push_back(std::move(child));
    }
    return out;
  }

  // How many open nodes a worker bounds at once (mu_ held): BabParams::batch
  // where nodes are bounded by beta-CROWN, shared out between the workers.
  // The batch's matrices (about 16 per activation layer, one column a node)
  // stay within kBatchBytes.
  size_t batchSize() const {
    if (p_.batch <= 1 || betaIters() <= 0 || lp_on_.load()) return 1;
    const size_t share = std::max<size_t>(1, open_.size() / static_cast<size_t>(threads_));
    const size_t memory = std::max<size_t>(1, static_cast<size_t>(kBatchBytes / (16.0 * 8.0 * neurons_)));
    return std::min({static_cast<size_t>(p_.batch), share, memory});
  }
  static constexpr double kBatchBytes = 128e6;

  bool stopped() const { return stop_.load(); }

  void stop() {
    stop_ = true;
    cv_.notify_all();
  }

  // The reason to stop now, if any (time, cancel, node limit).
  std::optional<BabStatus> limitHit() const {
    if (deadline_.expired() || (p_.cancel != nullptr && p_.cancel->load()))
      return BabStatus::kTimeout;
    if (nodes_.load() >= p_.max_nodes) return BabStatus::kNodeLimit;
    return std::nullopt;
  }

  void work(int wi) {
    Worker& w = *workers_[wi];
    Timer since_log, since_publish;
    auto lowest = [](const std::vector<Node>& v) {
      double m = kInf;
      for (const Node& n : v) m = std::min(m, n.lb);
      return m;
    };
    for (;;) {
      std::vector<Node> front;  // the nodes this worker holds
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || !open_.empty() || busy_ == 0; });
        if (stop_ || open_.empty()) {
          cv_.notify_all();
          return;
        }
        const size_t take = batchSize();
        while (front.size() < take && !open_.empty()) front.push_back(pop());
        w.inflight = lowest(front);
        ++busy_;
      }
      // Dives (depth-first): each node goes on with its child of lower bound,
      // the other is queued.
      for (;;) {
        std::vector<Node> go;
        for (Node& n : front) {
          if (stopped() && !violated()) {  // another worker hit a limit: n stays open
            std::lock_guard<std::mutex> lk(mu_);
            push(std::move(n));
            continue;
          }
          if (closeIfDone(n.lb)) continue;
          if (auto why = limitHit()) {
            std::lock_guard<std::mutex> lk(mu_);
            if (!limit_) limit_ = why;
            push(std::move(n));  // still open: its bound counts
            stop();
            continue;
          }
          go.push_back(std::move(n));
        }
        front.clear();
        if (go.empty()) break;
        std::vector<std::vector<Node>> kids = expand(w, go);
        if (stopped()) {  // interrupted: the parents stay open (their bounds count)
          for (Node& n : go) {
            if (violated()) {
              drop(n.lb);
              continue;
            }
            std::lock_guard<std::mutex> lk(mu_);
            push(std::move(n));
          }
          break;
        }
        const bool dive = p_.order == BabOrder::kDepthFirst;
        {
          std::lock_guard<std::mutex> lk(mu_);
          for (auto& k : kids) {
            if (k.empty()) continue;
            std::sort(k.begin(), k.end(), [](const Node& a, const Node& b) { return a.lb < b.lb; });
            for (size_t i = dive ? 1 : 0; i < k.size(); ++i) push(std::move(k[i]));
            if (dive) front.push_back(std::move(k[0]));
          }
          if (dive) {
            const size_t take = batchSize();
            while (front.size() < take && !open_.empty()) front.push_back(pop());
          }
          w.inflight = lowest(front);
        }
        cv_.notify_all();
        if (!dive || front.empty()) break;
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        w.inflight = kInf;
        --busy_;
      }
      cv_.notify_all();
      if (wi == 0) {
        if (p_.lower_out != nullptr && since_publish.seconds() > 0.2) {
          p_.lower_out->store(globalLower());
          since_publish = Timer();
        }
        if (since_log.seconds() > p_.log_interval_s) {
          logProgress();
          since_log = Timer();
        }
      }
    }
  }

  // min over open, in-flight, closed and unresolved nodes (takes mu_).
  double globalLower() {
    std::lock_guard<std::mutex> lk(mu_);
    return globalLowerLocked();
  }

  double globalLowerLocked() const {
    double m = std::min({closed_lb_, unresolved_lb_, dropped_lb_});
    for (const auto& n : open_) m = std::min(m, n.lb);
    for (const auto& w : workers_) m = std::min(m, w->inflight);
    return m;
  }

  void logProgress() {
    std::lock_guard<std::mutex> lk(mu_);
    logInfo(fmt::format(
        "bab: {} nodes, {} open, depth {}, bound {:.6g}, best {:.6g}, closed {:.3g} %, {:.1f} s{}",
        nodes_.load(), open_.size(), max_depth_.load(), globalLowerLocked(), best_.load(),
        100.0 * closedFractionLocked(), timer_.seconds(),
        fresh_computed_.load() > 0
            ? fmt::format(", fresh bounds fixed {} of {}", fresh_fixed_.load(),
                          fresh_computed_.load())
            : std::string()));
  }

  // 1 - sum of 2^-depth over the queued nodes (nodes being bounded by a
  // worker count as closed until they are queued again).
  double closedFractionLocked() const {
    double open = 0.0;
    for (const Node& n : open_) open += std::ldexp(1.0, -n.depth);
    return std::clamp(1.0 - open, 0.0, 1.0);
  }

  void finish() {
    r_.nodes = nodes_.load();
    r_.lps = lps_.load();
    r_.lp_failures = lp_failures_.load();
    r_.max_depth = max_depth_.load();
    r_.crown_nodes = crown_nodes_.load();
    r_.crown_pruned = crown_pruned_.load();
    r_.lower_bound = globalLowerLocked();
    r_.closed_fraction = closedFractionLocked();
    // The incumbent's value bounds the minimum from above: an empty search
    // (everything closed by emptiness) still has a consistent pair.
    if (r_.lower_bound == kInf && std::isfinite(r_.objective))
      r_.lower_bound = r_.objective;
    if (violated())
      r_.status = BabStatus::kViolated;
    else if (limit_)
      r_.status = *limit_;
    else if (r_.unresolved > 0)
      r_.status = BabStatus::kIncomplete;
    else
      r_.status = p_.mode == BabMode::kDecide ? BabStatus::kHolds : BabStatus::kOptimal;
    for (const auto& w : workers_)
      if (w->lp) r_.cuts = std::max(r_.cuts, w->lp->numCuts());
    r_.time_s = timer_.seconds();
    if (p_.lower_out != nullptr) p_.lower_out->store(r_.lower_bound);
  }

  const nn::Network& net_;
  const spec::Box& box_;
  const std::vector<spec::OutputConstraint>& obj_;
  const BabParams& p_;
  Deadline deadline_;
  const int threads_;
  std::vector<VectorXd> coefs_;  // per function of obj_
  double neurons_ = 0;           // inputs and every layer's outputs
  Timer timer_;
  BabResult r_;
  std::shared_ptr<const BoundTable> root_table_;
  std::vector<LpCutRow> root_cuts_;
  size_t max_tables_ = 512;  // see kQueuedTableBytes
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> lp_on_{true};

  std::mutex best_mu_;  // r_.objective, r_.x
  std::atomic<double> best_{kInf};

  std::mutex mu_;  // the queue, the closed / unresolved bounds, r_'s counters
  std::condition_variable cv_;
  std::vector<Node> open_;  // heap ordered by before()
  int busy_ = 0;
  double closed_lb_ = kInf;      // min lower bound of nodes closed by their bound
  double unresolved_lb_ = kInf;  // min lower bound of unresolved leaves
  double dropped_lb_ = kInf;     // min lower bound of nodes left when the search stopped
  std::optional<BabStatus> limit_;
  std::atomic<bool> stop_{false};
  std::atomic<long> nodes_{0}, lps_{0}, lp_failures_{0}, crown_nodes_{0}, crown_pruned_{0};
  std::atomic<int> max_depth_{0};
  std::atomic<long> fresh_computed_{0}, fresh_fixed_{0};  // BabParams::fresh_candidates
};

}  // namespace

BabResult reluBranchAndBound(const nn::Network& net, const spec::Box& box,
                             const std::vector<spec::OutputConstraint>& obj, const BabParams& p) {
  checkInputs(net, box, obj, p);
  require(!net.hasMaxPool(),
          "branch and bound over ReLU splits does not support MaxPool layers; use --method mip "
          "or nlp");
  return Search(net, box, obj, p).run();
}

BabResult reluBranchAndBound(const nn::Network& net, const spec::Box& box, const VectorXd& c,
                             const BabParams& p) {
  require(c.size() == net.outputSize(), "bab: objective has " + std::to_string(c.size()) +
                                            " coefficients, network output has " +
                                            std::to_string(net.outputSize()));
  spec::OutputConstraint f;
  for (Eigen::Index j = 0; j < c.size(); ++j)
    if (c[j] != 0.0) f.coefs.push_back({static_cast<int>(j), c[j]});
  return reluBranchAndBound(net, box, std::vector<spec::OutputConstraint>{f}, p);
}

}  // namespace nnopt::bab
