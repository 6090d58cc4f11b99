#include "nn/conv2d.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace nnopt::nn {

void Conv2d::validate() const {
  const bool ok = C > 0 && H > 0 && W > 0 && M > 0 && OH > 0 && OW > 0 && kh > 0 && kw > 0 &&
                  sh > 0 && sw > 0 && dh > 0 && dw > 0 && pt >= 0 && pl >= 0 && groups > 0 &&
                  C % groups == 0 && M % groups == 0;
  require(ok, "internal: invalid convolution geometry");
  require(static_cast<int64_t>(K.size()) == M * cpg() * kh * kw,
          "internal: convolution kernel of the wrong size (" + std::to_string(K.size()) + ")");
}

int64_t Conv2d::taps() const {
  int64_t n = 0;
  forEachTap([&](int64_t, int64_t, double) { ++n; });
  return n;
}

Eigen::VectorXd Conv2d::apply(const Eigen::VectorXd& x) const {
  Eigen::VectorXd out = Eigen::VectorXd::Zero(rows());
  forEachTap([&](int64_t r, int64_t c, double w) { out[r] += w * x[c]; });
  return out;
}

Eigen::VectorXd Conv2d::applyT(const Eigen::VectorXd& y) const {
  Eigen::VectorXd out = Eigen::VectorXd::Zero(cols());
  forEachTap([&](int64_t r, int64_t c, double w) { out[c] += w * y[r]; });
  return out;
}

Eigen::VectorXd Conv2d::applyAbs(const Eigen::VectorXd& v) const {
  Eigen::VectorXd out = Eigen::VectorXd::Zero(rows());
  forEachTap([&](int64_t r, int64_t c, double w) { out[r] += std::abs(w) * v[c]; });
  return out;
}

Eigen::MatrixXd Conv2d::leftMul(const Eigen::MatrixXd& A) const {
  const Eigen::Index nnz = (A.array() != 0.0).count();
  if (4 * nnz < A.size()) {
    // Mostly zero (forms restricted to receptive fields): the rows' supports.
    using Sp = Eigen::SparseMatrix<double, Eigen::RowMajor, int64_t>;
    const Sp As = A.sparseView(0.0, 0.0);
    return Eigen::MatrixXd(leftMulSparse(As));
  }
  // Output by output, as a CSR matrix would be walked: A's column r stays in
  // cache over r's taps; all-zero columns (inactive ReLUs) are skipped.
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(A.rows(), cols());
  for (Eigen::Index r = 0; r < A.cols(); ++r) {
    const auto a = A.col(r);
    if (a.isZero(0.0)) continue;
    forEachInRow(r, [&](int64_t c, double w) { out.col(c).noalias() += w * a; });
  }
  return out;
}

bool Conv2d::scaleInputChannels(const Eigen::VectorXd& s) {
  if (s.size() != cols()) return false;
  const int64_t hw = H * W;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t p = 1; p < hw; ++p)
      if (s[c * hw + p] != s[c * hw]) return false;
  const int64_t n = cpg(), mpg = M / groups;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t ci = 0; ci < n; ++ci) {
      const double f = s[((m / mpg) * n + ci) * hw];
      for (int64_t t = 0; t < kh * kw; ++t) K[static_cast<size_t>((m * n + ci) * kh * kw + t)] *= f;
    }
  return true;
}

bool Conv2d::scaleOutputChannels(const Eigen::VectorXd& s) {
  if (s.size() != rows()) return false;
  const int64_t hw = OH * OW, per = cpg() * kh * kw;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t p = 1; p < hw; ++p)
      if (s[m * hw + p] != s[m * hw]) return false;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t t = 0; t < per; ++t) K[static_cast<size_t>(m * per + t)] *= s[m * hw];
  return true;
}

}  // namespace nnopt::nn
