#pragma once
// Internal to solve/: the Ipopt-free evaluation core of the NLP backend
// (ipopt_backend.cpp wraps it in an Ipopt::TNLP). Exposed in a header so the
// unit tests can check the analytic derivatives against finite differences.
//
// The NLP is always a minimisation: objective = sign * (offset + c'x + sum q x_i x_j)
// with sign = -1 for Sense::kMaximize. Rows: g_r(x) = linear + nonlinear term.
// All structure (sparsity, merged duplicate entries, positions of the
// nonlinear derivatives) is computed once in the constructor; the evaluation
// methods do not allocate and are const (one evaluator may serve one solve;
// separate solves own separate evaluators).
#include <vector>

#include "model/math_model.h"

namespace nnopt::solve::detail {

// coef * f(x_a, x_b; param) and its derivatives, treating x_a and x_b as two
// independent arguments (callers combine them when a == b). For unary kinds
// (tanh, sigmoid) the b-derivatives are 0. FB/CM use a tiny floor under the
// square root so param = 0 at a = b = 0 gives finite (not NaN) derivatives.
struct NlDerivs {
  double f = 0, fa = 0, fb = 0, faa = 0, fab = 0, fbb = 0;
};
NlDerivs nlDerivatives(const model::NlTerm& t, double xa, double xb);

// Number of MUMPS calls made through the backend's serialising dmumps_c
// wrapper (process-wide; > 0 after any solve when the wrapper is in effect).
long mumpsCallCount();

// True when the kind uses x_b.
bool nlIsBinary(model::NlKind k);

class NlpEvaluator {
 public:
  // Throws nnopt::Error when the model references a variable out of range.
  explicit NlpEvaluator(const model::MathModel& m);

  int numVars() const { return n_; }
  int numRows() const { return m_; }
  int jacNnz() const { return static_cast<int>(jac_row_.size()); }
  int hessNnz() const { return static_cast<int>(hess_row_.size()); }
  // Sparsity (0-based). Hessian entries are in the lower triangle (row >= col).
  const std::vector<int>& jacRows() const { return jac_row_; }
  const std::vector<int>& jacCols() const { return jac_col_; }
  const std::vector<int>& hessRows() const { return hess_row_; }
  const std::vector<int>& hessCols() const { return hess_col_; }
  double sign() const { return sign_; }

  double objective(const double* x) const;                 // minimisation form
  void objGradient(const double* x, double* grad) const;   // n values
  void rows(const double* x, double* g) const;             // m values
  void jacobian(const double* x, double* values) const;    // jacNnz values
  // Lower triangle of obj_factor * Hess(objective) + sum_r lambda_r Hess(g_r).
  void hessian(const double* x, double obj_factor, const double* lambda, double* values) const;

 private:
  struct NlRow {
    int row;
    model::NlTerm t;
    int ja = -1, jb = -1;             // Jacobian positions of x_a, x_b (-1: none)
    int haa = -1, hab = -1, hbb = -1;  // Hessian positions (-1: structurally zero)
    bool same = false;                // a == b: one variable, combined derivatives
  };
  int n_ = 0, m_ = 0;
  double sign_ = 1.0;
  double obj_offset_ = 0.0;
  std::vector<double> obj_lin_;  // dense, sign applied
  struct Quad {
    int i, j;
    double c;  // sign applied
  };
  std::vector<Quad> quads_;
  std::vector<double> hess_obj_;  // constant objective Hessian (sign applied), hessNnz values
  // Rows: CSR of merged linear terms; the Jacobian entries of row r are
  // [row_start_[r], row_start_[r+1]) and the linear ones come first.
  std::vector<int> row_start_;
  std::vector<int> row_lin_end_;
  std::vector<double> jac_const_;  // linear coefficients (0 for nonlinear-only entries)
  std::vector<int> jac_row_, jac_col_;
  std::vector<NlRow> nl_;
  std::vector<int> hess_row_, hess_col_;
};

}  // namespace nnopt::solve::detail
