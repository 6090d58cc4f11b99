#pragma once
// Branching rules of the ReLU-split branch and bound (bab/relu_bab.h): which
// unstable neuron a node splits next.
//  - BaBSR-style score: max(0, -backward coefficient of the neuron's output in
//    the closest constraint's CROWN bound) * the triangle's intercept
//    -l u / (u - l) (what a split removes from the bound; no LP needed);
//  - LP violation: that coefficient times the relaxation gap y - relu(t) at
//    the node LP point (the gap the LP actually uses), BaBSR as tie-break;
//    neurons without a gap at the LP point are not candidates (splitting them
//    leaves the LP optimum where it is): a node without any is a leaf;
//  - reliability branching: per-neuron pseudocosts (bound gain per unit of
//    violation, per child direction), filled by strong branching on the LP;
//  - fresh candidate bounds (opt-in): the best candidates' bounds recomputed
//    on the node, one-signed ones fixed instead of split.
#include <Eigen/Dense>
#include <memory>
#include <vector>

#include "bab/node_lp.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bab {

struct Candidate {
  bounds::ReluSplit split;  // `active` unused
  double babsr = 0;         // max(0, -coef) * triangle intercept (+ tie-breaks)
  double coef = 0;          // |coef| of the CROWN objective bound
  double viol = 0;          // y - relu(t) at the node LP solution
  double score = 0;         // ranking for the choice / strong branching
  bool fresh = false;       // bounds recomputed on the node (BabParams::fresh_candidates)
};

// The unstable neurons of table t with their BaBSR scores (score = babsr);
// coef: the per-activation-layer backward coefficients (crownLowerBoundDetail's
// act_coef, entries may be missing).
std::vector<Candidate> candidates(const nn::Network& net, const bounds::BoundTable& t,
                                  const std::vector<Eigen::VectorXd>& coef);

// Keeps the candidates with a relaxation gap at the LP point (lp.relus) and,
// when rescore, ranks them by the LP rule.
void addViolations(const nn::Network& net, std::vector<Candidate>& cands, const NodeLpResult& lp,
                   bool rescore);

// Fresh CROWN bounds (bounds::crownNeuronBounds on t, a table sound for the
// node) of the best-scored candidates, per_round at a time, lowest layer first,
// for up to 4 rounds while the best candidate left has not been recomputed:
// one-signed ones are fixed in a copy of t and dropped from cands, the
// others' bounds tightened and (rescore: BaBSR) their scores scaled by the
// new triangle intercept; cands come back sorted by score. empty: some bounds
// cross beyond rounding (no input reaches the node).
struct FreshOutcome {
  bool empty = false;
  long fixed = 0;     // candidates fixed
  long computed = 0;  // candidates whose bounds were recomputed
  std::shared_ptr<bounds::BoundTable> table;  // t with the new bounds; null if unchanged
};
FreshOutcome refreshCandidates(const nn::Network& net, const spec::Box& box,
                               const bounds::BoundTable& t, std::vector<Candidate>& cands,
                               size_t per_round, bool rescore);

// Pseudocosts of one search worker.
class Pseudocosts {
 public:
  explicit Pseudocosts(const nn::Network& net);
  bool reliable(const bounds::ReluSplit& s);
  // The bound gain of the child in direction `active` of a split whose LP
  // violation was viol (ignored without a violation).
  void record(const bounds::ReluSplit& s, bool active, double gain, double viol);
  double score(const Candidate& c);  // product of the two predicted gains

 private:
  struct Cost {
    double sum[2] = {0, 0};  // bound gain per unit of LP violation, inactive / active child
    int n[2] = {0, 0};
  };
  Cost& at(const bounds::ReluSplit& s);
  const nn::Network& net_;
  std::vector<std::vector<Cost>> pc_;  // per activation layer and neuron
};

}  // namespace nnopt::bab
