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

double specMargin(const spec::OutputSpec& s, const Eigen::VectorXd& y, int* disjunct,
                  int* constraint) {
  double best = std::numeric_limits<double>::infinity();
  int bd = -1, bk = -1;
  for (size_t d = 0; d < s.disjuncts.size(); ++d) {
    double m = -std::numeric_limits<double>::infinity();
    int mk = -1;
    const auto& conj = s.disjuncts[d];
    for (size_t k = 0; k < conj.size(); ++k) {
      double v = conj[k].eval(y);
      if (std::isnan(v)) v = std::numeric_limits<double>::infinity();
      if (mk < 0 || v > m) m = v, mk = static_cast<int>(k);
    }
    if (bd < 0 || m < best) best = m, bd = static_cast<int>(d), bk = mk;
  }
  if (disjunct) *disjunct = bd;
  if (constraint) *constraint = bk;
  return best;
}

}  // namespace nnopt::spec
