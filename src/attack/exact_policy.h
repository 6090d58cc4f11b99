#pragma once
// Which exact method proves a margin where a proof is wanted (`auto`'s
// escalation, the sweep's auto rows, robustness' exact stage): the portfolio
// (CBC and the ReLU BaB racing on two threads, attack.h Method::kPortfolio)
// only where it pays; plain CBC where the race's fixed costs (a second thread,
// the BaB's root bounds) dominate or the BaB cannot run.
//
// Measured (sweep networks, eps 0.1): below ~45 ReLUs unstable under CROWN
// bounds CBC proves the optimum in under 5 s and the portfolio is 1.7-5x
// slower (docs/results/exact-eps0.1, 600 s). At 50-54 (2x30, 1x60, 3x20) CBC
// alone still proves it and the race is 0.93-1.27x CBC's time there, 1.2-1.9x
// on the loaded 2-core machine of docs/results/portfolio (its second thread
// takes CBC's core); from 69 (2x40, 4x20, 3x30, 2x50, 5x20) it is 0.26-1.01x at
// 600 s and, at a 60 s limit, finds a replayed attack where CBC times out
// without one, with a 1.4-2.9x tighter bound. Hence 60. The number of hidden
// layers alone does not decide it (4x10 / 5x10, 23 / 31 unstable: the
// portfolio 2-2.5x slower).
#include <string>

#include "attack/attack.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::attack {

struct ExactPolicy {
  // The portfolio from this many unstable ReLUs (CROWN bounds over the box).
  int portfolio_min_unstable = 60;
};

struct ExactChoice {
  Method method = Method::kMip;  // kMip or kPortfolio
  int unstable = 0;              // ReLUs unstable under CROWN bounds over the box
  std::string why;               // one line
};

// Throws Error when the network is not piecewise linear (no exact method) or
// the box does not match it.
ExactChoice chooseExactMethod(const nn::Network& net, const spec::Box& box,
                              const ExactPolicy& policy = {});

}  // namespace nnopt::attack
