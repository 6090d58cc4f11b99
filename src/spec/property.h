#pragma once
// Properties in the network's input space (pixel space when the normalisation
// is folded into the network): input boxes and an output condition.
#include <Eigen/Dense>
#include <string>
#include <utility>
#include <vector>

namespace nnopt::spec {

struct Box {
  Eigen::VectorXd lo;
  Eigen::VectorXd hi;
  int64_t size() const { return lo.size(); }
  bool contains(const Eigen::VectorXd& x, double tol = 1e-9) const;
  bool empty() const;  // some lo > hi
};

// L-inf ball of radius eps around x, intersected with [clip_lo, clip_hi].
// Throws Error when eps < 0 or not finite.
Box linfBall(const Eigen::VectorXd& x, double eps, double clip_lo = 0.0, double clip_hi = 1.0);

// sum_j coef_j * y_j <= rhs  (y = network outputs)
struct OutputConstraint {
  std::vector<std::pair<int, double>> coefs;
  double rhs = 0.0;
  double eval(const Eigen::VectorXd& y) const;  // lhs - rhs  (<= 0 means satisfied)
  bool operator==(const OutputConstraint&) const = default;  // exact (coefs order matters)
};

// The unsafe set as a disjunction of conjunctions (VNN-LIB convention).
struct OutputSpec {
  std::vector<std::vector<OutputConstraint>> disjuncts;
  // True when y satisfies at least one disjunct (all its constraints within tol).
  bool satisfiedBy(const Eigen::VectorXd& y, double tol = 0.0) const;
};

// g(y) = min over disjuncts of max over their constraints of (c^T y - d)
// (<= 0 iff y satisfies some disjunct); +inf for an empty
// disjunction, -inf for a disjunct without constraints. *disjunct / *constraint
// receive the indices attaining the min / max (-1 when none).
double specMargin(const spec::OutputSpec& s, const Eigen::VectorXd& y, int* disjunct = nullptr,
                  int* constraint = nullptr);

// One input box paired with the output condition that is unsafe for inputs in
// that box.
struct PropertyCase {
  Box input;
  OutputSpec unsafe;
};

// Unsafe set of a property. Two views:
//  - product view `input_boxes` x `unsafe`: unsafe iff x is in SOME box AND y
//    satisfies SOME disjunct of `unsafe`;
//  - paired view `cases`: unsafe iff for SOME case, x is in case.input AND y
//    satisfies case.unsafe.
// `cases` empty means the property is exactly the product view (e.g. a
// property built from linfBall). Readers that produce `cases` (io::loadVnnlib)
// also fill the product view: input_boxes = the case boxes in order; unsafe =
// the common output disjuncts when every case has the same ones (then both
// views are equal, isProduct() is true), otherwise the union of all cases'
// disjuncts, which OVER-approximates the unsafe set (sound for proving
// "unsat", but a point in it need not be a real counterexample): code that
// handles only the product view must check isProduct() first or use `cases`.
struct Property {
  std::vector<Box> input_boxes;  // disjunction of boxes
  OutputSpec unsafe;
  std::vector<PropertyCase> cases;  // paired view; may be empty (see above)

  // True when input_boxes x unsafe is exactly the unsafe set.
  bool isProduct() const {
    for (const auto& c : cases)
      if (c.unsafe.disjuncts != cases.front().unsafe.disjuncts) return false;
    return true;
  }
  // True when (x, y) is in the unsafe set (exact, whichever view is filled).
  bool isUnsafe(const Eigen::VectorXd& x, const Eigen::VectorXd& y, double tol = 0.0) const {
    if (cases.empty()) {
      for (const auto& b : input_boxes)
        if (b.contains(x, tol)) return unsafe.satisfiedBy(y, tol);
      return false;
    }
    for (const auto& c : cases)
      if (c.input.contains(x, tol) && c.unsafe.satisfiedBy(y, tol)) return true;
    return false;
  }
};

}  // namespace nnopt::spec
