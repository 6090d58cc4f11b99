#include "nn/linear.h"

#include <cmath>

#include "core/error.h"

namespace nnopt::nn {

Linear::Linear(Eigen::MatrixXd W) : dense_(std::move(W)) {}

Linear::Linear(Sparse W) : sparse_(std::move(W)), form_(Form::kSparse) { sparse_.makeCompressed(); }

Linear::Linear(Conv2d W) : conv_(std::move(W)), form_(Form::kConv) { conv_.validate(); }

Eigen::Index Linear::rows() const {
  switch (form_) {
    case Form::kSparse: return sparse_.rows();
    case Form::kConv: return conv_.rows();
    default: return dense_.rows();
  }
}

Eigen::Index Linear::cols() const {
  switch (form_) {
    case Form::kSparse: return sparse_.cols();
    case Form::kConv: return conv_.cols();
    default: return dense_.cols();
  }
}

int64_t Linear::storedEntries() const {
  switch (form_) {
    case Form::kSparse: return static_cast<int64_t>(sparse_.nonZeros());
    case Form::kConv: return static_cast<int64_t>(conv_.K.size());
    default: return static_cast<int64_t>(dense_.size());
  }
}

const Eigen::MatrixXd& Linear::denseMatrix() const {
  require(isDense(), "internal: dense matrix of a sparse or convolution layer requested");
  return dense_;
}

const Linear::Sparse& Linear::sparseMatrix() const {
  require(isSparse(), "internal: sparse matrix of a dense or convolution layer requested");
  return sparse_;
}

const Conv2d& Linear::conv() const {
  require(isConv(), "internal: convolution kernel of a dense or sparse layer requested");
  return conv_;
}

Eigen::MatrixXd Linear::toDense() const {
  switch (form_) {
    case Form::kSparse: return Eigen::MatrixXd(sparse_);
    case Form::kConv: return rowBlock(0, rows());
    default: return dense_;
  }
}

Linear Linear::toSparse() const {
  switch (form_) {
    case Form::kSparse: return *this;
    case Form::kConv: return Linear(sparseRows(0, rows()));
    default: {
      Sparse S = dense_.sparseView(0.0, 0.0).cast<double>();
      return Linear(std::move(S));
    }
  }
}

Linear::Sparse Linear::sparseRows(Eigen::Index r0, Eigen::Index n) const {
  switch (form_) {
    case Form::kSparse: return sparse_.middleRows(r0, n);
    case Form::kConv: return conv_.sparseRows<Sparse>(r0, n);
    default: return Sparse(dense_.middleRows(r0, n).sparseView(0.0, 0.0));
  }
}

Linear::Sparse Linear::leftMulSparse(const Sparse& A) const {
  switch (form_) {
    case Form::kSparse: return Sparse(A * sparse_);
    case Form::kConv: return conv_.leftMulSparse(A);
    default: return Sparse((A * dense_).sparseView(0.0, 0.0));
  }
}

double Linear::operator()(Eigen::Index i, Eigen::Index j) const {
  switch (form_) {
    case Form::kSparse: return sparse_.coeff(i, j);
    case Form::kConv: {
      double v = 0.0;
      conv_.forEachInRow(i, [&](int64_t c, double w) {
        if (c == j) v = w;
      });
      return v;
    }
    default: return dense_(i, j);
  }
}

double& Linear::operator()(Eigen::Index i, Eigen::Index j) {
  require(isDense(), "internal: a sparse or convolution layer's coefficients are read-only");
  return dense_(i, j);
}

Eigen::VectorXd Linear::apply(const Eigen::VectorXd& x) const {
  switch (form_) {
    case Form::kSparse: return sparse_ * x;
    case Form::kConv: return conv_.apply(x);
    default: return dense_ * x;
  }
}

Eigen::VectorXd Linear::applyT(const Eigen::VectorXd& y) const {
  switch (form_) {
    case Form::kSparse: return sparse_.transpose() * y;
    case Form::kConv: return conv_.applyT(y);
    default: return dense_.transpose() * y;
  }
}

Eigen::VectorXd Linear::applyAbs(const Eigen::VectorXd& r) const {
  switch (form_) {
    case Form::kSparse: {
      Eigen::VectorXd out(sparse_.rows());
      for (Eigen::Index j = 0; j < sparse_.rows(); ++j) {
        double s = 0.0;
        for (Sparse::InnerIterator it(sparse_, j); it; ++it) s += std::abs(it.value()) * r[it.col()];
        out[j] = s;
      }
      return out;
    }
    case Form::kConv: return conv_.applyAbs(r);
    default: return dense_.cwiseAbs() * r;
  }
}

Eigen::MatrixXd Linear::mul(const Eigen::MatrixXd& X) const {
  switch (form_) {
    case Form::kSparse: return sparse_ * X;
    case Form::kConv: {
      Eigen::MatrixXd out(rows(), X.cols());
      for (Eigen::Index c = 0; c < X.cols(); ++c) out.col(c) = conv_.apply(X.col(c));
      return out;
    }
    default: return dense_ * X;
  }
}

Eigen::MatrixXd Linear::leftMul(const Eigen::MatrixXd& A) const {
  if (form_ == Form::kConv) return conv_.leftMul(A);
  if (form_ == Form::kSparse) {
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
  if (isDense()) return dense_.row(j).transpose();
  Eigen::VectorXd r = Eigen::VectorXd::Zero(cols());
  forEachInRow(j, [&](Eigen::Index c, double w) { r[c] = w; });
  return r;
}

Eigen::MatrixXd Linear::rowBlock(Eigen::Index r0, Eigen::Index n) const {
  if (isDense()) return dense_.middleRows(r0, n);
  Eigen::MatrixXd B = Eigen::MatrixXd::Zero(n, cols());
  for (Eigen::Index j = 0; j < n; ++j)
    forEachInRow(r0 + j, [&](Eigen::Index c, double w) { B(j, c) = w; });
  return B;
}

bool Linear::allFinite() const {
  switch (form_) {
    case Form::kSparse:
      for (int64_t k = 0; k < sparse_.nonZeros(); ++k)
        if (!std::isfinite(sparse_.valuePtr()[k])) return false;
      return true;
    case Form::kConv:
      for (double w : conv_.K)
        if (!std::isfinite(w)) return false;
      return true;
    default: return dense_.allFinite();
  }
}

double Linear::maxAbs() const {
  double m = 0.0;
  switch (form_) {
    case Form::kSparse:
      for (int64_t k = 0; k < sparse_.nonZeros(); ++k)
        m = std::max(m, std::abs(sparse_.valuePtr()[k]));
      return m;
    case Form::kConv:
      // Only weights that reach some output count (a kernel tap that lies in
      // the padding for every output does not).
      conv_.forEachTap([&](int64_t, int64_t, double w) { m = std::max(m, std::abs(w)); });
      return m;
    default: return dense_.size() ? dense_.cwiseAbs().maxCoeff() : 0.0;
  }
}

Linear Linear::scaledColumns(const Eigen::VectorXd& s) const {
  require(s.size() == cols(), "internal: column scaling of the wrong size");
  switch (form_) {
    case Form::kConv: {
      Conv2d k = conv_;
      if (k.scaleInputChannels(s)) return Linear(std::move(k));
      return toSparse().scaledColumns(s);
    }
    case Form::kSparse: {
      Sparse S = sparse_;
      for (Eigen::Index j = 0; j < S.outerSize(); ++j)
        for (Sparse::InnerIterator it(S, j); it; ++it) it.valueRef() *= s[it.col()];
      return Linear(std::move(S));
    }
    default: return Linear(Eigen::MatrixXd(dense_ * s.asDiagonal()));
  }
}

}  // namespace nnopt::nn
