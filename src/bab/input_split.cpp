#include "bab/input_split.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "bounds/refine.h"
#include "core/error.h"
#include "core/log.h"
#include "nn/gradient.h"

namespace nnopt::bab {

namespace {

using Eigen::VectorXd;

struct Node {
  spec::Box box;
  std::vector<int> alive;  // indices of disjuncts not refuted in an ancestor
  double score = 0.0;      // min over live disjuncts of their best constraint bound
  int depth = 0;
  std::vector<int> cands;  // split dimensions to try, best first
  // The node's bounds, to refine its children from (may be null: then the
  // children get full CROWN bounds).
  std::shared_ptr<const bounds::BoundTable> table;
};

// Priority-queue comparator ("a is served after b").
struct NodeLess {
  BabOrder order;
  bool operator()(const Node& a, const Node& b) const {
    if (order == BabOrder::kDepthFirst && a.depth != b.depth) return a.depth < b.depth;
    return a.score > b.score;
  }
};

// Input coefficients of the CROWN lower bound of c^T f(x) with the
// relaxations defined by the table (the same back-substitution as
// bounds::crownLowerBound without alpha): the bound loses |a_i| * radius_i in
// dimension i.
VectorXd crownInputCoefficients(const nn::Network& net, const bounds::BoundTable& t,
                                const VectorXd& c, bounds::ReluLowerSlope mode) {
  VectorXd a = c;
  for (int i = static_cast<int>(net.numLayers()) - 1; i >= 0; --i) {
    const auto& layer = net.layers()[i];
    if (layer.isDense()) {
      a = layer.dense().W.applyT(a);
      continue;
    }
    const auto& act = layer.activation();
    const VectorXd& l = t.preLo(i);
    const VectorXd& u = t.preHi(i);
    for (Eigen::Index j = 0; j < a.size(); ++j) {
      auto r = bounds::relaxActivation(act, l[j], u[j], mode);
      a[j] *= a[j] > 0 ? r.lw : r.uw;
    }
  }
  return a;
}

class InputSplitSearch {
 public:
  InputSplitSearch(const nn::Network& net, const spec::Box& box, const spec::OutputSpec& spec,
           const InputSplitParams& p)
      : net_(net),
        root_(box),
        spec_(spec),
        p_(p),
        deadline_(p.time_limit, p.cancel),
        queue_(NodeLess{p.order}) {
    for (const auto& conj : spec.disjuncts) {
      std::vector<VectorXd> cs;
      for (const auto& c : conj) {
        VectorXd v = VectorXd::Zero(net.outputSize());
        for (const auto& [j, a] : c.coefs) {
          require(j >= 0 && j < net.outputSize(),
                  "input B&B: output constraint refers to Y_" + std::to_string(j) +
                      " but the network has " + std::to_string(net.outputSize()) + " outputs");
          v[j] += a;
        }
        cs.push_back(std::move(v));
      }
      coefs_.push_back(std::move(cs));
    }
  }

  InputSplitResult run() {
    Timer& timer = timer_;
    next_interlude_ = p_.interlude_first_s;
    Node root;
    root.box = root_;
    for (size_t d = 0; d < spec_.disjuncts.size(); ++d) root.alive.push_back(static_cast<int>(d));
    Bounded rb = bound(root.box, root.alive, 0, nullptr);
    res_.root_bound = rb.pruned ? std::numeric_limits<double>::infinity() : rb.score;
    if (!rb.pruned && prepare(root, std::move(rb))) queue_.push(std::move(root));
    const int n = std::max(1, p_.threads);
    std::vector<std::thread> pool;
    for (int i = 1; i < n; ++i) pool.emplace_back([this] { worker(); });
    worker();
    for (auto& t : pool) t.join();
    res_.nodes = nodes_.load();
    res_.pruned = pruned_.load();
    res_.unresolved = unresolved_.load();
    res_.max_depth = max_depth_.load();
    res_.exact_runs = exact_runs_.load();
    res_.exact_nodes = exact_nodes_.load();
    res_.exact_time_s = exact_s_;
    res_.interlude_time_s = interlude_s_;
    if (found_)
      res_.status = BabStatus::kViolated;
    else if (timed_out_)
      res_.status = BabStatus::kTimeout;
    else if (limit_hit_)
      res_.status = BabStatus::kNodeLimit;
    else if (res_.unresolved > 0)
      res_.status = BabStatus::kIncomplete;
    else
      res_.status = BabStatus::kHolds;
    res_.time_s = timer.seconds();
    return res_;
  }

 private:
  // The bounds of one box.
  struct Bounded {
    bool pruned = false;
    double score = std::numeric_limits<double>::infinity();  // min over live disjuncts
    std::vector<int> alive;
    int hard_d = -1;  // the hardest live disjunct
    // Its constraints' bounds (lb - rhs) and objective vectors, and the best
    // combination of them when one was tried (splitScores reads them all).
    std::vector<std::pair<double, VectorXd>> hard;
    bounds::BoundTable t;
  };

  // CROWN bounds of the box for the disjuncts in `alive` (refined from the
  // parent's table when given).
  // cheap_only: the refined bounds alone (a lookahead's trial of a split).
  Bounded bound(const spec::Box& box, const std::vector<int>& alive, int depth,
                const bounds::BoundTable* parent, bool cheap_only = false) {
    const long count = ++nodes_;
    if (count > p_.max_nodes) {
      limit_hit_ = true;
      stop_ = true;
    }
    int md = max_depth_.load();
    while (depth > md && !max_depth_.compare_exchange_weak(md, depth)) {
    }
    if (parent && p_.incremental) {
      // Cheap first: bounds refined from the parent's. Nodes they do not
      // prune also get full CROWN bounds; each constraint takes the better of
      // the two lower bounds (CROWN is not monotone in the intermediate
      // bounds: either can win), and the node keeps the intersection of both
      // tables, so that its children refine from fresh bounds (refining only
      // from refined tables lets the bounds of stable neurons go stale).
      // Measured on ACAS Xu 1_1/prop_2, 2_8/prop_1: 2.6k and 14k nodes;
      // full CROWN alone 3k and > 150k; refined alone 417k and 42k.
      bounds::BoundTable cheap_t = bounds::refineCrownBounds(net_, box, *parent, p_.crown.relu_lower);
      intersectTable(cheap_t, *parent);
      Bounded cheap = check(box, alive, std::move(cheap_t), nullptr, cheap_only);
      if (cheap.pruned || cheap_only) return cheap;
      bounds::BoundTable t = bounds::crownBounds(net_, box, p_.crown);
      Bounded full = check(box, cheap.alive, t, &cheap.t, true);
      intersectTable(full.t, cheap.t);
      return full;
    }
    return check(box, alive, bounds::crownBounds(net_, box, p_.crown), nullptr, true);
  }

  static void intersectTable(bounds::BoundTable& t, const bounds::BoundTable& o) {
    for (size_t k = 0; k < t.lo.size(); ++k) {
      t.lo[k] = t.lo[k].cwiseMax(o.lo[k]);
      t.hi[k] = t.hi[k].cwiseMin(o.hi[k]);
      for (Eigen::Index j = 0; j < t.lo[k].size(); ++j)
        if (t.lo[k][j] > t.hi[k][j]) std::swap(t.lo[k][j], t.hi[k][j]);  // rounding only
    }
  }

  // The network's output under the relaxation of table t that the bound
  // `det` chose (lower line where the coefficient of an activation output is
  // positive, upper line elsewhere), at det's input corner: c^T of it is the
  // bound's value for objective c (the supergradient of the bound in c).
  VectorXd relaxedOutput(const bounds::BoundTable& t,
                         const bounds::CrownLowerBoundDetail& det) const {
    VectorXd g = det.x;
    for (size_t i = 0; i < net_.numLayers(); ++i) {
      const auto& layer = net_.layers()[i];
      if (layer.isDense()) {
        g = layer.dense().W.apply(g) + layer.dense().b;
        continue;
      }
      const auto& act = layer.activation();
      const VectorXd& ao = det.act_coef[i];
      for (Eigen::Index j = 0; j < g.size(); ++j) {
        auto r = bounds::relaxActivation(act, t.preLo(i)[j], t.preHi(i)[j], p_.crown.relu_lower);
        g[j] = ao.size() && ao[j] > 0 ? r.lw * g[j] + r.lb : r.uw * g[j] + r.ub;
      }
    }
    return g;
  }

  // The best bound (lb - rhs) found for a non-negative combination of the
  // constraints of disjunct d (weights on the simplex, exponentiated
  // supergradient steps from equal weights); its objective vector in *best_c.
  double combinedBound(const spec::Box& box, const bounds::BoundTable& t, int d,
                       VectorXd* best_c) const {
    const auto& conj = spec_.disjuncts[d];
    const Eigen::Index K = static_cast<Eigen::Index>(conj.size());
    VectorXd lam = VectorXd::Constant(K, 1.0 / static_cast<double>(K));
    double best = -std::numeric_limits<double>::infinity();
    bounds::CrownParams cp = p_.crown;
    cp.alpha_iters = 0;
    for (int it = 0; it < p_.combine_iters; ++it) {
      VectorXd c = VectorXd::Zero(net_.outputSize());
      double rhs = 0.0;
      for (Eigen::Index k = 0; k < K; ++k) {
        c += lam[k] * coefs_[d][k];
        rhs += lam[k] * conj[k].rhs;
      }
      const auto det = bounds::crownLowerBoundDetail(net_, box, t, c, cp);
      const double v = det.bound - rhs;
      if (std::isnan(v)) break;
      if (v > best) best = v, *best_c = c;
      if (v > p_.prune_tol || it + 1 == p_.combine_iters || det.act_coef.empty()) break;
      const VectorXd y = relaxedOutput(t, det);
      VectorXd s(K);
      for (Eigen::Index k = 0; k < K; ++k) s[k] = coefs_[d][k].dot(y) - conj[k].rhs;
      const double scale = s.cwiseAbs().maxCoeff();
      if (!(scale > 0) || !std::isfinite(scale)) break;
      const double eta = 2.0 / std::sqrt(1.0 + it);
      for (Eigen::Index k = 0; k < K; ++k) lam[k] *= std::exp(eta * s[k] / scale);
      lam /= lam.sum();
    }
    return best;
  }

  // Lower bounds of the constraints of the disjuncts in `alive` with table t
  // (and the better of t's and t2's when t2 is given). `last`: the node's
  // final check (the combination of a conjunction's constraints is tried
  // only then).
  Bounded check(const spec::Box& box, const std::vector<int>& alive, bounds::BoundTable t,
                const bounds::BoundTable* t2, bool last) {
    Bounded b;
    b.t = std::move(t);
    std::vector<double> lbs;
    for (int d : alive) {
      const auto& conj = spec_.disjuncts[d];
      double best = -std::numeric_limits<double>::infinity();
      bool dead = false;
      lbs.clear();
      for (size_t k = 0; k < conj.size(); ++k) {
        double lb = bounds::crownLowerBound(net_, box, b.t, coefs_[d][k], p_.crown);
        if (std::isnan(lb)) lb = -std::numeric_limits<double>::infinity();
        if (t2) {
          const double lb2 = bounds::crownLowerBound(net_, box, *t2, coefs_[d][k], p_.crown);
          if (lb2 > lb) lb = lb2;
        }
        lb -= conj[k].rhs;
        lbs.push_back(lb);
        if (lb > p_.prune_tol) {
          dead = true;
          break;
        }
        best = std::max(best, lb);
      }
      VectorXd combo;
      double combo_lb = -std::numeric_limits<double>::infinity();
      if (!dead && last && conj.size() > 1 && p_.combine_iters > 0) {
        combo_lb = combinedBound(box, b.t, d, &combo);
        if (combo_lb > p_.prune_tol) dead = true;
        best = std::max(best, combo_lb);
      }
      if (dead) continue;
      b.alive.push_back(d);
      if (b.hard_d < 0 || best < b.score) {
        b.score = best, b.hard_d = d;
        b.hard.clear();
        for (size_t k = 0; k < lbs.size(); ++k) b.hard.push_back({lbs[k], coefs_[d][k]});
        if (combo.size()) b.hard.push_back({combo_lb, std::move(combo)});
      }
    }
    b.pruned = b.alive.empty();
    return b;
  }

  // For a node that survived bounding: search it for a counterexample and
  // choose its split candidates. True when it must be split.
  bool prepare(Node& node, Bounded b) {
    node.alive = std::move(b.alive);
    node.score = b.score;
    if (search(node)) return false;
    if (exact(node, b.t)) {
      ++pruned_;
      return false;
    }
    if (stop_) return false;  // a point found by the ReLU B&B
    node.cands = splitCandidates(node, b);
    if (node.cands.empty()) {
      ++unresolved_;
      return false;
    }
    if (p_.incremental && tables_ < p_.max_tables) {
      ++tables_;
      node.table = std::make_shared<const bounds::BoundTable>(std::move(b.t));
    }
    return true;
  }

  // A node with at most exact_unstable_max (later exact_unstable_late)
  // unstable neurons: each live
  // disjunct goes to the ReLU B&B over the node's box (LP bounds, complete).
  // Proven disjuncts leave node.alive; true when none is left (the node is
  // refuted). A point it finds ends the search (record).
  bool exact(Node& node, const bounds::BoundTable& t) {
    int cap = p_.exact_unstable_max;
    // Search effort = wall time x workers (at most one per core): the same
    // switch point (about the same tree) whatever the thread count.
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const double effort = timer_.seconds() * std::clamp(p_.threads, 1, cores);
    if (p_.exact_unstable_late > cap && effort >= p_.exact_late_s)
      cap = p_.exact_unstable_late;
    if (cap < 0 || !net_.isPiecewiseLinear() || stop_) return false;
    if (static_cast<int>(bounds::countRelus(net_, t).unstable) > cap) return false;
    std::vector<int> left;
    for (int d : node.alive) {
      BabParams bp = decisionParams(t, std::max(p_.prune_tol, 1e-6));
      bp.time_limit = std::min(p_.exact_time_max_s, deadline_.remaining());
      bp.cancel = p_.cancel;
      bp.threads = 1;
      BabResult rr;
      try {
        rr = reluBranchAndBound(net_, node.box, spec_.disjuncts[d], bp);
      } catch (const Error&) {
        left.push_back(d);  // an LP failure decides nothing: the input split goes on
        continue;
      }
      ++exact_runs_;
      exact_nodes_ += rr.nodes;
      {
        std::lock_guard<std::mutex> lk(stat_mu_);
        exact_s_ += rr.time_s;
      }
      if (rr.status == BabStatus::kViolated && record(rr.x)) return false;
      if (rr.status != BabStatus::kHolds) left.push_back(d);
    }
    node.alive = std::move(left);
    return node.alive.empty();
  }

  // The node attack (or the centre) over the live disjuncts. True when a
  // point satisfying the spec was found (recorded, search stopped).
  bool search(const Node& node) {
    VectorXd x = 0.5 * (node.box.lo + node.box.hi);
    if (p_.node_attack) {
      spec::OutputSpec live;
      const spec::OutputSpec* s = &spec_;
      if (node.alive.size() != spec_.disjuncts.size()) {
        for (int d : node.alive) live.disjuncts.push_back(spec_.disjuncts[d]);
        s = &live;
      }
      VectorXd a = p_.node_attack(node.box, *s);
      if (a.size() == x.size()) x = a.cwiseMax(node.box.lo).cwiseMin(node.box.hi);
    }
    // Judged on the full spec (the live subset is only a restriction).
    return record(x);
  }

  // Records x when it satisfies the whole spec (forward pass in double) and
  // stops the search; false when it does not.
  bool record(const VectorXd& x) {
    VectorXd y = net_.forward(x);
    if (!(spec::specMargin(spec_, y) <= 0.0)) return false;
    std::lock_guard<std::mutex> lk(mu_);
    if (!found_) {
      found_ = true;
      res_.x = x;
      res_.y = y;
    }
    stop_ = true;
    cv_.notify_all();
    return true;
  }

  // Split scores of every dimension (-inf: not splittable) for the hardest
  // live disjunct d (k its constraint with the best bound, lbs the bounds of
  // all of its constraints):
  //  - smear: width_i * |d(c_k^T f)/dx_i| at the centre;
  //  - crown: the bound of constraint k' loses |a_k'i| * width_i / 2 in
  //    dimension i (a = input coefficients of its CROWN bound); halving the
  //    dimension gains about a quarter of that: score max_k' (lb_k' +
  //    |a_k'i| width_i / 4).
  // When no splittable dimension scores above the baseline (0, resp. the best
  // bound), the widest dimension relative to the root box gets the top score.
  VectorXd splitScores(const Node& node, const Bounded& b, InputSplitRule rule) {
    const VectorXd& lo = node.box.lo;
    const VectorXd& hi = node.box.hi;
    const VectorXd centre = 0.5 * (lo + hi);
    const VectorXd w = hi - lo;
    const Eigen::Index n = lo.size();
    const double kNo = -std::numeric_limits<double>::infinity();
    std::vector<bool> ok(n);
    double max_rel = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double root_w = root_.hi[i] - root_.lo[i];
      if (root_w > 0) max_rel = std::max(max_rel, w[i] / root_w);
    }
    for (Eigen::Index i = 0; i < n; ++i) {
      const double root_w = root_.hi[i] - root_.lo[i];
      ok[i] = w[i] > p_.min_rel_width * std::max(1.0, std::abs(centre[i])) &&
              (root_w > 0 && w[i] / root_w >= max_rel * p_.min_width_ratio);
    }
    VectorXd score = VectorXd::Constant(n, kNo);
    double base = 0.0;
    if (b.hard_d >= 0 && !b.hard.empty() && rule == InputSplitRule::kCrownCoef) {
      base = kNo;
      for (const auto& h : b.hard) base = std::max(base, h.first);
      for (const auto& [lb, c] : b.hard) {
        if (!std::isfinite(lb)) continue;
        VectorXd a = crownInputCoefficients(net_, b.t, c, p_.crown.relu_lower);
        for (Eigen::Index i = 0; i < n; ++i)
          score[i] = std::max(score[i], lb + 0.25 * std::abs(a[i]) * w[i]);
      }
    } else if (b.hard_d >= 0 && !b.hard.empty()) {
      size_t kk = 0;  // the constraint (or combination) with the best bound
      for (size_t k = 1; k < b.hard.size(); ++k)
        if (b.hard[k].first > b.hard[kk].first) kk = k;
      score = nn::outputGradient(net_, centre, b.hard[kk].second).cwiseAbs().cwiseProduct(w);
    }
    bool informative = false;
    int widest = -1;
    double widest_rel = -1.0;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (!ok[i]) {
        score[i] = kNo;
        continue;
      }
      informative |= score[i] > base;
      const double root_w = root_.hi[i] - root_.lo[i];
      const double rel = root_w > 0 ? w[i] / root_w : 0.0;
      if (rel > widest_rel) widest_rel = rel, widest = static_cast<int>(i);
    }
    if (!informative && widest >= 0) score[widest] = std::numeric_limits<double>::infinity();
    return score;
  }

  // Candidate split dimensions, best first: the top one of the split rule;
  // with lookahead the top `lookahead` smear dimensions and the top crown
  // dimension (duplicates removed).
  std::vector<int> splitCandidates(const Node& node, const Bounded& b) {
    auto top = [](const VectorXd& s, int m, std::vector<int>& out) {
      std::vector<int> idx(s.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int>(i);
      std::stable_sort(idx.begin(), idx.end(), [&](int a, int c) { return s[a] > s[c]; });
      for (int i = 0, taken = 0; i < static_cast<int>(idx.size()) && taken < m; ++i) {
        if (!(s[idx[i]] > -std::numeric_limits<double>::infinity())) break;
        ++taken;
        if (std::find(out.begin(), out.end(), idx[i]) == out.end()) out.push_back(idx[i]);
      }
    };
    std::vector<int> c;
    if (p_.lookahead <= 0) {
      top(splitScores(node, b, p_.split), 1, c);
    } else {
      top(splitScores(node, b, InputSplitRule::kCrownCoef), 1, c);
      top(splitScores(node, b, InputSplitRule::kSmear), p_.lookahead, c);
    }
    return c;
  }

  // The two halves of node.box along dimension i.
  static std::pair<spec::Box, spec::Box> halves(const spec::Box& box, int i) {
    std::pair<spec::Box, spec::Box> h{box, box};
    const double mid = 0.5 * (box.lo[i] + box.hi[i]);
    h.first.hi[i] = mid;
    h.second.lo[i] = mid;
    return h;
  }

  // Splits a node: with several candidates, bounds the children of each and
  // keeps the split that leaves the least total violation, sum over both
  // children of max(0, -score) (a pruned child leaves none); ties go to the
  // earlier candidate. Returns the children that must be split further.
  std::vector<Node> expand(const Node& node) {
    struct Split {
      Node kid[2];
      Bounded b[2];
      double left = std::numeric_limits<double>::infinity();  // remaining violation
    };
    Split best;
    bool have = false;
    // Several candidates: try them with the cheap refined bounds only, then
    // bound the chosen split's children in full.
    const bool trial = node.cands.size() > 1 && p_.lookahead_cheap && p_.incremental && node.table;
    for (int dim : node.cands) {
      if (stop_) return {};
      Split s;
      auto [lo, hi] = halves(node.box, dim);
      s.kid[0].box = std::move(lo);
      s.kid[1].box = std::move(hi);
      for (int side = 0; side < 2; ++side) {
        s.kid[side].depth = node.depth + 1;
        s.b[side] = bound(s.kid[side].box, node.alive, node.depth + 1, node.table.get(), trial);
      }
      s.left = 0.0;
      for (int side = 0; side < 2; ++side)
        if (!s.b[side].pruned) s.left += std::max(0.0, -s.b[side].score);
      if (!have || s.left < best.left) {
        best = std::move(s);
        have = true;
      }
    }
    std::vector<Node> out;
    if (!have) return out;
    if (trial)
      for (int side = 0; side < 2 && !stop_; ++side)
        if (!best.b[side].pruned)
          best.b[side] = bound(best.kid[side].box, node.alive, node.depth + 1, node.table.get());
    for (int side = 0; side < 2 && !stop_; ++side) {
      if (best.b[side].pruned) {
        ++pruned_;
        continue;
      }
      Node& k = best.kid[side];
      if (prepare(k, std::move(best.b[side]))) out.push_back(std::move(k));
    }
    return out;
  }

  void worker() {
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
      std::vector<Node> kids = expand(node);
      if (node.table) --tables_;
      {
        std::lock_guard<std::mutex> lk(mu_);
        for (auto& c : kids) queue_.push(std::move(c));
        --busy_;
      }
      cv_.notify_all();
      maybeInterlude();
    }
  }

  // Runs p_.interlude when due (see InputSplitParams::interlude); one worker
  // at a time.
  void maybeInterlude() {
    if (!p_.interlude || stop_) return;
    const double now = timer_.seconds();
    if (now < next_interlude_.load()) return;
    bool idle = false;
    if (!in_interlude_.compare_exchange_strong(idle, true)) return;
    const double budget = std::min(p_.interlude_share * now, deadline_.remaining());
    VectorXd x;
    bool hit = false;
    if (budget > 0) {
      try {
        hit = p_.interlude(budget, &x);
      } catch (const Error&) {
        hit = false;  // a failing falsifier decides nothing; the search goes on
      }
    }
    const double after = timer_.seconds();
    {
      std::lock_guard<std::mutex> lk(stat_mu_);
      interlude_s_ += after - now;
    }
    next_interlude_ = after + std::max(p_.interlude_first_s, now);
    in_interlude_ = false;
    if (hit && x.size() == net_.inputSize()) record(x);  // the caller's replay is the judge
  }

  const nn::Network& net_;
  const spec::Box& root_;
  const spec::OutputSpec& spec_;
  const InputSplitParams& p_;
  Deadline deadline_;
  std::vector<std::vector<VectorXd>> coefs_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Node, std::vector<Node>, NodeLess> queue_;
  int busy_ = 0;
  std::atomic<bool> stop_{false};
  bool found_ = false;
  bool timed_out_ = false;
  std::atomic<bool> limit_hit_{false};
  std::atomic<long> nodes_{0}, pruned_{0}, unresolved_{0};
  std::atomic<long> tables_{0};  // tables held by queued nodes
  std::atomic<int> max_depth_{0};
  std::atomic<long> exact_runs_{0}, exact_nodes_{0};
  std::mutex stat_mu_;  // exact_s_, interlude_s_
  double exact_s_ = 0.0, interlude_s_ = 0.0;
  Timer timer_;
  std::atomic<double> next_interlude_{0.0};
  std::atomic<bool> in_interlude_{false};
  InputSplitResult res_;
};

}  // namespace

InputSplitResult inputSplitBranchAndBound(const nn::Network& net, const spec::Box& box,
                                          const spec::OutputSpec& spec,
                                          const InputSplitParams& p) {
  require(box.size() == net.inputSize(), "input B&B: box has " + std::to_string(box.size()) +
                                             " dimensions, network input has " +
                                             std::to_string(net.inputSize()));
  require(!box.empty(), "input B&B: the input box is empty");
  require(box.lo.allFinite() && box.hi.allFinite(), "input B&B: the input box must be finite");
  require(!spec.disjuncts.empty(), "input B&B: the output condition has no disjuncts");
  require(!net.hasMaxPool(), "input B&B does not support MaxPool layers");
  InputSplitSearch search(net, box, spec, p);
  return search.run();
}

}  // namespace nnopt::bab
