// Shape arithmetic and index layouts of the ONNX loader: element counts,
// broadcasting, and the source index of every output value of Transpose,
// Gather and Slice (applied to a constant, or as a gather of the pending map).
#include <algorithm>
#include <numeric>

#include "io/onnx_internal.h"

namespace nnopt::io::onnx_detail {
namespace {

std::vector<int64_t> stridesOf(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

}  // namespace

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

}  // namespace nnopt::io::onnx_detail
