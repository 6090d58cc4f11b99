#pragma once
// Internal to io/ (not installed): what the pieces of the ONNX loader share.
//
// The graph is walked in topological order (onnx.cpp). Every tensor name maps
// to either a CONSTANT (dims + values as double) or to the single VARIABLE
// chain value: its full ONNX shape (batch dim included, set to 1) plus a
// pending affine map from the output of the last committed IR layer (or the
// network input) to this tensor's flat row-major values. Linear ops compose
// into the pending map; an activation commits the map as one Dense layer and
// appends the Activation. Ops whose inputs are all constant are evaluated
// (shape-computing subgraphs). Conv, AveragePool, GlobalAveragePool (2-D,
// NCHW, batch 1) and inference BatchNormalization are linear too: a
// convolution of the base stays a kernel (nn::Conv2d; per-channel scalings
// before and after it fold into the kernel), a pooling - or a convolution
// composed with anything else - becomes its sparse Toeplitz matrix, composed
// into the pending map, so it ends up inside a Dense layer (out_shape keeps
// the logical C x H x W). MaxPool / GlobalMaxPool (2-D) commit the pending map and append
// an nn::MaxPool layer (one window of input indices per output, padding
// excluded). Every folded Dense matrix is limited to kMaxMapEntries entries.
//
// The pieces:
//   onnx.cpp             the graph walk: parse, input, pruning, topological order, commit
//   onnx_proto.cpp       TensorProto / attribute / Constant-node decoding
//   onnx_affine.cpp      Affine, the pending map (gather form or dense)
//   onnx_layout.cpp      shape arithmetic and index layouts (broadcast, Transpose, Gather, Slice)
//   onnx_ops.cpp         per-node dispatch; layout, elementwise, activation and constant ops
//   onnx_ops_linear.cpp  MatMul, Gemm
//   onnx_ops_spatial.cpp 2-D windows: Conv, AveragePool, GlobalAveragePool,
//                        BatchNormalization, MaxPool, GlobalMaxPool
//   onnx_branches.cpp    graphs that branch and rejoin (residual Add/Sub): the
//                        tensors a later node still reads are carried through
//                        each commit as extra rows (liveLifts, commitThrough)
#include <onnx/onnx_pb.h>

#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <cctype>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/error.h"
#include "nn/conv2d.h"
#include "nn/network.h"

namespace nnopt::io::onnx_detail {

using nn::Shape;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using SpMat = Eigen::SparseMatrix<double>;

constexpr int64_t kMaxElements = int64_t{1} << 31;
// Largest pending map we are willing to materialise: a dense one of rows x
// cols doubles (fully connected layers, and anything composed with them), or
// a sparse one of this many non-zeros (a convolution's Toeplitz matrix, which
// stays sparse in the IR: nn/linear.h): 50M entries = 400 MB dense.
constexpr int64_t kMaxMapEntries = 50'000'000;
// Largest tensor that depends on the network input (one IR neuron per value).
// Its pending map costs ~24 bytes per value even when the file holds no data
// for it (a declared input shape), so the limit also bounds what a tiny file
// can make the loader allocate: 2^22 values (3 x 1024 x 1024 fits) = 100 MB.
constexpr int64_t kMaxVarElements = int64_t{1} << 22;

// Error raised inside op handling; wrapped with file/node context by the caller.
struct OpError {
  std::string msg;
};
[[noreturn]] inline void opFail(const std::string& msg) { throw OpError{msg}; }

inline void checkVarSize(int64_t n) {
  if (n > kMaxVarElements)
    opFail("a tensor depending on the network input has " + std::to_string(n) +
           " values (limit " + std::to_string(kMaxVarElements) + ")");
}

inline std::string shapeStr(const Shape& s) { return nn::shapeToString(s); }
inline std::string intsStr(const std::vector<int64_t>& v) {
  return shapeStr(Shape(v.begin(), v.end()));
}

// ---------------------------------------------------------------- constants

struct Const {
  Shape dims;
  std::vector<double> v;
  bool is_int = false;
  int dtype = onnx::TensorProto::UNDEFINED;  // element type when known (tensors, Cast)
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
};

// ---------------------------------------------------------------- affine maps (onnx_affine.cpp)

// y = M x + c over flat values. Four representations: a "gather" form
// y_i = s_i * x[idx_i] + c_i (identity, permutations, elementwise scaling,
// broadcasting) that never materialises a matrix; a conv form K (a
// convolution of the base, with per-channel scalings folded into its
// kernel: nn/conv2d.h); a sparse form S (pooling, convolutions composed with
// anything else); and a dense form M (anything composed with a dense
// matrix: Gemm, MatMul). Operations a form cannot absorb turn conv into
// sparse and gather/sparse into dense as needed.
struct Affine {
  int64_t n_in = 0;
  bool dense = false;
  bool sparse = false;  // S holds the map (dense is then false)
  bool conv = false;    // K holds the map (dense and sparse are then false)
  std::vector<int64_t> idx;
  Eigen::VectorXd s;
  Eigen::MatrixXd M;
  SpMat S;
  nn::Conv2d K;
  Eigen::VectorXd c;

  int64_t size() const { return c.size(); }
  bool isGather() const { return !dense && !sparse && !conv; }

  static Affine identity(int64_t n);
  // A constant viewed as an affine map with no inputs.
  static Affine constant(const std::vector<double>& v);

  bool isIdentity() const;

  static void checkMapSize(int64_t rows, int64_t cols);

  Eigen::MatrixXd matrix() const;
  // The map as a sparse matrix (gather, conv and sparse forms; dense: its non-zeros).
  SpMat sparseMatrix() const;

  void toDense();

  // y'_j = scale_j * y[src_j] + offset_j (scale/offset may be null = 1/0).
  void gather(const std::vector<int64_t>& src, const std::vector<double>* scale = nullptr,
              const std::vector<double>* offset = nullptr);

  // y' = W y (+ b). W is (out x size()).
  void linear(const Eigen::MatrixXd& W, const Eigen::VectorXd* b = nullptr);

  // y' = W y + b with a sparse W (out x size()), e.g. a pooling's
  // Toeplitz matrix: never materialises W densely.
  void linearSparse(const SpMat& W, const Eigen::VectorXd& b);

  // y' = k y + b for a convolution k (no bias): the conv form when y is the
  // base itself up to a per-channel scaling (folded into the kernel), else
  // k's sparse Toeplitz matrix composed into the map.
  void convolve(nn::Conv2d k, const Eigen::VectorXd& b);

  // y viewed as R blocks of a (K x N) row-major matrix X_r; y' blocks are
  // X_r * B with B (N x P) -> y' has R*P values.
  void rightMatmul(int64_t R, const Eigen::MatrixXd& B);

  // y viewed as R blocks of a (K x N) row-major matrix X_r; y' blocks are
  // A * X_r with A (P x K) -> y' has R*P*N values.
  void leftMatmul(int64_t R, int64_t N, const Eigen::MatrixXd& A);

  // y' = y + sign * (o's y): two maps of the same size over the same base
  // (a residual Add/Sub).
  void add(const Affine& o, double sign);

  // The rows of several maps over the same base stacked in order, each
  // multiplied by its sign (+1 or -1).
  static Affine stack(const std::vector<std::pair<const Affine*, double>>& parts);

  // The map becomes nM (dense form) / nS (sparse form: zeros pruned, size
  // checked) / nK (conv form); the other forms' data is dropped. c is left
  // to the caller.
  void setDense(Eigen::MatrixXd nM);
  void setSparse(SpMat nS);
  void setConv(nn::Conv2d nK);

 private:
  // The conv form becomes the sparse form (before an op it cannot absorb).
  void convToSparse();
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

// ---------------------------------------------------------------- shapes and layouts (onnx_layout.cpp)

// Number of elements, refusing negative dims and anything above kMaxElements.
int64_t checkedNumel(const Shape& s, const std::string& what);
int64_t normAxis(int64_t axis, int64_t rank, const std::string& what);
Shape broadcastShapes(const Shape& a, const Shape& b);
// For each flat index of `out`, the flat index of the broadcast source `in`.
std::vector<int64_t> broadcastIndex(const Shape& out, const Shape& in);

// Result of a layout op: new shape and (if values move) source indices.
struct Layout {
  Shape shape;
  bool moves = false;
  std::vector<int64_t> src;
};

Layout transposeLayout(const Shape& in, std::vector<int64_t> perm);
Layout gatherLayout(const Shape& in, int64_t axis, const Const& indices);
Layout sliceLayout(const Shape& in, const std::vector<int64_t>& starts,
                   const std::vector<int64_t>& ends, std::vector<int64_t> axes,
                   std::vector<int64_t> steps);
std::vector<int64_t> toInts(const Const& c);

// ---------------------------------------------------------------- protobuf decoding (onnx_proto.cpp)

Const tensorToConst(const onnx::TensorProto& t);
// The value of a Constant node.
Const constantNode(const onnx::NodeProto& node);

const onnx::AttributeProto* findAttr(const onnx::NodeProto& n, const std::string& name);
int64_t attrInt(const onnx::NodeProto& n, const std::string& name, int64_t def);
double attrFloat(const onnx::NodeProto& n, const std::string& name, double def);
std::vector<int64_t> attrInts(const onnx::NodeProto& n, const std::string& name);
std::string attrString(const onnx::NodeProto& n, const std::string& name, const std::string& def);

// ---------------------------------------------------------------- loader (onnx.cpp, onnx_ops*.cpp)

// A committed map's weights: a kernel (large convolutions), sparse when at
// most a quarter is non-zero, else dense (onnx.cpp).
nn::Linear layerWeights(const Affine& a, int64_t kernel_min_taps);

class Loader {
 public:
  Loader(std::string file, int64_t kernel_min_taps)
      : file_(std::move(file)), kernel_min_taps_(kernel_min_taps) {}
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
  // Tensors of the current epoch that nodes after `node` still read (skip
  // connections): a commit carries them through its layers (onnx_branches.cpp).
  struct Lift {
    std::vector<std::string> names;  // every name holding this map
    Var var;
    bool nonneg = false;  // known >= 0 (a gather of ReLU outputs)
    int64_t offset = 0;   // first row in the committed layer
    bool split = false;   // carried as relu(v), relu(-v)
  };
  std::vector<Lift> liveLifts(const onnx::NodeProto& node) const;
  // Concat with an input-dependent tensor among its inputs (branches joined
  // along an axis; constants become constant rows).
  Var concatVars(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  // Commits x's map stacked with the lifts' maps as one Dense layer (x's rows
  // first), then the nonlinearity: `act` over every row (lifts encoded so the
  // activation passes them through exactly) or, with `pool`, the max pool's
  // windows over x's rows and a one-index window per lifted row. x and every
  // lifted name then read rows of the new base. Without lifts: commit().
  void commitThrough(Var& x, const onnx::NodeProto& node, const nn::Activation* act,
                     nn::MaxPool* pool, const Shape& out_shape);
  Value evalConstOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Value layoutOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Value elementwise(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Var matmulOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Var gemmOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Value spatialOp(const onnx::NodeProto& node, const std::vector<const Value*>& in);
  Var activation(const onnx::NodeProto& node, const Var& x, nn::Activation act);
  Var maxPoolOp(const onnx::NodeProto& node, const Var& x);
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
  int64_t kernel_min_taps_;  // LoadOptions::kernel_form_min_taps
  std::unordered_map<std::string, int> uses_;  // remaining reads of each tensor
  bool base_nonneg_ = false;  // every value of the current base is >= 0 (after a ReLU)
  int opset_ = 13;
  int input_dtype_ = onnx::TensorProto::FLOAT;
  bool has_batch_ = false;
  int epoch_ = 0;
  std::vector<nn::Layer> layers_;
  std::unordered_map<std::string, Value> values_;
};

}  // namespace nnopt::io::onnx_detail
