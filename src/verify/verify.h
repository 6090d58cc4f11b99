#pragma once
// Complete verification of a VNN-LIB style property: is there an input x in
// some case's box whose output y = f(x) satisfies that case's unsafe condition
// (an OR of ANDs of linear constraints on y)?
//
// Escalation per property (one deadline for everything):
//  1. falsify, cheap: PGD with restarts on the whole unsafe disjunction of each
//     case (attack/pgd.h);
//  2. falsify, local NLP: the complementarity NLP (Scholtes continuation) of
//     min t s.t. c_k^T y - d_k <= t for the most promising disjuncts, started
//     at the best PGD point, polished by PGD;
//  3. prove (or find): low-dimensional inputs (<= input_split_max_dims): branch
//     and bound over input splits with CROWN bounds (bab/input_split.h), the
//     falsifier (PGD rounds, LPCC walks) interleaved from 0.3 s on; else
//     per disjunct an alpha-CROWN check at the root, LP-tightened bounds
//     (bounds/lp_tighten.h) and CROWN again, then an exact method on min t:
//     the ReLU-split branch and bound (bab/relu_bab.h through
//     verify/relu_prover.h, the default) or the big-M MIP in CBC with early stop below 0
//     (verify/disjunct_model.h).
// Soundness rules: every `sat` is replayed (x clamped into its case's box,
// forward pass in double, Property::isUnsafe with tolerance 0) before it is
// reported; `unsat` only when every disjunct of every case was refuted by a
// finished sound method (CROWN bound > prune_tol, input B&B exhausted, ReLU
// B&B exhausted or MIP with proven bound > mip_unsat_tol). Otherwise `timeout` (deadline reached)
// or `unknown` (methods finished without deciding).
#include <Eigen/Dense>
#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "nn/network.h"
#include "spec/property.h"
#include "bab/input_split.h"
#include "verify/relu_prover.h"

namespace nnopt::verify {

enum class VerifyAnswer { kSat, kUnsat, kTimeout, kUnknown };
const char* answerName(VerifyAnswer a);  // "sat", "unsat", "timeout", "unknown"

// Which prover runs in stage 3.
enum class Prover {
  // input B&B for <= input_split_max_dims inputs (or smooth nets), else
  // relu-bab. Not the portfolio: measured on MNIST-FC 256x2/256x4, ERAN 3x50
  // and sweep MLPs (docs/results/portfolio/), CBC decided no disjunct before
  // the ReLU B&B, and at 2 threads the race's B&B, one worker short, was
  // slower (256x2 prop_3 eps 0.03: unsat in 14 s alone, timeout at 30 s).
  kAuto,
  kInputBab,  // input-split B&B with CROWN (any dimension; weak for images)
  kMip,       // CROWN root check, LP-tightened bounds, exact MIP (CBC) per disjunct
  kReluBab,   // same, with the ReLU-split B&B (bab/relu_bab.h) for the MIP
  // same, the ReLU B&B (threads - 1 workers) and the MIP (one thread) racing
  // per disjunct: the first sound decision ends both
  kPortfolio,
  kNone,      // falsification only (answers sat / unknown / timeout)
};
const char* proverName(Prover p);
// auto, input-bab, mip, relu-bab, portfolio, none; throws Error listing them.
Prover parseProver(const std::string& s);

struct VerifyParams {
  double timeout_s = 60.0;  // wall clock for the whole property
  int threads = 0;          // worker threads for the input B&B (0 = hardware threads)
  uint64_t seed = 0;        // PGD starts
  Prover prover = Prover::kAuto;
  // Stage 1: PGD.
  int pgd_restarts = 16;
  int pgd_steps = 100;
  double pgd_time_frac = 0.05;  // of timeout_s, at most pgd_time_max_s
  double pgd_time_max_s = 5.0;
  // Low-dimensional inputs (<= input_split_max_dims): half of the PGD starts
  // are the best of this many uniform samples (0 = off).
  int pgd_samples = 512;
  // Stage 2: NLP.
  bool nlp = true;
  int nlp_disjuncts = 3;        // NLP on this many disjuncts per case (smallest PGD margin)
  double nlp_time_frac = 0.05;  // of timeout_s, at most nlp_time_max_s
  double nlp_time_max_s = 5.0;
  bool nlp_before_bab = false;  // also run the NLP when the input B&B is the prover
  // Falsifier rounds (verify/falsify.h) after the PGD of stage 1: each open
  // disjunct and the whole disjunction once each, falsify_restarts starts
  // per round (0 rounds = off).
  int falsify_rounds = 4;  // times (disjuncts + 1)
  int falsify_restarts = 8;
  // The falsifier as a thread beside the exact search (ReLU B&B / MIP /
  // portfolio, and the input B&B when falsify_beside_input_bab), working
  // falsify_duty of the wall time; its first replayed counterexample stops
  // the search.
  bool falsify_beside = true;
  bool falsify_beside_input_bab = false;
  double falsify_duty = 0.5;
  // Stage 3.
  int input_split_max_dims = 10;
  int alpha_iters_root = 20;  // alpha-CROWN iterations for root checks (0 = off)
  int bab_pgd_steps = 5;      // PGD steps from each B&B node's centre
  long bab_max_nodes = 20'000'000;
  bab::InputSplitRule bab_split = bab::InputSplitRule::kCrownCoef;  // input B&B branching score
  bab::BabOrder bab_order = bab::BabOrder::kBestFirst;
  int bab_lookahead = 2;        // see bab::InputSplitParams::lookahead
  bool bab_incremental = true;  // see bab::InputSplitParams::incremental
  int bab_combine_iters = 8;     // see bab::InputSplitParams::combine_iters
  // See bab::InputSplitParams::exact_unstable_max. 16 until the leaves' ReLU B&B
  // got compact node LPs (bab::NodeLpForm, 2.6x less LP time); with them,
  // on ACAS Xu 2021 (186, --threads 1; before = 16 and full LPs): 32: total
  // 145 -> 113 s, 3_3 / 4_2 prop 2 38 / 37 -> 15 / 18 s; 40 (with the
  // effort-based late switch): total 109 s, slowest 13.8 s (32: 116.5 s,
  // 23 s); at 2 threads slowest 6.9 s (32: 9.8 s); 1_1 prop 6 is the one
  // loss (8.4 -> 12.4 s at 1 thread); 0 wrong in every run.
  int bab_exact_unstable_max = 40;
  int bab_exact_unstable_late = 48;  // see bab::InputSplitParams::exact_unstable_late
  double bab_exact_late_s = 10.0;    // see bab::InputSplitParams::exact_late_s
  // The falsifier between input B&B nodes (bab::InputSplitParams::interlude) on
  // piecewise-linear networks.
  bool bab_interlude = true;
  double bab_interlude_first_s = 0.3;
  double bab_interlude_share = 0.25;
  // Each interlude first runs stage 1's PGD again (new seed) with half of its
  // starts from the best of this many uniform samples (0 = no PGD there):
  // the LPCC walk needs a start in the right region (5_3 / prop 2).
  int bab_interlude_samples = 4096;
  double prune_tol = 1e-9;      // a constraint is refuted when its lower bound > this
  double mip_unsat_tol = 1e-6;  // a MIP refutes a disjunct when its bound > this
  int mip_threads = 1;          // CBC threads per MIP
  bab::BabBranching relu_branching = bab::BabBranching::kBabsr;  // relu-bab prover
  // relu-bab prover. kAuto: node LPs, dropped when the root LP is too slow
  // (bab::NodeBounds::kAuto); on a fully-connected network (every Dense
  // layer a dense matrix) they race (verify::raceLpAndBeta; one thread:
  // in turns, beta-CROWN first for a short time) beta-CROWN nodes without
  // LPs (relu_beta_no_lp steps, the parents' tables with the splits
  // clipped, LPs only at leaves): on MNIST-FC 256x4 the latter took 2-3.4x
  // less time on 3 instances, the LPs 1.6x+ less on another.
  bab::NodeBounds relu_node_bounds = bab::NodeBounds::kAuto;
  int relu_beta_iters = 0;  // relu-bab prover: beta-CROWN steps per node (0 = CROWN)
  int relu_beta_no_lp = 5;  // relu-bab prover: the same at nodes without an LP
  // relu-bab prover: intermediate bounds of a child by CROWN with its splits
  // (true) or the parent's table with the splits clipped (false), at nodes
  // with an LP / without one (ReluProverParams::node_crown, crown_tables_no_lp).
  bool relu_node_crown = false;
  bool relu_crown_tables_no_lp = true;
  bool relu_tables_given = false;  // the two above were chosen (else kAuto's choice above)
  int relu_fresh = 0;  // relu-bab prover: bab::BabParams::fresh_candidates
  int relu_batch = 0;  // relu-bab prover: bab::BabParams::batch (0 = bab::kDefaultBatch)
  // alpha-CROWN tightening of every layer's intermediate bounds before the LP
  // tightening (high-dimensional route; bounds::betaCrownTightenTable without
  // splits): root_alpha_iters steps per neuron and bound (0 = off), at most
  // root_alpha_frac of timeout_s and root_alpha_max_s. MNIST-FC 256x4 prop_9
  // at eps 0.03: 496 -> 349 unstable ReLUs in 2.5 s, the output bounds of
  // the disjuncts from about -15 to -3.5 (the LP tightening gives up there).
  int root_alpha_iters = 20;
  double root_alpha_frac = 0.1;
  double root_alpha_max_s = 15.0;
  // Also run the LP tightening after it (false: only when it did not run).
  // A = LP only, C = alpha only, --threads 1 (MNIST-FC, eps 0.03 unless
  // said): 256x4 prop_0 / 5 / 13: 74 / 35 / 31 s -> 59 / 21 / 13 s; 256x2
  // prop_5 / 9 / 13 / 0 / 6_0.05: 10.4 / 10.5 / 8.2 / 7.2 / 5.5 s -> 9.3 /
  // 9.5 / 6.9 / 5.5 / 5.1 s; prop_1: 47.6 -> 53.4 s (4403 -> 4461 nodes);
  // prop_3: 13.5 -> 20.0 s with the same nodes (1359 / 1363: load).
  bool lp_after_alpha = false;
  // LP bound tightening before the exact stage (high-dimensional route).
  double lp_tighten_frac = 0.15;  // of timeout_s, at most lp_tighten_max_s
  double lp_tighten_max_s = 20.0;
  // Give the tightening up when its LPs left cannot be done in the budget
  // (bounds::LpTightenParams::probe_lps; 0 = use the whole budget).
  int lp_tighten_probe_lps = 16;
  bool solver_log = false;  // solver logs to stdout (CLI debugging only)
  // Optional: once *cancel is true every stage stops as on the deadline
  // (within about a second) and the answer is `unknown` with reason
  // "cancelled ..." unless sat/unsat was established before (Ctrl-C in Python).
  const std::atomic<bool>* cancel = nullptr;
};

struct VerifyResult {
  VerifyAnswer answer = VerifyAnswer::kUnknown;
  // Counterexample (sat only): x inside the case's box, y = f(x).
  Eigen::VectorXd x, y;
  int case_index = -1;  // sat: the case and disjunct the point satisfies
  int disjunct_index = -1;
  // "pgd", "falsify:pgd", "falsify:pgd-targeted", "falsify:local" (stage 1 or
  // the thread beside the search), "nlp", "input-bab", "crown", "mip",
  // "relu-bab", "" (undecided)
  std::string decided_by;
  std::string reason;      // one line: why this answer
  double time_s = 0.0;
  long nodes = 0;     // input B&B nodes + MIP nodes
  int max_depth = 0;  // input B&B: deepest node
  // Input B&B: leaves decided by the ReLU B&B (runs, their nodes, wall time).
  long exact_runs = 0, exact_nodes = 0;
  double exact_s = 0.0;
  double interlude_s = 0.0;  // input B&B: wall time of its falsifier interludes
  int cases = 0;
  int disjuncts = 0;  // over all cases
  int disjuncts_refuted = 0;
  double best_margin = std::numeric_limits<double>::infinity();  // smallest g(x) seen
  // Time per stage (seconds).
  double pgd_s = 0.0, nlp_s = 0.0, prove_s = 0.0;
  double lp_s = 0.0;  // of prove_s: LP bound tightening
  // Of prove_s: the root alpha-CROWN tightening, and the unstable ReLUs
  // before and after it (-1: not run).
  double alpha_s = 0.0;
  int alpha_unstable_before = -1, alpha_unstable_after = -1;
  long lp_lps = 0;          // its LPs
  long lp_stabilised = 0;   // ReLUs it made stable
  bool lp_gave_up = false;  // stopped by the projection (lp_tighten_probe_lps)
  // The falsifier (stage 1 and beside the search): rounds, PGD starts, walks.
  int falsify_rounds = 0;
  long falsify_starts = 0;
  int falsify_local = 0;
  // ReLU B&B: nodes bounded by CROWN, closed by CROWN; whether the LP was
  // dropped (ReluNodeBounds::kAuto, root LP too slow) in some disjunct.
  long bab_crown_nodes = 0, bab_crown_pruned = 0;
  long bab_fresh_fixed = 0;  // candidates fixed by fresh bounds instead of split (bab::BabResult::fresh_fixed)
  bool bab_lp_dropped = false;
  // The ReLU B&B runs that stopped undecided (time or node limit): how many,
  // and the smallest share of its disjunct's domain one of them closed
  // (bab::BabResult::closed_fraction; 1 when none stopped): how far a
  // timeout was from a refutation.
  int bab_stopped_runs = 0;
  double bab_closed_fraction = 1.0;
  // Portfolio prover: disjuncts decided by each side.
  int portfolio_bab_wins = 0, portfolio_mip_wins = 0;
  // relu-bab prover, kAuto on a fully-connected network: disjuncts decided
  // by the node-LP side / the beta-CROWN side of the race (or turn).
  int relu_race_lp_wins = 0, relu_race_beta_wins = 0;
};

// Throws Error when the property does not match the network (box sizes,
// output indices) or is empty. Never throws for solver trouble: a failing
// stage leaves the answer undecided.
VerifyResult verifyProperty(const nn::Network& net, const spec::Property& prop,
                            const VerifyParams& params);

// The paired (case) view of a property: prop.cases, or the product view
// input_boxes x unsafe when cases is empty.
std::vector<spec::PropertyCase> propertyCases(const spec::Property& prop);

// Replay: clamps x into case_box (returns false when x is further than tol
// outside it or not finite), runs the forward pass and checks
// prop.isUnsafe(x, y) with tolerance 0. Writes the clamped point and its
// output into x_out / y_out.
bool replayCounterexample(const nn::Network& net, const spec::Property& prop,
                          const spec::Box& case_box, const Eigen::VectorXd& x,
                          Eigen::VectorXd& x_out, Eigen::VectorXd& y_out, double tol = 1e-9);

}  // namespace nnopt::verify
