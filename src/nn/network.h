#pragma once
// The network IR: an immutable chain of layers over flat (row-major) tensors.
// Every linear op of the source graph (Gemm, MatMul, Conv, AveragePool,
// Add/Sub/Mul/Div by a constant, normalisation, layout-only Transpose,
// Flatten/Reshape) is folded into Dense layers at load time, whose weight is
// an nn::Linear: a dense matrix for fully connected layers, the kernel for
// convolutions, the sparse (Toeplitz) non-zeros for pooling and composed
// maps (nn/linear.h);
// nonlinearities are elementwise Activation layers. Max pooling is its own
// layer kind (MaxPool).
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "nn/linear.h"

namespace nnopt::nn {

using Shape = std::vector<int64_t>;  // without the batch dimension
int64_t numel(const Shape& s);
std::string shapeToString(const Shape& s);

// y = W x + b. W is (out x in), dense, conv or sparse (nn/linear.h).
struct Dense {
  Linear W;
  Eigen::VectorXd b;
};

enum class ActKind { kRelu, kLeakyRelu, kTanh, kSigmoid };
const char* actName(ActKind k);

// Elementwise activation; alpha is the LeakyRelu negative slope.
struct Activation {
  ActKind kind = ActKind::kRelu;
  double alpha = 0.01;
  double apply(double t) const;
  double derivative(double t) const;
};

// y_j = max over window j of the input (ONNX MaxPool: padding cells are not
// in the window). windows[j] lists flat input indices; every window is nonempty.
struct MaxPool {
  std::vector<std::vector<int64_t>> windows;
  // Index of the largest input of window j (the first one on ties).
  int64_t argmax(const Eigen::VectorXd& x, size_t j) const;
};

struct Layer {
  std::string name;  // source node name(s), for messages
  std::variant<Dense, Activation, MaxPool> op;
  Shape out_shape;   // logical output shape (without batch)

  bool isDense() const { return std::holds_alternative<Dense>(op); }
  bool isActivation() const { return std::holds_alternative<Activation>(op); }
  bool isMaxPool() const { return std::holds_alternative<MaxPool>(op); }
  const Dense& dense() const { return std::get<Dense>(op); }
  const Activation& activation() const { return std::get<Activation>(op); }
  const MaxPool& maxPool() const { return std::get<MaxPool>(op); }
  int64_t outSize() const { return numel(out_shape); }
};

class Network {
 public:
  Network() = default;
  Network(Shape input_shape, std::vector<Layer> layers);

  const Shape& inputShape() const { return input_shape_; }
  int64_t inputSize() const { return numel(input_shape_); }
  int64_t outputSize() const;
  const std::vector<Layer>& layers() const { return layers_; }
  size_t numLayers() const { return layers_.size(); }
  // Size of the input of layer i (output of i-1, or the network input).
  int64_t layerInSize(size_t i) const;

  // True when every activation is ReLU or LeakyReLU (MIP-encodable; MaxPool is too).
  bool isPiecewiseLinear() const;
  bool hasMaxPool() const;
  // Every Dense layer a dense matrix (no convolution folded into a sparse one).
  bool isFullyConnected() const;
  int64_t numReluNeurons() const;

  // Forward pass in double. Throws Error on a size mismatch.
  Eigen::VectorXd forward(const Eigen::VectorXd& x) const;
  // Output of every layer (index i = output of layer i).
  std::vector<Eigen::VectorXd> forwardAll(const Eigen::VectorXd& x) const;

  // A network computing f((x - mean) / std) elementwise on the input: the
  // normalisation is folded into the first Dense layer (or prepended).
  Network withInputNormalization(double mean, double std) const;
  Network withInputNormalization(const Eigen::VectorXd& mean, const Eigen::VectorXd& std) const;

  // Checks internal consistency and finiteness of all weights; throws Error
  // naming the layer otherwise. Weights or biases of magnitude >= 1e20 are an
  // error too: the LP/MIP solvers treat 1e20 and beyond as infinite, so no
  // bound or model built on them could be trusted.
  void validate(const std::string& source = "network") const;
  // A one-line warning when a weight or bias exceeds 1e8 in magnitude (the
  // first such layer and its largest value), else empty: big-M constants,
  // LP tolerances and local solvers degrade far below the 1e20 error limit
  // (a byte-mutated ONNX with weights of 1e14 made Ipopt spin for a minute).
  std::string magnitudeWarning() const;

  std::string summary() const;  // e.g. "784 -> Dense 20 -> Relu -> Dense 10"

 private:
  Shape input_shape_;
  std::vector<Layer> layers_;
};

}  // namespace nnopt::nn
