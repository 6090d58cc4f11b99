// Matrix products of the ONNX loader: MatMul and Gemm with one constant
// operand, composed into the pending map (or evaluated when both are constant).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/onnx_internal.h"

namespace nnopt::io::onnx_detail {

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
  // Both operands as matrices: a vector is a row on the left ([K] -> [1, K]),
  // a column on the right ([K] -> [K, 1]); the constant's leading dims of 1 go.
  Shape ks = k.dims;
  bool vec_k = false;
  if (ks.size() == 1) {
    ks = var_left ? Shape{ks[0], 1} : Shape{1, ks[0]};
    vec_k = true;
  }
  while (ks.size() > 2 && ks[0] == 1) ks.erase(ks.begin());
  if (ks.size() != 2)
    opFail("batched constant operand " + shapeStr(k.dims) + " is not supported");
  Shape vs = v.shape;
  bool vec_v = false;
  if (vs.empty()) opFail("MatMul on a scalar");
  if (vs.size() == 1) {
    vs = var_left ? Shape{1, vs[0]} : Shape{vs[0], 1};
    vec_v = true;
  }
  if (var_left) {
    // v [..., M, K] (or [K]) x k [K, N] (or [K]; or leading dims of 1)
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

}  // namespace nnopt::io::onnx_detail
