// Per-node dispatch of the ONNX loader (processNode) and the ops that are not
// matrix products or 2-D windows: layout ops (Identity, Dropout, Cast, Flatten,
// Reshape, Squeeze, Unsqueeze, Transpose, Gather, Slice), Add/Sub/Mul/Div/Neg,
// activations (committing the pending map), Shape, and the constant folding of
// activations and Concat (a Concat of input-dependent tensors: onnx_branches.cpp).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "io/onnx_internal.h"

namespace nnopt::io::onnx_detail {
namespace {

const char* kSupportedOps =
    "Gemm, MatMul, Conv (2-D), AveragePool (2-D), GlobalAveragePool, BatchNormalization "
    "(inference), MaxPool (2-D), GlobalMaxPool, Add, Sub, Mul, Div, Neg, Relu, LeakyRelu, Tanh, Sigmoid, Flatten, Reshape, "
    "Squeeze, Unsqueeze, Transpose, Identity, Dropout, Constant, Shape, Gather, Concat, Cast, "
    "Slice";

}  // namespace

Var Loader::activation(const onnx::NodeProto& node, const Var& xin, nn::Activation act) {
  Var x = xin;
  commitThrough(x, node, &act, nullptr, x.shape);
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
  if (v0 && v1) {  // a branch rejoins (residual connection): both are maps over the base
    if (op != "Add" && op != "Sub")
      opFail(op + " of two tensors that depend on the network input is not linear");
    Var a = asVar(in[0]);
    Var b = asVar(in[1]);
    // Broadcasting (e.g. x + its channel means): each side gathered to the
    // common shape first.
    const Shape out = broadcastShapes(a.shape, b.shape);
    for (Var* p : {&a, &b})
      if (p->shape != out) {
        p->mut().gather(broadcastIndex(out, p->shape));
        p->shape = out;
      }
    a.mut().add(*b.map, op == "Add" ? 1.0 : -1.0);
    for (const auto& p : b.pending)
      if (std::find(a.pending.begin(), a.pending.end(), p) == a.pending.end())
        a.pending.push_back(p);
    a.pending.push_back(nodeName(node));
    return a;
  }
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
    out = any_var ? Value(concatVars(node, in)) : evalConstOp(node, in);
  } else {
    opFail("unsupported op '" + op + "'; supported ops: " + kSupportedOps);
  }
  if (node.output_size() < 1 || node.output(0).empty()) opFail("node has no output");
  values_[node.output(0)] = std::move(out);
}

}  // namespace nnopt::io::onnx_detail
