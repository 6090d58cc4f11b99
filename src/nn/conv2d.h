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
            // Outputs ow whose tap b lies inside the image: 0 <= ow*sw - pl + b*dw < W.
            const int64_t off = b * dw - pl;
            const int64_t ow0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
            const int64_t ow1 = std::min<int64_t>(OW, off >= W ? 0 : (W - 1 - off) / sw + 1);
            for (int64_t oh = 0; oh < OH; ++oh) {
              const int64_t ih = oh * sh - pt + a * dh;
              if (ih < 0 || ih >= H) continue;
              const int64_t row = (m * OH + oh) * OW, col = ((c0 + ci) * H + ih) * W + off;
              for (int64_t ow = ow0; ow < ow1; ++ow) f(row + ow, col + ow * sw, w);
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
  template <class SparseRowMajor>  // row-major only
  SparseRowMajor leftMulSparse(const SparseRowMajor& A) const;
  // Rows r0 .. r0 + n - 1 as a sparse (n x cols) matrix (either storage order).
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
  if constexpr (!SparseRowMajor::IsRowMajor) {  // built row by row, then converted
    return SparseRowMajor(
        sparseRows<Eigen::SparseMatrix<double, Eigen::RowMajor, Index>>(r0, n));
  }
  SparseRowMajor S(n, cols());
  S.reserve(n * cpg() * kh * kw);
  for (int64_t j = 0; j < n; ++j) {
    S.startVec(static_cast<Index>(j));
    forEachInRow(r0 + j, [&](int64_t c, double w) {  // columns ascending
      S.insertBack(static_cast<Index>(j), static_cast<Index>(c)) = w;
    });
  }
  S.finalize();
  return S;
}

template <class SparseRowMajor>
SparseRowMajor Conv2d::leftMulSparse(const SparseRowMajor& A) const {
  static_assert(SparseRowMajor::IsRowMajor, "leftMulSparse builds its result row by row");
  // Row i of A W is supported on (the input channels of the groups that
  // A's non-zeros reach) x (the union of their spatial windows): a spatial
  // mask marks it while the row accumulates, so there is no per-tap
  // bookkeeping and the row comes out with its columns ascending.
  using Index = typename SparseRowMajor::StorageIndex;
  const int64_t hw = H * W, n = cpg(), mpg = M / groups, ohw = OH * OW;
  std::vector<double> acc(static_cast<size_t>(cols()), 0.0);
  std::vector<char> mask(static_cast<size_t>(hw), 0), gmask(static_cast<size_t>(groups), 0);
  std::vector<int64_t> pos;
  // The kernel rows a, columns b that stay inside the image for output (oh, ow).
  auto range = [](int64_t o, int64_t s, int64_t p, int64_t d, int64_t k, int64_t size,
                  int64_t& lo, int64_t& hi) {
    const int64_t first = o * s - p;  // input index of tap 0
    lo = first >= 0 ? 0 : (-first + d - 1) / d;
    hi = first + (k - 1) * d < size ? k : (size - 1 - first) / d + 1;  // exclusive
    if (hi < lo) hi = lo;
  };
  SparseRowMajor R(A.rows(), cols());
  R.reserve(std::min<int64_t>(static_cast<int64_t>(A.nonZeros()) * n * kh * kw,
                              static_cast<int64_t>(A.rows()) * cols()));
  for (Eigen::Index i = 0; i < A.outerSize(); ++i) {
    R.startVec(i);
    for (typename SparseRowMajor::InnerIterator it(A, i); it; ++it) {
      const double v = it.value();
      const int64_t o = it.col(), m = o / ohw, p = o % ohw, oh = p / OW, ow = p % OW;
      int64_t a0, a1, b0, b1;
      range(oh, sh, pt, dh, kh, H, a0, a1);
      range(ow, sw, pl, dw, kw, W, b0, b1);
      gmask[static_cast<size_t>(m / mpg)] = 1;
      for (int64_t a = a0; a < a1; ++a) {
        const int64_t q = (oh * sh - pt + a * dh) * W + ow * sw - pl;
        for (int64_t b = b0; b < b1; ++b) mask[static_cast<size_t>(q + b * dw)] = 1;
      }
      const int64_t c0 = (m / mpg) * n;
      const double* k = K.data() + m * n * kh * kw;
      for (int64_t ci = 0; ci < n; ++ci)
        for (int64_t a = a0; a < a1; ++a) {
          const int64_t base = ((c0 + ci) * H + oh * sh - pt + a * dh) * W + ow * sw - pl;
          const double* kr = k + (ci * kh + a) * kw;
          for (int64_t b = b0; b < b1; ++b) acc[static_cast<size_t>(base + b * dw)] += v * kr[b];
        }
    }
    // The support's spatial positions, ascending (a scan of H x W, cheaper
    // than per-tap bookkeeping: each non-zero of A touches kh x kw of them).
    pos.clear();
    for (int64_t q = 0; q < hw; ++q)
      if (mask[static_cast<size_t>(q)]) {
        mask[static_cast<size_t>(q)] = 0;
        pos.push_back(q);
      }
    for (int64_t g = 0; g < groups; ++g) {
      if (!gmask[static_cast<size_t>(g)]) continue;
      gmask[static_cast<size_t>(g)] = 0;
      for (int64_t ci = 0; ci < n; ++ci) {
        const int64_t base = (g * n + ci) * hw;
        for (int64_t q : pos) {
          double& x = acc[static_cast<size_t>(base + q)];
          if (x != 0.0) R.insertBack(i, static_cast<Index>(base + q)) = x;
          x = 0.0;
        }
      }
    }
  }
  R.finalize();
  return R;
}

}  // namespace nnopt::nn
