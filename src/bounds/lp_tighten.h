#pragma once
#include <atomic>
#include <optional>
// LP-based bound tightening ("lp"): layer by layer, the LP relaxation of the
// network up to the current layer is built incrementally in one warm-started
// Clp session (solve::LpSession):
//   - input box as variable bounds; Dense layers as equality rows;
//   - ReLU / LeakyReLU: stable neurons exactly (y = t or y = alpha t),
//     unstable ones by the triangle relaxation (convex hull of the function
//     over [l, u]) from the best pre-activation bounds known at that point;
//   - Tanh / Sigmoid: the two CROWN lines of relaxActivation() (not the convex
//     hull, but sound), so layers after smooth activations are tightened too.
// Every pre-activation neuron of a ReLU/LeakyReLU that is unstable under the
// current bounds is then minimised and maximised, and the results are
// intersected with the current bounds (never loosened). Activation outputs and
// later layers are recomputed by interval arithmetic from the tightened layer
// and intersected with `start`.
//
// Soundness: an LP value is used only when Clp reports optimal, and then not
// the objective but the weak-duality bound of LpSession::Result::bound (valid
// for any dual vector, so independent of solver tolerances), moved outward by
// 1e-7 * (1 + |v|). The relaxation rows are loosened by ~1e-10 relative to
// cover rounding of their coefficients.
//
// The first Dense layer (over the input box) is not tightened: interval
// arithmetic is already exact there.
#include <string>
#include <vector>

#include "bounds/bound_table.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bounds {

struct LpTightenParams {
  double time_limit_s = 10;  // wall clock for the whole call; then the sound bounds so far
  // true: only neurons feeding a ReLU/LeakyReLU that are unstable (l < 0 < u);
  // false: every pre-activation neuron of every activation layer.
  bool only_unstable = true;
  bool tighten_output = false;  // also minimise/maximise each network output
  // Give up early when the tightening cannot finish: once probe_lps LPs are
  // solved or a tenth of the time limit is spent (and at least 2 LPs), the
  // LPs still to come (2 per candidate neuron left, at the mean time per LP so
  // far) are projected; if that exceeds give_up_factor times the time left,
  // stop with the sound bounds so far (stats: gave_up); likewise when one LP
  // alone needs more than a quarter of the time limit. A tightening that runs
  // out of time stops in its first tightened layer (every LP there is as
  // large as the network up to it), where a few neurons change little:
  // measured on the VNN-COMP CIFAR CNNs, 9 s gave 0-3 stabilised ReLUs of
  // 450-2100 unstable. 0 = off (use the whole time limit).
  int probe_lps = 0;
  double give_up_factor = 2.0;
  // Stop as on time when *cancel becomes true (optional).
  const std::atomic<bool>* cancel = nullptr;
};

struct LpTightenStats {
  long lps = 0;         // LPs solved
  long lps_failed = 0;  // LPs whose result could not be used (not optimal)
  long iterations = 0;  // simplex iterations, all LPs
  long neurons = 0;     // neurons whose bounds were optimised
  long stabilised = 0;  // ReLU neurons that became stable
  bool timed_out = false;
  bool gave_up = false;  // stopped by the projection (LpTightenParams::probe_lps)
  double time_s = 0;
};

// Bounds (method = "lp") that are at least as tight as `start` for every
// neuron. `start` must be a sound table for net and box (e.g. crownBounds).
// Throws Error on size mismatches or a non-finite box.
BoundTable lpTightenBounds(const nn::Network& net, const spec::Box& box, const BoundTable& start,
                           const LpTightenParams& p = {}, LpTightenStats* stats = nullptr);

enum class BoundsLevel { kInterval, kCrown, kLp };
const char* boundsLevelName(BoundsLevel l);          // "interval", "crown", "lp"
BoundsLevel parseBoundsLevel(const std::string& s);  // throws Error on an unknown name

// The bounds of the given level: interval, crownBounds, or crownBounds
// tightened by lpTightenBounds with the given time limit.
BoundTable tightestBounds(const nn::Network& net, const spec::Box& box, BoundsLevel level,
                          double lp_time_limit_s = 10);

// The tables `nnopt bounds` (and nnopt.bounds in Python) report, in the
// order of `methods` (interval, crown, lp): the CROWN table is computed once,
// lp tightens it and its time includes CROWN's. Throws Error on an unknown
// method name. cancel (optional): once true, the LP tightening stops with the
// sound bounds so far (as on its time limit).
struct MethodTable {
  BoundTable table;
  double time_s = 0;
  std::optional<LpTightenStats> lp;  // method lp only
};
std::vector<MethodTable> boundsForMethods(const nn::Network& net, const spec::Box& box,
                                          const std::vector<std::string>& methods,
                                          double lp_time_limit_s,
                                          const std::atomic<bool>* cancel = nullptr);

}  // namespace nnopt::bounds
