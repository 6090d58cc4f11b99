#include "bab/relu_bab.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bab/node_lp.h"
#include "bounds/lp_tighten.h"
#include "core/atomic_minmax.h"
#include "core/error.h"
#include "core/log.h"

namespace nnopt::bab {

const char* babStatusName(BabStatus s) {
  switch (s) {
    case BabStatus::kOptimal: return "optimal";
    case BabStatus::kHolds: return "holds";
    case BabStatus::kViolated: return "violated";
    case BabStatus::kTimeout: return "timeout";
    case BabStatus::kNodeLimit: return "node_limit";
    case BabStatus::kIncomplete: return "incomplete";
  }
  return "?";
}

namespace {

using bounds::BoundTable;
using bounds::ReluSplit;
using Eigen::VectorXd;
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Node {
  std::vector<ReluSplit> splits;
  std::shared_ptr<const BoundTable> table;
  double lb = -kInf;
  int depth = 0;
  bool leaf = false;  // no unstable neuron left: nothing to branch on
  ReluSplit branch;   // the neuron to split next (`active` unused)
  double branch_viol = 0;  // its LP violation (for pseudocosts)
};

void checkInputs(const nn::Network& net, const spec::Box& box, const VectorXd& c) {
  require(box.lo.size() == net.inputSize() && box.hi.size() == net.inputSize(),
          "bab: box has " + std::to_string(box.size()) + " dimensions, network input has " +
              std::to_string(net.inputSize()));
  require(box.lo.allFinite() && box.hi.allFinite(), "bab: the input box must be finite");
  require(!box.empty(), "bab: the input box is empty (some lower bound > upper bound)");
  require(c.size() == net.outputSize(), "bab: objective has " + std::to_string(c.size()) +
                                            " coefficients, network output has " +
                                            std::to_string(net.outputSize()));
  for (const auto& l : net.layers()) {
    if (!l.isActivation()) continue;
    const auto& a = l.activation();
    const bool relu = a.kind == nn::ActKind::kRelu ||
                      (a.kind == nn::ActKind::kLeakyRelu && a.alpha >= 0 && a.alpha < 1);
    require(relu, "bab: layer '" + l.name + "' is " + nn::actName(a.kind) +
                      "; branch and bound over splits needs ReLU or LeakyReLU (alpha in [0, 1))");
  }
}

// Pre-activation interval of neuron j of activation layer i.
struct PreBound {
  double l, u;
};

PreBound preBound(const BoundTable& t, size_t i, Eigen::Index j) {
  return {t.preLo(i)[j], t.preHi(i)[j]};
}

class Search {
 public:
  Search(const nn::Network& net, const spec::Box& box, const VectorXd& c, const BabParams& p)
      : net_(net), box_(box), c_(c), p_(p), deadline_(p.time_limit, p.cancel), pc_(net.numLayers()) {}

  BabResult run() {
    rootTable();
    for (const auto& x : p_.starts) tryPoint(x);
    if (p_.starts.empty()) tryPoint(0.5 * (box_.lo + box_.hi));
    Node root;
    root.table = root_table_;
    const bool open = bound(root);
    if (lp_ && p_.purge_cuts && lp_->numCuts() > 0) r_.cuts_kept = lp_->purgeCuts();
    r_.root_bound = root.lb;
    if (open) push(std::move(root));
    loop();
    finish();
    return r_;
  }

 private:
  // --- incumbent and pruning rules

  // The best objective known: own incumbent or another solver's replayed one.
  double upper() const {
    return p_.shared_upper ? std::min(r_.objective, p_.shared_upper->load()) : r_.objective;
  }
  double gap() const { return std::max(p_.abs_gap, p_.rel_gap * std::abs(upper())); }

  // A node with this lower bound needs no further work.
  bool closes(double lb) const {
    if (p_.mode == BabMode::kDecide) return lb > p_.threshold;
    const double u = upper();
    return std::isfinite(u) && lb >= u - gap();
  }

  bool violated() const { return p_.mode == BabMode::kDecide && r_.objective < p_.threshold; }

  // Replays x (clamped into the box); returns its objective value.
  double tryPoint(const VectorXd& x) {
    VectorXd xc = x.cwiseMax(box_.lo).cwiseMin(box_.hi);
    const double v = c_.dot(net_.forward(xc));
    if (std::isfinite(v) && v < r_.objective) {
      r_.objective = v;
      r_.x = std::move(xc);
      if (p_.shared_upper) atomicMin(*p_.shared_upper, v);
    }
    return v;
  }

  // --- bounding

  void rootTable() {
    Timer t;
    auto table = bounds::crownBounds(net_, box_, p_.crown_root);
    const double lp_budget = std::min(p_.root_lp_time_limit, 0.2 * p_.time_limit);
    if (lp_budget > 0) {
      bounds::LpTightenParams lp;
      lp.time_limit_s = lp_budget;
      lp.cancel = p_.cancel;
      table = bounds::lpTightenBounds(net_, box_, table, lp);
    }
    r_.unstable_root = static_cast<int>(bounds::countRelus(net_, table).unstable);
    root_table_ = std::make_shared<const BoundTable>(std::move(table));
    if (p_.node_lp)
      lp_ = std::make_unique<NodeLp>(net_, box_, *root_table_, c_, p_.lp_node_bounds);
    r_.root_time_s = t.seconds();
  }

  // Bounds n (its table is set) and picks its branching neuron. Returns false
  // when the node is closed.
  bool bound(Node& n) {
    ++r_.nodes;
    r_.max_depth = std::max(r_.max_depth, n.depth);
    if (n.depth > 0 && n.depth <= p_.tighten_depth) {
      bounds::LpTightenParams lp;
      lp.time_limit_s = std::min(p_.root_lp_time_limit, deadline_.remaining());
      lp.cancel = p_.cancel;
      n.table = std::make_shared<const BoundTable>(
          bounds::lpTightenBounds(net_, box_, *n.table, lp));
    }
    const auto d = bounds::crownLowerBoundDetail(net_, box_, *n.table, c_, p_.crown_node);
    tryPoint(d.x);
    n.lb = std::max(n.lb, d.bound);
    if (closeIfDone(n.lb)) return false;
    std::vector<Candidate> cands = candidates(*n.table, d.act_coef);
    double leaf_value = kInf;  // replayed value of the node's last LP point
    if (p_.node_lp) {
      NodeLpResult lp;
      if (!nodeLp(n, lp, leaf_value)) return false;
      addViolations(cands, lp);
    }
    n.leaf = cands.empty();
    if (n.leaf) {
      closeLeaf(n, leaf_value);
      return false;
    }
    chooseBranch(n, cands);
    return true;
  }

  // A leaf's LP is exact up to the solver's tolerances and the 1e-7 slack of
  // the variable bounds: its minimum lies in [lb, value]. Closed (with its
  // bound kept for the global one) when that interval is below the leaf
  // tolerance, else left unresolved.
  void closeLeaf(const Node& n, double value) {
    const double tol = std::max(gap(), kLeafTol * (1.0 + std::abs(value)));
    if (p_.mode == BabMode::kOptimize && std::isfinite(value) && value - n.lb <= tol) {
      ++r_.pruned;
      closed_lb_ = std::min(closed_lb_, n.lb);
      return;
    }
    ++r_.unresolved;
    unresolved_lb_ = std::min(unresolved_lb_, n.lb);
  }

  static constexpr double kLeafTol = 1e-6;

  // Closes the node when its bound allows (or the decision is already made).
  bool closeIfDone(double lb) {
    if (violated()) return true;
    if (!closes(lb)) return false;
    ++r_.pruned;
    closed_lb_ = std::min(closed_lb_, lb);
    return true;
  }

  // Returns false when the node LP closes the node.
  bool nodeLp(Node& n, NodeLpResult& lp, double& value) {
    Timer t;
    lp = p_.fresh_node_lp ? solveFreshNodeLp(net_, box_, *n.table, c_, deadline_.remaining())
                          : lp_->solve(*n.table, deadline_.remaining());
    r_.lp_time_s += t.seconds();
    r_.lp_iterations += lp.iterations;
    if (lp.infeasible) {
      ++r_.pruned;
      return false;
    }
    if (!lp.solved) {
      ++r_.lp_failures;
      return true;
    }
    ++r_.lps;
    n.lb = std::max(n.lb, lp.bound);
    value = tryPoint(lp.x);
    if (closeIfDone(n.lb)) return false;
    return cutRounds(n, lp, value);
  }

  // Cut rounds (NodeLp::addCuts) with re-solves while they raise the bound.
  bool cutRounds(Node& n, NodeLpResult& lp, double& value) {
    const int rounds = n.depth == 0 ? p_.cut_rounds_root : p_.cut_rounds_node;
    for (int k = 0; k < rounds && !p_.fresh_node_lp && !deadline_.expired(); ++k) {
      const int room = p_.max_cuts - lp_->numCuts();
      if (room <= 0 || lp_->addCuts(p_.cut_min_violation, room) == 0) break;
      Timer t;
      NodeLpResult next = lp_->solve(*n.table, deadline_.remaining());
      r_.lp_time_s += t.seconds();
      r_.lp_iterations += next.iterations;
      ++r_.lps;
      if (next.infeasible) {
        ++r_.pruned;
        return false;
      }
      if (!next.solved) break;
      const double gain = next.bound - n.lb;
      n.lb = std::max(n.lb, next.bound);
      value = tryPoint(next.x);
      lp = std::move(next);
      if (closeIfDone(n.lb)) return false;
      if (gain < 1e-4 * (1.0 + std::abs(n.lb))) break;
    }
    return true;
  }

  // --- branching

  struct Candidate {
    ReluSplit split;  // `active` unused
    double babsr = 0;     // |coef| * triangle intercept
    double coef = 0;      // |coef| of the CROWN objective bound
    double viol = 0;      // y - relu(t) at the node LP solution
    double score = 0;     // ranking for the choice / strong branching
  };

  // Unstable (hence unsplit) neurons of the node with their BaBSR scores: the
  // intercept of the triangle relaxation, weighted by the neuron's coefficient
  // in the CROWN objective bound.
  std::vector<Candidate> candidates(const BoundTable& t, const std::vector<VectorXd>& coef) const {
    std::vector<Candidate> out;
    for (size_t i = 0; i < net_.numLayers(); ++i) {
      if (!net_.layers()[i].isActivation()) continue;
      for (Eigen::Index j = 0; j < t.preLo(i).size(); ++j) {
        const auto [l, u] = preBound(t, i, j);
        if (!(l < 0 && u > 0)) continue;
        Candidate c;
        c.split = {i, j, true};
        c.coef = coef[i].size() ? std::abs(coef[i][j]) : 0.0;
        // A tiny unweighted term breaks ties among neurons the bound ignores.
        c.babsr = (c.coef + 1e-6) * (-l * u / (u - l));
        c.score = c.babsr;
        out.push_back(c);
      }
    }
    return out;
  }

  // LP rule: the estimated bound change |coef| * (y - relu(t)) at the LP
  // solution (the relaxation gap the LP actually uses), BaBSR as tie-break.
  void addViolations(std::vector<Candidate>& cands, const NodeLpResult& lp) const {
    if (p_.branching != BabBranching::kLpViolation || lp.relus.empty()) return;
    std::vector<std::vector<double>> viol(net_.numLayers());
    for (const auto& r : lp.relus) {
      auto& v = viol[r.layer];
      if (v.empty()) v.assign(net_.layerInSize(r.layer), 0.0);
      const double alpha = net_.layers()[r.layer].activation().kind == nn::ActKind::kLeakyRelu
                               ? net_.layers()[r.layer].activation().alpha
                               : 0.0;
      v[r.neuron] = std::max(0.0, r.y - std::max(r.t, alpha * r.t));
    }
    for (auto& c : cands) {
      const auto& v = viol[c.split.layer];
      const double g = v.empty() ? 0.0 : v[c.split.neuron];
      c.viol = g;
      c.score = (c.coef + 1e-6) * g + 1e-3 * c.babsr;
    }
  }

  // Reliability branching: candidates in order of their LP-rule score; a
  // candidate with reliable pseudocosts is scored by them, an unreliable one
  // by strong branching (at most strong_branching LPs pairs per node, and
  // none after `lookahead` evaluations without a better candidate).
  void chooseBranch(Node& n, std::vector<Candidate>& cands) {
    auto by_score = [](const Candidate& a, const Candidate& b) { return a.score > b.score; };
    std::sort(cands.begin(), cands.end(), by_score);
    n.branch = cands.front().split;
    n.branch_viol = cands.front().viol;
    if (p_.strong_branching <= 1 || !lp_) return;
    const size_t m = std::min(cands.size(), static_cast<size_t>(4 * p_.strong_branching));
    double best = -1.0;
    int strong = 0, since_best = 0;
    for (size_t i = 0; i < m; ++i) {
      const Candidate& c = cands[i];
      double s;
      if (reliable(c.split)) {
        s = pseudoScore(c);
      } else if (strong < p_.strong_branching && since_best < kLookahead) {
        s = strongScore(n, c);
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
  static constexpr int kReliable = 2;  // observations per direction

  struct PseudoCost {
    double sum[2] = {0, 0};  // bound gain per unit of LP violation, inactive / active child
    int n[2] = {0, 0};
  };

  PseudoCost& pc(const ReluSplit& s) {
    auto& v = pc_[s.layer];
    if (v.empty()) v.resize(net_.layerInSize(s.layer));
    return v[s.neuron];
  }

  bool reliable(const ReluSplit& s) {
    const PseudoCost& q = pc(s);
    return std::min(q.n[0], q.n[1]) >= kReliable;
  }

  void recordGain(const ReluSplit& s, bool active, double gain, double viol) {
    if (!(viol > 1e-9) || !std::isfinite(gain)) return;
    PseudoCost& q = pc(s);
    q.sum[active] += std::max(gain, 0.0) / viol;
    ++q.n[active];
  }

  double pseudoScore(const Candidate& c) {
    const PseudoCost& q = pc(c.split);
    const double g0 = q.sum[0] / q.n[0] * c.viol, g1 = q.sum[1] / q.n[1] * c.viol;
    return std::max(g0, 1e-6) * std::max(g1, 1e-6);
  }

  // Product of the two children's LP bound gains (SCIP's product score).
  double strongScore(const Node& n, const Candidate& c) {
    double gain[2];
    ReluSplit s = c.split;
    for (int a = 0; a < 2; ++a) {
      s.active = a == 1;
      Timer t;
      const auto lp = lp_->solveChild(*n.table, s, deadline_.remaining());
      r_.lp_time_s += t.seconds();
      r_.lp_iterations += lp.iterations;
      ++r_.strong_lps;
      // An infeasible child counts as a large gain (it is pruned at once).
      gain[a] = lp.infeasible ? 1e6 : (lp.solved ? std::max(lp.bound - n.lb, 0.0) : 0.0);
      if (lp.solved) recordGain(s, s.active, gain[a], c.viol);
    }
    return std::max(gain[0], 1e-6) * std::max(gain[1], 1e-6);
  }

  // --- search

  bool before(const Node& a, const Node& b) const {  // heap order: a is popped after b
    if (p_.order == BabOrder::kDepthFirst && a.depth != b.depth) return a.depth < b.depth;
    return a.lb > b.lb;
  }

  void push(Node n) {
    open_.push_back(std::move(n));
    std::push_heap(open_.begin(), open_.end(),
                   [this](const Node& a, const Node& b) { return before(a, b); });
  }

  Node pop() {
    std::pop_heap(open_.begin(), open_.end(),
                  [this](const Node& a, const Node& b) { return before(a, b); });
    Node n = std::move(open_.back());
    open_.pop_back();
    return n;
  }

  void expand(const Node& n) {
    for (bool active : {false, true}) {
      Node child;
      child.splits = n.splits;
      child.splits.push_back({n.branch.layer, n.branch.neuron, active});
      child.depth = n.depth + 1;
      child.lb = n.lb;
      auto t = bounds::crownBoundsSplit(net_, box_, child.splits, n.table.get(), p_.crown_node);
      if (!t) {
        ++r_.pruned;  // empty sub-domain
        continue;
      }
      child.table = std::make_shared<const BoundTable>(std::move(*t));
      const bool open = bound(child);
      recordGain(n.branch, active, child.lb - n.lb, n.branch_viol);
      if (open) push(std::move(child));
      if (violated()) return;
    }
  }

  void loop() {
    Timer since_log, since_publish;
    while (!open_.empty() && !violated()) {
      if (deadline_.expired() || (p_.cancel != nullptr && p_.cancel->load())) {
        stop_ = BabStatus::kTimeout;
        return;
      }
      if (p_.lower_out != nullptr && since_publish.seconds() > 0.2) {
        p_.lower_out->store(std::min({openMin(), closed_lb_, unresolved_lb_}));
        since_publish = Timer();
      }
      if (r_.nodes >= p_.max_nodes) {
        stop_ = BabStatus::kNodeLimit;
        return;
      }
      Node n = pop();
      if (closeIfDone(n.lb)) continue;
      expand(n);
      if (since_log.seconds() > p_.log_interval_s) {
        logProgress();
        since_log = Timer();
      }
    }
  }

  double openMin() const {
    double m = kInf;
    for (const auto& n : open_) m = std::min(m, n.lb);
    return m;
  }

  void logProgress() const {
    logInfo(fmt::format("bab: {} nodes, {} open, depth {}, bound {:.6g}, best {:.6g}, {:.1f} s",
                        r_.nodes, open_.size(), r_.max_depth,
                        std::min({openMin(), closed_lb_, unresolved_lb_}), r_.objective,
                        timer_.seconds()));
  }

  void finish() {
    r_.lower_bound = std::min({openMin(), closed_lb_, unresolved_lb_});
    // The incumbent's value bounds the minimum from above: an empty search
    // (everything closed by emptiness) still has a consistent pair.
    if (!std::isfinite(r_.lower_bound) && std::isfinite(r_.objective))
      r_.lower_bound = r_.objective;
    if (violated())
      r_.status = BabStatus::kViolated;
    else if (stop_)
      r_.status = *stop_;
    else if (r_.unresolved > 0)
      r_.status = BabStatus::kIncomplete;
    else
      r_.status = p_.mode == BabMode::kDecide ? BabStatus::kHolds : BabStatus::kOptimal;
    r_.cuts = lp_ ? lp_->numCuts() : 0;
    r_.time_s = timer_.seconds();
    if (p_.lower_out != nullptr) p_.lower_out->store(r_.lower_bound);
  }

  const nn::Network& net_;
  const spec::Box& box_;
  const VectorXd& c_;
  const BabParams& p_;
  Deadline deadline_;
  std::vector<std::vector<PseudoCost>> pc_;  // per activation layer and neuron
  Timer timer_;
  BabResult r_;
  std::shared_ptr<const BoundTable> root_table_;
  std::unique_ptr<NodeLp> lp_;
  std::vector<Node> open_;  // heap ordered by before()
  double closed_lb_ = kInf;      // min lower bound of nodes closed by their bound
  double unresolved_lb_ = kInf;  // min lower bound of unresolved leaves
  std::optional<BabStatus> stop_;
};

}  // namespace

BabResult reluBranchAndBound(const nn::Network& net, const spec::Box& box, const VectorXd& c,
                             const BabParams& p) {
  checkInputs(net, box, c);
  require(!net.hasMaxPool(),
          "branch and bound over ReLU splits does not support MaxPool layers; use --method mip "
          "or nlp");
  return Search(net, box, c, p).run();
}

}  // namespace nnopt::bab
