// 2-D window ops of the ONNX loader (N x C x H x W, batch 1): window geometry
// (strides, dilations, pads, auto_pad), Conv as an nn::Conv2d kernel,
// AveragePool / GlobalAveragePool as sparse Toeplitz matrices and
// BatchNormalization as a per-channel scaling, composed into the pending map; MaxPool / GlobalMaxPool as nn::MaxPool layers.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "io/onnx_internal.h"

namespace nnopt::io::onnx_detail {
namespace {

// Geometry of a 2-D window op (Conv, AveragePool) over one C x H x W image.
struct Window2d {
  int64_t H = 0, W = 0;             // input
  int64_t kh = 1, kw = 1;           // kernel
  int64_t sh = 1, sw = 1;           // strides
  int64_t dh = 1, dw = 1;           // dilations
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // pads: top, left, bottom, right
  int64_t OH = 0, OW = 0;           // output
};


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

// The window of a MaxPool / AveragePool node: kernel_shape (2-D), floor mode.
Window2d poolWindow(const onnx::NodeProto& node, int64_t H, int64_t W) {
  const auto ks = attrInts(node, "kernel_shape");
  if (ks.size() != 2)
    opFail("kernel_shape " + intsStr(ks) + " must have 2 entries (only 2-D " + node.op_type() +
           " is supported)");
  if (attrInt(node, "ceil_mode", 0) != 0)
    opFail("ceil_mode=1 is not supported (only floor rounding of the output size)");
  return windowGeometry(node, H, W, ks[0], ks[1], true);
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

void checkNnz(int64_t nnz) {
  if (nnz > kMaxMapEntries)
    opFail("the layer's sparse matrix would have " + std::to_string(nnz) +
           " entries, more than the limit of " + std::to_string(kMaxMapEntries));
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

}  // namespace

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
    g = poolWindow(node, H, W);
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
  commitThrough(x, node, nullptr, &mp, {1, C, g.OH, g.OW});
  return x;
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
    SpMat S;                         // pooling: its Toeplitz matrix
    std::optional<nn::Conv2d> conv;  // Conv: its kernel
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
      const Window2d g = poolWindow(node, H, W);
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
      nn::Conv2d k{.C = C, .H = H, .W = W, .M = M, .OH = g.OH, .OW = g.OW, .kh = g.kh,
                   .kw = g.kw, .sh = g.sh, .sw = g.sw, .dh = g.dh, .dw = g.dw, .pt = g.pt,
                   .pl = g.pl, .groups = group, .K = K.v};
      conv = std::move(k);
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
    if (conv) {
      v.mut().convolve(std::move(*conv), bias);
    } else {
      if (bias.size() == 0) bias = Eigen::VectorXd::Zero(S.rows());
      v.mut().linearSparse(S, bias);
    }
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

}  // namespace nnopt::io::onnx_detail
