// --mean/--std: one value for all inputs or one per channel of a C x H x W input,
// expanded to the per-input vectors of nn::Network::withInputNormalization.
#include "io/normalization.h"

#include <fmt/core.h>

#include <cmath>

#include "core/error.h"

namespace nnopt::io {
namespace {

std::string dims(const nn::Shape& shape) {
  std::string s;
  for (auto d : shape) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

}  // namespace

Eigen::VectorXd expandPerChannel(const std::vector<double>& values, const nn::Shape& shape,
                                 const std::string& what) {
  const int64_t n = nn::numel(shape);
  const auto k = static_cast<int64_t>(values.size());
  if (k == 1) return Eigen::VectorXd::Constant(n, values[0]);
  const bool chw = shape.size() == 3;
  if (!chw || k != shape[0])
    throw Error(fmt::format(
        "{} has {} values but the network input is {}: give 1 value (all inputs){}", what, k,
        dims(shape),
        chw && shape[0] > 1
            ? fmt::format(" or {} (one per channel of the C x H x W input)", shape[0])
            : std::string(" (one per channel needs a C x H x W input with C > 1)")));
  const int64_t plane = shape[1] * shape[2];
  Eigen::VectorXd out(n);
  for (int64_t c = 0; c < k; ++c) out.segment(c * plane, plane).setConstant(values[c]);
  return out;
}

void checkNormalization(const std::vector<double>& mean, const std::vector<double>& stdv) {
  if (mean.empty() != stdv.empty()) throw Error("--mean and --std must be given together");
  for (double s : stdv)
    if (!(s > 0) || !std::isfinite(s)) throw Error("--std must be > 0");
  for (double m : mean)
    if (!std::isfinite(m)) throw Error("--mean must be a finite number");
}

nn::Network withNormalization(const nn::Network& net, const std::vector<double>& mean,
                              const std::vector<double>& stdv) {
  checkNormalization(mean, stdv);
  if (mean.empty()) return net;
  if (mean.size() == 1 && stdv.size() == 1) return net.withInputNormalization(mean[0], stdv[0]);
  return net.withInputNormalization(expandPerChannel(mean, net.inputShape(), "--mean"),
                                    expandPerChannel(stdv, net.inputShape(), "--std"));
}

}  // namespace nnopt::io
