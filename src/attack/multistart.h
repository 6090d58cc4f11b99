#pragma once
// Multi-start NLP screen (the seed blog's "speed as a strategy"): many NLP
// solves from Sobol points filling the input box, spread over worker threads,
// optionally stopping at the first replayed attack. And the escalation
// strategy `auto`: the screen first, the exact stage (CBC or the portfolio)
// only when it finds nothing.
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "attack/attack.h"
#include "attack/exact_policy.h"

namespace nnopt::attack {

// n points of a d-dimensional Sobol sequence (Joe-Kuo directions, boost),
// mapped into the box. Point 0 is the box centre when include_centre. With
// scramble, a random shift modulo 1 (Cranley-Patterson rotation, seeded) is
// applied to the sequence.
std::vector<Eigen::VectorXd> sobolPoints(const spec::Box& box, int n, bool scramble = false,
                                         uint64_t seed = 0, int skip = 0);

// The same points one at a time (thread-safe): start k of a run is the k-th
// point, whatever thread takes it, so results do not depend on the threads.
class SobolStream {
 public:
  SobolStream(const spec::Box& box, bool scramble = false, uint64_t seed = 0);
  ~SobolStream();
  Eigen::VectorXd next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct MultiStartParams {
  MarginAttackParams nlp;  // method is forced to NLP; nlp.time_limit bounds the whole run
  int starts = 16;
  // Stop launching starts after this many seconds (the starts already
  // running finish within nlp.time_limit); +inf = only the count limits.
  double time_budget = std::numeric_limits<double>::infinity();
  bool early_stop = true;
  int threads = 0;         // 0 = all hardware threads
  bool scramble = false;
  uint64_t seed = 0;
  bool first_start_is_clean = true;  // start 0 = the clean image (the single-start NLP)
  // Native local solver: exploration LPs of the Sobol starts (start 0 uses
  // nlp.local_explore, as the single start does). Cheap starts are the point
  // of multi-start: 0 keeps 5x30 at ~180 starts/s.
  int sobol_explore = 0;
};

struct MultiStartResult {
  MarginAttackResult best;      // the best (smallest replayed margin) start
  int starts_run = 0;
  int first_attack_start = -1;  // index of the first start that found an attack (-1: none)
  double time_s = 0.0;
  double starts_per_s = 0.0;
  std::vector<double> margins;  // per start, by index (NaN when not run / no point)
};

MultiStartResult multiStartAttack(const nn::Network& net, const spec::Box& box,
                                  const Eigen::VectorXd& x0, int true_label, int target_label,
                                  const MultiStartParams& p);

struct AutoParams {
  MultiStartParams screen;
  MarginAttackParams mip;  // the exact stage's parameters (its method is set by `exact`)
  // The exact stage: Method::kNlp (the default) = chosen per network by
  // chooseExactMethod (exact_policy.h: the portfolio where it pays, else CBC);
  // kMip or kPortfolio = always that one.
  Method exact = Method::kNlp;
  ExactPolicy policy;
};

struct AutoResult {
  MarginAttackResult result;   // the deciding stage's result
  std::string decided_by;      // "nlp-screen", "mip" or "portfolio"
  std::string reason;
  MultiStartResult screen;
  bool mip_ran = false;        // the exact stage ran (mip or portfolio)
  std::string exact_method;    // "mip" or "portfolio" when it ran, else empty
  std::string exact_why;       // why that one (ExactChoice::why)
};

AutoResult autoAttack(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                      int true_label, int target_label, const AutoParams& p);

}  // namespace nnopt::attack
