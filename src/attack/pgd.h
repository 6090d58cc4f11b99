#pragma once
// Projected gradient descent on the outputs of a network over an input box: a
// cheap falsifier for output conditions given as OR of ANDs of linear
// constraints (spec::OutputSpec).
//
// For one conjunction K the objective is the violation margin
//   g_K(x) = max_{k in K} (c_k^T f(x) - d_k)       (<= 0: x satisfies all of K)
// and for a disjunction D it is g(x) = min_{K in D} g_K(x). PGD minimises g by
// steps scaled per input dimension by the box width, projected back into the
// box, from several starts: the given start
// points, then Sobol points (Cranley-Patterson shifted with the seed) and
// random box corners alternately. The step size decays on a cosine schedule
// from step_init to step_final (fractions of the box width). Deterministic for
// a given seed; stops at the deadline or as soon as g(x) <= target.
// The descent direction for a conjunction is the gradient of a soft maximum
// of its constraints (softmax weights with temperature smooth_max * |g_K|, so
// it becomes the plain maximum as g_K -> 0): near-active constraints are
// decreased together instead of in turn. Step kinds: signed gradient (an
// L-inf step, the usual choice for images) or the width-scaled gradient
// normalised by its largest component (keeps the direction; better in few
// dimensions).
#include <Eigen/Dense>
#include <cstdint>
#include <atomic>
#include <limits>
#include <vector>

#include "core/log.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::attack {

enum class PgdStep { kAuto, kSign, kScaled };  // kAuto: sign above 16 inputs

struct PgdParams {
  int restarts = 8;           // number of starts (start points count as restarts)
  int steps = 100;            // gradient steps per start
  double step_init = 0.1;     // first step, as a fraction of the box width per dimension
  double step_final = 0.002;  // last step (cosine decay)
  uint64_t seed = 0;
  double time_limit = std::numeric_limits<double>::infinity();  // seconds
  double target = 0.0;                                          // stop as soon as g(x) <= target
  PgdStep step = PgdStep::kAuto;
  double smooth_max = 0.1;  // soft-max temperature relative to |g_K| (0 = plain max)
  // Start points, used first (clamped into the box). When empty, start 0 is
  // the box centre.
  std::vector<Eigen::VectorXd> starts;
  // Stop as on the time limit once *cancel becomes true (optional).
  const std::atomic<bool>* cancel = nullptr;
};

struct PgdResult {
  Eigen::VectorXd x;                                       // best point seen (inside the box)
  Eigen::VectorXd y;                                       // f(x)
  double value = std::numeric_limits<double>::infinity();  // g(x)
  int disjunct = -1;                                       // disjunct attaining g at x
  bool reached = false;                                    // value <= target
  int restarts_run = 0;
  long steps = 0;
  double time_s = 0.0;
};

// Minimises g over the box. Throws Error when the box does not match the
// network input size, is empty or not finite, or the spec has no disjuncts or
// refers to an output index out of range.
PgdResult pgdMinimize(const nn::Network& net, const spec::Box& box, const spec::OutputSpec& spec,
                      const PgdParams& p);

}  // namespace nnopt::attack
