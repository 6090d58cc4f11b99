// ONNX -> network IR loader.
//
// The graph is walked in topological order. Every tensor name maps to either a
// CONSTANT (dims + values as double) or to the single VARIABLE chain value: its
// full ONNX shape (batch dim included, set to 1) plus a pending affine map from
// the output of the last committed IR layer (or the network input) to this
// tensor's flat row-major values. Linear ops compose into the pending map; an
// activation commits the map as one Dense layer and appends the Activation.
// Ops whose inputs are all constant are evaluated (shape-computing subgraphs).
// Conv, AveragePool, GlobalAveragePool (2-D, NCHW, batch 1) and inference
// BatchNormalization are linear too: a convolution/pooling becomes its sparse
// Toeplitz matrix, composed into the pending map, so it ends up inside a Dense
// layer (out_shape keeps the logical C x H x W). MaxPool / GlobalMaxPool (2-D)
// commit the pending map and append an nn::MaxPool layer (one window of input
// indices per output, padding excluded). Every folded Dense matrix is limited to kMaxMapEntries entries.
#include "io/onnx.h"

#include <onnx/onnx_pb.h>

#include <Eigen/Sparse>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <queue>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "core/error.h"
#include "core/log.h"
#include "core/message.h"

namespace nnopt::io {
namespace {

using nn::Shape;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int64_t kMaxElements = int64_t{1} << 31;
// Largest pending dense map (rows x cols) we are willing to materialise: every
// folded Dense layer (a convolution becomes its dense Toeplitz matrix) is
// stored as a dense matrix of doubles, 50M entries = 400 MB.
constexpr int64_t kMaxMapEntries = 50'000'000;
// Largest tensor that depends on the network input (one IR neuron per value).
// Its pending map costs ~24 bytes per value even when the file holds no data
// for it (a declared input shape), so the limit also bounds what a tiny file
// can make the loader allocate: 2^22 values (3 x 1024 x 1024 fits) = 100 MB.
constexpr int64_t kMaxVarElements = int64_t{1} << 22;

const char* kSupportedOps =
    "Gemm, MatMul, Conv (2-D), AveragePool (2-D), GlobalAveragePool, BatchNormalization "
    "(inference), MaxPool (2-D), GlobalMaxPool, Add, Sub, Mul, Div, Neg, Relu, LeakyRelu, Tanh, Sigmoid, Flatten, Reshape, "
    "Squeeze, Unsqueeze, Transpose, Identity, Dropout, Constant, Shape, Gather, Concat, Cast, "
    "Slice";

// Error raised inside op handling; wrapped with file/node context by the caller.
struct OpError {
  std::string msg;
};
[[noreturn]] void opFail(const std::string& msg) { throw OpError{msg}; }

void checkVarSize(int64_t n) {
  if (n > kMaxVarElements)
    opFail("a tensor depending on the network input has " + std::to_string(n) +
           " values (limit " + std::to_string(kMaxVarElements) + ")");
}

std::string shapeStr(const Shape& s) { return nn::shapeToString(s); }

// Number of elements, refusing negative dims and anything above kMaxElements.
int64_t checkedNumel(const Shape& s, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) opFail(what + " has a negative dimension " + shapeStr(s));
    if (d != 0 && n > kMaxElements / d)
      opFail(what + " " + shapeStr(s) + " has more than 2^31 elements");
    n *= d;
  }
  if (n > kMaxElements) opFail(what + " " + shapeStr(s) + " has more than 2^31 elements");
  return n;
}

std::vector<int64_t> stridesOf(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

// ---------------------------------------------------------------- constants

struct Const {
  Shape dims;
  std::vector<double> v;
  bool is_int = false;
  int dtype = onnx::TensorProto::UNDEFINED;  // element type when known (tensors, Cast)
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
};

// ---------------------------------------------------------------- affine maps

// y = M x + c over flat values. Two representations: a "gather" form
// y_i = s_i * x[idx_i] + c_i (identity, permutations, elementwise scaling,
// broadcasting) that never materialises a matrix, and a dense form.
struct Affine {
  int64_t n_in = 0;
  bool dense = false;
  std::vector<int64_t> idx;
  Eigen::VectorXd s;
  Eigen::MatrixXd M;
  Eigen::VectorXd c;

  int64_t size() const { return c.size(); }

  static Affine identity(int64_t n) {
    checkVarSize(n);
    Affine a;
    a.n_in = n;
    a.idx.resize(n);
    std::iota(a.idx.begin(), a.idx.end(), int64_t{0});
    a.s = Eigen::VectorXd::Ones(n);
    a.c = Eigen::VectorXd::Zero(n);
    return a;
  }
  // A constant viewed as an affine map with no inputs.
  static Affine constant(const std::vector<double>& v) {
    Affine a;
    a.n_in = 0;
    a.dense = true;
    a.M.resize(static_cast<Eigen::Index>(v.size()), 0);
    a.c = Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
    return a;
  }

  bool isIdentity() const {
    if (dense || size() != n_in) return false;
    for (int64_t i = 0; i < size(); ++i)
      if (idx[i] != i || s[i] != 1.0 || c[i] != 0.0) return false;
    return true;
  }

  static void checkMapSize(int64_t rows, int64_t cols) {
    if (cols != 0 && rows > kMaxMapEntries / cols)
      opFail("the folded dense matrix would be " + std::to_string(rows) + " x " +
             std::to_string(cols) + " (" + std::to_string(rows * cols) +
             " entries), more than the limit of " + std::to_string(kMaxMapEntries) +
             " entries (linear layers, convolutions included, are stored as dense matrices)");
  }

  Eigen::MatrixXd matrix() const {
    if (dense) return M;
    checkMapSize(size(), n_in);
    Eigen::MatrixXd R = Eigen::MatrixXd::Zero(size(), n_in);
    for (int64_t i = 0; i < size(); ++i)
      if (s[i] != 0.0) R(i, idx[i]) = s[i];
    return R;
  }

  void toDense() {
    if (dense) return;
    M = matrix();
    dense = true;
    idx.clear();
    s.resize(0);
  }

  // y'_j = scale_j * y[src_j] + offset_j (scale/offset may be null = 1/0).
  void gather(const std::vector<int64_t>& src, const std::vector<double>* scale = nullptr,
              const std::vector<double>* offset = nullptr) {
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

  // y' = W y (+ b). W is (out x size()).
  void linear(const Eigen::MatrixXd& W, const Eigen::VectorXd* b = nullptr) {
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

  // y' = W y + b with a sparse W (out x size()), e.g. a convolution's
  // Toeplitz matrix: never materialises W densely.
  void linearSparse(const Eigen::SparseMatrix<double>& W, const Eigen::VectorXd& b) {
    checkMapSize(W.rows(), n_in);
    Eigen::VectorXd nc = W * c + b;
    if (dense) {
      Eigen::MatrixXd nM = W * M;
      M = std::move(nM);
    } else {
      Eigen::MatrixXd nM = Eigen::MatrixXd::Zero(W.rows(), n_in);
      for (int64_t i = 0; i < size(); ++i) {
        if (s[i] == 0.0) continue;
        for (Eigen::SparseMatrix<double>::InnerIterator it(W, i); it; ++it)
          nM(it.row(), idx[i]) += s[i] * it.value();
      }
      M = std::move(nM);
      dense = true;
      idx.clear();
      s.resize(0);
    }
    c = std::move(nc);
  }

  // y viewed as R blocks of a (K x N) row-major matrix X_r; y' blocks are
  // X_r * B with B (N x P) -> y' has R*P values.
  void rightMatmul(int64_t R, const Eigen::MatrixXd& B) {
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

  // y viewed as R blocks of a (K x N) row-major matrix X_r; y' blocks are
  // A * X_r with A (P x K) -> y' has R*P*N values.
  void leftMatmul(int64_t R, int64_t N, const Eigen::MatrixXd& A) {
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
};

struct Var {
  Shape shape;                  // full ONNX shape, batch dim (if any) = 1
  std::shared_ptr<Affine> map;  // from the current base to this tensor
  int epoch = 0;                // number of commits when the map was built
  std::vector<std::string> pending;  // node names folded into the map

  Affine& mut() {  // copy-on-write access
    if (map.use_count() > 1) map = std::make_shared<Affine>(*map);
    return *map;
  }
};

using Value = std::variant<Const, Var>;

// ---------------------------------------------------------------- helpers

int64_t normAxis(int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank)
    opFail(what + " " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

Shape broadcastShapes(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      opFail("shapes " + shapeStr(a) + " and " + shapeStr(b) + " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  checkedNumel(out, "broadcast result");
  return out;
}

// For each flat index of `out`, the flat index of the broadcast source `in`.
std::vector<int64_t> broadcastIndex(const Shape& out, const Shape& in) {
  const size_t r = out.size(), off = r - in.size();
  std::vector<int64_t> ist = stridesOf(in);
  std::vector<int64_t> st(r, 0);
  for (size_t i = 0; i < in.size(); ++i) st[off + i] = in[i] == 1 ? 0 : ist[i];
  const int64_t n = nn::numel(out);
  std::vector<int64_t> res(n);
  std::vector<int64_t> ctr(r, 0);
  int64_t cur = 0;
  for (int64_t j = 0; j < n; ++j) {
    res[j] = cur;
    for (int i = static_cast<int>(r) - 1; i >= 0; --i) {
      if (++ctr[i] < out[i]) {
        cur += st[i];
        break;
      }
      cur -= st[i] * (out[i] - 1);
      ctr[i] = 0;
    }
  }
  return res;
}

// Result of a layout op: new shape and (if values move) source indices.
struct Layout {
  Shape shape;
  bool moves = false;
  std::vector<int64_t> src;
};

Layout transposeLayout(const Shape& in, std::vector<int64_t> perm) {
  const int64_t r = static_cast<int64_t>(in.size());
  if (perm.empty()) {
    perm.resize(r);
    for (int64_t i = 0; i < r; ++i) perm[i] = r - 1 - i;
  }
  if (static_cast<int64_t>(perm.size()) != r)
    opFail("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
  std::vector<bool> seen(r, false);
  for (auto& p : perm) {
    p = normAxis(p, r, "perm entry");
    if (seen[p]) opFail("perm is not a permutation");
    seen[p] = true;
  }
  Layout L;
  L.shape.resize(r);
  for (int64_t i = 0; i < r; ++i) L.shape[i] = in[perm[i]];
  auto ist = stridesOf(in);
  std::vector<int64_t> st(r);
  for (int64_t i = 0; i < r; ++i) st[i] = ist[perm[i]];
  const int64_t n = nn::numel(in);
  L.src.resize(n);
  std::vector<int64_t> ctr(r, 0);
  int64_t cur = 0;
  for (int64_t j = 0; j < n; ++j) {
    L.src[j] = cur;
    if (cur != j) L.moves = true;
    for (int64_t i = r - 1; i >= 0; --i) {
      if (++ctr[i] < L.shape[i]) {
        cur += st[i];
        break;
      }
      cur -= st[i] * (L.shape[i] - 1);
      ctr[i] = 0;
    }
  }
  if (!L.moves) L.src.clear();
  return L;
}

Layout gatherLayout(const Shape& in, int64_t axis, const Const& indices) {
  const int64_t r = static_cast<int64_t>(in.size());
  if (r == 0) opFail("Gather on a scalar");
  axis = normAxis(axis, r, "axis");
  const int64_t dim = in[axis];
  Layout L;
  L.moves = true;
  L.shape.assign(in.begin(), in.begin() + axis);
  L.shape.insert(L.shape.end(), indices.dims.begin(), indices.dims.end());
  L.shape.insert(L.shape.end(), in.begin() + axis + 1, in.end());
  checkedNumel(L.shape, "Gather output");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= in[i];
  for (int64_t i = axis + 1; i < r; ++i) inner *= in[i];
  for (int64_t o = 0; o < outer; ++o)
    for (double dv : indices.v) {
      int64_t k = static_cast<int64_t>(dv);
      if (k < -dim || k >= dim)
        opFail("index " + std::to_string(k) + " out of range for dimension " +
               std::to_string(dim));
      if (k < 0) k += dim;
      for (int64_t i = 0; i < inner; ++i) L.src.push_back((o * dim + k) * inner + i);
    }
  return L;
}

Layout sliceLayout(const Shape& in, const std::vector<int64_t>& starts,
                   const std::vector<int64_t>& ends, std::vector<int64_t> axes,
                   std::vector<int64_t> steps) {
  const int64_t r = static_cast<int64_t>(in.size());
  if (starts.size() != ends.size()) opFail("Slice starts and ends differ in length");
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), int64_t{0});
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    opFail("Slice starts/ends/axes/steps differ in length");
  std::vector<int64_t> st(r, 0), sp(r, 1);
  Shape out = in;
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t a = normAxis(axes[k], r, "axis");
    const int64_t dim = in[a], step = steps[k];
    if (step == 0) opFail("Slice step is 0");
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t len;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    st[a] = s;
    sp[a] = step;
    out[a] = len;
  }
  Layout L;
  L.shape = out;
  L.moves = true;
  auto ist = stridesOf(in);
  const int64_t n = nn::numel(out);
  L.src.resize(n);
  std::vector<int64_t> ctr(r, 0);
  for (int64_t j = 0; j < n; ++j) {
    int64_t f = 0;
    for (int64_t i = 0; i < r; ++i) f += (st[i] + ctr[i] * sp[i]) * ist[i];
    L.src[j] = f;
    for (int64_t i = r - 1; i >= 0; --i) {
      if (++ctr[i] < out[i]) break;
      ctr[i] = 0;
    }
  }
  return L;
}

std::vector<int64_t> toInts(const Const& c) {
  std::vector<int64_t> r;
  r.reserve(c.v.size());
  for (double d : c.v) r.push_back(static_cast<int64_t>(d));
  return r;
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float f;
  if (exp == 0)
    f = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    f = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    f = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -f : f;
}

// ---------------------------------------------------------------- tensors

Const tensorToConst(const onnx::TensorProto& t) {
  const std::string tname = "tensor '" + t.name() + "'";
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0)
    opFail(tname + " uses external data, which is not supported");
  Const c;
  c.dims.assign(t.dims().begin(), t.dims().end());
  const int64_t n = checkedNumel(c.dims, tname + " shape");
  using TP = onnx::TensorProto;
  const int dt = t.data_type();
  size_t esize = 0;
  switch (dt) {
    case TP::FLOAT: case TP::INT32: case TP::UINT32: esize = 4; break;
    case TP::DOUBLE: case TP::INT64: case TP::UINT64: esize = 8; break;
    case TP::INT16: case TP::UINT16: case TP::FLOAT16: esize = 2; break;
    case TP::INT8: case TP::UINT8: case TP::BOOL: esize = 1; break;
    default:
      opFail(tname + " has unsupported data type " + std::to_string(dt) +
             " (supported: float, double, float16, int8..int64, uint8..uint64, bool)");
  }
  c.is_int = !(dt == TP::FLOAT || dt == TP::DOUBLE || dt == TP::FLOAT16);
  c.dtype = dt;
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (raw.size() != static_cast<size_t>(n) * esize)
      opFail(tname + " raw_data has " + std::to_string(raw.size()) + " bytes, shape " +
             shapeStr(c.dims) + " needs " + std::to_string(static_cast<size_t>(n) * esize));
    c.v.resize(n);
    const char* p = raw.data();
    for (int64_t i = 0; i < n; ++i, p += esize) {
      switch (dt) {
        case TP::FLOAT: { float x; std::memcpy(&x, p, 4); c.v[i] = x; break; }
        case TP::DOUBLE: { double x; std::memcpy(&x, p, 8); c.v[i] = x; break; }
        case TP::INT32: { int32_t x; std::memcpy(&x, p, 4); c.v[i] = x; break; }
        case TP::UINT32: { uint32_t x; std::memcpy(&x, p, 4); c.v[i] = x; break; }
        case TP::INT64: { int64_t x; std::memcpy(&x, p, 8); c.v[i] = static_cast<double>(x); break; }
        case TP::UINT64: { uint64_t x; std::memcpy(&x, p, 8); c.v[i] = static_cast<double>(x); break; }
        case TP::INT16: { int16_t x; std::memcpy(&x, p, 2); c.v[i] = x; break; }
        case TP::UINT16: { uint16_t x; std::memcpy(&x, p, 2); c.v[i] = x; break; }
        case TP::FLOAT16: { uint16_t x; std::memcpy(&x, p, 2); c.v[i] = halfToFloat(x); break; }
        case TP::INT8: { int8_t x; std::memcpy(&x, p, 1); c.v[i] = x; break; }
        default: { uint8_t x; std::memcpy(&x, p, 1); c.v[i] = dt == TP::BOOL ? (x != 0) : x; break; }
      }
    }
  } else {
    // Checks the count present before reserving: the declared shape alone
    // (up to 2^31 elements, 16 GB of doubles) must not size an allocation.
    auto need = [&](int64_t have, const char* field) {
      if (have != n)
        opFail(tname + " has " + std::to_string(have) + " values in " + field + ", shape " +
               shapeStr(c.dims) + " needs " + std::to_string(n));
      c.v.reserve(n);
    };
    switch (dt) {
      case TP::FLOAT:
        need(t.float_data_size(), "float_data");
        for (float x : t.float_data()) c.v.push_back(x);
        break;
      case TP::DOUBLE:
        need(t.double_data_size(), "double_data");
        for (double x : t.double_data()) c.v.push_back(x);
        break;
      case TP::INT64:
        need(t.int64_data_size(), "int64_data");
        for (int64_t x : t.int64_data()) c.v.push_back(static_cast<double>(x));
        break;
      case TP::UINT32: case TP::UINT64:
        need(t.uint64_data_size(), "uint64_data");
        for (uint64_t x : t.uint64_data()) c.v.push_back(static_cast<double>(x));
        break;
      case TP::FLOAT16:
        need(t.int32_data_size(), "int32_data");
        for (int32_t x : t.int32_data()) c.v.push_back(halfToFloat(static_cast<uint16_t>(x)));
        break;
      default:
        need(t.int32_data_size(), "int32_data");
        for (int32_t x : t.int32_data()) c.v.push_back(dt == TP::BOOL ? (x != 0) : x);
        break;
    }
  }
  for (double x : c.v)
    if (!std::isfinite(x)) opFail(tname + " contains NaN or Inf");
  return c;
}

// ---------------------------------------------------------------- attributes

const onnx::AttributeProto* findAttr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
int64_t attrInt(const onnx::NodeProto& n, const std::string& name, int64_t def) {
  auto* a = findAttr(n, name);
  return a ? a->i() : def;
}
double attrFloat(const onnx::NodeProto& n, const std::string& name, double def) {
  auto* a = findAttr(n, name);
  return a ? a->f() : def;
}
std::vector<int64_t> attrInts(const onnx::NodeProto& n, const std::string& name) {
  auto* a = findAttr(n, name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}
std::string attrString(const onnx::NodeProto& n, const std::string& name, const std::string& def) {
  auto* a = findAttr(n, name);
  return a ? a->s() : def;
}

// ---------------------------------------------------------------- convolutions

// Geometry of a 2-D window op (Conv, AveragePool) over one C x H x W image.
struct Window2d {
  int64_t H = 0, W = 0;             // input
  int64_t kh = 1, kw = 1;           // kernel
  int64_t sh = 1, sw = 1;           // strides
  int64_t dh = 1, dw = 1;           // dilations
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // pads: top, left, bottom, right
  int64_t OH = 0, OW = 0;           // output
};

std::string intsStr(const std::vector<int64_t>& v) { return shapeStr(Shape(v.begin(), v.end())); }

// Reads strides, dilations, pads and auto_pad (NOTSET, VALID, SAME_UPPER,
// SAME_LOWER) as the ONNX spec defines them and computes the output size.
Window2d windowGeometry(const onnx::NodeProto& node, int64_t H, int64_t W, int64_t kh,
                        int64_t kw, bool allow_dilations) {
  Window2d g;
  g.H = H;
  g.W = W;
  g.kh = kh;
  g.kw = kw;
  if (kh < 1 || kw < 1) opFail("kernel " + intsStr({kh, kw}) + " is empty");
  auto pair = [&](const char* name) {
    std::vector<int64_t> v = attrInts(node, name);
    if (v.empty()) return std::vector<int64_t>{1, 1};
    if (v.size() != 2)
      opFail(std::string(name) + " " + intsStr(v) + " has " + std::to_string(v.size()) +
             " entries; only 2-D (two spatial dimensions) is supported");
    for (auto d : v)
      if (d < 1) opFail(std::string(name) + " " + intsStr(v) + " must be >= 1");
    return v;
  };
  auto st = pair("strides");
  auto dl = pair("dilations");
  g.sh = st[0];
  g.sw = st[1];
  g.dh = dl[0];
  g.dw = dl[1];
  if (!allow_dilations && (g.dh != 1 || g.dw != 1))
    opFail("dilations " + intsStr(dl) + " are not supported here (only 1)");
  const int64_t eh = (kh - 1) * g.dh + 1, ew = (kw - 1) * g.dw + 1;  // dilated extent
  std::string ap = attrString(node, "auto_pad", "NOTSET");
  if (ap.empty()) ap = "NOTSET";
  if (ap == "NOTSET") {
    std::vector<int64_t> p = attrInts(node, "pads");
    if (p.empty()) p = {0, 0, 0, 0};
    if (p.size() != 4)
      opFail("pads " + intsStr(p) + " must have 4 entries (top, left, bottom, right) for 2-D");
    for (auto d : p)
      if (d < 0) opFail("pads " + intsStr(p) + " must be >= 0");
    g.pt = p[0];
    g.pl = p[1];
    g.pb = p[2];
    g.pr = p[3];
  } else if (ap == "VALID") {
    // no padding
  } else if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
    auto same = [&](int64_t in, int64_t s, int64_t ext, int64_t& lo, int64_t& hi) {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + ext - in);
      // SAME_UPPER puts the odd extra pad at the end, SAME_LOWER at the beginning.
      lo = ap == "SAME_UPPER" ? total / 2 : total - total / 2;
      hi = total - lo;
    };
    same(H, g.sh, eh, g.pt, g.pb);
    same(W, g.sw, ew, g.pl, g.pr);
  } else {
    opFail("auto_pad '" + ap + "' is not supported (supported: NOTSET, VALID, SAME_UPPER, "
           "SAME_LOWER)");
  }
  const int64_t nh = H + g.pt + g.pb - eh, nw = W + g.pl + g.pr - ew;
  if (nh < 0 || nw < 0)
    opFail("the (dilated) kernel " + intsStr({eh, ew}) + " is larger than the padded input " +
           intsStr({H + g.pt + g.pb, W + g.pl + g.pr}));
  g.OH = nh / g.sh + 1;
  g.OW = nw / g.sw + 1;
  return g;
}

// Visits every (output position, input position) pair of a window: f(oh, ow,
// a, b, ih, iw) for kernel offset (a, b) whose input (ih, iw) lies inside
// the image (padding contributes zeros and is skipped).
template <class F>
void forEachTap(const Window2d& g, int64_t a, int64_t b, F&& f) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const int64_t ih = oh * g.sh - g.pt + a * g.dh;
    if (ih < 0 || ih >= g.H) continue;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const int64_t iw = ow * g.sw - g.pl + b * g.dw;
      if (iw < 0 || iw >= g.W) continue;
      f(oh, ow, ih, iw);
    }
  }
}

using SpMat = Eigen::SparseMatrix<double>;

void checkNnz(int64_t nnz) {
  if (nnz > kMaxMapEntries)
    opFail("the layer's sparse matrix would have " + std::to_string(nnz) +
           " entries, more than the limit of " + std::to_string(kMaxMapEntries));
}

// Toeplitz matrix of a 2-D convolution: input C x H x W, output M x OH x OW
// (flat row-major), kernel K of shape M x C/group x kh x kw.
SpMat convMatrix(int64_t C, int64_t M, int64_t group, const Window2d& g,
                 const std::vector<double>& K) {
  const int64_t cpg = C / group, mpg = M / group;
  const int64_t rows = M * g.OH * g.OW, cols = C * g.H * g.W;
  checkNnz(rows * cpg * g.kh * g.kw);
  std::vector<Eigen::Triplet<double>> trip;
  trip.reserve(static_cast<size_t>(rows * cpg * g.kh * g.kw));
  for (int64_t m = 0; m < M; ++m) {
    const int64_t grp = m / mpg;
    for (int64_t ci = 0; ci < cpg; ++ci) {
      const int64_t c = grp * cpg + ci;
      for (int64_t a = 0; a < g.kh; ++a)
        for (int64_t b = 0; b < g.kw; ++b) {
          const double w = K[((m * cpg + ci) * g.kh + a) * g.kw + b];
          if (w == 0.0) continue;
          forEachTap(g, a, b, [&](int64_t oh, int64_t ow, int64_t ih, int64_t iw) {
            trip.emplace_back(static_cast<int>((m * g.OH + oh) * g.OW + ow),
                              static_cast<int>((c * g.H + ih) * g.W + iw), w);
          });
        }
    }
  }
  SpMat S(rows, cols);
  S.setFromTriplets(trip.begin(), trip.end());
  return S;
}

// Average pooling per channel: input C x H x W, output C x OH x OW. The
// divisor is the full kernel size (count_include_pad) or the number of taps
// inside the image.
SpMat avgPoolMatrix(int64_t C, const Window2d& g, bool count_include_pad) {
  const int64_t rows = C * g.OH * g.OW, cols = C * g.H * g.W;
  checkNnz(rows * g.kh * g.kw);
  std::vector<int64_t> count(g.OH * g.OW, 0);
  for (int64_t a = 0; a < g.kh; ++a)
    for (int64_t b = 0; b < g.kw; ++b)
      forEachTap(g, a, b, [&](int64_t oh, int64_t ow, int64_t, int64_t) { ++count[oh * g.OW + ow]; });
  std::vector<Eigen::Triplet<double>> trip;
  trip.reserve(static_cast<size_t>(rows * g.kh * g.kw));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t a = 0; a < g.kh; ++a)
      for (int64_t b = 0; b < g.kw; ++b)
        forEachTap(g, a, b, [&](int64_t oh, int64_t ow, int64_t ih, int64_t iw) {
          const int64_t n = count_include_pad ? g.kh * g.kw : count[oh * g.OW + ow];
          trip.emplace_back(static_cast<int>((c * g.OH + oh) * g.OW + ow),
                            static_cast<int>((c * g.H + ih) * g.W + iw), 1.0 / n);
        });
  SpMat S(rows, cols);
  S.setFromTriplets(trip.begin(), trip.end());
  return S;
}

// ---------------------------------------------------------------- loader

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}
  nn::Network load(const std::string& bytes);

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw Error(file_ + ": " + msg); }
  std::string nodeDesc(const onnx::NodeProto& n) const {
    return "node '" + nodeName(n) + "' (" + n.op_type() + ")";
  }
  static std::string nodeName(const onnx::NodeProto& n) {
    if (!n.name().empty()) return n.name();
    return n.output_size() > 0 ? n.op_type() + ":" + n.output(0) : n.op_type();
  }

  void processNode(const onnx::NodeProto& node);
  Value evalConstOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Value evalVarOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Value layoutOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Value elementwise(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Var matmulOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Var gemmOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Value spatialOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Var activation(const onnx::NodeProto& node, const Var& x, nn::Activation act);
  Var maxPoolOp(const onnx::NodeProto& node, const Var& x);
  Const constantNode(const onnx::NodeProto& node);
  void commit(Var& v, const std::string& fallback_name);
  Shape logical(const Shape& full) const {
    if (has_batch_ && full.size() >= 2 && full[0] == 1) return Shape(full.begin() + 1, full.end());
    return full;
  }
  // A constant that a linear op combines with the network value (weights,
  // bias, scale, statistics). ONNX gives it the input's type T: an integer
  // tensor, or float16 next to a wider input, is a wrong-dtype model.
  void checkWeight(const Const& k, const std::string& what) const {
    if (!k.is_int && !(k.dtype == onnx::TensorProto::FLOAT16 && input_dtype_ != k.dtype)) return;
    auto name = [](int dt, bool is_int) {
      if (dt == onnx::TensorProto::UNDEFINED) return std::string(is_int ? "integer" : "float");
      std::string n = onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(dt));
      for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return n;
    };
    opFail(what + " has data type " + name(k.dtype, k.is_int) + " but the network input is " +
           name(input_dtype_, false) + " (weights must have the input's floating-point type)");
  }
  const Const& needConst(const Value* v, const std::string& what) const {
    if (!v) opFail(what + " is missing");
    if (!std::holds_alternative<Const>(*v))
      opFail(what + " must be a constant (it depends on the network input)");
    return std::get<Const>(*v);
  }
  Var asVar(const Value* v) const {
    Var x = std::get<Var>(*v);
    if (x.epoch != epoch_)
      opFail("the graph branches (a tensor is used after a later activation); only a single "
             "chain of layers is supported");
    return x;
  }

  std::string file_;
  int opset_ = 13;
  int input_dtype_ = onnx::TensorProto::FLOAT;
  bool has_batch_ = false;
  int epoch_ = 0;
  std::vector<nn::Layer> layers_;
  std::unordered_map<std::string, Value> values_;
};

Const Loader::constantNode(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    Const c;
    if (a.name() == "value") return tensorToConst(a.t());
    if (a.name() == "value_float") {
      c.v = {a.f()};
    } else if (a.name() == "value_floats") {
      c.v.assign(a.floats().begin(), a.floats().end());
      c.dims = {static_cast<int64_t>(c.v.size())};
    } else if (a.name() == "value_int") {
      c.v = {static_cast<double>(a.i())};
      c.is_int = true;
    } else if (a.name() == "value_ints") {
      for (auto i : a.ints()) c.v.push_back(static_cast<double>(i));
      c.dims = {static_cast<int64_t>(c.v.size())};
      c.is_int = true;
    } else {
      opFail("Constant attribute '" + a.name() +
             "' is not supported (supported: value, value_float(s), value_int(s))");
    }
    for (double x : c.v)
      if (!std::isfinite(x)) opFail("Constant contains NaN or Inf");
    return c;
  }
  opFail("Constant node has no value attribute");
}

void Loader::commit(Var& v, const std::string& fallback_name) {
  if (!v.map->isIdentity()) {
    std::string name;
    for (const auto& p : v.pending) name += (name.empty() ? "" : "+") + p;
    if (name.empty()) name = fallback_name;
    nn::Dense d{v.map->matrix(), v.map->c};
    layers_.push_back(nn::Layer{name, std::move(d), logical(v.shape)});
  }
  ++epoch_;
  v.map = std::make_shared<Affine>(Affine::identity(nn::numel(v.shape)));
  v.epoch = epoch_;
  v.pending.clear();
}

Var Loader::activation(const onnx::NodeProto& node, const Var& xin, nn::Activation act) {
  Var x = xin;
  commit(x, nodeName(node));
  layers_.push_back(nn::Layer{nodeName(node), act, logical(x.shape)});
  return x;
}

// MaxPool / GlobalMaxPool over N x C x H x W (batch 1): commits the pending
// map as a Dense layer, then appends the max layer.
Var Loader::maxPoolOp(const onnx::NodeProto& node, const Var& xin) {
  const std::string& op = node.op_type();
  Var x = xin;
  if (x.shape.size() != 4)
    opFail("input " + shapeStr(x.shape) + " is not N x C x H x W; only 2-D " + op +
           " is supported");
  if (x.shape[0] != 1)
    opFail("input " + shapeStr(x.shape) + " has batch size " + std::to_string(x.shape[0]) +
           "; only batch size 1 is supported");
  if (node.output_size() > 1 && !node.output(1).empty())
    opFail("the Indices output is not supported");
  const int64_t C = x.shape[1], H = x.shape[2], W = x.shape[3];
  if (H * W == 0) opFail("input " + shapeStr(x.shape) + " has no pixels");
  Window2d g;
  if (op == "GlobalMaxPool") {
    g.H = g.kh = H;
    g.W = g.kw = W;
    g.OH = g.OW = 1;
  } else {
    const auto ks = attrInts(node, "kernel_shape");
    if (ks.size() != 2)
      opFail("kernel_shape " + intsStr(ks) + " must have 2 entries (only 2-D MaxPool is "
             "supported)");
    if (attrInt(node, "ceil_mode", 0) != 0)
      opFail("ceil_mode=1 is not supported (only floor rounding of the output size)");
    g = windowGeometry(node, H, W, ks[0], ks[1], true);
  }
  checkVarSize(C * g.OH * g.OW);
  nn::MaxPool mp;
  mp.windows.resize(static_cast<size_t>(C * g.OH * g.OW));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t a = 0; a < g.kh; ++a)
      for (int64_t b = 0; b < g.kw; ++b)
        forEachTap(g, a, b, [&](int64_t oh, int64_t ow, int64_t ih, int64_t iw) {
          mp.windows[static_cast<size_t>((c * g.OH + oh) * g.OW + ow)].push_back(
              (c * H + ih) * W + iw);
        });
  for (const auto& w : mp.windows)
    if (w.empty()) opFail("a pooling window lies entirely in the padding");
  commit(x, nodeName(node));
  x.shape = {1, C, g.OH, g.OW};
  layers_.push_back(nn::Layer{nodeName(node), std::move(mp), logical(x.shape)});
  x.map = std::make_shared<Affine>(Affine::identity(nn::numel(x.shape)));
  return x;
}

// Layout ops on a constant or the variable.
Value Loader::layoutOp(const onnx::NodeProto& node, const std::vector<const Value*>& in) {
  const std::string& op = node.op_type();
  const Value* x = in.at(0);
  const Shape& ish =
      std::holds_alternative<Const>(*x) ? std::get<Const>(*x).dims : std::get<Var>(*x).shape;
  const int64_t r = static_cast<int64_t>(ish.size());
  const int64_t n = nn::numel(ish);
  auto input = [&](size_t i) -> const Value* { return i < in.size() ? in[i] : nullptr; };
  Layout L;
  L.shape = ish;
  if (op == "Identity" || op == "Dropout" || op == "Cast") {
    // values unchanged
  } else if (op == "Flatten") {
    int64_t axis = attrInt(node, "axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r) opFail("axis out of range");
    int64_t a = 1;
    for (int64_t i = 0; i < axis; ++i) a *= ish[i];
    L.shape = {a, a == 0 ? 0 : n / a};
  } else if (op == "Reshape") {
    std::vector<int64_t> target;
    if (findAttr(node, "shape") && !input(1))
      target = attrInts(node, "shape");
    else
      target = toInts(needConst(input(1), "Reshape shape input"));
    const bool allowzero = attrInt(node, "allowzero", 0) != 0;
    Shape out(target.size());
    int infer = -1;
    int64_t known = 1;
    for (size_t i = 0; i < target.size(); ++i) {
      int64_t d = target[i];
      if (d == 0 && !allowzero) {
        if (i >= ish.size()) opFail("shape entry 0 at position " + std::to_string(i) +
                                    " has no input dimension to copy");
        d = ish[i];
      }
      if (d == -1) {
        if (infer >= 0) opFail("shape has more than one -1");
        infer = static_cast<int>(i);
        d = 1;
      } else if (d < 0) {
        opFail("shape entry " + std::to_string(d) + " is invalid");
      }
      out[i] = d;
      if (static_cast<int>(i) != infer) known *= d;
    }
    if (infer >= 0) {
      if (known == 0 || n % known != 0)
        opFail("cannot reshape " + shapeStr(ish) + " to " + shapeStr(target));
      out[infer] = n / known;
    }
    if (checkedNumel(out, "Reshape output") != n)
      opFail("cannot reshape " + shapeStr(ish) + " (" + std::to_string(n) + " values) to " +
             shapeStr(out));
    L.shape = out;
  } else if (op == "Squeeze" || op == "Unsqueeze") {
    std::vector<int64_t> axes;
    bool have_axes = false;
    if (findAttr(node, "axes")) {
      axes = attrInts(node, "axes");
      have_axes = true;
    } else if (input(1)) {
      axes = toInts(needConst(input(1), op + " axes input"));
      have_axes = true;
    }
    if (op == "Squeeze") {
      Shape out;
      std::set<int64_t> ax;
      for (auto a : axes) ax.insert(normAxis(a, r, "axis"));
      for (int64_t i = 0; i < r; ++i) {
        const bool sq = have_axes ? ax.count(i) > 0 : ish[i] == 1;
        if (sq && ish[i] != 1)
          opFail("cannot squeeze axis " + std::to_string(i) + " of shape " + shapeStr(ish));
        if (!sq) out.push_back(ish[i]);
      }
      L.shape = out;
    } else {
      if (!have_axes) opFail("Unsqueeze needs axes");
      const int64_t orank = r + static_cast<int64_t>(axes.size());
      std::set<int64_t> ax;
      for (auto a : axes)
        if (!ax.insert(normAxis(a, orank, "axis")).second) opFail("repeated axis");
      Shape out;
      size_t k = 0;
      for (int64_t i = 0; i < orank; ++i) out.push_back(ax.count(i) ? 1 : ish[k++]);
      L.shape = out;
    }
  } else if (op == "Transpose") {
    L = transposeLayout(ish, attrInts(node, "perm"));
  } else if (op == "Gather") {
    L = gatherLayout(ish, attrInt(node, "axis", 0), needConst(input(1), "Gather indices"));
  } else if (op == "Slice") {
    std::vector<int64_t> starts, ends, axes, steps;
    if (findAttr(node, "starts")) {
      starts = attrInts(node, "starts");
      ends = attrInts(node, "ends");
      axes = attrInts(node, "axes");
    } else {
      starts = toInts(needConst(input(1), "Slice starts"));
      ends = toInts(needConst(input(2), "Slice ends"));
      if (input(3)) axes = toInts(needConst(input(3), "Slice axes"));
      if (input(4)) steps = toInts(needConst(input(4), "Slice steps"));
    }
    L = sliceLayout(ish, starts, ends, axes, steps);
  } else {
    opFail("internal: not a layout op");
  }

  if (std::holds_alternative<Const>(*x)) {
    Const c = std::get<Const>(*x);
    if (L.moves) {
      std::vector<double> nv(L.src.size());
      for (size_t j = 0; j < L.src.size(); ++j) nv[j] = c.v[L.src[j]];
      c.v = std::move(nv);
    }
    c.dims = L.shape;
    if (op == "Cast") {
      const int64_t to = attrInt(node, "to", onnx::TensorProto::FLOAT);
      using TP = onnx::TensorProto;
      const bool fl = to == TP::FLOAT || to == TP::DOUBLE || to == TP::FLOAT16 ||
                      to == TP::BFLOAT16;
      if (!fl) {
        for (auto& d : c.v) d = to == TP::BOOL ? (d != 0) : std::trunc(d);
      }
      c.is_int = !fl;
      c.dtype = static_cast<int>(to);
    }
    return c;
  }
  Var v = asVar(x);
  if (op == "Cast") {
    const int64_t to = attrInt(node, "to", onnx::TensorProto::FLOAT);
    using TP = onnx::TensorProto;
    if (!(to == TP::FLOAT || to == TP::DOUBLE || to == TP::FLOAT16 || to == TP::BFLOAT16))
      opFail("Cast of the network value to a non-float type is not supported");
  }
  if (L.moves) {
    v.mut().gather(L.src);
    v.pending.push_back(nodeName(node));
  }
  v.shape = L.shape;
  return v;
}

// Add/Sub/Mul/Div/Neg and activations on constants; var (op) const.
Value Loader::elementwise(const onnx::NodeProto& node, const std::vector<const Value*>& in) {
  const std::string& op = node.op_type();
  if (op == "Neg") {
    const Value* x = in.at(0);
    if (std::holds_alternative<Const>(*x)) {
      Const c = std::get<Const>(*x);
      for (auto& d : c.v) d = -d;
      return c;
    }
    Var v = asVar(x);
    const int64_t n = nn::numel(v.shape);
    std::vector<int64_t> src(n);
    std::iota(src.begin(), src.end(), int64_t{0});
    std::vector<double> sc(n, -1.0);
    v.mut().gather(src, &sc);
    v.pending.push_back(nodeName(node));
    return v;
  }
  if (in.size() != 2 || !in[0] || !in[1]) opFail(op + " needs two inputs");
  const bool v0 = std::holds_alternative<Var>(*in[0]), v1 = std::holds_alternative<Var>(*in[1]);
  if (v0 && v1)
    opFail("both inputs depend on the network input (e.g. a residual connection); only a single "
           "chain of layers is supported");
  if (!v0 && !v1) {
    const Const& a = std::get<Const>(*in[0]);
    const Const& b = std::get<Const>(*in[1]);
    Const out;
    out.dims = broadcastShapes(a.dims, b.dims);
    out.is_int = a.is_int && b.is_int;
    auto ia = broadcastIndex(out.dims, a.dims), ib = broadcastIndex(out.dims, b.dims);
    out.v.resize(ia.size());
    for (size_t j = 0; j < ia.size(); ++j) {
      const double x = a.v[ia[j]], y = b.v[ib[j]];
      double z;
      if (op == "Add") z = x + y;
      else if (op == "Sub") z = x - y;
      else if (op == "Mul") z = x * y;
      else {
        if (y == 0.0) opFail("division by zero in constant folding");
        z = out.is_int ? std::trunc(x / y) : x / y;
      }
      out.v[j] = z;
    }
    return out;
  }
  Var v = asVar(v0 ? in[0] : in[1]);
  const Const& k = std::get<Const>(*(v0 ? in[1] : in[0]));
  checkWeight(k, "'" + node.input(v0 ? 1 : 0) + "'");
  Shape out = broadcastShapes(v.shape, k.dims);
  auto iv = broadcastIndex(out, v.shape), ik = broadcastIndex(out, k.dims);
  const size_t m = iv.size();
  std::vector<double> sc(m, 1.0), off(m, 0.0);
  for (size_t j = 0; j < m; ++j) {
    const double kv = k.v[ik[j]];
    if (op == "Add") off[j] = kv;
    else if (op == "Sub") {
      if (v0) off[j] = -kv;
      else { sc[j] = -1.0; off[j] = kv; }
    } else if (op == "Mul") sc[j] = kv;
    else {  // Div
      if (!v0) opFail("dividing a constant by the network value is not linear");
      if (kv == 0.0) opFail("division by a constant zero");
      sc[j] = 1.0 / kv;
    }
  }
  v.mut().gather(iv, &sc, &off);
  v.shape = out;
  v.pending.push_back(nodeName(node));
  return v;
}

Var Loader::matmulOp(const onnx::NodeProto& node, const std::vector<const Value*>& in) {
  if (in.size() != 2 || !in[0] || !in[1]) opFail("MatMul needs two inputs");
  const bool v0 = std::holds_alternative<Var>(*in[0]), v1 = std::holds_alternative<Var>(*in[1]);
  if (v0 && v1) opFail("both inputs depend on the network input; only a single chain is supported");
  Var v;
  if (v0 || v1) {
    v = asVar(v0 ? in[0] : in[1]);
  } else {  // constant x constant: evaluate through a map with no inputs
    const Const& a = std::get<Const>(*in[0]);
    v.shape = a.dims;
    v.map = std::make_shared<Affine>(Affine::constant(a.v));
  }
  const bool var_left = v0 || !v1;
  const Const& k = std::get<Const>(*(var_left ? in[1] : in[0]));
  if (v0 || v1) checkWeight(k, "'" + node.input(var_left ? 1 : 0) + "'");
  if (var_left) {
    // v [..., M, K] (or [K]) x k [K, N] (or [K]; or leading dims of 1)
    Shape ks = k.dims;
    bool vec_k = false;
    if (ks.size() == 1) { ks = {ks[0], 1}; vec_k = true; }
    while (ks.size() > 2 && ks[0] == 1) ks.erase(ks.begin());
    if (ks.size() != 2)
      opFail("batched constant operand " + shapeStr(k.dims) + " is not supported");
    Shape vs = v.shape;
    bool vec_v = false;
    if (vs.empty()) opFail("MatMul on a scalar");
    if (vs.size() == 1) { vs = {1, vs[0]}; vec_v = true; }
    const int64_t K = vs.back();
    if (K != ks[0])
      opFail("shape mismatch: " + shapeStr(v.shape) + " x " + shapeStr(k.dims));
    const int64_t R = nn::numel(vs) / K;
    Eigen::MatrixXd B = Eigen::Map<const RowMat>(k.v.data(), ks[0], ks[1]);
    v.mut().rightMatmul(R, B);
    Shape out(vs.begin(), vs.end() - 1);
    out.push_back(ks[1]);
    if (vec_k) out.pop_back();
    if (vec_v) out.erase(out.end() - (vec_k ? 1 : 2));
    // constant leading dims (of 1) beyond the variable's rank
    for (size_t i = vs.size(); i < k.dims.size(); ++i) out.insert(out.begin(), 1);
    v.shape = out;
  } else {
    // k [P, K] (or [K]) x v [..., K, N] (or [K])
    Shape ks = k.dims;
    bool vec_k = false;
    if (ks.size() == 1) { ks = {1, ks[0]}; vec_k = true; }
    while (ks.size() > 2 && ks[0] == 1) ks.erase(ks.begin());
    if (ks.size() != 2)
      opFail("batched constant operand " + shapeStr(k.dims) + " is not supported");
    Shape vs = v.shape;
    bool vec_v = false;
    if (vs.empty()) opFail("MatMul on a scalar");
    if (vs.size() == 1) { vs = {vs[0], 1}; vec_v = true; }
    const int64_t K = vs[vs.size() - 2], N = vs.back();
    if (K != ks[1])
      opFail("shape mismatch: " + shapeStr(k.dims) + " x " + shapeStr(v.shape));
    const int64_t R = nn::numel(vs) / (K * std::max<int64_t>(N, 1));
    Eigen::MatrixXd A = Eigen::Map<const RowMat>(k.v.data(), ks[0], ks[1]);
    v.mut().leftMatmul(R, N, A);
    Shape out(vs.begin(), vs.end() - 2);
    if (!vec_k) out.push_back(ks[0]);
    if (!vec_v) out.push_back(N);
    for (size_t i = vs.size(); i < k.dims.size(); ++i) out.insert(out.begin(), 1);
    v.shape = out;
  }
  v.pending.push_back(nodeName(node));
  return v;
}

Var Loader::gemmOp(const onnx::NodeProto& node, const std::vector<const Value*>& in) {
  if (in.size() < 2 || !in[0] || !in[1]) opFail("Gemm needs inputs A and B");
  const bool v0 = std::holds_alternative<Var>(*in[0]), v1 = std::holds_alternative<Var>(*in[1]);
  if (v0 && v1) opFail("both A and B depend on the network input; only a single chain is supported");
  const double alpha = attrFloat(node, "alpha", 1.0), beta = attrFloat(node, "beta", 1.0);
  const bool tA = attrInt(node, "transA", 0) != 0, tB = attrInt(node, "transB", 0) != 0;
  const Value* cin = in.size() > 2 ? in[2] : nullptr;
  if (cin && std::holds_alternative<Var>(*cin)) opFail("C depends on the network input");
  if (!std::isfinite(alpha) || !std::isfinite(beta)) opFail("alpha/beta are not finite");
  Var v;
  if (v0 || v1) {
    v = asVar(v0 ? in[0] : in[1]);
  } else {
    const Const& a = std::get<Const>(*in[0]);
    v.shape = a.dims;
    v.map = std::make_shared<Affine>(Affine::constant(a.v));
  }
  const bool var_a = v0 || !v1;
  const Const& k = std::get<Const>(*(var_a ? in[1] : in[0]));
  if (v0 || v1) checkWeight(k, std::string(var_a ? "B '" : "A '") + node.input(var_a ? 1 : 0) + "'");
  if (v.shape.size() != 2 || k.dims.size() != 2)
    opFail("A and B must be 2-D, got A " +
           shapeStr(var_a ? v.shape : k.dims) + " and B " + shapeStr(var_a ? k.dims : v.shape));
  RowMat km = Eigen::Map<const RowMat>(k.v.data(), k.dims[0], k.dims[1]);
  int64_t M, N;
  if (var_a) {
    // A' = transA ? A^T : A (a layout change of the variable), then A' * (alpha B').
    if (tA) {
      Layout L = transposeLayout(v.shape, {1, 0});
      if (L.moves) v.mut().gather(L.src);
      v.shape = L.shape;
    }
    Eigen::MatrixXd Bp = tB ? Eigen::MatrixXd(km.transpose()) : Eigen::MatrixXd(km);
    if (v.shape[1] != Bp.rows())
      opFail("shape mismatch: A'" + shapeStr(v.shape) + " x B'[" + std::to_string(Bp.rows()) +
             "," + std::to_string(Bp.cols()) + "] (transA=" + std::to_string(tA) +
             ", transB=" + std::to_string(tB) + ")");
    M = v.shape[0];
    N = Bp.cols();
    v.mut().rightMatmul(M, alpha * Bp);
  } else {
    if (tB) {
      Layout L = transposeLayout(v.shape, {1, 0});
      if (L.moves) v.mut().gather(L.src);
      v.shape = L.shape;
    }
    Eigen::MatrixXd Ap = tA ? Eigen::MatrixXd(km.transpose()) : Eigen::MatrixXd(km);
    if (Ap.cols() != v.shape[0])
      opFail("shape mismatch: A'[" + std::to_string(Ap.rows()) + "," +
             std::to_string(Ap.cols()) + "] x B'" + shapeStr(v.shape) +
             " (transA=" + std::to_string(tA) + ", transB=" + std::to_string(tB) + ")");
    M = Ap.rows();
    N = v.shape[1];
    v.mut().leftMatmul(1, N, alpha * Ap);
  }
  v.shape = {M, N};
  if (cin && beta != 0.0) {
    const Const& c = std::get<Const>(*cin);
    if (v0 || v1) checkWeight(c, "C '" + node.input(2) + "'");
    Shape bs = broadcastShapes(v.shape, c.dims);
    if (bs != v.shape)
      opFail("C of shape " + shapeStr(c.dims) + " does not broadcast to " + shapeStr(v.shape));
    auto ic = broadcastIndex(v.shape, c.dims);
    std::vector<int64_t> src(ic.size());
    std::iota(src.begin(), src.end(), int64_t{0});
    std::vector<double> off(ic.size());
    for (size_t j = 0; j < ic.size(); ++j) off[j] = beta * c.v[ic[j]];
    v.mut().gather(src, nullptr, &off);
  }
  v.pending.push_back(nodeName(node));
  return v;
}

// Conv, AveragePool, GlobalAveragePool and BatchNormalization: linear maps of
// the variable (or of a constant, then evaluated), composed into the pending map.
Value Loader::spatialOp(const onnx::NodeProto& node, const std::vector<const Value*>& in) {
  const std::string& op = node.op_type();
  const Value* x = in.at(0);
  const bool x_const = std::holds_alternative<Const>(*x);
  for (size_t i = 1; i < in.size(); ++i)
    if (in[i] && std::holds_alternative<Var>(*in[i]))
      opFail("input " + std::to_string(i) + " (" + node.input(static_cast<int>(i)) +
             ") depends on the network input; only constant weights/parameters are supported");
  Var v;
  if (x_const) {
    const Const& c = std::get<Const>(*x);
    v.shape = c.dims;
    v.map = std::make_shared<Affine>(Affine::constant(c.v));
  } else {
    v = asVar(x);
    for (size_t i = 1; i < in.size(); ++i)
      if (in[i]) checkWeight(std::get<Const>(*in[i]), "'" + node.input(static_cast<int>(i)) + "'");
  }
  const int64_t r = static_cast<int64_t>(v.shape.size());

  if (op == "BatchNormalization") {
    if (attrInt(node, "training_mode", 0) != 0)
      opFail("training_mode=1 is not supported (only inference: y = scale * (x - mean) / "
             "sqrt(var + epsilon) + B)");
    if (attrInt(node, "spatial", 1) != 1)
      opFail("spatial=0 is not supported (only per-channel statistics)");
    if (r < 2) opFail("input " + shapeStr(v.shape) + " must have rank >= 2 (N x C x ...)");
    const int64_t C = v.shape[1];
    const char* names[] = {"scale", "B", "mean", "var"};
    const Const* p[4];
    for (int i = 0; i < 4; ++i) {
      p[i] = &needConst(in.size() > size_t(i + 1) ? in[i + 1] : nullptr, names[i]);
      if (p[i]->numel() != C)
        opFail(std::string(names[i]) + " has shape " + shapeStr(p[i]->dims) + ", expected [" +
               std::to_string(C) + "] (one value per channel)");
    }
    const double eps = attrFloat(node, "epsilon", 1e-5);
    int64_t inner = 1;
    for (int64_t i = 2; i < r; ++i) inner *= v.shape[i];
    const int64_t n = nn::numel(v.shape);
    std::vector<double> a(C), off(C);
    for (int64_t c = 0; c < C; ++c) {
      const double den = p[3]->v[c] + eps;
      if (!(den > 0.0) || !std::isfinite(den))
        opFail("var + epsilon of channel " + std::to_string(c) + " is " + std::to_string(den) +
               " (must be > 0)");
      a[c] = p[0]->v[c] / std::sqrt(den);
      off[c] = p[1]->v[c] - a[c] * p[2]->v[c];
    }
    std::vector<int64_t> src(n);
    std::iota(src.begin(), src.end(), int64_t{0});
    std::vector<double> sc(n), of(n);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t c = (j / inner) % C;
      sc[j] = a[c];
      of[j] = off[c];
    }
    v.mut().gather(src, &sc, &of);
  } else {
    if (r != 4)
      opFail("input " + shapeStr(v.shape) + " is not N x C x H x W; only 2-D " + op +
             " is supported");
    if (v.shape[0] != 1)
      opFail("input " + shapeStr(v.shape) + " has batch size " + std::to_string(v.shape[0]) +
             "; only batch size 1 is supported");
    const int64_t C = v.shape[1], H = v.shape[2], W = v.shape[3];
    SpMat S;
    Eigen::VectorXd bias;
    Shape out;
    if (op == "GlobalAveragePool") {
      Window2d g;
      g.H = g.kh = H;
      g.W = g.kw = W;
      g.OH = g.OW = 1;
      if (H * W == 0) opFail("input " + shapeStr(v.shape) + " has no pixels");
      S = avgPoolMatrix(C, g, true);
      out = {1, C, 1, 1};
    } else if (op == "AveragePool") {
      const auto ks = attrInts(node, "kernel_shape");
      if (ks.size() != 2)
        opFail("kernel_shape " + intsStr(ks) + " must have 2 entries (only 2-D AveragePool is "
               "supported)");
      if (attrInt(node, "ceil_mode", 0) != 0)
        opFail("ceil_mode=1 is not supported (only floor rounding of the output size)");
      const Window2d g = windowGeometry(node, H, W, ks[0], ks[1], true);
      S = avgPoolMatrix(C, g, attrInt(node, "count_include_pad", 0) != 0);
      out = {1, C, g.OH, g.OW};
    } else if (op == "Conv") {
      const Const& K = needConst(in.size() > 1 ? in[1] : nullptr, "Conv weights");
      if (K.dims.size() != 4)
        opFail("weights " + shapeStr(K.dims) + " are not M x C/group x kH x kW; only 2-D Conv "
               "(input N x C x H x W) is supported");
      const int64_t M = K.dims[0], group = attrInt(node, "group", 1);
      if (group < 1 || C % group != 0 || M % group != 0)
        opFail("group " + std::to_string(group) + " must divide the input channels (" +
               std::to_string(C) + ") and the output channels (" + std::to_string(M) + ")");
      if (K.dims[1] * group != C)
        opFail("weights " + shapeStr(K.dims) + " do not match input " + shapeStr(v.shape) +
               " with group " + std::to_string(group) + " (expected " +
               std::to_string(C / group) + " input channels per group)");
      const auto ks = attrInts(node, "kernel_shape");
      if (!ks.empty() && (ks.size() != 2 || ks[0] != K.dims[2] || ks[1] != K.dims[3]))
        opFail("kernel_shape " + intsStr(ks) + " does not match the weights " +
               shapeStr(K.dims));
      const Window2d g = windowGeometry(node, H, W, K.dims[2], K.dims[3], true);
      checkVarSize(M * g.OH * g.OW);
      Affine::checkMapSize(M * g.OH * g.OW, v.map->n_in);
      S = convMatrix(C, M, group, g, K.v);
      bias = Eigen::VectorXd::Zero(M * g.OH * g.OW);
      if (in.size() > 2 && in[2]) {
        const Const& B = needConst(in[2], "Conv bias");
        if (B.numel() != M)
          opFail("bias has shape " + shapeStr(B.dims) + ", expected [" + std::to_string(M) + "]");
        for (int64_t m = 0; m < M; ++m) bias.segment(m * g.OH * g.OW, g.OH * g.OW).setConstant(B.v[m]);
      }
      out = {1, M, g.OH, g.OW};
    } else {
      opFail("internal: not a spatial op");
    }
    checkVarSize(nn::numel(out));
    if (bias.size() == 0) bias = Eigen::VectorXd::Zero(S.rows());
    v.mut().linearSparse(S, bias);
    v.shape = out;
  }
  if (x_const) {
    Const c;
    c.dims = v.shape;
    c.v.assign(v.map->c.data(), v.map->c.data() + v.map->c.size());
    return c;
  }
  v.pending.push_back(nodeName(node));
  return v;
}

Value Loader::evalConstOp(const onnx::NodeProto& node, const std::vector<const Value*>& in) {
  const std::string& op = node.op_type();
  if (op == "Relu" || op == "LeakyRelu" || op == "Tanh" || op == "Sigmoid") {
    Const c = needConst(in.at(0), "input");
    const double alpha = attrFloat(node, "alpha", 0.01);
    for (auto& d : c.v) {
      if (op == "Relu") d = d > 0 ? d : 0.0;
      else if (op == "LeakyRelu") d = d > 0 ? d : alpha * d;
      else if (op == "Tanh") d = std::tanh(d);
      else d = 1.0 / (1.0 + std::exp(-d));
    }
    c.is_int = false;
    return c;
  }
  if (op == "Concat") {
    if (in.empty()) opFail("Concat has no inputs");
    const Const& first = needConst(in[0], "input");
    const int64_t r = static_cast<int64_t>(first.dims.size());
    if (r == 0) opFail("Concat of scalars");
    const int64_t axis = normAxis(attrInt(node, "axis", 0), r, "axis");
    Const out;
    out.dims = first.dims;
    out.dims[axis] = 0;
    out.is_int = true;
    for (const Value* p : in) {
      const Const& c = needConst(p, "input");
      if (static_cast<int64_t>(c.dims.size()) != r) opFail("Concat inputs differ in rank");
      for (int64_t i = 0; i < r; ++i)
        if (i != axis && c.dims[i] != first.dims[i])
          opFail("Concat shapes " + shapeStr(first.dims) + " and " + shapeStr(c.dims) +
                 " differ off the axis");
      out.dims[axis] += c.dims[axis];
      out.is_int = out.is_int && c.is_int;
    }
    checkedNumel(out.dims, "Concat output");
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= first.dims[i];
    for (int64_t o = 0; o < outer; ++o)
      for (const Value* p : in) {
        const Const& c = std::get<Const>(*p);
        const int64_t chunk = outer ? c.numel() / std::max<int64_t>(outer, 1) : 0;
        out.v.insert(out.v.end(), c.v.begin() + o * chunk, c.v.begin() + (o + 1) * chunk);
      }
    return out;
  }
  opFail("internal: no constant evaluation for " + op);
}

void Loader::processNode(const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    opFail("op domain '" + node.domain() + "' is not supported; supported ops (default domain): " +
           kSupportedOps);
  std::vector<const Value*> in;
  bool any_var = false;
  for (const auto& name : node.input()) {
    if (name.empty()) {
      in.push_back(nullptr);
      continue;
    }
    auto it = values_.find(name);
    if (it == values_.end()) opFail("input '" + name + "' is not defined");
    in.push_back(&it->second);
    any_var = any_var || std::holds_alternative<Var>(it->second);
  }
  static const std::set<std::string> kLayout = {"Identity", "Dropout", "Cast", "Flatten",
                                                "Reshape", "Squeeze", "Unsqueeze", "Transpose",
                                                "Gather", "Slice"};
  static const std::set<std::string> kSpatial = {"Conv", "AveragePool", "GlobalAveragePool",
                                                 "BatchNormalization"};
  auto needIn = [&](size_t k) {
    if (in.size() < k || std::any_of(in.begin(), in.begin() + k, [](auto* p) { return !p; }))
      opFail(op + " needs " + std::to_string(k) + " input(s)");
  };
  Value out;
  if (op == "Constant") {
    out = constantNode(node);
  } else if (op == "MaxPool" || op == "GlobalMaxPool") {
    needIn(1);
    if (!any_var) opFail(op + " of a constant tensor is not supported");
    out = maxPoolOp(node, asVar(in[0]));
  } else if (kSpatial.count(op)) {
    needIn(op == "Conv" ? 2 : op == "BatchNormalization" ? 5 : 1);
    out = spatialOp(node, in);
  } else if (op == "Shape") {
    needIn(1);
    const Shape& s = std::holds_alternative<Const>(*in[0]) ? std::get<Const>(*in[0]).dims
                                                           : std::get<Var>(*in[0]).shape;
    const int64_t r = static_cast<int64_t>(s.size());
    int64_t st = attrInt(node, "start", 0), en = attrInt(node, "end", r);
    if (st < 0) st += r;
    if (en < 0) en += r;
    st = std::clamp<int64_t>(st, 0, r);
    en = std::clamp<int64_t>(en, 0, r);
    Const c;
    c.is_int = true;
    for (int64_t i = st; i < en; ++i) c.v.push_back(static_cast<double>(s[i]));
    c.dims = {static_cast<int64_t>(c.v.size())};
    out = c;
  } else if (kLayout.count(op)) {
    needIn(1);
    out = layoutOp(node, in);
  } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Neg") {
    needIn(op == "Neg" ? 1 : 2);
    out = elementwise(node, in);
  } else if (op == "Gemm" || op == "MatMul") {
    needIn(2);
    Var v = op == "Gemm" ? gemmOp(node, in) : matmulOp(node, in);
    if (!any_var) {  // all-constant: the map has no inputs, its offset is the value
      Const c;
      c.dims = v.shape;
      c.v.assign(v.map->c.data(), v.map->c.data() + v.map->c.size());
      out = c;
    } else {
      out = v;
    }
  } else if (op == "Relu" || op == "LeakyRelu" || op == "Tanh" || op == "Sigmoid") {
    needIn(1);
    if (!any_var) {
      out = evalConstOp(node, in);
    } else {
      nn::Activation act;
      if (op == "Relu") act.kind = nn::ActKind::kRelu;
      else if (op == "LeakyRelu") {
        act.kind = nn::ActKind::kLeakyRelu;
        act.alpha = attrFloat(node, "alpha", 0.01);
        if (!std::isfinite(act.alpha)) opFail("alpha is not finite");
      } else if (op == "Tanh") act.kind = nn::ActKind::kTanh;
      else act.kind = nn::ActKind::kSigmoid;
      out = activation(node, asVar(in[0]), act);
    }
  } else if (op == "Concat") {
    if (any_var)
      opFail("Concat of a tensor that depends on the network input is not supported (only a "
             "single chain of layers is)");
    out = evalConstOp(node, in);
  } else {
    opFail("unsupported op '" + op + "'; supported ops: " + kSupportedOps);
  }
  if (node.output_size() < 1 || node.output(0).empty()) opFail("node has no output");
  values_[node.output(0)] = std::move(out);
}

nn::Network Loader::load(const std::string& bytes) {
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes))
    fail("not a valid ONNX model (protobuf parse failed)");
  if (!model.has_graph()) fail("not a valid ONNX model (no graph)");
  const auto& g = model.graph();
  if (g.node_size() == 0) fail("not a valid ONNX model (the graph has no nodes)");
  for (const auto& os : model.opset_import())
    if (os.domain().empty() || os.domain() == "ai.onnx") opset_ = static_cast<int>(os.version());

  // Initializers (parsed lazily) and the single real input.
  std::unordered_map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : g.initializer()) inits[t.name()] = &t;
  std::vector<const onnx::ValueInfoProto*> real_inputs;
  for (const auto& vi : g.input())
    if (!inits.count(vi.name())) real_inputs.push_back(&vi);
  if (real_inputs.size() != 1) {
    std::string names;
    for (auto* vi : real_inputs) names += (names.empty() ? "" : ", ") + vi->name();
    fail("the graph has " + std::to_string(real_inputs.size()) + " inputs" +
         (names.empty() ? "" : " (" + names + ")") +
         "; exactly one (non-initializer) input is supported");
  }
  if (g.output_size() != 1)
    fail("the graph has " + std::to_string(g.output_size()) +
         " outputs; exactly one output is supported");
  const onnx::ValueInfoProto& input = *real_inputs[0];
  const std::string& out_name = g.output(0).name();

  // Input shape.
  if (!input.type().has_tensor_type() || !input.type().tensor_type().has_shape())
    fail("input '" + input.name() + "' has no tensor shape");
  Shape full;
  const auto& dims = input.type().tensor_type().shape().dim();
  for (int i = 0; i < dims.size(); ++i) {
    const auto& d = dims[i];
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) fail("input '" + input.name() + "' has a negative dimension");
      full.push_back(d.dim_value());
    } else if (i == 0 && dims.size() >= 2) {
      full.push_back(1);  // symbolic batch
    } else {
      fail("input '" + input.name() + "' has a symbolic dimension at position " +
           std::to_string(i) + " (only the first, batch, dimension may be symbolic)");
    }
  }
  has_batch_ = full.size() >= 2 && full[0] == 1;
  int64_t in_numel = 0;
  try {
    in_numel = checkedNumel(full, "input '" + input.name() + "' shape");
    checkVarSize(in_numel);
  } catch (const OpError& e) {
    fail(e.msg);
  }
  if (in_numel == 0) fail("input '" + input.name() + "' shape " + shapeStr(full) + " has no values");
  {
    using TP = onnx::TensorProto;
    const int et = input.type().tensor_type().elem_type();
    if (et != TP::UNDEFINED && et != TP::FLOAT && et != TP::DOUBLE && et != TP::FLOAT16 &&
        et != TP::BFLOAT16)
      fail("input '" + input.name() + "' has element type " +
           TP::DataType_Name(static_cast<TP::DataType>(et)) +
           "; only floating-point inputs are supported");
    if (et != TP::UNDEFINED) input_dtype_ = et;
  }
  const Shape in_shape = logical(full);

  // Producers, pruning to the nodes the output depends on, topological sort.
  const int nn_ = g.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < nn_; ++i)
    for (const auto& o : g.node(i).output())
      if (!o.empty()) {
        if (!producer.emplace(o, i).second) fail("tensor '" + o + "' is produced twice");
        if (inits.count(o) || o == input.name())
          fail("tensor '" + o + "' is both produced by a node and a graph input/initializer");
      }
  std::vector<char> needed(nn_, 0);
  {
    std::vector<std::string> stack{out_name};
    std::unordered_set<std::string> seen;
    while (!stack.empty()) {
      std::string t = stack.back();
      stack.pop_back();
      if (!seen.insert(t).second) continue;
      auto it = producer.find(t);
      if (it == producer.end()) {
        if (t != input.name() && !inits.count(t)) {
          if (t == out_name) fail("graph output '" + t + "' is not produced by any node");
          std::string user;
          for (int i = 0; i < nn_ && user.empty(); ++i)
            for (const auto& x : g.node(i).input())
              if (x == t) user = nodeDesc(g.node(i));
          fail("tensor '" + t + "' used by " + user +
               " is not produced by any node, initializer or input (dangling input)");
        }
        continue;
      }
      if (needed[it->second]) continue;
      needed[it->second] = 1;
      for (const auto& x : g.node(it->second).input())
        if (!x.empty()) stack.push_back(x);
    }
  }
  std::vector<int> indeg(nn_, 0);
  std::vector<std::vector<int>> succ(nn_);
  for (int i = 0; i < nn_; ++i) {
    if (!needed[i]) continue;
    for (const auto& x : g.node(i).input()) {
      auto it = producer.find(x);
      if (!x.empty() && it != producer.end()) {
        ++indeg[i];
        succ[it->second].push_back(i);
      }
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < nn_; ++i)
    if (needed[i] && indeg[i] == 0) ready.push(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int j : succ[i])
      if (--indeg[j] == 0) ready.push(j);
  }
  const int n_needed = static_cast<int>(std::count(needed.begin(), needed.end(), 1));
  if (static_cast<int>(order.size()) != n_needed) {
    for (int i = 0; i < nn_; ++i)
      if (needed[i] && indeg[i] > 0) fail("the graph has a cycle through " + nodeDesc(g.node(i)));
  }

  // Remaining-use counts so dead tensors can be freed.
  std::unordered_map<std::string, int> uses;
  for (int i : order)
    for (const auto& x : g.node(i).input())
      if (!x.empty()) ++uses[x];
  ++uses[out_name];

  // Values: the input and the initializers that are used.
  Var x;
  x.shape = full;
  x.map = std::make_shared<Affine>(Affine::identity(nn::numel(full)));
  values_[input.name()] = x;
  for (const auto& [name, cnt] : uses) {
    auto it = inits.find(name);
    if (it == inits.end() || name == input.name()) continue;
    try {
      values_[name] = tensorToConst(*it->second);
    } catch (const OpError& e) {
      fail("initializer: " + e.msg);
    }
  }

  for (int i : order) {
    const auto& node = g.node(i);
    try {
      processNode(node);
    } catch (const OpError& e) {
      fail(nodeDesc(node) + ": " + e.msg);
    }
    for (const auto& xname : node.input())
      if (!xname.empty() && --uses[xname] == 0) values_.erase(xname);
  }

  auto it = values_.find(out_name);
  if (it == values_.end()) fail("graph output '" + out_name + "' was not computed");
  if (!std::holds_alternative<Var>(it->second))
    fail("graph output '" + out_name + "' does not depend on the input");
  Var out = std::get<Var>(it->second);
  if (out.epoch != epoch_)
    fail("the graph branches before output '" + out_name +
         "'; only a single chain of layers is supported");
  try {
    if (!out.map->isIdentity()) commit(out, "output");
  } catch (const OpError& e) {
    fail(e.msg);
  }
  nn::Network net(in_shape, std::move(layers_));
  net.validate(file_);
  if (const std::string w = net.magnitudeWarning(); !w.empty()) logWarn(file_ + ": " + w);
  return net;
}

}  // namespace

nn::Network loadOnnxFromBytes(const std::string& bytes, const std::string& name) {
  Loader loader(name);
  try {
    return loader.load(bytes);
  } catch (const Error& e) {
    // Messages quote names from the file: keep them on one line.
    throw Error(oneLine(e.what()));
  } catch (const std::bad_alloc&) {
    throw Error(name + ": out of memory while loading the model");
  }
}

nn::Network loadOnnx(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(path + ": read error");
  return loadOnnxFromBytes(ss.str(), path);
}

}  // namespace nnopt::io
