#pragma once
// The weight matrix W (out x in) of a Dense layer, stored in one of two forms:
//  - dense (Eigen::MatrixXd): fully connected layers (Gemm, MatMul);
//  - sparse (CSR, Eigen row-major SparseMatrix): convolutions, average
//    pooling and what the loader folds into them (batch-norm, per-channel
//    normalisation, padding, strides, dilation, groups). A convolution is
//    stored as its Toeplitz matrix's non-zeros only: memory and every product
//    below cost out x (kernel size), never out x in.
// Every transformer of the network (forward pass, interval and CROWN bounds,
// LP/MIP/NLP rows, gradients) reaches W through these methods only, so both
// forms give the same numbers (up to summation order) everywhere.
#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <cstdint>

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

  bool isSparse() const { return sparse_on_; }
  Eigen::Index rows() const { return sparse_on_ ? sparse_.rows() : dense_.rows(); }
  Eigen::Index cols() const { return sparse_on_ ? sparse_.cols() : dense_.cols(); }
  // Stored entries (dense: rows x cols).
  int64_t storedEntries() const;

  // The dense matrix (throws Error when sparse: use toDense() deliberately).
  const Eigen::MatrixXd& denseMatrix() const;
  const Sparse& sparseMatrix() const;  // throws Error when dense
  Eigen::MatrixXd toDense() const;
  // The same map stored sparse (exact zeros dropped).
  Linear toSparse() const;

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
    if (sparse_on_) {
      for (Sparse::InnerIterator it(sparse_, j); it; ++it) f(it.col(), it.value());
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
  bool sparse_on_ = false;
};

}  // namespace nnopt::nn
