#include "attack/exact_policy.h"

#include <fmt/format.h>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "core/error.h"

namespace nnopt::attack {

ExactChoice chooseExactMethod(const nn::Network& net, const spec::Box& box,
                              const ExactPolicy& policy) {
  require(net.isPiecewiseLinear(),
          "no exact method for networks with smooth activations (Tanh/Sigmoid)");
  require(box.size() == net.inputSize(), "exact method: the box does not match the network input");
  ExactChoice c;
  if (net.hasMaxPool()) {
    c.method = Method::kMip;
    c.why = "mip: the ReLU BaB refuses MaxPool layers";
    return c;
  }
  // The MIP builds its model on the same CROWN bounds (BoundsLevel::kCrown).
  c.unstable = static_cast<int>(bounds::countRelus(net, bounds::crownBounds(net, box)).unstable);
  if (c.unstable >= policy.portfolio_min_unstable) {
    c.method = Method::kPortfolio;
    c.why = fmt::format("portfolio: {} unstable ReLUs (>= {})", c.unstable,
                        policy.portfolio_min_unstable);
  } else {
    c.method = Method::kMip;
    c.why = fmt::format("mip: {} unstable ReLUs (< {}, CBC alone is faster)", c.unstable,
                        policy.portfolio_min_unstable);
  }
  return c;
}

}  // namespace nnopt::attack
