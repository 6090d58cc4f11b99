#pragma once
// The branch and bound over ReLU splits: the one engine behind `attack
// --method bab`, the attack portfolio, and the ReLU B&B prover of `verify`
// (and the input-split search's exact leaves).
//
// Objective: v(x) = max_k (c_k^T f(x) - d_k) over an input box, for one or
// more linear functions of the output (one: a margin; several: a VNN-LIB
// conjunction "all c_k^T y <= d_k", which some x satisfies iff min v <= 0).
// Modes: a proven minimum within a gap (optimisation), or whether
// min v > threshold (decision: holds / violated, what verification needs).
//
// A node is a set of splits (pre-activation >= 0 or <= 0 for some neurons).
// Bounding, cheapest first:
//  1. intermediate bounds: CROWN with the splits (bounds::crownBoundsSplit),
//     intersected with the parent's table (the root table: given by the
//     caller, or CROWN, optionally LP-tightened); an empty sub-domain is pruned;
//  2. objective: max over k of the CROWN lower bound of c_k^T f - d_k; each
//     minimising box corner is replayed as an incumbent candidate;
//  3. when CROWN cannot close it: the LP relaxation of the node (bab/node_lp.h,
//     one warm-started Clp session per worker thread); its input point is
//     replayed (and optionally polished, e.g. by PGD, then replayed). When the
//     replayed value is within the gap of the LP bound the node is solved.
//     NodeBounds::kAuto drops the LP for the whole search when the root LP
//     does not finish within root_lp_cap_s (large CNNs), and bounds a node by
//     CROWN alone where its LP fails.
// A node whose LP has no relaxation gap left (or without unstable neurons) is
// a leaf: exact on its region, decided by its bound or left unresolved; in a
// search without node LPs a leaf still gets its LP (beta-CROWN with a few
// steps need not be exact there).
// Branching: BaBSR-style score |backward coefficient| * (-l u / (u - l)) of the
// closest constraint's plain CROWN bound (also where nodes are bounded by
// beta-CROWN, whose coefficients branch much worse), or that coefficient times the neuron's
// relaxation gap at the node LP point; optionally reliability branching
// (pseudocosts, strong branching on the node LP). Node order: best-first
// (lowest bound) or depth-first, where each worker dives into the child with
// the lower bound and queues the other (bounded memory, warm LP starts).
// Threads: workers share the queue, the incumbent and the counters; each has
// its own LP session (pseudocosts are per worker). Where nodes are bounded by
// beta-CROWN without LPs a worker holds up to BabParams::batch nodes and bounds
// all their children at once (bab/node_bounds.h: one batched beta-CROWN call
// per function, matrix-matrix products).
//
// Every objective value reported is recomputed by Network::forward in double
// at a point inside the box; lower bounds come from CROWN or from the
// weak-duality bound of an LP that Clp solved to optimality. Nodes that Clp
// declares infeasible are pruned (not certified; Clp's tolerances apply).
#include <Eigen/Dense>
#include <atomic>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "bab/node_lp.h"
#include "bounds/beta_crown.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bab {

enum class BabMode {
  kOptimize,  // proven optimum within abs_gap / rel_gap
  kDecide,    // is min v(x) > threshold?
};

enum class BabOrder {
  kBestFirst,   // lowest lower bound first
  kDepthFirst,  // dives: each worker goes on with a child, deepest queued next (bounded memory)
};

// How nodes are bounded beyond CROWN.
enum class NodeBounds {
  kAuto,   // kLp; CROWN alone once the root LP took longer than root_lp_cap_s
  kLp,     // CROWN, then the node LP where CROWN cannot close the node
  kCrown,  // CROWN / beta-CROWN only (leaves, without unstable neurons, get their LP)
};

enum class BabBranching {
  kBabsr,        // |CROWN coefficient| * triangle intercept (no LP needed)
  kLpViolation,  // |CROWN coefficient| * (y - relu(t)) at the node LP solution
};

// BabParams::batch of the callers' presets (verify's prover, attack's bab).
inline constexpr int kDefaultBatch = 16;

struct BabParams {
  BabMode mode = BabMode::kOptimize;
  double threshold = 0.0;  // decision mode: holds when min v > threshold
  // Decision mode: a replayed point with v(x) <= violation_level violates;
  // NaN: v(x) < threshold (VNN-LIB counterexamples need v(x) <= 0).
  double violation_level = std::numeric_limits<double>::quiet_NaN();
  double abs_gap = 1e-4;   // optimisation mode: stop when best - bound <= max(abs, rel * |best|)
  double rel_gap = 1e-4;
  double time_limit = std::numeric_limits<double>::infinity();  // seconds, everything
  long max_nodes = 10'000'000;                                  // nodes bounded
  BabOrder order = BabOrder::kBestFirst;
  int threads = 1;  // worker threads
  // Root bounds given by the caller (sound for the box): used as they are.
  // nullptr: computed as follows.
  const bounds::BoundTable* root_table = nullptr;
  // Root bounds: CROWN, then LP tightening (bounds::lpTightenBounds) for at
  // most this many seconds (and at most a fifth of time_limit); 0 = CROWN only.
  double root_lp_time_limit = 10.0;
  bounds::CrownParams crown_root{bounds::ReluLowerSlope::kAdaptive, 20, 0.1, 0.5};
  bounds::CrownParams crown_node;  // per node (no alpha iterations by default)
  // Cuts (bab::NodeLp::addCuts): rounds at the root and at every other node,
  // a cap on their number, and the relative violation a cut needs.
  int cut_rounds_root = 20;
  int cut_rounds_node = 0;
  int max_cuts = 2000;
  double cut_min_violation = 1e-3;
  bool purge_cuts = true;  // after the root: keep only the cuts binding there
  int tighten_depth = 0;  // LP-tighten the bounds of nodes up to this depth
  NodeBounds node_bounds = NodeBounds::kLp;
  // Intermediate bounds of a child: CROWN with its splits (crownBoundsSplit,
  // a backward pass per layer: the tighter table fixes more binaries in the
  // LP), or its parent's table with the splits' pre-activation bounds
  // clipped (a copy; the LP and the objective's CROWN pass do the rest:
  // measured 5x more nodes per second on MNIST 256x2/256x4). Nodes without
  // the LP (kCrown, or kAuto once it is dropped): crown_tables_no_lp.
  bool node_crown = true;
  // Nodes bounded without an LP (kCrown, or kAuto once it is dropped): their
  // intermediate bounds by CROWN with the splits (true: a backward pass per
  // layer, ~100 ms a node on MNIST 256x4) or the parent's table with the
  // splits clipped (false: beta-CROWN's split multipliers then carry the
  // splits into the layers below, as alpha-beta-CROWN does with its
  // intermediate bounds fixed).
  bool crown_tables_no_lp = true;
  // beta-CROWN objective bounds (bounds/beta_crown.h): optimised split
  // multipliers and slopes, warm-started from the parent node, this many
  // Adam steps per node (the root gets 3x); 0 = plain CROWN.
  int beta_iters = 0;
  // The same at nodes bounded without an LP (kCrown, or kAuto once the LP is
  // dropped), when larger: there beta-CROWN is the only bound a node gets
  // (oval21 cifar_deep_kw, LP dropped, 60 s: 32 -> 65 and 0 -> 99 nodes
  // closed by their bound with 5 steps; random MLPs: 46 nodes against
  // > 20,000 for plain CROWN). 0 = plain CROWN.
  int beta_iters_no_lp = 0;
  // Before a node bounded without an LP (kCrown, or kAuto once it is
  // dropped) branches, its best-scored candidates (this many at a time, up
  // to 4 rounds) get fresh CROWN bounds on the node's own table
  // (bounds::crownNeuronBounds): a neuron that the parent's table calls
  // unstable but is one-signed on the node is fixed in the node's table
  // instead of split (one of its children would be empty), crossing bounds
  // prune the node, the others' bounds are tightened and rescored. 0 = off
  // (the default: it does not pay on the benchmarks measured). MNIST-FC
  // 256x4, beta-CROWN nodes, one thread, 8 against 0: prop_0_0.03 1321 /
  // 2293 nodes (2.2 / 3.1 s), prop_5 1361 / 1547 (2.2 / 1.9 s), prop_13
  // 239 / 255 (1.5 / 0.9 s), few neurons fixed (0-27 a run: the tighter
  // bounds reorder the branching); sweep mlp_4x30 margin optimum 115 / 82 s
  // (0 of 2005 recomputed candidates fixed). At node-LP nodes (not done now):
  // prop_10_0.05 7979 / 5771 nodes, 187 / 149 s.
  int fresh_candidates = 0;
  // Nodes bounded by beta-CROWN without an LP: a worker takes up to this many
  // open nodes at once (at most its share of the queue) and bounds all their
  // children in one batch (bounds::betaCrownLowerBoundBatch: matrix-matrix
  // products instead of one matrix-vector product per node and layer). In
  // depth-first order each held node dives on. 1 = one node at a time.
  int batch = 1;
  double root_lp_cap_s = 5.0;  // kAuto: the root LP's time before the LP is dropped
  bool lp_node_bounds = false;     // see bab/node_lp.h (NodeLp's node_bounds)
  bool drop_dead_rows = true;      // see bab/node_lp.h
  NodeLpForm lp_form = NodeLpForm::kAuto;  // see bab/node_lp.h
  BabBranching branching = BabBranching::kLpViolation;
  // Strong branching: the top k candidates of `branching` are scored by the
  // LP bounds of both children (product of the gains); 0 or 1 = off.
  int strong_branching = 8;
  // Rebuild the node LP from the node's own table instead of warm-starting
  // the root one (tighter relaxation, ~100x slower per node).
  bool fresh_node_lp = false;
  // Points evaluated before the search (e.g. an attack's result); each is
  // clamped into the box and replayed. Empty: the box centre.
  std::vector<Eigen::VectorXd> starts;
  // Optional: improves a node LP point that does not violate (e.g. a few PGD
  // steps); the result is clamped and replayed like any candidate. Called
  // from worker threads concurrently.
  std::function<Eigen::VectorXd(const Eigen::VectorXd&)> polish;
  double log_interval_s = 5.0;  // progress lines via nnopt::log (info)
  // Racing another exact solver (attack::Method::kPortfolio), all optional:
  // stop (status kTimeout) when *cancel becomes true; `shared_upper` holds the
  // best objective any solver has REPLAYED through the forward pass - nodes
  // close against min(own incumbent, *shared_upper), and the search lowers it
  // when it finds a better point; `lower_out` receives this search's proven
  // lower bound about every 0.2 s.
  const std::atomic<bool>* cancel = nullptr;
  std::atomic<double>* shared_upper = nullptr;
  std::atomic<double>* lower_out = nullptr;
};

enum class BabStatus {
  kOptimal,     // optimisation mode: objective - lower_bound within the gap
  kHolds,       // decision mode: lower_bound > threshold
  kViolated,    // decision mode: x replays to a violating objective (see violation_level)
  kTimeout,
  kNodeLimit,
  kIncomplete,  // search ended with unresolved nodes (LP failures at leaves)
};
const char* babStatusName(BabStatus s);

struct BabResult {
  BabStatus status = BabStatus::kIncomplete;
  double objective = std::numeric_limits<double>::infinity();  // v(x), by forward(x)
  Eigen::VectorXd x;                                           // best point, inside the box
  // Proven lower bound on min v(x) over the box (min over open, pruned,
  // unresolved nodes and those left when the search stopped, e.g. at a
  // violation; -inf when a start point decided before the root was bounded).
  double lower_bound = -std::numeric_limits<double>::infinity();
  double root_bound = -std::numeric_limits<double>::infinity();  // before branching
  long nodes = 0;       // nodes bounded
  long lps = 0;         // node LPs solved
  long lp_failures = 0; // node LPs without an optimal solution
  long strong_lps = 0;  // LPs for strong branching
  long lp_iterations = 0;
  int cuts = 0;       // rows added by cut rounds
  int cuts_kept = 0;  // after the purge at the root
  long pruned = 0;      // by bound, emptiness or LP tightness
  long unresolved = 0;  // leaves that could not be closed
  int unstable_root = 0;  // unstable ReLUs in the root table
  int max_depth = 0;
  // Share of the root's domain the search closed: 1 - sum over the nodes
  // left open of 2^-depth (each split halves a node's share); 1 when the
  // search finished, the progress of one that stopped (pruned, refuted and
  // unresolved nodes all count as closed).
  double closed_fraction = 0.0;
  double root_time_s = 0.0;  // root bounds
  double lp_time_s = 0.0;    // node LPs
  long crown_nodes = 0;     // nodes decided or branched without a node LP solution
  long crown_pruned = 0;    // of them, closed by their CROWN bound
  bool lp_dropped = false;  // kAuto: the root LP did not finish in time, CROWN alone
  long fresh_fixed = 0;     // candidates fixed by their fresh bounds (fresh_candidates)
  double root_lp_s = 0.0;   // the root LP's time
  double time_s = 0.0;
};

// Decision-mode parameters for one VNN-LIB conjunction (v as below) over a
// box with a sound bound table `root` (kept by the caller while the search
// runs): it holds (is refuted) when the search proves min v > prune_tol, a
// point replaying to v(x) <= 0 violates. Workers dive depth-first with
// warm-started node LPs (NodeBounds::kAuto, dropped after 5 s at the root),
// parent tables with the splits clipped, BaBSR branching, no cuts, no strong
// branching, no progress lines. Callers set time, threads, cancel and polish.
BabParams decisionParams(const bounds::BoundTable& root, double prune_tol);

// Nodes bounded by beta-CROWN (beta_iters_no_lp = 5 warm-started steps) on
// the parents' tables with the splits clipped, no node LPs, an LP only at
// leaves: what attack's bab uses on fully-connected networks (and one side of
// verify's race).
void useBetaNodes(BabParams& p);

// A copy of t with the pre-activation bounds of every split neuron clipped at
// 0 (and its activation's output bounds with them): the table of a child node
// without a new bound computation; nullopt when a split contradicts t.
std::optional<bounds::BoundTable> withSplits(const nn::Network& net, const bounds::BoundTable& t,
                                             const std::vector<bounds::ReluSplit>& splits);

// v(x) = max_k obj[k].eval(f(x)) = max_k (c_k^T f(x) - d_k). Throws Error
// when the network is not ReLU/LeakyReLU-only (alpha in [0, 1)) or has
// MaxPool layers, the box does not match it or is empty, obj is empty or
// refers to an output out of range, or the root table does not match.
BabResult reluBranchAndBound(const nn::Network& net, const spec::Box& box,
                             const std::vector<spec::OutputConstraint>& obj,
                             const BabParams& p = {});
// The same for one function v(x) = c^T f(x).
BabResult reluBranchAndBound(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& c,
                             const BabParams& p = {});

}  // namespace nnopt::bab
