// Graphs that branch and rejoin (residual connections, issue 15): the loader
// carries a tensor a later node reads through each commit (io/onnx_branches.cpp).
// Checked: the forward pass equals the graph computed by hand; CROWN bounds
// contain sampled forward passes; the MIP's proven optimum is <= every sampled
// margin and <= the local solver's; branches of different shapes broadcast;
// bad branches are one-line errors.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <random>
#include <string>

#include "attack/attack.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "io/onnx.h"
#include "nn/network.h"
#include "onnx_builder.h"
#include "spec/property.h"

using namespace nnopt;
using Eigen::VectorXd;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

using test::attrInts;
using test::vals;

const char* kName = "branches.onnx";

struct Builder : test::OnnxBuilder {
  explicit Builder() : OnnxBuilder(13, kName) {}
};

RowMat mat(const std::vector<double>& v, int64_t r, int64_t c) {
  return Eigen::Map<const RowMat>(v.data(), r, c);
}
VectorXd vec(const std::vector<double>& v) {
  return Eigen::Map<const VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}
VectorXd relu(const VectorXd& v) { return v.cwiseMax(0.0); }

// A 3x3 convolution with padding 1 of a one-channel n x n image x, kernels k
// (channels x 9), by hand.
VectorXd conv3x3(const VectorXd& x, const std::vector<double>& k, int channels, int n) {
  VectorXd out(channels * n * n);
  for (int c = 0; c < channels; ++c)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        double acc = 0.0;
        for (int p = 0; p < 3; ++p)
          for (int q = 0; q < 3; ++q) {
            const int ii = i + p - 1, jj = j + q - 1;
            if (ii >= 0 && ii < n && jj >= 0 && jj < n) acc += k[c * 9 + p * 3 + q] * x[ii * n + jj];
          }
        out[(c * n + i) * n + j] = acc;
      }
  return out;
}

void expectLoadError(const std::string& bytes, const std::vector<std::string>& fragments) {
  test::expectLoadError(bytes, kName, fragments);
}

// Forward passes of random points of [0,1]^n: every layer inside the CROWN
// bounds; the MIP's proven optimum below every sampled margin and the local
// solver's; both replay.
void checkSoundness(const nn::Network& net, int seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int64_t n = net.inputSize();
  VectorXd x0(n);
  for (int64_t i = 0; i < n; ++i) x0[i] = u(rng);
  const spec::Box box = spec::linfBall(x0, 0.15, 0.0, 1.0);
  const auto t = bounds::crownBounds(net, box);
  const VectorXd clean = net.forward(x0);
  Eigen::Index label;
  clean.maxCoeff(&label);
  const int target = attack::runnerUp(clean, static_cast<int>(label));
  double sampled = std::numeric_limits<double>::infinity();
  for (int s = 0; s < 400; ++s) {
    VectorXd x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = box.lo[i] + u(rng) * (box.hi[i] - box.lo[i]);
    const auto f = net.forwardAll(x);
    for (size_t k = 0; k < f.size(); ++k) {
      ASSERT_TRUE((f[k].array() >= t.lo[k].array() - 1e-9).all()) << "layer " << k;
      ASSERT_TRUE((f[k].array() <= t.hi[k].array() + 1e-9).all()) << "layer " << k;
    }
    sampled = std::min(sampled, f.back()[label] - f.back()[target]);
  }
  attack::MarginAttackParams mp;
  mp.method = attack::Method::kMip;
  mp.time_limit = 60;
  const auto mip = attack::marginAttack(net, box, x0, static_cast<int>(label), target, mp);
  mp.method = attack::Method::kNlp;
  const auto local = attack::marginAttack(net, box, x0, static_cast<int>(label), target, mp);
  ASSERT_EQ(mip.status, "optimal") << mip.status;
  // The proven bound is below every point; the optimum found is within CBC's
  // relative gap of it.
  EXPECT_LE(mip.bound, sampled + 1e-7);
  EXPECT_LE(mip.bound, local.margin + 1e-7);
  EXPECT_NEAR(mip.bound, mip.margin, 1e-4 * (1 + std::abs(mip.margin)));
  EXPECT_LE(mip.margin, sampled + 1e-4 * (1 + std::abs(sampled)));
}

}  // namespace

// A ResNet basic block over fully connected layers: the skip reads a ReLU
// output, which a ReLU carries as itself (no extra unstable unit).
TEST(Branches, PostActivationResidualBlockMatchesTheGraph) {
  Builder b;
  b.input("x", {1, 4});
  const auto w1 = vals(4 * 6, 1), w2 = vals(6 * 6, 2), w3 = vals(6 * 6, 3), w4 = vals(6 * 3, 4);
  const auto c1 = vals(6, 5), c2 = vals(6, 6);
  b.init("W1", {4, 6}, w1);
  b.init("C1", {6}, c1);
  b.init("W2", {6, 6}, w2);
  b.init("C2", {6}, c2);
  b.init("W3", {6, 6}, w3);
  b.init("W4", {6, 3}, w4);
  b.node("Gemm", {"x", "W1", "C1"}, {"a1"});
  b.node("Relu", {"a1"}, {"h"});
  b.node("Gemm", {"h", "W2", "C2"}, {"a2"});
  b.node("Relu", {"a2"}, {"r2"});
  b.node("MatMul", {"r2", "W3"}, {"a3"});
  b.node("Add", {"a3", "h"}, {"s"}, "residual");
  b.node("Relu", {"s"}, {"r3"});
  b.node("MatMul", {"r3", "W4"}, {"y"});
  b.output("y");
  const nn::Network net = b.load();
  EXPECT_EQ(net.numReluNeurons(), 6 + 12 + 6);  // h carried as 6 stable units
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int s = 0; s < 20; ++s) {
    VectorXd x(4);
    for (auto& v : x) v = u(rng);
    const VectorXd h = relu(mat(w1, 4, 6).transpose() * x + vec(c1));
    const VectorXd r2 = relu(mat(w2, 6, 6).transpose() * h + vec(c2));
    const VectorXd r3 = relu(mat(w3, 6, 6).transpose() * r2 + h);
    const VectorXd want = mat(w4, 6, 3).transpose() * r3;
    const VectorXd got = net.forward(x);
    ASSERT_EQ(got.size(), 3);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(got[j], want[j], 1e-12);
  }
  checkSoundness(net, 11);
}

// The skip reads a pre-activation tensor of unknown sign: carried through the
// ReLU as relu(v) - relu(-v), and through a LeakyReLU as
// (lrelu(v) - lrelu(-v)) / (1 + alpha); Sub rejoins too.
TEST(Branches, PreActivationSkipIsCarriedExactly) {
  for (const char* act : {"Relu", "LeakyRelu"}) {
    SCOPED_TRACE(act);
    Builder b;
    b.input("x", {1, 3});
    const auto w1 = vals(3 * 5, 21), w2 = vals(5 * 5, 22), w3 = vals(5 * 2, 23);
    b.init("W1", {3, 5}, w1);
    b.init("W2", {5, 5}, w2);
    b.init("W3", {5, 2}, w3);
    b.node("MatMul", {"x", "W1"}, {"y1"});
    auto* a = b.node(act, {"y1"}, {"r"});
    const double alpha = std::string(act) == "LeakyRelu" ? double(0.2f) : 0.0;  // a float attribute
    if (alpha > 0) test::attrF(a, "alpha", static_cast<float>(alpha));
    b.node("MatMul", {"r", "W2"}, {"z"});
    b.node("Sub", {"z", "y1"}, {"s"}, "skip");
    b.node("Relu", {"s"}, {"t"});
    b.node("MatMul", {"t", "W3"}, {"y"});
    b.output("y");
    const nn::Network net = b.load();
    EXPECT_EQ(net.numReluNeurons(), 5 + 5 + 5 + 5);  // y1 carried as two units each
    std::mt19937 rng(4);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (int s = 0; s < 20; ++s) {
      VectorXd x(3);
      for (auto& v : x) v = u(rng);
      const VectorXd y1 = mat(w1, 3, 5).transpose() * x;
      VectorXd r = y1;
      for (auto& v : r) v = v > 0 ? v : alpha * v;
      const VectorXd t = relu(mat(w2, 5, 5).transpose() * r - y1);
      const VectorXd want = mat(w3, 5, 2).transpose() * t;
      const VectorXd got = net.forward(x);
      for (int j = 0; j < 2; ++j) EXPECT_NEAR(got[j], want[j], 1e-12);
    }
    checkSoundness(net, 12);
  }
}

// A convolutional block whose input is read again after a max pool: carried
// through the pool as one-index windows; two branches (pooled and not) meet
// in an Add of two Gemm outputs.
TEST(Branches, TensorReadAfterAMaxPoolIsCarriedThroughIt) {
  Builder b;
  b.input("x", {1, 1, 4, 4});
  const auto k = vals(2 * 9, 31), g1 = vals(8 * 3, 32), g2 = vals(32 * 3, 33);
  b.init("K", {2, 1, 3, 3}, k);
  b.init("G1", {8, 3}, g1);
  b.init("G2", {32, 3}, g2);
  attrInts(b.node("Conv", {"x", "K"}, {"c"}), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"a"});
  auto* mp = b.node("MaxPool", {"a"}, {"m"});
  attrInts(mp, "kernel_shape", {2, 2});
  attrInts(mp, "strides", {2, 2});
  b.node("Flatten", {"m"}, {"fm"});
  b.node("Flatten", {"a"}, {"fa"});
  b.node("MatMul", {"fm", "G1"}, {"z1"});
  b.node("MatMul", {"fa", "G2"}, {"z2"});
  b.node("Add", {"z1", "z2"}, {"y"});
  b.output("y");
  const nn::Network net = b.load();
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int s = 0; s < 10; ++s) {
    VectorXd x(16);
    for (auto& v : x) v = u(rng);
    const VectorXd a = relu(conv3x3(x, k, 2, 4));
    VectorXd m(8);
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j)
          m[c * 4 + i * 2 + j] = std::max({a[c * 16 + 2 * i * 4 + 2 * j], a[c * 16 + 2 * i * 4 + 2 * j + 1],
                                           a[c * 16 + (2 * i + 1) * 4 + 2 * j],
                                           a[c * 16 + (2 * i + 1) * 4 + 2 * j + 1]});
    const VectorXd want = mat(g1, 8, 3).transpose() * m + mat(g2, 32, 3).transpose() * a;
    const VectorXd got = net.forward(x);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(got[j], want[j], 1e-12);
  }
  checkSoundness(net, 13);
}

// Branches joined by Concat (DenseNet/Inception style), with a constant part.
TEST(Branches, ConcatJoinsBranchesAndConstants) {
  Builder b;
  b.input("x", {1, 3});
  const auto w1 = vals(3 * 4, 51), w2 = vals(4 * 2, 52), w3 = vals(7 * 2, 53), k = vals(1, 54);
  b.init("W1", {3, 4}, w1);
  b.init("W2", {4, 2}, w2);
  b.init("W3", {7, 2}, w3);
  b.init("K", {1, 1}, k);
  b.node("MatMul", {"x", "W1"}, {"a"});
  b.node("Relu", {"a"}, {"h"});
  b.node("MatMul", {"h", "W2"}, {"z"});
  test::attrI(b.node("Concat", {"z", "K", "h"}, {"cat"}, "join"), "axis", 1);
  b.node("Relu", {"cat"}, {"r"});
  b.node("MatMul", {"r", "W3"}, {"y"});
  b.output("y");
  const nn::Network net = b.load();
  std::mt19937 rng(6);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int s = 0; s < 20; ++s) {
    VectorXd x(3);
    for (auto& v : x) v = u(rng);
    const VectorXd h = relu(mat(w1, 3, 4).transpose() * x);
    VectorXd cat(7);
    cat << mat(w2, 4, 2).transpose() * h, k[0], h;
    const VectorXd want = mat(w3, 7, 2).transpose() * relu(cat);
    const VectorXd got = net.forward(x);
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(got[j], want[j], 1e-12);
  }
  checkSoundness(net, 14);
  // Along a non-leading axis of 3-D tensors: [1,2,2] ++ [1,2,1] on axis 2.
  Builder c;
  c.input("x", {1, 2, 2});
  c.init("K2", {1, 2, 1}, vals(2, 55));
  test::attrI(c.node("Concat", {"x", "K2"}, {"y"}), "axis", 2);
  c.output("y");
  const nn::Network n2 = c.load();
  VectorXd x(4);
  x << 1, 2, 3, 4;
  const auto k2 = vals(2, 55);
  VectorXd want(6);
  want << 1, 2, k2[0], 3, 4, k2[1];
  const VectorXd got = n2.forward(x);
  for (int j = 0; j < 6; ++j) EXPECT_NEAR(got[j], want[j], 1e-12);
}

// Two input-dependent tensors of different shapes broadcast against each
// other: a convolution's output minus its channel means (GlobalAveragePool).
TEST(Branches, BranchesBroadcastAgainstEachOther) {
  Builder b;
  b.input("x", {1, 1, 3, 3});
  const auto k = vals(2 * 9, 61), g = vals(18 * 2, 62);
  b.init("K", {2, 1, 3, 3}, k);
  b.init("G", {18, 2}, g);
  attrInts(b.node("Conv", {"x", "K"}, {"c"}), "pads", {1, 1, 1, 1});
  b.node("GlobalAveragePool", {"c"}, {"mean"});
  b.node("Sub", {"c", "mean"}, {"d"}, "centre");
  b.node("Relu", {"d"}, {"r"});
  b.node("Flatten", {"r"}, {"f"});
  b.node("MatMul", {"f", "G"}, {"y"});
  b.output("y");
  const nn::Network net = b.load();
  std::mt19937 rng(8);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int s = 0; s < 10; ++s) {
    VectorXd x(9);
    for (auto& v : x) v = u(rng);
    const VectorXd c = conv3x3(x, k, 2, 3);
    VectorXd r(18);
    for (int ch = 0; ch < 2; ++ch) {
      const double mean = c.segment(ch * 9, 9).mean();
      for (int t = 0; t < 9; ++t) r[ch * 9 + t] = std::max(c[ch * 9 + t] - mean, 0.0);
    }
    const VectorXd want = mat(g, 18, 2).transpose() * r;
    const VectorXd got = net.forward(x);
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(got[j], want[j], 1e-12);
  }
  checkSoundness(net, 15);
}

TEST(Branches, BranchesThatCannotBeCarriedAreOneLineErrors) {
  {  // a tanh layer cannot carry a value exactly
    Builder b;
    b.input("x", {1, 2});
    b.init("W", {2, 2}, vals(4, 41));
    b.node("MatMul", {"x", "W"}, {"h"});
    b.node("Tanh", {"h"}, {"t"});
    b.node("Add", {"t", "h"}, {"y"});
    b.output("y");
    expectLoadError(b.bytes(), {"Tanh", "branches", "'h'"});
  }
  {  // the product of two input-dependent tensors is not linear
    Builder b;
    b.input("x", {1, 2});
    b.init("W", {2, 2}, vals(4, 42));
    b.node("MatMul", {"x", "W"}, {"h"});
    b.node("Mul", {"h", "x"}, {"y"}, "product");
    b.output("y");
    expectLoadError(b.bytes(), {"product", "Mul", "not linear"});
  }
  {  // branch shapes that do not broadcast
    Builder b;
    b.input("x", {1, 2});
    b.init("W", {2, 3}, vals(6, 43));
    b.node("MatMul", {"x", "W"}, {"h"});
    b.node("Add", {"h", "x"}, {"y"}, "bcast");
    b.output("y");
    expectLoadError(b.bytes(), {"bcast", "cannot be broadcast"});
  }
}
