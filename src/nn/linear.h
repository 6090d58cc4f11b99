#pragma once
// The weight matrix W (out x in) of a Dense layer, stored in one of three forms:
//  - dense (Eigen::MatrixXd): fully connected layers (Gemm, MatMul);
//  - conv (nn::Conv2d, the kernel): a convolution on its own or with what
//    folds into its kernel per channel (batch-norm, per-channel
//    normalisation); memory is the kernel's size and every product walks
//    (output, tap) pairs (nn/conv2d.h);
//  - sparse (CSR, Eigen row-major SparseMatrix): average pooling, layout
//    gathers, and convolutions composed with anything else: the Toeplitz
//    matrix's non-zeros only, out x (kernel size), never out x in.
// Every transformer of the network (forward pass, interval and CROWN bounds,
// LP/MIP/NLP rows, gradients) reaches W through these methods only, so all
// forms give the same numbers (up to summation order) everywhere.
#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <cstdint>

#include "nn/conv2d.h"

namespace nnopt::nn {

class Linear {
 public:
  using Sparse = Eigen::SparseMatrix<double, Eigen::RowMajor, int64_t>;

  Linear() = default;
  Linear(Eigen::MatrixXd W);  // NOLINT: implicit, a dense matrix is a Linear
  template <class Derived>
  Linear(const Eigen::MatrixBase<Derived>& W) : dense_(W) {}  // NOLINT: a dense expression
  template <class Derived>
  Linear(const Eigen::DiagonalBase<Derived>& W)  // NOLINT: e.g. scale.asDiagonal()
      : dense_(Eigen::MatrixXd(W)) {}
  explicit Linear(Sparse W);
  explicit Linear(Conv2d W);  // validated

  enum class Form { kDense, kSparse, kConv };
  Form form() const { return form_; }
  bool isDense() const { return form_ == Form::kDense; }
  bool isSparse() const { return form_ == Form::kSparse; }
  bool isConv() const { return form_ == Form::kConv; }
  Eigen::Index rows() const;
  Eigen::Index cols() const;
  // Stored entries (dense: rows x cols; sparse: non-zeros; conv: kernel size).
  int64_t storedEntries() const;

  // The dense matrix (throws Error when not dense: use toDense() deliberately).
  const Eigen::MatrixXd& denseMatrix() const;
  const Sparse& sparseMatrix() const;  // throws Error when not sparse
  const Conv2d& conv() const;          // throws Error when not conv
  Eigen::MatrixXd toDense() const;
  // The same map stored sparse (exact zeros dropped).
  Linear toSparse() const;
  // Rows r0 .. r0 + n - 1 as a sparse matrix (n x cols).
  Sparse sparseRows(Eigen::Index r0, Eigen::Index n) const;
  // A W for a sparse A (k x rows): sparse forms through a sparse or conv layer.
  Sparse leftMulSparse(const Sparse& A) const;

  // Coefficient (i, j); the mutable form exists for dense storage only.
  double operator()(Eigen::Index i, Eigen::Index j) const;
  double& operator()(Eigen::Index i, Eigen::Index j);

  Eigen::VectorXd apply(const Eigen::VectorXd& x) const;     // W x
  Eigen::VectorXd applyT(const Eigen::VectorXd& y) const;    // W^T y
  Eigen::VectorXd applyAbs(const Eigen::VectorXd& r) const;  // |W| r
  Eigen::MatrixXd mul(const Eigen::MatrixXd& X) const;       // W X
  // A W for A (k x rows): CROWN's back-substitution (k x cols).
  Eigen::MatrixXd leftMul(const Eigen::MatrixXd& A) const;
  // Row j as a dense vector of length cols().
  Eigen::VectorXd row(Eigen::Index j) const;
  // Rows r0 .. r0 + n - 1 as a dense (n x cols) matrix.
  Eigen::MatrixXd rowBlock(Eigen::Index r0, Eigen::Index n) const;
  // f(column, weight) for the stored entries of row j, columns ascending
  // (dense storage: every column, zeros included).
  template <class F>
  void forEachInRow(Eigen::Index j, F&& f) const {
    if (form_ == Form::kSparse) {
      for (Sparse::InnerIterator it(sparse_, j); it; ++it) f(it.col(), it.value());
    } else if (form_ == Form::kConv) {
      conv_.forEachInRow(j, [&](int64_t c, double w) { f(static_cast<Eigen::Index>(c), w); });
    } else {
      for (Eigen::Index c = 0; c < dense_.cols(); ++c) f(c, dense_(j, c));
    }
  }

  bool allFinite() const;
  double maxAbs() const;  // 0 for an empty matrix
  // W diag(s) (column scaling, e.g. folding an input normalisation).
  Linear scaledColumns(const Eigen::VectorXd& s) const;

 private:
  Eigen::MatrixXd dense_;
  Sparse sparse_;
  Conv2d conv_;
  Form form_ = Form::kDense;
};

}  // namespace nnopt::nn
