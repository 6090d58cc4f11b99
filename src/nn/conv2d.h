#pragma once
// A 2-D convolution as a linear map in kernel form: input C x H x W, output
// M x OH x OW (flat, row-major), kernel M x C/groups x kh x kw, strides,
// dilations, top/left padding (bottom/right padding only shows in OH, OW),
// groups. No bias (a Dense layer's b holds it). Memory is the kernel's size;
// every product below walks (output, tap) pairs without building the
// Toeplitz matrix, so a 64-channel 3x3 convolution over 32x32 costs 37k
// stored weights instead of 37.7M stored taps.
#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace nnopt::nn {

struct Conv2d {
  int64_t C = 0, H = 0, W = 0;     // input
  int64_t M = 0, OH = 0, OW = 0;   // output
  int64_t kh = 1, kw = 1;          // kernel
  int64_t sh = 1, sw = 1;          // strides
  int64_t dh = 1, dw = 1;          // dilations
  int64_t pt = 0, pl = 0;          // top / left padding
  int64_t groups = 1;
  std::vector<double> K;           // M x C/groups x kh x kw

  int64_t rows() const { return M * OH * OW; }
  int64_t cols() const { return C * H * W; }
  int64_t cpg() const { return C / groups; }
  // Checks the geometry (sizes, divisibility, kernel length); throws Error.
  void validate() const;
  double weight(int64_t m, int64_t ci, int64_t a, int64_t b) const {
    return K[static_cast<size_t>(((m * cpg() + ci) * kh + a) * kw + b)];
  }

  // f(column, weight) over the non-zero taps of output row j, columns ascending.
  template <class F>
  void forEachInRow(int64_t j, F&& f) const {
    const int64_t m = j / (OH * OW), p = j % (OH * OW), oh = p / OW, ow = p % OW;
    const int64_t n = cpg(), c0 = (m / (M / groups)) * n;
    for (int64_t ci = 0; ci < n; ++ci)
      for (int64_t a = 0; a < kh; ++a) {
        const int64_t ih = oh * sh - pt + a * dh;
        if (ih < 0 || ih >= H) continue;
        for (int64_t b = 0; b < kw; ++b) {
          const int64_t iw = ow * sw - pl + b * dw;
          if (iw < 0 || iw >= W) continue;
          const double w = weight(m, ci, a, b);
          if (w != 0.0) f(((c0 + ci) * H + ih) * W + iw, w);
        }
      }
  }

  // f(row, column, weight) over every non-zero (output, tap) pair, kernel
  // weight by weight (the inner loops run along an output row).
  template <class F>
  void forEachTap(F&& f) const {
    const int64_t n = cpg(), mpg = M / groups;
    for (int64_t m = 0; m < M; ++m) {
      const int64_t c0 = (m / mpg) * n;
      for (int64_t ci = 0; ci < n; ++ci)
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t b = 0; b < kw; ++b) {
            const double w = weight(m, ci, a, b);
            if (w == 0.0) continue;
            for (int64_t oh = 0; oh < OH; ++oh) {
              const int64_t ih = oh * sh - pt + a * dh;
              if (ih < 0 || ih >= H) continue;
              const int64_t row = (m * OH + oh) * OW, col = ((c0 + ci) * H + ih) * W;
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t iw = ow * sw - pl + b * dw;
                if (iw >= 0 && iw < W) f(row + ow, col + iw, w);
              }
            }
          }
    }
  }

  // Number of non-zero (output, tap) pairs: the Toeplitz matrix's non-zeros.
  int64_t taps() const;
  Eigen::VectorXd apply(const Eigen::VectorXd& x) const;     // W x
  Eigen::VectorXd applyT(const Eigen::VectorXd& y) const;    // W^T y
  Eigen::VectorXd applyAbs(const Eigen::VectorXd& r) const;  // |W| r
  // A W for A (k x rows), A dense: column c of the result gathers w * A(:, j).
  Eigen::MatrixXd leftMul(const Eigen::MatrixXd& A) const;
  // A W for a sparse A (k x rows, row-major): each row's support only.
  template <class SparseRowMajor>
  SparseRowMajor leftMulSparse(const SparseRowMajor& A) const;
  // Rows r0 .. r0 + n - 1 as a sparse (n x cols) row-major matrix.
  template <class SparseRowMajor>
  SparseRowMajor sparseRows(int64_t r0, int64_t n) const;
  // The kernel scaled per input channel (W diag(s) with s constant on each
  // channel's H x W block); false when s is not constant per channel.
  bool scaleInputChannels(const Eigen::VectorXd& s);
  // W <- diag(s) W with s constant on each output channel's OH x OW block;
  // false when it is not.
  bool scaleOutputChannels(const Eigen::VectorXd& s);
};

template <class SparseRowMajor>
SparseRowMajor Conv2d::sparseRows(int64_t r0, int64_t n) const {
  using Index = typename SparseRowMajor::StorageIndex;
  std::vector<Eigen::Triplet<double, Index>> trip;
  for (int64_t j = 0; j < n; ++j)
    forEachInRow(r0 + j, [&](int64_t c, double w) {
      trip.emplace_back(static_cast<Index>(j), static_cast<Index>(c), w);
    });
  SparseRowMajor S(n, cols());
  S.setFromTriplets(trip.begin(), trip.end());
  return S;
}

template <class SparseRowMajor>
SparseRowMajor Conv2d::leftMulSparse(const SparseRowMajor& A) const {
  using Index = typename SparseRowMajor::StorageIndex;
  const int64_t n = cols();
  std::vector<double> acc(static_cast<size_t>(n), 0.0);
  std::vector<char> seen(static_cast<size_t>(n), 0);
  std::vector<int64_t> touched;
  std::vector<Eigen::Triplet<double, Index>> trip;
  for (Eigen::Index i = 0; i < A.outerSize(); ++i) {
    touched.clear();
    for (typename SparseRowMajor::InnerIterator it(A, i); it; ++it) {
      const double v = it.value();
      forEachInRow(it.col(), [&](int64_t c, double w) {
        if (!seen[c]) {
          seen[c] = 1;
          touched.push_back(c);
        }
        acc[c] += v * w;
      });
    }
    std::sort(touched.begin(), touched.end());
    for (int64_t c : touched) {
      if (acc[c] != 0.0) trip.emplace_back(static_cast<Index>(i), static_cast<Index>(c), acc[c]);
      acc[c] = 0.0;
      seen[c] = 0;
    }
  }
  SparseRowMajor R(A.rows(), n);
  R.setFromTriplets(trip.begin(), trip.end());
  return R;
}

}  // namespace nnopt::nn
