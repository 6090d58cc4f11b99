// Unit tests of the ONNX loader: models are built in memory as ModelProto,
// serialised, loaded and compared against hand/Eigen-computed forward passes.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

#include "core/error.h"
#include "io/onnx.h"
#include "nn/network.h"
#include "onnx_builder.h"

using namespace nnopt;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

using test::attrF;
using test::attrI;
using test::attrInts;
using test::attrS;
using test::vals;

const char* kName = "model_under_test.onnx";

struct Builder : test::OnnxBuilder {
  explicit Builder(int opset = 13) : OnnxBuilder(opset, kName) {}
};


Eigen::VectorXd vec(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}
RowMat mat(const std::vector<double>& v, int64_t r, int64_t c) {
  return Eigen::Map<const RowMat>(v.data(), r, c);
}

void expectNear(const Eigen::VectorXd& a, const Eigen::VectorXd& b, double tol = 1e-9) {
  ASSERT_EQ(a.size(), b.size());
  for (Eigen::Index i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "index " << i;
}

void expectLoadError(const std::string& bytes, const std::vector<std::string>& fragments) {
  test::expectLoadError(bytes, kName, fragments);
}

}  // namespace

// ---------------------------------------------------------------- Gemm

TEST(Onnx, GemmAllTransposeCombinations) {
  const int K = 3, N = 4;
  const double alpha = 0.5, beta = 2.0;
  for (int tA = 0; tA <= 1; ++tA)
    for (int tB = 0; tB <= 1; ++tB) {
      SCOPED_TRACE("transA=" + std::to_string(tA) + " transB=" + std::to_string(tB));
      Builder b;
      // A is [1,K] (or [K,1] when transposed)
      b.input("x", tA ? std::vector<int64_t>{K, 1} : std::vector<int64_t>{1, K});
      auto w = vals(K * N, 1);
      b.init("B", tB ? std::vector<int64_t>{N, K} : std::vector<int64_t>{K, N}, w);
      auto c = vals(N, 2);
      b.init("C", {1, N}, c);
      auto* g = b.node("Gemm", {"x", "B", "C"}, {"y"}, "fc");
      attrI(g, "transA", tA);
      attrI(g, "transB", tB);
      attrF(g, "alpha", static_cast<float>(alpha));
      attrF(g, "beta", static_cast<float>(beta));
      b.output("y");
      auto net = b.load();
      ASSERT_EQ(net.numLayers(), 1u);
      EXPECT_EQ(net.layers()[0].name, "fc");
      EXPECT_EQ(net.outputSize(), N);
      Eigen::MatrixXd Bp = tB ? Eigen::MatrixXd(mat(w, N, K).transpose()) : Eigen::MatrixXd(mat(w, K, N));
      Eigen::VectorXd x = vec(vals(K, 3));
      Eigen::VectorXd ref = alpha * Bp.transpose() * x + beta * vec(c);
      expectNear(net.forward(x), ref);
    }
}

TEST(Onnx, GemmVariableAsBAndNoC) {
  Builder b;
  b.input("x", {3, 1});  // first dim 3: not a batch
  auto a = vals(2 * 3, 4);
  b.init("A", {2, 3}, a);
  b.node("Gemm", {"A", "x"}, {"y"});
  b.output("y");
  auto net = b.load();
  EXPECT_EQ(net.inputShape(), (nn::Shape{3, 1}));
  Eigen::VectorXd x = vec(vals(3, 5));
  expectNear(net.forward(x), mat(a, 2, 3) * x);
}

TEST(Onnx, GemmShapeMismatch) {
  Builder b;
  b.input("x", {1, 3});
  b.init("B", {4, 2}, vals(8, 1));
  b.node("Gemm", {"x", "B"}, {"y"}, "badgemm");
  b.output("y");
  expectLoadError(b.bytes(), {"badgemm", "Gemm", "shape mismatch"});
}

// ---------------------------------------------------------------- MatMul

TEST(Onnx, MatMulAddReluChain) {
  Builder b;
  b.input("x", {1, 5});
  auto w1 = vals(5 * 3, 6), b1 = vals(3, 7), w2 = vals(3 * 2, 8), b2 = vals(2, 9);
  b.init("W1", {5, 3}, w1);
  b.init("b1", {3}, b1);
  b.init("W2", {3, 2}, w2, /*raw=*/false);
  b.init("b2", {2}, b2);
  b.node("MatMul", {"x", "W1"}, {"h"}, "mm1");
  b.node("Add", {"h", "b1"}, {"h2"}, "add1");
  b.node("Relu", {"h2"}, {"r"}, "relu1");
  b.node("MatMul", {"r", "W2"}, {"o"}, "mm2");
  b.node("Add", {"b2", "o"}, {"y"}, "add2");  // constant first
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 3u);
  EXPECT_EQ(net.layers()[0].name, "mm1+add1");
  EXPECT_TRUE(net.layers()[1].isActivation());
  EXPECT_EQ(net.layers()[2].out_shape, (nn::Shape{2}));
  for (int s = 0; s < 3; ++s) {
    Eigen::VectorXd x = vec(vals(5, 100 + s));
    Eigen::VectorXd h = (mat(w1, 5, 3).transpose() * x + vec(b1)).cwiseMax(0.0);
    expectNear(net.forward(x), mat(w2, 3, 2).transpose() * h + vec(b2));
  }
}

TEST(Onnx, MatMulBatchedLeadingDims) {
  // [1,4,1] x [1,3] -> [1,4,3] -> Flatten -> [1,12]
  Builder b;
  b.input("x", {1, 4, 1});
  auto w = vals(3, 10);
  b.init("W", {1, 3}, w);
  b.node("MatMul", {"x", "W"}, {"h"});
  b.node("Flatten", {"h"}, {"y"});
  b.output("y");
  auto net = b.load();
  EXPECT_EQ(net.inputShape(), (nn::Shape{4, 1}));
  Eigen::VectorXd x = vec(vals(4, 11));
  Eigen::VectorXd ref(12);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) ref[i * 3 + j] = x[i] * w[j];
  expectNear(net.forward(x), ref);
  EXPECT_EQ(net.layers().back().out_shape, (nn::Shape{12}));
}

TEST(Onnx, MatMulConstantTimesVariableRank1Input) {
  Builder b;
  b.input("x", {3});  // rank 1: no batch dim
  auto a = vals(2 * 3, 12);
  b.init("A", {2, 3}, a);
  b.node("MatMul", {"A", "x"}, {"y"});
  b.output("y");
  auto net = b.load();
  EXPECT_EQ(net.inputShape(), (nn::Shape{3}));
  Eigen::VectorXd x = vec(vals(3, 13));
  expectNear(net.forward(x), mat(a, 2, 3) * x);
}

// ---------------------------------------------------------------- elementwise

TEST(Onnx, SubDivNormalisationFoldsIntoGemm) {
  Builder b;
  b.input("x", {-1, 4});  // symbolic batch
  auto mean = std::vector<double>{0.5, -0.25, 1.0, 0.0};
  auto sd = std::vector<double>{2.0, 0.5, 4.0, 1.0};
  auto w = vals(4 * 2, 14);
  b.init("mean", {1, 4}, mean);
  b.init("std", {4}, sd);
  b.init("W", {2, 4}, w);
  b.node("Sub", {"x", "mean"}, {"a"});
  b.node("Div", {"a", "std"}, {"n"});
  auto* g = b.node("Gemm", {"n", "W"}, {"y"});
  attrI(g, "transB", 1);
  b.output("y");
  auto net = b.load();
  EXPECT_EQ(net.numLayers(), 1u);
  EXPECT_EQ(net.inputShape(), (nn::Shape{4}));
  Eigen::VectorXd x = vec(vals(4, 15));
  Eigen::VectorXd nx = (x - vec(mean)).cwiseQuotient(vec(sd));
  expectNear(net.forward(x), mat(w, 2, 4) * nx);
}

TEST(Onnx, ConstantMinusVariableAndMulBroadcast) {
  Builder b;
  b.input("x", {1, 2, 3});
  b.init("c", {3}, {1.0, 2.0, 3.0});
  b.init("s", {2, 1}, {2.0, -0.5});
  b.node("Sub", {"c", "x"}, {"a"});   // c - x
  b.node("Mul", {"a", "s"}, {"m"});   // scale per row
  b.node("Neg", {"m"}, {"y"});
  b.output("y");
  auto net = b.load();
  EXPECT_EQ(net.numLayers(), 1u);
  Eigen::VectorXd x = vec(vals(6, 16));
  Eigen::VectorXd ref(6);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) ref[i * 3 + j] = -((j + 1.0) - x[i * 3 + j]) * (i == 0 ? 2.0 : -0.5);
  expectNear(net.forward(x), ref);
}

TEST(Onnx, DivideConstantByVariableIsError) {
  Builder b;
  b.input("x", {1, 2});
  b.init("c", {2}, {1.0, 2.0});
  b.node("Div", {"c", "x"}, {"y"}, "recip");
  b.output("y");
  expectLoadError(b.bytes(), {"recip", "Div", "not linear"});
}

TEST(Onnx, AddOfTwoInputDependentTensorsIsTheirSum) {
  // A residual connection (more in test_branches.cpp): y = x W + x.
  Builder b;
  b.input("x", {1, 2});
  const auto w = vals(4, 17);
  b.init("W", {2, 2}, w);
  b.node("MatMul", {"x", "W"}, {"h"});
  b.node("Add", {"h", "x"}, {"y"}, "residual");
  b.output("y");
  const auto net = b.load();
  const Eigen::VectorXd x = vec(vals(2, 18));
  expectNear(net.forward(x), mat(w, 2, 2).transpose() * x + x);
}

// ---------------------------------------------------------------- layout ops

TEST(Onnx, FlattenThenGemm) {
  Builder b;
  b.input("x", {1, 2, 3});
  auto w = vals(6 * 2, 18);
  b.init("W", {6, 2}, w);
  b.node("Flatten", {"x"}, {"f"});
  b.node("Gemm", {"f", "W"}, {"y"});
  b.output("y");
  auto net = b.load();
  EXPECT_EQ(net.inputShape(), (nn::Shape{2, 3}));
  Eigen::VectorXd x = vec(vals(6, 19));
  expectNear(net.forward(x), mat(w, 6, 2).transpose() * x);
}

// torch.reshape(x, (x.shape[0], -1)) as exported by torch.onnx.
void buildDynamicFlatten(Builder& b, bool axes_as_input, const std::vector<double>& w) {
  b.input("x", {-1, 2, 3});
  b.node("Shape", {"x"}, {"s"});
  b.initI64("zero", {}, {0});
  auto* ga = b.node("Gather", {"s", "zero"}, {"n"});
  attrI(ga, "axis", 0);
  if (axes_as_input) {
    b.initI64("axes0", {1}, {0});
    b.node("Unsqueeze", {"n", "axes0"}, {"nu"});
  } else {
    attrInts(b.node("Unsqueeze", {"n"}, {"nu"}), "axes", {0});
  }
  auto* c = b.node("Constant", {}, {"minus1"});
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  a->mutable_t()->add_dims(1);
  a->mutable_t()->add_int64_data(-1);
  attrI(b.node("Concat", {"nu", "minus1"}, {"shape"}), "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"f"});
  b.init("W", {6, 2}, w);
  b.node("MatMul", {"f", "W"}, {"y"});
  b.output("y");
}

TEST(Onnx, DynamicFlattenPatternIsConstantFolded) {
  auto w = vals(12, 20);
  for (bool axes_as_input : {true, false}) {
    Builder b(axes_as_input ? 13 : 11);
    buildDynamicFlatten(b, axes_as_input, w);
    auto net = b.load();
    ASSERT_EQ(net.numLayers(), 1u);
    EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{2}));
    Eigen::VectorXd x = vec(vals(6, 21));
    expectNear(net.forward(x), mat(w, 6, 2).transpose() * x);
  }
}

TEST(Onnx, ReshapeZeroCopiesDimAndConstantArithmeticFolds) {
  Builder b;
  b.input("x", {1, 2, 3});
  b.initI64("shp", {2}, {0, -1});
  b.node("Reshape", {"x", "shp"}, {"f"});
  // W = Wbase * 2 + 1 computed by constant folding
  auto wb = vals(12, 22);
  b.init("Wb", {6, 2}, wb);
  b.init("two", {}, {2.0});
  b.init("one", {1}, {1.0});
  b.node("Mul", {"Wb", "two"}, {"W2"});
  b.node("Add", {"W2", "one"}, {"W"});
  b.node("MatMul", {"f", "W"}, {"y"});
  b.output("y");
  auto net = b.load();
  Eigen::VectorXd x = vec(vals(6, 23));
  RowMat W = (mat(wb, 6, 2) * 2.0).array() + 1.0;
  expectNear(net.forward(x), W.transpose() * x);
}

TEST(Onnx, TransposeIsFoldedIntoMap) {
  Builder b;
  b.input("x", {1, 2, 3});
  attrInts(b.node("Transpose", {"x"}, {"t"}), "perm", {0, 2, 1});  // [1,3,2]
  b.node("Flatten", {"t"}, {"f"});
  auto w = vals(6 * 2, 24);
  b.init("W", {6, 2}, w);
  b.node("MatMul", {"f", "W"}, {"y"});
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 1u);
  Eigen::VectorXd x = vec(vals(6, 25));
  Eigen::VectorXd xt(6);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) xt[i * 2 + j] = x[j * 3 + i];
  expectNear(net.forward(x), mat(w, 6, 2).transpose() * xt);
}

TEST(Onnx, LayoutOnlyTransposeAddsNoDenseLayer) {
  Builder b;
  b.input("x", {1, 1, 4});
  attrInts(b.node("Transpose", {"x"}, {"t"}), "perm", {1, 0, 2});
  b.node("Squeeze", {"t"}, {"s"});  // all size-1 dims -> [4]
  b.node("Relu", {"s"}, {"y"});
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 1u);
  EXPECT_TRUE(net.layers()[0].isActivation());
  EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{4}));
}

TEST(Onnx, SliceAndGatherOnVariable) {
  Builder b;
  b.input("x", {1, 6});
  b.initI64("st", {1}, {1});
  b.initI64("en", {1}, {5});
  b.initI64("ax", {1}, {1});
  b.node("Slice", {"x", "st", "en", "ax"}, {"s"});  // x[:,1:5]
  b.initI64("idx", {2}, {-1, 0});
  attrI(b.node("Gather", {"s", "idx"}, {"y"}), "axis", 1);  // [x4, x1]
  b.output("y");
  auto net = b.load();
  Eigen::VectorXd x = vec(vals(6, 26));
  Eigen::VectorXd ref(2);
  ref << x[4], x[1];
  expectNear(net.forward(x), ref);
}

// ---------------------------------------------------------------- activations

TEST(Onnx, ActivationKindsAndAlpha) {
  Builder b;
  b.input("x", {1, 3});
  b.node("Tanh", {"x"}, {"a"});
  attrF(b.node("LeakyRelu", {"a"}, {"b"}), "alpha", 0.2f);
  b.node("Sigmoid", {"b"}, {"c"});
  b.init("k", {}, {-3.0});
  b.node("Mul", {"c", "k"}, {"d"});
  b.node("LeakyRelu", {"d"}, {"y"}, "leaky_default");
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 5u);
  EXPECT_EQ(net.layers()[0].activation().kind, nn::ActKind::kTanh);
  EXPECT_EQ(net.layers()[1].activation().kind, nn::ActKind::kLeakyRelu);
  EXPECT_NEAR(net.layers()[1].activation().alpha, 0.2, 1e-7);
  EXPECT_EQ(net.layers()[2].activation().kind, nn::ActKind::kSigmoid);
  EXPECT_TRUE(net.layers()[3].isDense());
  EXPECT_NEAR(net.layers()[4].activation().alpha, 0.01, 1e-7);
  EXPECT_FALSE(net.isPiecewiseLinear());
  Eigen::VectorXd x = vec(vals(3, 27));
  Eigen::VectorXd ref(3);
  for (int i = 0; i < 3; ++i) {
    double t = std::tanh(x[i]);
    t = t > 0 ? t : 0.2 * t;
    t = -3.0 / (1.0 + std::exp(-t));
    ref[i] = t > 0 ? t : 0.01 * t;
  }
  expectNear(net.forward(x), ref, 1e-7);
}

TEST(Onnx, DropoutAndIdentityAreTransparentAndLinearOpsFold) {
  Builder b;
  b.input("x", {1, 4});
  auto w1 = vals(4 * 3, 28), b1 = vals(3, 29), w2 = vals(3 * 2, 30);
  b.init("W1", {4, 3}, w1);
  b.init("b1", {3}, b1);
  b.init("W2", {3, 2}, w2);
  b.init("s", {2}, {0.5, 3.0});
  b.node("Gemm", {"x", "W1", "b1"}, {"h"}, "g1");
  b.node("Dropout", {"h"}, {"d", "mask"}, "drop");
  b.node("Identity", {"d"}, {"i"}, "id");
  b.node("MatMul", {"i", "W2"}, {"m"}, "g2");
  b.node("Mul", {"m", "s"}, {"y"}, "scale");
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 1u);  // everything folds into one Dense
  EXPECT_EQ(net.layers()[0].name, "g1+g2+scale");
  Eigen::VectorXd x = vec(vals(4, 31));
  Eigen::VectorXd h = mat(w1, 4, 3).transpose() * x + vec(b1);
  Eigen::VectorXd ref = (mat(w2, 3, 2).transpose() * h).cwiseProduct(vec({0.5, 3.0}));
  expectNear(net.forward(x), ref);
}

TEST(Onnx, InitializersListedAsInputsAreSkipped) {
  Builder b(9);
  b.input("x", {1, 2});
  b.input("W", {2, 2});  // old exporters list initializers as inputs
  auto w = vals(4, 32);
  b.init("W", {2, 2}, w);
  b.node("MatMul", {"x", "W"}, {"y"});
  b.output("y");
  auto net = b.load();
  Eigen::VectorXd x = vec(vals(2, 33));
  expectNear(net.forward(x), mat(w, 2, 2).transpose() * x);
}

TEST(Onnx, LoadsLargeMlpQuickly) {
  // 784 - 256 x 6 - 10 with Gemm (transB=1) + Relu, like a torch export.
  Builder b;
  b.input("x", {-1, 1, 28, 28});
  b.node("Flatten", {"x"}, {"t0"});
  std::string cur = "t0";
  int in = 784;
  std::mt19937 rng(1);
  std::normal_distribution<double> nd(0.0, 0.05);
  for (int l = 0; l < 7; ++l) {
    const int out = l < 6 ? 256 : 10;
    std::vector<double> w(out * in), bias(out);
    for (auto& v : w) v = nd(rng);
    for (auto& v : bias) v = nd(rng);
    const std::string ln = std::to_string(l);
    b.init("W" + ln, {out, in}, w);
    b.init("b" + ln, {out}, bias);
    attrI(b.node("Gemm", {cur, "W" + ln, "b" + ln}, {"g" + ln}), "transB", 1);
    cur = "g" + ln;
    if (l < 6) {
      b.node("Relu", {cur}, {"r" + ln});
      cur = "r" + ln;
    }
    in = out;
  }
  b.output(cur);
  const std::string bytes = b.bytes();
  auto t0 = std::chrono::steady_clock::now();
  auto net = io::loadOnnxFromBytes(bytes, kName);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ info ] 784-256x6-10 load: " << ms << " ms\n";
  EXPECT_EQ(net.numLayers(), 13u);
  EXPECT_EQ(net.inputShape(), (nn::Shape{1, 28, 28}));
  EXPECT_EQ(net.numReluNeurons(), 6 * 256);
  EXPECT_LT(ms, 1000.0);  // target < 100 ms in Release; generous for debug/sanitizer builds
}

// ---------------------------------------------------------------- errors

TEST(Onnx, MissingFile) {
  try {
    io::loadOnnx("/nonexistent/dir/missing.onnx");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/dir/missing.onnx: cannot open");
  }
}

TEST(Onnx, RandomBytes) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::string s(200 + trial * 37, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng() & 0xff);
    expectLoadError(s, {"not a valid ONNX model"});
  }
  expectLoadError("", {"not a valid ONNX model (protobuf parse failed)"});
}

TEST(Onnx, TruncatedModel) {
  Builder b;
  b.input("x", {1, 64});
  b.init("W", {64, 64}, vals(64 * 64, 34));
  b.node("MatMul", {"x", "W"}, {"y"});
  b.output("y");
  std::string s = b.bytes();
  // Cut inside the weight bytes and near the end.
  for (size_t cut : {s.size() / 2, s.size() - 3}) expectLoadError(s.substr(0, cut), {});
  expectLoadError(s.substr(0, s.size() / 2), {"protobuf parse failed"});
}

TEST(Onnx, EmptyGraph) {
  Builder b;
  b.input("x", {1, 2});
  b.output("x");
  expectLoadError(b.bytes(), {"no nodes"});
}

TEST(Onnx, UnknownOpNamesNodeAndOp) {
  Builder b;
  b.input("x", {1, 2});
  b.node("FancyOp", {"x"}, {"y"}, "my_fancy_node");
  b.output("y");
  expectLoadError(b.bytes(), {"my_fancy_node", "FancyOp", "unsupported op", "supported ops: Gemm"});
}

TEST(Onnx, ConvFoldsIntoOneDenseLayer) {
  // 1 x 4 x 4 image, one 3x3 kernel, no padding: 2x2 outputs (more cases in test_conv).
  Builder b;
  b.input("x", {1, 1, 4, 4});
  const auto k = vals(9, 35);
  b.init("K", {1, 1, 3, 3}, k);
  b.node("Conv", {"x", "K"}, {"y"}, "conv1");
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 1u);
  EXPECT_EQ(net.layers()[0].name, "conv1");
  EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{1, 2, 2}));
  const auto xv = vals(16, 39);
  Eigen::VectorXd expect(4);
  for (int oh = 0; oh < 2; ++oh)
    for (int ow = 0; ow < 2; ++ow) {
      double acc = 0;
      for (int a = 0; a < 3; ++a)
        for (int c = 0; c < 3; ++c) acc += k[a * 3 + c] * xv[(oh + a) * 4 + ow + c];
      expect[oh * 2 + ow] = acc;
    }
  expectNear(net.forward(vec(xv)), expect);
}

TEST(Onnx, MaxPoolForwardTakesTheWindowMaximum) {
  // 1 x 4 x 4, kernel 2x2, stride 2: four disjoint windows (more cases in test_conv).
  Builder b;
  b.input("x", {1, 1, 4, 4});
  auto* n = b.node("MaxPool", {"x"}, {"y"}, "pool1");
  attrInts(n, "kernel_shape", {2, 2});
  attrInts(n, "strides", {2, 2});
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 1u);
  EXPECT_TRUE(net.layers()[0].isMaxPool());
  EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{1, 2, 2}));
  const auto xv = vals(16, 40);
  Eigen::VectorXd expect(4);
  for (int oh = 0; oh < 2; ++oh)
    for (int ow = 0; ow < 2; ++ow) {
      double m = -1e300;
      for (int a = 0; a < 2; ++a)
        for (int c = 0; c < 2; ++c) m = std::max(m, xv[(2 * oh + a) * 4 + 2 * ow + c]);
      expect[oh * 2 + ow] = m;
    }
  expectNear(net.forward(vec(xv)), expect);
}

TEST(Onnx, MaxPoolCeilModeIsRefused) {
  Builder b;
  b.input("x", {1, 1, 5, 5});
  auto* n = b.node("MaxPool", {"x"}, {"y"}, "pool1");
  attrInts(n, "kernel_shape", {2, 2});
  attrInts(n, "strides", {2, 2});
  auto* a = n->add_attribute();
  a->set_name("ceil_mode");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(1);
  b.output("y");
  expectLoadError(b.bytes(), {"pool1", "MaxPool", "ceil_mode"});
}

TEST(Onnx, NaNWeightNamesTensor) {
  Builder b;
  b.input("x", {1, 2});
  auto w = vals(4, 36);
  w[2] = std::nan("");
  b.init("weight_with_nan", {2, 2}, w);
  b.node("MatMul", {"x", "weight_with_nan"}, {"y"});
  b.output("y");
  expectLoadError(b.bytes(), {"weight_with_nan", "NaN"});
}

TEST(Onnx, HugeDeclaredDimsAreRefusedBeforeAllocation) {
  {
    Builder b;
    b.input("x", {1, 2});
    auto* t = b.init("huge", {1000000, 1000000}, {1.0, 2.0});  // 8 bytes of raw data
    (void)t;
    b.node("MatMul", {"x", "huge"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"huge", "more than 2^31 elements"});
  }
  {
    Builder b;
    b.input("x", {1, 2});
    b.init("short", {100, 100}, {1.0, 2.0});
    b.node("MatMul", {"x", "short"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"short", "raw_data has 8 bytes", "needs 40000"});
  }
  {
    Builder b;
    b.input("x", {1, 2});
    b.init("neg", {-2, 1}, {1.0, 2.0});
    b.node("MatMul", {"x", "neg"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"neg", "negative dimension"});
  }
}

TEST(Onnx, ExternalDataIsRefused) {
  Builder b;
  b.input("x", {1, 2});
  auto* t = b.g->add_initializer();
  t->set_name("ext");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(2);
  t->add_dims(2);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = t->add_external_data();
  kv->set_key("location");
  kv->set_value("weights.bin");
  b.node("MatMul", {"x", "ext"}, {"y"});
  b.output("y");
  expectLoadError(b.bytes(), {"ext", "external data"});
}

TEST(Onnx, GraphStructureErrors) {
  {  // two real inputs
    Builder b;
    b.input("x", {1, 2});
    b.input("z", {1, 2});
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"2 inputs", "x, z"});
  }
  {  // dangling input
    Builder b;
    b.input("x", {1, 2});
    b.node("Add", {"x", "ghost"}, {"y"}, "adder");
    b.output("y");
    expectLoadError(b.bytes(), {"ghost", "adder", "dangling"});
  }
  {  // cycle
    Builder b;
    b.input("x", {1, 2});
    b.init("c", {2}, {1.0, 1.0});
    b.node("Add", {"x", "b"}, {"a"}, "n1");
    b.node("Relu", {"a"}, {"b"}, "n2");
    b.node("Relu", {"b"}, {"y"}, "n3");
    b.output("y");
    expectLoadError(b.bytes(), {"cycle"});
  }
  {  // symbolic non-batch dim
    Builder b;
    b.input("x", {1, -1});
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"symbolic dimension at position 1"});
  }
  {  // output independent of the input
    Builder b;
    b.input("x", {1, 2});
    b.init("c", {2}, {1.0, 1.0});
    b.node("Relu", {"c"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"does not depend on the input"});
  }
}

TEST(Onnx, NodesOutOfOrderAreSorted) {
  Builder b;
  b.input("x", {1, 2});
  auto w = vals(4, 37);
  b.init("W", {2, 2}, w);
  b.node("Relu", {"h"}, {"y"}, "relu");
  b.node("MatMul", {"x", "W"}, {"h"}, "mm");
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 2u);
  EXPECT_EQ(net.layers()[0].name, "mm");
  Eigen::VectorXd x = vec(vals(2, 38));
  expectNear(net.forward(x), (mat(w, 2, 2).transpose() * x).cwiseMax(0.0));
}

TEST(Onnx, HugeInputIsRefused) {
  {
    Builder b;
    b.input("x", {1, 100000, 100000});
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"input 'x'", "more than 2^31 elements"});
  }
  {
    Builder b;
    b.input("x", {1, int64_t{1} << 27});
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"limit"});
  }
}

TEST(Onnx, DoubleWeightsAndInt32Indices) {
  Builder b;
  b.input("x", {1, 3});
  auto* w = b.g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::DOUBLE);
  w->add_dims(3);
  w->add_dims(2);
  const std::vector<double> wv{0.1, -0.2, 0.3, 0.4, -0.5, 0.6};
  for (double v : wv) w->add_double_data(v);
  auto* idx = b.g->add_initializer();
  idx->set_name("idx");
  idx->set_data_type(onnx::TensorProto::INT32);
  idx->add_dims(1);
  idx->add_int32_data(1);
  b.node("MatMul", {"x", "W"}, {"h"});
  attrI(b.node("Gather", {"h", "idx"}, {"y"}), "axis", 1);
  b.output("y");
  auto net = b.load();
  Eigen::VectorXd x = vec({1.0, 2.0, -1.0});
  expectNear(net.forward(x), vec({-0.2 * 1 + 0.4 * 2 - 0.6}), 1e-12);
}
