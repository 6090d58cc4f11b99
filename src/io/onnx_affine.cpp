// Affine maps of the ONNX loader: the pending map from the last committed IR
// layer (or the network input) to the chain value, in gather, sparse or dense
// form.
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
  if (!isGather() || size() != n_in) return false;
  for (int64_t i = 0; i < size(); ++i)
    if (idx[i] != i || s[i] != 1.0 || c[i] != 0.0) return false;
  return true;
}

void Affine::checkMapSize(int64_t rows, int64_t cols) {
  if (cols != 0 && rows > kMaxMapEntries / cols)
    opFail("the folded dense matrix would be " + std::to_string(rows) + " x " +
           std::to_string(cols) + " (" + std::to_string(rows * cols) +
           " entries), more than the limit of " + std::to_string(kMaxMapEntries) +
           " entries (fully connected layers, and what is composed with them, are stored dense)");
}

namespace {

void checkNonZeros(int64_t nnz) {
  if (nnz > kMaxMapEntries)
    opFail("the folded sparse matrix would have " + std::to_string(nnz) +
           " non-zeros, more than the limit of " + std::to_string(kMaxMapEntries));
}

// The gather form y_i = s_i x[idx_i] as a (rows x n_in) sparse matrix.
SpMat gatherMatrix(const std::vector<int64_t>& idx, const Eigen::VectorXd& s, int64_t n_in) {
  std::vector<Eigen::Triplet<double>> trip;
  trip.reserve(idx.size());
  for (size_t i = 0; i < idx.size(); ++i)
    if (s[static_cast<Eigen::Index>(i)] != 0.0)
      trip.emplace_back(static_cast<int>(i), static_cast<int>(idx[i]),
                        s[static_cast<Eigen::Index>(i)]);
  SpMat G(static_cast<Eigen::Index>(idx.size()), n_in);
  G.setFromTriplets(trip.begin(), trip.end());
  return G;
}

}  // namespace

SpMat Affine::sparseMatrix() const {
  if (sparse) return S;
  if (conv) return K.sparseRows<SpMat>(0, K.rows());
  if (!dense) return gatherMatrix(idx, s, n_in);
  SpMat R = M.sparseView(0.0, 0.0);
  return R;
}

Eigen::MatrixXd Affine::matrix() const {
  if (dense) return M;
  checkMapSize(size(), n_in);
  if (sparse || conv) return Eigen::MatrixXd(sparseMatrix());
  Eigen::MatrixXd R = Eigen::MatrixXd::Zero(size(), n_in);
  for (int64_t i = 0; i < size(); ++i)
    if (s[i] != 0.0) R(i, idx[i]) = s[i];
  return R;
}

void Affine::setDense(Eigen::MatrixXd nM) {
  M = std::move(nM);
  dense = true;
  sparse = false;
  conv = false;
  K = nn::Conv2d();
  S = SpMat();
  idx.clear();
  s.resize(0);
}

void Affine::setSparse(SpMat nS) {
  nS.prune(0.0, 0.0);
  checkNonZeros(nS.nonZeros());
  S = std::move(nS);
  sparse = true;
  dense = false;
  conv = false;
  K = nn::Conv2d();
  M.resize(0, 0);
  idx.clear();
  s.resize(0);
}

void Affine::setConv(nn::Conv2d nK) {
  K = std::move(nK);
  conv = true;
  dense = false;
  sparse = false;
  S = SpMat();
  M.resize(0, 0);
  idx.clear();
  s.resize(0);
}

void Affine::convToSparse() {
  if (!conv) return;
  checkNonZeros(K.taps());
  setSparse(sparseMatrix());
}

void Affine::convolve(nn::Conv2d k, const Eigen::VectorXd& b) {
  if (isGather() && size() == n_in && k.cols() == size()) {
    bool ident = true;
    for (int64_t i = 0; i < size() && ident; ++i) ident = idx[i] == i;
    // y = s .* x + c before: k(y) + b = (k with s folded per input channel)(x)
    // + k(c) + b, when s is constant on each channel.
    nn::Conv2d ks = k;
    if (ident && ks.scaleInputChannels(s)) {
      c = k.apply(c) + b;
      setConv(std::move(ks));
      return;
    }
  }
  // A convolution after anything else: its Toeplitz matrix, kept sparse.
  const double bound = static_cast<double>(k.rows()) * static_cast<double>(k.cpg() * k.kh * k.kw);
  if (bound > static_cast<double>(kMaxMapEntries)) checkNonZeros(k.taps());
  linearSparse(k.sparseRows<SpMat>(0, k.rows()), b);
}

void Affine::toDense() {
  if (!dense) setDense(matrix());
}

void Affine::gather(const std::vector<int64_t>& src, const std::vector<double>* scale,
                    const std::vector<double>* offset) {
  const int64_t m = static_cast<int64_t>(src.size());
  checkVarSize(m);
  if (conv) {
    // In place with a per-output-channel scale (batch-norm, a per-channel
    // Mul/Div/Add/Sub after the convolution): folded into the kernel.
    bool ident = m == size();
    for (int64_t j = 0; j < m && ident; ++j) ident = src[j] == j;
    if (ident) {
      nn::Conv2d k = K;
      const Eigen::VectorXd sc =
          scale ? Eigen::Map<const Eigen::VectorXd>(scale->data(), m).eval()
                : Eigen::VectorXd::Ones(m);
      if (!scale || k.scaleOutputChannels(sc)) {
        K = std::move(k);
        c = sc.cwiseProduct(c);
        if (offset) c += Eigen::Map<const Eigen::VectorXd>(offset->data(), m);
        return;
      }
    }
    convToSparse();
  }
  Eigen::VectorXd nc(m);
  if (sparse) {
    Eigen::VectorXd sc = Eigen::VectorXd::Ones(m);
    for (int64_t j = 0; j < m; ++j) {
      if (scale) sc[j] = (*scale)[j];
      nc[j] = sc[j] * c[src[j]] + (offset ? (*offset)[j] : 0.0);
    }
    setSparse(gatherMatrix(src, sc, size()) * S);
  } else if (dense) {
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
  convToSparse();
  Eigen::VectorXd nc = W * c;
  if (b) nc += *b;
  if (dense) {
    M = W * M;
  } else if (sparse) {
    checkMapSize(W.rows(), n_in);
    setDense(W * S);
  } else {
    checkMapSize(W.rows(), n_in);
    Eigen::MatrixXd nM = Eigen::MatrixXd::Zero(W.rows(), n_in);
    for (int64_t i = 0; i < size(); ++i)
      if (s[i] != 0.0) nM.col(idx[i]) += s[i] * W.col(i);
    setDense(std::move(nM));
  }
  c = std::move(nc);
}

void Affine::linearSparse(const SpMat& W, const Eigen::VectorXd& b) {
  convToSparse();
  Eigen::VectorXd nc = W * c + b;
  if (dense) {
    checkMapSize(W.rows(), n_in);
    Eigen::MatrixXd nM = W * M;
    M = std::move(nM);
  } else {
    // Sparse in, sparse out: a convolution after a gather (normalisation,
    // layout) or after another sparse map stays sparse.
    setSparse(W * (sparse ? S : gatherMatrix(idx, s, n_in)));
  }
  c = std::move(nc);
}

void Affine::rightMatmul(int64_t R, const Eigen::MatrixXd& B) {
  convToSparse();
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
  convToSparse();
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

void Affine::add(const Affine& o, double sign) {
  if (o.size() != size() || o.n_in != n_in)
    opFail("internal: adding maps of different sizes");
  if (dense || o.dense) {
    checkMapSize(size(), n_in);
    setDense(matrix() + sign * o.matrix());
  } else {
    setSparse(sparseMatrix() + sign * o.sparseMatrix());
  }
  c += sign * o.c;
}

Affine Affine::stack(const std::vector<std::pair<const Affine*, double>>& parts) {
  Affine a;
  int64_t rows = 0;
  bool any_dense = false;
  a.n_in = parts.empty() ? 0 : parts.front().first->n_in;
  for (const auto& [p, sign] : parts) {
    if (p->n_in != a.n_in) opFail("internal: stacking maps over different bases");
    rows += p->size();
    any_dense = any_dense || p->dense;
  }
  checkVarSize(rows);
  a.c.resize(rows);
  int64_t r = 0;
  if (any_dense) {
    checkMapSize(rows, a.n_in);
    a.M.resize(rows, a.n_in);
    for (const auto& [p, sign] : parts) {
      a.M.middleRows(r, p->size()) = sign * p->matrix();
      a.c.segment(r, p->size()) = sign * p->c;
      r += p->size();
    }
    a.dense = true;
    return a;
  }
  std::vector<Eigen::Triplet<double>> trip;
  for (const auto& [p, sign] : parts) {
    const SpMat P = p->sparseMatrix();
    for (Eigen::Index k = 0; k < P.outerSize(); ++k)
      for (SpMat::InnerIterator it(P, k); it; ++it)
        trip.emplace_back(static_cast<int>(r + it.row()), static_cast<int>(it.col()),
                          sign * it.value());
    a.c.segment(r, p->size()) = sign * p->c;
    r += p->size();
  }
  checkNonZeros(static_cast<int64_t>(trip.size()));
  a.S.resize(rows, a.n_in);
  a.S.setFromTriplets(trip.begin(), trip.end());
  a.sparse = true;
  return a;
}

}  // namespace nnopt::io::onnx_detail
