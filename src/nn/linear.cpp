#include "nn/linear.h"

#include <cmath>

#include "core/error.h"

namespace nnopt::nn {

Linear::Linear(Eigen::MatrixXd W) : dense_(std::move(W)) {}

Linear::Linear(Sparse W) : sparse_(std::move(W)), sparse_on_(true) { sparse_.makeCompressed(); }

int64_t Linear::storedEntries() const {
  return sparse_on_ ? static_cast<int64_t>(sparse_.nonZeros())
                    : static_cast<int64_t>(dense_.size());
}

const Eigen::MatrixXd& Linear::denseMatrix() const {
  require(!sparse_on_, "internal: dense matrix of a sparse layer requested");
  return dense_;
}

const Linear::Sparse& Linear::sparseMatrix() const {
  require(sparse_on_, "internal: sparse matrix of a dense layer requested");
  return sparse_;
}

Eigen::MatrixXd Linear::toDense() const {
  return sparse_on_ ? Eigen::MatrixXd(sparse_) : dense_;
}

Linear Linear::toSparse() const {
  if (sparse_on_) return *this;
  Sparse S = dense_.sparseView(0.0, 0.0).cast<double>();
  return Linear(std::move(S));
}

double Linear::operator()(Eigen::Index i, Eigen::Index j) const {
  return sparse_on_ ? sparse_.coeff(i, j) : dense_(i, j);
}

double& Linear::operator()(Eigen::Index i, Eigen::Index j) {
  require(!sparse_on_, "internal: a sparse layer's coefficients are read-only");
  return dense_(i, j);
}

Eigen::VectorXd Linear::apply(const Eigen::VectorXd& x) const {
  if (sparse_on_) return sparse_ * x;
  return dense_ * x;
}

Eigen::VectorXd Linear::applyT(const Eigen::VectorXd& y) const {
  if (sparse_on_) return sparse_.transpose() * y;
  return dense_.transpose() * y;
}

Eigen::VectorXd Linear::applyAbs(const Eigen::VectorXd& r) const {
  if (sparse_on_) {
    Eigen::VectorXd out(sparse_.rows());
    for (Eigen::Index j = 0; j < sparse_.rows(); ++j) {
      double s = 0.0;
      for (Sparse::InnerIterator it(sparse_, j); it; ++it) s += std::abs(it.value()) * r[it.col()];
      out[j] = s;
    }
    return out;
  }
  return dense_.cwiseAbs() * r;
}

Eigen::MatrixXd Linear::mul(const Eigen::MatrixXd& X) const {
  if (sparse_on_) return sparse_ * X;
  return dense_ * X;
}

Eigen::MatrixXd Linear::leftMul(const Eigen::MatrixXd& A) const {
  if (sparse_on_) {
    const Eigen::Index nnz_a = (A.array() != 0.0).count();
    if (4 * nnz_a >= A.size()) {
      // A mostly non-zero (e.g. the forms of a fully connected layer above):
      // (A W)(:, c) += W(j, c) A(:, j), one vectorised axpy over a column of
      // A per stored entry, skipping all-zero columns (inactive ReLUs).
      Eigen::MatrixXd out = Eigen::MatrixXd::Zero(A.rows(), sparse_.cols());
      for (Eigen::Index j = 0; j < sparse_.rows(); ++j) {
        const auto a = A.col(j);
        if (a.isZero(0.0)) continue;
        for (Sparse::InnerIterator it(sparse_, j); it; ++it)
          out.col(it.col()).noalias() += it.value() * a;
      }
      return out;
    }
    // A mostly zero (the forms of a convolution's neurons are zero outside
    // their receptive fields): row i of A W = sum_j A(i, j) W(j, :) over the
    // non-zeros of row i only, walked in row-major copies (contiguous).
    using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const RowMat Ar = A;
    const Eigen::Index k = A.rows(), n = sparse_.rows(), m = sparse_.cols();
    RowMat out = RowMat::Zero(k, m);
    const int64_t* outer = sparse_.outerIndexPtr();
    const int64_t* inner = sparse_.innerIndexPtr();
    const double* val = sparse_.valuePtr();
    for (Eigen::Index i = 0; i < k; ++i) {
      const double* a = Ar.row(i).data();
      double* acc = out.row(i).data();
      for (Eigen::Index j = 0; j < n; ++j) {
        const double aj = a[j];
        if (aj == 0.0) continue;
        for (int64_t p = outer[j]; p < outer[j + 1]; ++p) acc[inner[p]] += aj * val[p];
      }
    }
    return out;
  }
  return A * dense_;
}

Eigen::VectorXd Linear::row(Eigen::Index j) const {
  if (sparse_on_) {
    Eigen::VectorXd r = Eigen::VectorXd::Zero(sparse_.cols());
    for (Sparse::InnerIterator it(sparse_, j); it; ++it) r[it.col()] = it.value();
    return r;
  }
  return dense_.row(j).transpose();
}

Eigen::MatrixXd Linear::rowBlock(Eigen::Index r0, Eigen::Index n) const {
  if (sparse_on_) {
    Eigen::MatrixXd B = Eigen::MatrixXd::Zero(n, sparse_.cols());
    for (Eigen::Index j = 0; j < n; ++j)
      for (Sparse::InnerIterator it(sparse_, r0 + j); it; ++it) B(j, it.col()) = it.value();
    return B;
  }
  return dense_.middleRows(r0, n);
}

bool Linear::allFinite() const {
  if (sparse_on_) {
    for (int64_t k = 0; k < sparse_.nonZeros(); ++k)
      if (!std::isfinite(sparse_.valuePtr()[k])) return false;
    return true;
  }
  return dense_.allFinite();
}

double Linear::maxAbs() const {
  double m = 0.0;
  if (sparse_on_) {
    for (int64_t k = 0; k < sparse_.nonZeros(); ++k)
      m = std::max(m, std::abs(sparse_.valuePtr()[k]));
    return m;
  }
  return dense_.size() ? dense_.cwiseAbs().maxCoeff() : 0.0;
}

Linear Linear::scaledColumns(const Eigen::VectorXd& s) const {
  require(s.size() == cols(), "internal: column scaling of the wrong size");
  if (sparse_on_) {
    Sparse S = sparse_;
    for (Eigen::Index j = 0; j < S.outerSize(); ++j)
      for (Sparse::InnerIterator it(S, j); it; ++it) it.valueRef() *= s[it.col()];
    return Linear(std::move(S));
  }
  return Linear(Eigen::MatrixXd(dense_ * s.asDiagonal()));
}

}  // namespace nnopt::nn
