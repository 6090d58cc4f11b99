// Affine maps of the ONNX loader: the pending map from the last committed IR
// layer (or the network input) to the chain value, in gather or dense form.
#include <numeric>

#include "io/onnx_internal.h"

namespace nnopt::io::onnx_detail {

Affine Affine::identity(int64_t n) {
  checkVarSize(n);
  Affine a;
  a.n_in = n;
  a.idx.resize(n);
  std::iota(a.idx.begin(), a.idx.end(), int64_t{0});
  a.s = Eigen::VectorXd::Ones(n);
  a.c = Eigen::VectorXd::Zero(n);
  return a;
}

Affine Affine::constant(const std::vector<double>& v) {
  Affine a;
  a.n_in = 0;
  a.dense = true;
  a.M.resize(static_cast<Eigen::Index>(v.size()), 0);
  a.c = Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
  return a;
}

bool Affine::isIdentity() const {
  if (dense || size() != n_in) return false;
  for (int64_t i = 0; i < size(); ++i)
    if (idx[i] != i || s[i] != 1.0 || c[i] != 0.0) return false;
  return true;
}

void Affine::checkMapSize(int64_t rows, int64_t cols) {
  if (cols != 0 && rows > kMaxMapEntries / cols)
    opFail("the folded dense matrix would be " + std::to_string(rows) + " x " +
           std::to_string(cols) + " (" + std::to_string(rows * cols) +
           " entries), more than the limit of " + std::to_string(kMaxMapEntries) +
           " entries (linear layers, convolutions included, are stored as dense matrices)");
}

Eigen::MatrixXd Affine::matrix() const {
  if (dense) return M;
  checkMapSize(size(), n_in);
  Eigen::MatrixXd R = Eigen::MatrixXd::Zero(size(), n_in);
  for (int64_t i = 0; i < size(); ++i)
    if (s[i] != 0.0) R(i, idx[i]) = s[i];
  return R;
}

void Affine::toDense() {
  if (dense) return;
  M = matrix();
  dense = true;
  idx.clear();
  s.resize(0);
}

void Affine::gather(const std::vector<int64_t>& src, const std::vector<double>* scale,
                    const std::vector<double>* offset) {
  const int64_t m = static_cast<int64_t>(src.size());
  checkVarSize(m);
  Eigen::VectorXd nc(m);
  if (dense) {
    checkMapSize(m, n_in);
    Eigen::MatrixXd nM(m, n_in);
    for (int64_t j = 0; j < m; ++j) {
      double sc = scale ? (*scale)[j] : 1.0;
      nM.row(j) = sc * M.row(src[j]);
      nc[j] = sc * c[src[j]] + (offset ? (*offset)[j] : 0.0);
    }
    M = std::move(nM);
  } else {
    std::vector<int64_t> nidx(m);
    Eigen::VectorXd ns(m);
    for (int64_t j = 0; j < m; ++j) {
      double sc = scale ? (*scale)[j] : 1.0;
      nidx[j] = idx[src[j]];
      ns[j] = sc * s[src[j]];
      nc[j] = sc * c[src[j]] + (offset ? (*offset)[j] : 0.0);
    }
    idx = std::move(nidx);
    s = std::move(ns);
  }
  c = std::move(nc);
}

void Affine::linear(const Eigen::MatrixXd& W, const Eigen::VectorXd* b) {
  Eigen::VectorXd nc = W * c;
  if (b) nc += *b;
  if (dense) {
    M = W * M;
  } else {
    checkMapSize(W.rows(), n_in);
    Eigen::MatrixXd nM = Eigen::MatrixXd::Zero(W.rows(), n_in);
    for (int64_t i = 0; i < size(); ++i)
      if (s[i] != 0.0) nM.col(idx[i]) += s[i] * W.col(i);
    M = std::move(nM);
    dense = true;
    idx.clear();
    s.resize(0);
  }
  c = std::move(nc);
}

void Affine::linearSparse(const SpMat& W, const Eigen::VectorXd& b) {
  checkMapSize(W.rows(), n_in);
  Eigen::VectorXd nc = W * c + b;
  if (dense) {
    Eigen::MatrixXd nM = W * M;
    M = std::move(nM);
  } else {
    Eigen::MatrixXd nM = Eigen::MatrixXd::Zero(W.rows(), n_in);
    for (int64_t i = 0; i < size(); ++i) {
      if (s[i] == 0.0) continue;
      for (SpMat::InnerIterator it(W, i); it; ++it)
        nM(it.row(), idx[i]) += s[i] * it.value();
    }
    M = std::move(nM);
    dense = true;
    idx.clear();
    s.resize(0);
  }
  c = std::move(nc);
}

void Affine::rightMatmul(int64_t R, const Eigen::MatrixXd& B) {
  const int64_t K = B.rows(), P = B.cols();
  if (R == 1) {
    linear(B.transpose());
    return;
  }
  toDense();
  checkMapSize(R * P, n_in);
  Eigen::MatrixXd nM(R * P, n_in);
  Eigen::VectorXd nc(R * P);
  for (int64_t r = 0; r < R; ++r) {
    nM.middleRows(r * P, P) = B.transpose() * M.middleRows(r * K, K);
    nc.segment(r * P, P) = B.transpose() * c.segment(r * K, K);
  }
  M = std::move(nM);
  c = std::move(nc);
}

void Affine::leftMatmul(int64_t R, int64_t N, const Eigen::MatrixXd& A) {
  const int64_t P = A.rows(), K = A.cols();
  if (R == 1 && N == 1) {
    linear(A);
    return;
  }
  toDense();
  checkMapSize(R * P * N, n_in);
  Eigen::MatrixXd nM(R * P * N, n_in);
  Eigen::VectorXd nc(R * P * N);
  Eigen::MatrixXd Xn(K, n_in);
  Eigen::VectorXd xc(K);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t k = 0; k < K; ++k) {
        Xn.row(k) = M.row(r * K * N + k * N + n);
        xc[k] = c[r * K * N + k * N + n];
      }
      Eigen::MatrixXd Y = A * Xn;
      Eigen::VectorXd yc = A * xc;
      for (int64_t p = 0; p < P; ++p) {
        nM.row(r * P * N + p * N + n) = Y.row(p);
        nc[r * P * N + p * N + n] = yc[p];
      }
    }
  M = std::move(nM);
  c = std::move(nc);
}

}  // namespace nnopt::io::onnx_detail
