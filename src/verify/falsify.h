#pragma once
// The falsifier of `verify` (issue 13 point 3): many cheap attack starts on
// one case's open unsafe disjuncts, in rounds, until a replayed
// counterexample, the time limit or the cancel flag. Round r attacks the
// whole disjunction (r % (open + 1) == 0) or one open disjunct (a
// margin-targeted loss: the other disjuncts do not pull the gradient), with
// `restarts` PGD starts drawn fresh each round (uniform points, random box
// corners and perturbations of that target's best point so far, seeded by
// the round); every `local_every` rounds the native local solver (the LPCC
// walk, nlpFalsify) runs from the best point of the most promising disjunct.
// Every point with margin <= 0 goes to `accept` (the caller replays it
// through Network::forward; a sat is never claimed here). The same function
// serves the cheap stage before the search (a few rounds) and the thread
// beside the exact search (until cancelled, at a duty cycle).
#include <Eigen/Dense>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "bounds/bound_table.h"
#include "core/log.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::verify {

struct FalsifyParams {
  double time_limit = std::numeric_limits<double>::infinity();  // seconds
  const std::atomic<bool>* cancel = nullptr;  // optional: stop as on the time limit
  uint64_t seed = 0;
  int max_rounds = std::numeric_limits<int>::max();
  int restarts = 8;   // PGD starts per round
  int steps = 100;    // PGD steps per start
  // A uniform start is the best (smallest margin) of this many uniform
  // points: forward passes are far cheaper than PGD steps.
  int uniform_pool = 32;
  int local_every = 4;           // LPCC walk every this many rounds (0 = never)
  double local_time_max_s = 1.0;  // per walk
  // Fraction of the wall time spent working (the rest asleep): the thread
  // beside a multi-threaded exact search leaves it most of the cores.
  double duty = 1.0;
};

struct FalsifyResult {
  bool found = false;  // accept() took a point
  std::string by;      // "pgd", "pgd-targeted", "local" (the accepted point's source)
  int rounds = 0;
  long pgd_starts = 0;
  int local_runs = 0;
  double best_margin = std::numeric_limits<double>::infinity();  // over the attacked disjuncts
  double time_s = 0.0;
};

// The `keep` points with the smallest margin (spec::specMargin of spec)
// among `samples` uniform random points of the box, best first (PGD starts:
// on ACAS Xu plain random sampling finds counterexamples that PGD from a few
// starts misses, as the competition's randgen showed). Stops drawing at the
// deadline when one is given.
std::vector<Eigen::VectorXd> sampledStarts(const nn::Network& net, const spec::Box& box,
                                           const spec::OutputSpec& spec, int samples, int keep,
                                           uint64_t seed, const Deadline* deadline = nullptr);

// accept(x, by): replays x; true ends the run (found).
// The input split's node attack (bab::InputSplitParams::node_attack): one
// PGD start of `steps` steps from the centre of the node's box over the live
// disjuncts (0 steps: the centre). The search replays the point it returns.
std::function<Eigen::VectorXd(const spec::Box&, const spec::OutputSpec&)> pgdNodeAttack(
    const nn::Network& net, int steps);

using AcceptFn = std::function<bool(const Eigen::VectorXd& x, const std::string& by)>;

// open: the indices of unsafe.disjuncts to attack (empty: nothing to do).
// bt: sound bounds over box (the local walk's model). x_best: an optional
// start (the best point seen so far; empty = none).
FalsifyResult falsifyCase(const nn::Network& net, const spec::Box& box,
                          const spec::OutputSpec& unsafe, const std::vector<int>& open,
                          const bounds::BoundTable& bt, const Eigen::VectorXd& x_best,
                          const FalsifyParams& p, const AcceptFn& accept);

}  // namespace nnopt::verify
