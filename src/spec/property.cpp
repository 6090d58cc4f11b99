#include "spec/property.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace nnopt::spec {

bool Box::contains(const Eigen::VectorXd& x, double tol) const {
  if (x.size() != lo.size()) return false;
  for (Eigen::Index i = 0; i < x.size(); ++i)
    if (!(x[i] >= lo[i] - tol && x[i] <= hi[i] + tol)) return false;
  return true;
}

bool Box::empty() const {
  for (Eigen::Index i = 0; i < lo.size(); ++i)
    if (lo[i] > hi[i]) return true;
  return false;
}

Box linfBall(const Eigen::VectorXd& x, double eps, double clip_lo, double clip_hi) {
  require(std::isfinite(eps) && eps >= 0, "eps must be a finite number >= 0 (got " +
                                              std::to_string(eps) + ")");
  Box b;
  b.lo = (x.array() - eps).max(clip_lo).matrix();
  b.hi = (x.array() + eps).min(clip_hi).matrix();
  // A pixel outside [clip_lo, clip_hi] would make the box empty; keep it valid
  // by clamping the centre too.
  for (Eigen::Index i = 0; i < x.size(); ++i)
    if (b.lo[i] > b.hi[i]) b.lo[i] = b.hi[i] = std::clamp(x[i], clip_lo, clip_hi);
  return b;
}

double OutputConstraint::eval(const Eigen::VectorXd& y) const {
  double v = 0;
  for (const auto& [j, c] : coefs) v += c * y[j];
  return v - rhs;
}

bool OutputSpec::satisfiedBy(const Eigen::VectorXd& y, double tol) const {
  for (const auto& conj : disjuncts) {
    bool all = true;
    for (const auto& c : conj)
      if (!(c.eval(y) <= tol)) {
        all = false;
        break;
      }
    if (all) return true;
  }
  return false;
}

}  // namespace nnopt::spec
