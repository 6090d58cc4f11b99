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
};

// The unsafe set as a disjunction of conjunctions (VNN-LIB convention).
struct OutputSpec {
  std::vector<std::vector<OutputConstraint>> disjuncts;
  // True when y satisfies at least one disjunct (all its constraints within tol).
  bool satisfiedBy(const Eigen::VectorXd& y, double tol = 0.0) const;
};

struct Property {
  std::vector<Box> input_boxes;  // disjunction of boxes
  OutputSpec unsafe;
};

}  // namespace nnopt::spec
