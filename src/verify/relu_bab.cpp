#include "verify/relu_bab.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>

#include "attack/pgd.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "core/log.h"
#include "solve/lp_session.h"
#include "verify/disjunct_model.h"

namespace nnopt::verify {

namespace {

using Eigen::VectorXd;

struct Node {
  std::vector<signed char> fix;  // per ReLU with a binary: -1 free, 0 inactive, 1 active
  double bound = -std::numeric_limits<double>::infinity();  // parent's LP bound
  int depth = 0;
  // Bounds sound for the node's sub-domain (the root table, or the parent's
  // CROWN table with the parent's splits).
  std::shared_ptr<const bounds::BoundTable> table;
};

// A node's CROWN bounds: its table, and the back-substitution coefficients of
// the constraint whose lower bound came closest to refuting it.
struct CrownNode {
  std::shared_ptr<const bounds::BoundTable> table;
  std::vector<VectorXd> act_coef;
};

// Deepest first (keeps the LP warm start one bound change away and the queue
// small), ties by lowest bound.
struct NodeLater {
  bool operator()(const Node& a, const Node& b) const {
    if (a.depth != b.depth) return a.depth < b.depth;
    return a.bound > b.bound;
  }
};

// One ReLU with a binary in the model.
struct Relu {
  int z, pre, y;
  nn::Activation act;
  size_t layer;
  int64_t neuron;
  double l, u;  // pre-activation bounds
};

// Queued nodes beyond this many share the root table (a CIFAR CNN's table is
// about 0.5 MB).
constexpr size_t kMaxQueuedTables = 512;

class ReluBab {
 public:
  ReluBab(const nn::Network& net, const spec::Box& box, const bounds::BoundTable& bt,
          const std::vector<spec::OutputConstraint>& conj, const ReluBabParams& p)
      : net_(net), box_(box), conj_(conj), p_(p), deadline_(p.time_limit, p.cancel),
        root_table_(std::make_shared<const bounds::BoundTable>(bt)),
        lp_on_(p.node_bounds != ReluNodeBounds::kCrown) {
    formulate::EmbedOptions opt;
    opt.relu = formulate::ReluEncoding::kBigM;
    dm_ = buildDisjunctModel(net, bt, conj, opt);
    if (p.drop_dead_rows) dropDeadRows();
    for (const auto& a : dm_.e.relu_aux) {
      if (a.z < 0) continue;
      Relu r;
      r.z = a.z;
      r.pre = a.layer == 0 ? dm_.e.input_vars[a.neuron] : dm_.e.layer_vars[a.layer - 1][a.neuron];
      r.y = dm_.e.layer_vars[a.layer][a.neuron];
      r.act = net.layers()[a.layer].activation();
      r.layer = a.layer;
      r.neuron = a.neuron;
      r.l = bt.preLo(a.layer)[a.neuron];
      r.u = bt.preHi(a.layer)[a.neuron];
      relus_.push_back(r);
    }
    one_.disjuncts = {conj};
    for (const auto& c : conj) {
      VectorXd v = VectorXd::Zero(net.outputSize());
      for (const auto& [j, a] : c.coefs) v[j] += a;
      coefs_.push_back(std::move(v));
    }
    // Slopes of every activation neuron under the root bounds: 1 / 0 for
    // stable ones (alpha for inactive LeakyReLU), -1 marks unstable ones.
    for (size_t i = 0; i < net.numLayers(); ++i) {
      if (!net.layers()[i].isActivation()) {
        slope_.emplace_back();
        continue;
      }
      const auto& act = net.layers()[i].activation();
      const VectorXd& l = bt.preLo(i);
      const VectorXd& u = bt.preHi(i);
      VectorXd s(l.size());
      for (Eigen::Index j = 0; j < l.size(); ++j)
        s[j] = l[j] >= 0 ? 1.0 : (u[j] <= 0 ? act.apply(-1.0) / -1.0 : -1.0);
      slope_.push_back(std::move(s));
    }
    index_.resize(net.numLayers());
    for (size_t k = 0; k < relus_.size(); ++k) {
      auto& idx = index_[relus_[k].layer];
      if (idx.empty()) idx.assign(net.layers()[relus_[k].layer].outSize(), -1);
      idx[relus_[k].neuron] = static_cast<int>(k);
    }
  }

  ReluBabResult run() {
    Timer timer;
    res_.unstable = static_cast<int>(relus_.size());
    Node root;
    root.fix.assign(relus_.size(), -1);
    root.table = root_table_;
    queue_.push(std::move(root));
    const int n = std::max(1, p_.threads);
    std::vector<std::thread> pool;
    for (int i = 1; i < n; ++i) pool.emplace_back([this] { worker(); });
    worker();
    for (auto& t : pool) t.join();
    res_.nodes = nodes_.load();
    res_.pruned = pruned_.load();
    res_.unresolved = unresolved_.load();
    res_.max_depth = max_depth_.load();
    res_.lp_iterations = iterations_.load();
    res_.crown_nodes = crown_nodes_.load();
    res_.crown_pruned = crown_pruned_.load();
    res_.lp_dropped = lp_dropped_.load();
    if (found_)
      res_.status = BabStatus::kFound;
    else if (timed_out_)
      res_.status = BabStatus::kTimeout;
    else if (limit_hit_ || res_.unresolved > 0)
      res_.status = BabStatus::kIncomplete;
    else
      res_.status = BabStatus::kProven;
    res_.time_s = timer.seconds();
    return res_;
  }

 private:
  // Per worker: an LP session and the binary bounds currently loaded in it.
  struct Session {
    solve::LpSession lp;
    std::vector<signed char> loaded;
    explicit Session(const model::MathModel& m, size_t n) : lp(m), loaded(n, -1) {}
  };

  // Removes the rows that only define a variable used nowhere else (the
  // pre-activations of ReLUs proven inactive): the row then only says that
  // W x + b lies within the variable's bounds. Sound bounds imply that for
  // every real point of the box, so the LP stays a relaxation and a node
  // whose ReLUs are all fixed is still exact on its region; the LP gets much
  // smaller (a first-layer row has one entry per input).
  void dropDeadRows() {
    auto& m = dm_.m;
    std::vector<int> uses(m.numVars(), 0);
    for (const auto& r : m.rows())
      for (const auto& t : r.terms) ++uses[t.var];
    for (const auto& t : m.objLinear()) uses[t.var] += 2;
    std::vector<bool> first_layer(m.numVars(), false);
    if (!dm_.e.layer_vars.empty())
      for (int v : dm_.e.layer_vars[0])
        if (v >= 0) first_layer[v] = true;
    std::vector<model::Row> kept;
    for (auto& r : m.rows()) {
      bool dead = false;
      for (const auto& t : r.terms)
        if (uses[t.var] == 1 && (first_layer[t.var] || p_.drop_dead_rows_all_layers)) dead = true;
      if (!dead || r.nl.kind != model::NlKind::kNone) kept.push_back(std::move(r));
    }
    dropped_rows_ = m.numRows() - static_cast<int>(kept.size());
    m.rows() = std::move(kept);
  }

  void load(Session& s, const Node& node) {
    for (size_t i = 0; i < relus_.size(); ++i) {
      if (s.loaded[i] == node.fix[i]) continue;
      const signed char f = node.fix[i];
      s.lp.setVarBounds(relus_[i].z, f < 0 ? 0.0 : f, f < 0 ? 1.0 : f);
      s.loaded[i] = f;
    }
  }

  void record(const VectorXd& x, const VectorXd& y) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!found_) {
      found_ = true;
      res_.x = x;
      res_.y = y;
    }
    stop_ = true;
    cv_.notify_all();
  }

  // Bounds a node; returns its children (empty when pruned, found or a leaf).
  std::vector<Node> process(Session& s, const Node& node) {
    if (++nodes_ > p_.max_nodes) {
      limit_hit_ = true;
      stop_ = true;
      return {};
    }
    int md = max_depth_.load();
    while (node.depth > md && !max_depth_.compare_exchange_weak(md, node.depth)) {
    }
    CrownNode cn;
    if (!lp_on_.load()) return crownBound(node, cn) ? crownBranch(node, cn) : std::vector<Node>{};
    load(s, node);
    const bool capped = node.depth == 0 && p_.node_bounds == ReluNodeBounds::kAuto;
    Timer lp_timer;
    auto r = s.lp.solve(capped ? std::min(p_.root_lp_time_s, deadline_.remaining())
                               : deadline_.remaining());
    if (node.depth == 0) res_.root_lp_s = lp_timer.seconds();
    iterations_ += r.iterations;
    if (r.status == solve::SolveStatus::kInfeasible) {
      ++pruned_;
      return {};
    }
    if (r.status != solve::SolveStatus::kOptimal) {
      if (deadline_.expired()) {
        timed_out_ = true;
        stop_ = true;
        return {};
      }
      if (capped) {  // the LP costs more than the search can afford: CROWN alone
        lp_on_ = false;
        lp_dropped_ = true;
      }
      // LP trouble: in kAuto the node is bounded and branched by CROWN
      // instead, with kLp it stays undecided.
      if (p_.node_bounds == ReluNodeBounds::kAuto)
        return crownBound(node, cn) ? crownBranch(node, cn) : std::vector<Node>{};
      ++unresolved_;
      return {};
    }
    const double bound = std::isnan(r.bound) ? -std::numeric_limits<double>::infinity() : r.bound;
    if (node.depth == 0) res_.root_bound = bound;
    if (bound > p_.prune_tol) {
      ++pruned_;
      return {};
    }
    const std::vector<double> sol = s.lp.primal();
    const VectorXd x = inputOf(dm_, sol, box_);
    const VectorXd y = net_.forward(x);
    if (conjunctionMargin(conj_, y) <= 0.0) {
      record(x, y);
      return {};
    }
    if (p_.pgd_steps > 0) {
      attack::PgdParams pp;
      pp.restarts = 1;
      pp.steps = p_.pgd_steps;
      pp.step_init = 0.05;
      pp.step_final = 0.001;
      pp.starts = {x};
      auto pr = attack::pgdMinimize(net_, box_, one_, pp);
      if (pr.reached) {
        record(pr.x, pr.y);
        return {};
      }
    }
    const int best = chooseBranch(node, sol, y);
    if (best < 0) {
      // The LP point is exact on this region: its value is the region's
      // minimum up to tolerances, and the bound did not exceed prune_tol.
      ++unresolved_;
      return {};
    }
    // kids[0] is explored first: the phase the LP point leans to.
    const int first = sol[relus_[best].pre] > 0 ? 1 : 0;
    return children(node, node.table, best, first, bound);
  }

  std::vector<Node> children(const Node& node, const std::shared_ptr<const bounds::BoundTable>& t,
                             int best, int first, double bound) {
    std::vector<Node> kids(2);
    for (int v = 0; v < 2; ++v) {
      kids[v].fix = node.fix;
      kids[v].fix[best] = static_cast<signed char>(v == 0 ? first : 1 - first);
      kids[v].bound = bound;
      kids[v].depth = node.depth + 1;
      kids[v].table = t;
    }
    return kids;
  }

  // CROWN bounds of the node's sub-domain (see relu_bab.h). False when the
  // node is closed: empty, refuted by some constraint, or its CROWN
  // minimiser replays to a counterexample.
  bool crownBound(const Node& node, CrownNode& cn) {
    ++crown_nodes_;
    std::vector<bounds::ReluSplit> splits;
    for (size_t i = 0; i < relus_.size(); ++i)
      if (node.fix[i] >= 0) splits.push_back({relus_[i].layer, relus_[i].neuron, node.fix[i] == 1});
    auto t = bounds::crownBoundsSplit(net_, box_, splits, node.table.get());
    if (!t) {  // the splits contradict each other: no input reaches this node
      ++pruned_;
      ++crown_pruned_;
      return false;
    }
    cn.table = std::make_shared<const bounds::BoundTable>(std::move(*t));
    double closest = -std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < conj_.size(); ++k) {
      auto d = bounds::crownLowerBoundDetail(net_, box_, *cn.table, coefs_[k]);
      const double v = d.bound - conj_[k].rhs;
      if (v > p_.prune_tol) {
        ++pruned_;
        ++crown_pruned_;
        return false;
      }
      const VectorXd y = net_.forward(d.x);
      if (conjunctionMargin(conj_, y) <= 0.0) {
        record(d.x, y);
        return false;
      }
      if (k == 0 || v > closest) {  // the first always: a bound may be -inf
        closest = v;
        cn.act_coef = std::move(d.act_coef);
      }
    }
    return true;
  }

  // Branches on the free neuron unstable under the node's CROWN table with
  // the largest BaBSR score: the backward coefficient lambda of its output in
  // the closest constraint's bound costs max(0, -lambda) times the chord's
  // intercept -u l (1 - alpha) / (u - l), which a split removes; ties by the
  // width u - l. No such neuron: an unresolved leaf (the LP would decide it).
  std::vector<Node> crownBranch(const Node& node, const CrownNode& cn) {
    const bounds::BoundTable& t = *cn.table;
    int best = -1;
    double best_score = -1.0, best_width = 0.0;
    for (size_t i = 0; i < relus_.size(); ++i) {
      if (node.fix[i] >= 0) continue;
      const Relu& rl = relus_[i];
      const double l = t.preLo(rl.layer)[rl.neuron], u = t.preHi(rl.layer)[rl.neuron];
      if (!(l < 0 && u > 0)) continue;
      const bool has = rl.layer < cn.act_coef.size() && cn.act_coef[rl.layer].size() > rl.neuron;
      const double lambda = has ? cn.act_coef[rl.layer][rl.neuron] : 0.0;
      const double alpha = rl.act.apply(-1.0) / -1.0;
      const double score = std::max(0.0, -lambda) * (-u * l * (1.0 - alpha) / (u - l));
      if (score > best_score || (score == best_score && u - l > best_width)) {
        best = static_cast<int>(i);
        best_score = score;
        best_width = u - l;
      }
    }
    if (best < 0) {
      ++unresolved_;
      return {};
    }
    const double l = t.preLo(relus_[best].layer)[relus_[best].neuron];
    const double u = t.preHi(relus_[best].layer)[relus_[best].neuron];
    return children(node, cn.table, best, u > -l ? 1 : 0, node.bound);
  }

  // Branching neuron, -1 when no free neuron has a relaxation gap at the LP
  // point. Score (BaBSR-like, ReluBabParams::branching):
  //  - gap: y - relu(t) at the LP point;
  //  - intercept: the CROWN back-substitution of the constraint active at the
  //    LP point (fixed neurons exact, free ones relaxed by the triangle's
  //    chord above and the adaptive line below) gives each free neuron the
  //    coefficient lambda of its output; the chord intercept -u l / (u - l)
  //    costs max(0, -lambda) * intercept in the lower bound, which a split
  //    removes. Ties and zero scores fall back to the gap.
  int chooseBranch(const Node& node, const std::vector<double>& sol, const VectorXd& y) {
    std::vector<double> gap(relus_.size(), 0.0);
    bool any = false;
    for (size_t i = 0; i < relus_.size(); ++i) {
      if (node.fix[i] >= 0) continue;
      const Relu& rl = relus_[i];
      gap[i] = sol[rl.y] - rl.act.apply(sol[rl.pre]);
      any |= gap[i] > 1e-9;
    }
    if (!any) return -1;
    std::vector<double> score(relus_.size(), 0.0);
    if (p_.branching == ReluBranching::kIntercept) {
      int k = 0;
      double worst = -std::numeric_limits<double>::infinity();
      for (size_t j = 0; j < conj_.size(); ++j) {
        const double v = conj_[j].eval(y);
        if (v > worst) worst = v, k = static_cast<int>(j);
      }
      if (!conj_.empty()) interceptScores(node, coefs_[k], score);
    }
    int best = -1;
    for (size_t i = 0; i < relus_.size(); ++i) {
      if (node.fix[i] >= 0 || !(gap[i] > 1e-9)) continue;
      if (best < 0 || score[i] > score[best] || (score[i] == score[best] && gap[i] > gap[best]))
        best = static_cast<int>(i);
    }
    return best;
  }

  void interceptScores(const Node& node, const VectorXd& c, std::vector<double>& score) {
    VectorXd a = c;
    for (int i = static_cast<int>(net_.numLayers()) - 1; i >= 0; --i) {
      const auto& layer = net_.layers()[i];
      if (layer.isDense()) {
        a = layer.dense().W.applyT(a);
        continue;
      }
      const VectorXd& s = slope_[i];
      const auto& idx = index_[i];
      for (Eigen::Index j = 0; j < a.size(); ++j) {
        if (s[j] >= 0) {
          a[j] *= s[j];
          continue;
        }
        const int k = idx.empty() ? -1 : idx[j];
        if (k < 0) {  // not expected: unstable neurons all have a binary
          a[j] *= 0.5;
          continue;
        }
        const Relu& rl = relus_[k];
        const signed char f = node.fix[k];
        if (f == 1) continue;  // exact, slope 1
        const double alpha = rl.act.apply(-1.0) / -1.0;
        if (f == 0) {
          a[j] *= alpha;
          continue;
        }
        const double l = rl.l, u = rl.u;
        const double chord = (u - alpha * l) / (u - l);
        const double intercept = -u * l * (1.0 - alpha) / (u - l);
        if (a[j] < 0) {
          score[k] = -a[j] * intercept;
          a[j] *= chord;
        } else {
          a[j] *= u > -l ? 1.0 : alpha;
        }
      }
    }
  }

  void worker() {
    Session s(dm_.m, relus_.size());
    for (;;) {
      Node node;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || !queue_.empty() || busy_ == 0; });
        if (stop_ || queue_.empty()) {
          cv_.notify_all();
          return;
        }
        if (deadline_.expired()) {
          timed_out_ = true;
          stop_ = true;
          cv_.notify_all();
          return;
        }
        node = queue_.top();
        queue_.pop();
        ++busy_;
      }
      // Dive: keep the first child, queue the second.
      for (;;) {
        std::vector<Node> kids = process(s, node);
        if (kids.empty() || stop_) break;
        if (deadline_.expired()) {  // the kids are dropped: the search is not finished
          timed_out_ = true;
          stop_ = true;
          break;
        }
        {
          std::lock_guard<std::mutex> lk(mu_);
          // Queued nodes keep their parent's table while the queue is short;
          // beyond that the root table (sound, looser) bounds their memory.
          if (queue_.size() >= kMaxQueuedTables) kids[1].table = root_table_;
          queue_.push(std::move(kids[1]));
        }
        cv_.notify_one();
        node = std::move(kids[0]);
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        --busy_;
      }
      cv_.notify_all();
    }
  }

  const nn::Network& net_;
  const spec::Box& box_;
  const std::vector<spec::OutputConstraint>& conj_;
  const ReluBabParams& p_;
  Deadline deadline_;
  std::shared_ptr<const bounds::BoundTable> root_table_;
  std::atomic<bool> lp_on_;  // false: CROWN bounds every node (kCrown, or kAuto's LP dropped)
  DisjunctModel dm_;
  std::vector<Relu> relus_;
  int dropped_rows_ = 0;
  spec::OutputSpec one_;
  std::vector<VectorXd> coefs_;          // per constraint of conj
  std::vector<VectorXd> slope_;          // per activation layer (see constructor)
  std::vector<std::vector<int>> index_;  // (layer, neuron) -> index in relus_

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Node, std::vector<Node>, NodeLater> queue_;
  int busy_ = 0;
  std::atomic<bool> stop_{false}, timed_out_{false}, limit_hit_{false};
  bool found_ = false;
  std::atomic<long> nodes_{0}, pruned_{0}, unresolved_{0}, iterations_{0};
  std::atomic<long> crown_nodes_{0}, crown_pruned_{0};
  std::atomic<bool> lp_dropped_{false};
  std::atomic<int> max_depth_{0};
  ReluBabResult res_;
};

}  // namespace

ReluBabResult reluBranchAndBound(const nn::Network& net, const spec::Box& box,
                                 const bounds::BoundTable& bt,
                                 const std::vector<spec::OutputConstraint>& conj,
                                 const ReluBabParams& p) {
  require(net.isPiecewiseLinear(),
          "ReLU branch and bound needs a piecewise-linear network (ReLU/LeakyReLU)");
  require(!net.hasMaxPool(), "ReLU branch and bound does not support MaxPool layers");
  require(box.size() == net.inputSize(), "ReLU B&B: box has " + std::to_string(box.size()) +
                                             " dimensions, network input has " +
                                             std::to_string(net.inputSize()));
  ReluBab bab(net, box, bt, conj, p);
  return bab.run();
}

}  // namespace nnopt::verify
