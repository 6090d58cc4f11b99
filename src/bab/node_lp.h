#pragma once
// LP bounding of branch-and-bound nodes over ReLU splits, in one warm-started
// Clp session per search (solve::LpSession). The LP is the relaxation of the
// big-M embedding (formulate::embedNetwork) of the ROOT table, binaries
// relaxed to [0, 1], plus optional cuts (addCuts). A node only changes
// variable bounds:
//   - the binary of a neuron that is stable in the node table (in particular
//     every split neuron, whose pre-activation bounds are clipped at 0) is
//     fixed and its pre-activation variable gets the sign: z = 1 gives
//     y = t >= 0; z = 0 gives y = alpha t, t <= 0;
//   - optionally (node_bounds) every layer-output variable gets the node's
//     bounds. Measured on MNIST MLPs this did not reduce the number of nodes
//     (the rows already imply most of them) and made each warm start ~2x
//     slower (many nonbasic variables move), so it is off by default.
// So a split is encoded exactly, and a node without unstable neurons has an
// exact LP (the minimum over one activation region). Unstable neurons keep
// the triangle of the ROOT bounds (the big-M rows' constants). A dual simplex
// from the previous basis needs tens of pivots where a cold solve needs
// ~1000 (one per input at a box bound); only changed bounds are passed on.
//
// Objective: v = max_k (c_k^T y - d_k) over the output y: one function is
// the LP objective itself, several get a variable t >= each of them (min t).
// drop_dead_rows removes the rows that only define a variable used nowhere
// else (pre-activations of ReLUs proven inactive): sound bounds imply that
// such a row holds at every real point, so the LP stays a relaxation, a node
// whose ReLUs are all fixed stays exact on its region, and the LP is much
// smaller (measured on MNIST 256x2: same bounds, nodes twice as fast).
#include <Eigen/Dense>
#include <limits>
#include <memory>
#include <vector>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "model/math_model.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bab {

// LP values of one ReLU neuron that is unstable in the root table.
struct LpRelu {
  size_t layer = 0;  // activation layer
  int64_t neuron = 0;
  double t = 0, y = 0;  // pre-activation and output at the LP solution
};

// A cut row: sum terms <= hi.
struct LpCutRow {
  std::vector<model::LinTerm> terms;
  double hi = 0.0;
};

struct NodeLpResult {
  bool solved = false;      // Clp reported optimal: bound and x are set
  bool infeasible = false;  // Clp reported infeasible: the node holds no input
  // Weak-duality bound on min v(x) over the node (LpSession::Result::bound).
  double bound = -std::numeric_limits<double>::infinity();
  Eigen::VectorXd x;        // LP input point, clamped into the box
  std::vector<LpRelu> relus;  // NodeLp only, when solved
  long iterations = 0;
};

// Throws Error when obj is empty or refers to an output the network does not
// have (the check of NodeLp and reluBranchAndBound).
void requireObjective(const nn::Network& net, const std::vector<spec::OutputConstraint>& obj);

// Which LP NodeLp builds. kFull: the big-M embedding of every neuron
// (formulate::embedNetwork). kCompact: only the inputs and the neurons
// unstable in the root table get variables; every other neuron is an affine
// function of them, substituted into the rows of the later neurons (stable
// neurons are linear over the box). Much smaller when the input is
// low-dimensional and few neurons are unstable (ACAS Xu leaves of the input
// B&B: 5 inputs, <= 48 unstable of 300); larger when the input is wide (784
// pixels in every substituted row). Slightly weaker at unfixed nodes (the
// bounds of stable neurons are not rows), equally exact at fixed ones; no
// ideal cuts (addCuts returns 0). kAuto: compact when its estimated
// nonzeros are at most the full LP's Dense rows' (without stably inactive
// neurons). Measured: ACAS Xu leaves (~1000 vs ~1400 nonzeros) 2.6x less
// LP time with compact; MNIST 256x2 (76k vs 20k) 30 % slower with it.
enum class NodeLpForm { kAuto, kFull, kCompact };

class NodeLp {
 public:
  // root: a table sound for the whole box. node_bounds: see the file comment
  // (false: only the signs of neurons the node made stable). Throws Error on
  // size mismatches.
  NodeLp(const nn::Network& net, const spec::Box& box, const bounds::BoundTable& root,
         const std::vector<spec::OutputConstraint>& obj, bool node_bounds = false,
         bool drop_dead_rows = true, NodeLpForm form = NodeLpForm::kAuto);
  bool compact() const;  // the form chosen
  ~NodeLp();
  NodeLp(const NodeLp&) = delete;
  NodeLp& operator=(const NodeLp&) = delete;

  // node: a table sound for the node's sub-domain, at least as tight as root
  // (e.g. from bounds::crownBoundsSplit with root as base, or an ancestor's
  // table); splits: the node's splits, encoded as in solveChild (needed when
  // the table does not already make them stable).
  NodeLpResult solve(const bounds::BoundTable& node, const std::vector<bounds::ReluSplit>& splits,
                     double time_limit_s);
  NodeLpResult solve(const bounds::BoundTable& node, double time_limit_s) {
    return solve(node, {}, time_limit_s);
  }
  // The cut rows in the LP (to give another worker's NodeLp the same cuts)
  // and adding such rows.
  std::vector<LpCutRow> cutRows() const;
  void addCutRows(const std::vector<LpCutRow>& rows);
  // Adds cuts violated by the solution of the last solve() (call right after
  // it): for ReLU neurons unstable in the root table that directly follow a
  // Dense layer, the most violated inequality of the convex hull of
  // y = relu(w^T v + b), v in the root box of the Dense layer's input, with
  // the neuron's binary z (Anderson et al., "Strong mixed-integer programming
  // formulations for trained neural networks", 2020):
  //   y <= sum_{i in I} w_i (v_i - Lw_i (1 - z)) + (b + sum_{i not in I} w_i Uw_i) z,
  // Lw_i / Uw_i the bound of v_i minimising / maximising w_i v_i. They hold
  // for every point of the network over the box, so they stay valid at every
  // node (rows are never removed). Adds at most max_cuts cuts whose violation
  // exceeds min_violation * (1 + |y|), the most violated first; returns the
  // number added.
  int addCuts(double min_violation, int max_cuts);
  int numCuts() const;  // cuts ever added
  // Rebuilds the LP keeping only the cuts binding (slack <= tol * (1 + |rhs|))
  // at the last solution: cut rounds leave many near-parallel rows that make
  // every later dual simplex slower. The next solve starts cold. Returns the
  // number kept.
  int purgeCuts(double tol = 1e-6);

  // The node with one more split, encoded by fixing its binary and clipping
  // its pre-activation bound (the node's other bounds are not recomputed):
  // a cheap bound on a child, for strong branching. x and relus are not filled.
  NodeLpResult solveChild(const bounds::BoundTable& node,
                          const std::vector<bounds::ReluSplit>& splits, const bounds::ReluSplit& s,
                          double time_limit_s);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The same LP built from scratch with the node's own big-M constants (tighter,
// ~100x slower). For measurements and tests.
NodeLpResult solveFreshNodeLp(const nn::Network& net, const spec::Box& box,
                              const bounds::BoundTable& node,
                              const std::vector<spec::OutputConstraint>& obj, double time_limit_s);

}  // namespace nnopt::bab
