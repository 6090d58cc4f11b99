#pragma once
// The MaxPool tests' shared fixtures (test_maxpool.cpp: import, bounds,
// embedding, PGD, the trained fixture; test_maxpool_attack.cpp: the margin and
// min-distortion attacks): float32-exact values, naive pooling/convolution
// references written independently of the loader, three small conv + max-pool
// networks built as ONNX in memory, and sampling helpers.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "attack_params.h"
#include "bounds/bound_table.h"
#include "nn/network.h"
#include "onnx_builder.h"
#include "spec/property.h"

namespace nnopt::test::maxpool {

using Eigen::MatrixXd;
using Eigen::VectorXd;

using test::argmax;
using test::kAllForms;
using test::mipParams;
using test::nlpParams;

using test::attrF;
using test::attrI;
using test::attrInts;
using test::attrS;
using test::vals;

inline constexpr double kNegInf = -std::numeric_limits<double>::infinity();
inline constexpr const char* kName = "maxpool_model.onnx";

// ------------------------------------------------------------ ONNX builder
// (shared with test_conv.cpp / test_onnx.cpp: onnx_builder.h)

struct Builder : test::OnnxBuilder {
  explicit Builder(int opset = 13) : OnnxBuilder(opset, kName) {}
};


// Values k/128 in [-0.5, 0.5] (weights of the networks that get attacked).
inline std::vector<double> small(size_t n, int seed) {
  auto v = vals(n, seed);
  for (auto& x : v) x /= 4.0;
  return v;
}
inline VectorXd vec(const std::vector<double>& v) {
  return Eigen::Map<const VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}
inline void expectNear(const VectorXd& a, const VectorXd& b, double tol = 1e-9) {
  ASSERT_EQ(a.size(), b.size());
  for (Eigen::Index i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "index " << i;
}

// ------------------------------------------------------------ naive references

struct Image {
  int64_t C, H, W;
  std::vector<double> v;
  double at(int64_t c, int64_t h, int64_t w) const { return v[(c * H + h) * W + w]; }
};

inline Image pad(const Image& x, int64_t t, int64_t l, int64_t b, int64_t r, double fill) {
  Image p{x.C, x.H + t + b, x.W + l + r, {}};
  p.v.assign(p.C * p.H * p.W, fill);
  for (int64_t c = 0; c < x.C; ++c)
    for (int64_t h = 0; h < x.H; ++h)
      for (int64_t w = 0; w < x.W; ++w) p.v[(c * p.H + h + t) * p.W + w + l] = x.at(c, h, w);
  return p;
}

struct PoolSpec {
  int64_t C = 1, H = 5, W = 5, kh = 2, kw = 2, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;
};

// Padding cells are -inf: ONNX MaxPool never takes them as the maximum.
inline Image naiveMaxPool(const Image& x, const PoolSpec& s) {
  const Image p = pad(x, s.pt, s.pl, s.pb, s.pr, kNegInf);
  const int64_t OH = (p.H - ((s.kh - 1) * s.dh + 1)) / s.sh + 1;
  const int64_t OW = (p.W - ((s.kw - 1) * s.dw + 1)) / s.sw + 1;
  Image y{x.C, OH, OW, std::vector<double>(x.C * OH * OW, kNegInf)};
  for (int64_t c = 0; c < x.C; ++c)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double m = kNegInf;
        for (int64_t a = 0; a < s.kh; ++a)
          for (int64_t b = 0; b < s.kw; ++b)
            m = std::max(m, p.at(c, oh * s.sh + a * s.dh, ow * s.sw + b * s.dw));
        y.v[(c * OH + oh) * OW + ow] = m;
      }
  return y;
}

// Zero-padded convolution (group 1, dilation 1): y[m] = B[m] + sum K[m,c,a,b] xpad[c, .., ..].
inline Image naiveConv(const Image& x, int64_t M, int64_t k, int64_t stride, int64_t padding,
                const std::vector<double>& K, const std::vector<double>& B) {
  const Image p = pad(x, padding, padding, padding, padding, 0.0);
  const int64_t OH = (p.H - k) / stride + 1, OW = (p.W - k) / stride + 1;
  Image y{M, OH, OW, std::vector<double>(M * OH * OW, 0.0)};
  for (int64_t m = 0; m < M; ++m)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double acc = B[m];
        for (int64_t c = 0; c < x.C; ++c)
          for (int64_t a = 0; a < k; ++a)
            for (int64_t b = 0; b < k; ++b)
              acc += K[((m * x.C + c) * k + a) * k + b] *
                     p.at(c, oh * stride + a, ow * stride + b);
        y.v[(m * OH + oh) * OW + ow] = acc;
      }
  return y;
}

inline Image relu(Image x) {
  for (auto& v : x.v) v = std::max(v, 0.0);
  return x;
}

// y = W x + b with W row-major (out x in), as Gemm(transB = 1) stores it.
inline VectorXd gemm(const std::vector<double>& W, const std::vector<double>& b,
                     const VectorXd& x) {
  const Eigen::Index out = static_cast<Eigen::Index>(b.size());
  return Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(W.data(), out, x.size()) *
             x + vec(b);
}

inline onnx::NodeProto* maxPoolNode(Builder& b, const std::string& in, const std::string& out,
                                    const PoolSpec& s, const std::string& auto_pad = "") {
  auto* n = b.node("MaxPool", {in}, {out}, "pool_" + out);
  attrInts(n, "kernel_shape", {s.kh, s.kw});
  attrInts(n, "strides", {s.sh, s.sw});
  if (s.dh != 1 || s.dw != 1) attrInts(n, "dilations", {s.dh, s.dw});
  if (auto_pad.empty())
    attrInts(n, "pads", {s.pt, s.pl, s.pb, s.pr});
  else
    attrS(n, "auto_pad", auto_pad);
  return n;
}

inline void expectLoadError(const std::string& bytes,
                            const std::vector<std::string>& fragments) {
  test::expectLoadError(bytes, kName, fragments);
}

// Loads a single-MaxPool model with the spec and compares with the naive pool on
// random, all-negative (padding must not act as 0) and heavily tied inputs.
inline void checkPool(const PoolSpec& s, int seed, const std::string& auto_pad = "",
                      const PoolSpec* padded = nullptr) {
  Builder b;
  b.input("x", {1, s.C, s.H, s.W});
  maxPoolNode(b, "x", "y", s, auto_pad);
  b.output("y");
  const nn::Network net = b.load();
  ASSERT_EQ(net.numLayers(), 1u);
  ASSERT_TRUE(net.layers()[0].isMaxPool());
  const PoolSpec& ref = padded ? *padded : s;
  const int64_t n = s.C * s.H * s.W;
  for (int t = 0; t < 3; ++t) {
    SCOPED_TRACE("input kind " + std::to_string(t));
    Image x{s.C, s.H, s.W, vals(n, seed * 10 + t)};
    if (t == 1)
      for (auto& v : x.v) v = v - 3.0;  // every input negative
    if (t == 2)
      for (auto& v : x.v) v = std::round(v);  // few distinct values: many ties
    const Image y = naiveMaxPool(x, ref);
    EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{s.C, y.H, y.W}));
    for (double v : y.v) ASSERT_TRUE(std::isfinite(v));  // no window entirely in the padding
    expectNear(net.forward(vec(x.v)), vec(y.v), 0.0);    // a max is exact
  }
}

// ------------------------------------------------------------ small test networks

// Conv(1->2, k3, pad 1) on 1x6x6 -> Relu -> MaxPool(k3, s2, pad 1: overlapping
// windows, clipped at the border) -> Flatten -> Gemm(18 -> 4).
inline nn::Network netReluPool(int seed) {
  Builder b;
  b.input("x", {1, 1, 6, 6});
  b.init("K", {2, 1, 3, 3}, small(18, seed));
  b.init("B", {2}, small(2, seed + 1));
  b.init("W", {4, 18}, small(72, seed + 2));
  b.init("Bf", {4}, small(4, seed + 3));
  attrInts(b.node("Conv", {"x", "K", "B"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"});
  PoolSpec s;
  s.kh = s.kw = 3;
  s.sh = s.sw = 2;
  s.pt = s.pl = s.pb = s.pr = 1;
  maxPoolNode(b, "r", "p", s);
  b.node("Flatten", {"p"}, {"f"});
  attrI(b.node("Gemm", {"f", "W", "Bf"}, {"y"}, "fc"), "transB", 1);
  b.output("y");
  return b.load();
}

// Conv(1->2, k3, pad 1) on 1x6x6 -> MaxPool(k2, s2) directly on the conv output
// (windows with negative inputs) -> Relu -> Gemm(18 -> 6) -> Relu -> Gemm(6 -> 4).
inline nn::Network netPoolNoRelu(int seed) {
  Builder b;
  b.input("x", {1, 1, 6, 6});
  b.init("K", {2, 1, 3, 3}, small(18, seed));
  b.init("B", {2}, small(2, seed + 1));
  b.init("W1", {6, 18}, small(108, seed + 2));
  b.init("B1", {6}, small(6, seed + 3));
  b.init("W2", {4, 6}, small(24, seed + 4));
  b.init("B2", {4}, small(4, seed + 5));
  attrInts(b.node("Conv", {"x", "K", "B"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  PoolSpec s;
  s.kh = s.kw = 2;
  s.sh = s.sw = 2;
  maxPoolNode(b, "c", "p", s);
  b.node("Relu", {"p"}, {"r"});
  b.node("Flatten", {"r"}, {"f"});
  attrI(b.node("Gemm", {"f", "W1", "B1"}, {"h"}, "fc1"), "transB", 1);
  b.node("Relu", {"h"}, {"hr"});
  attrI(b.node("Gemm", {"hr", "W2", "B2"}, {"y"}, "fc2"), "transB", 1);
  b.output("y");
  return b.load();
}

// MaxPool(k2, s1: overlapping) directly on the 1x5x5 input -> Flatten ->
// Gemm(16 -> 6) -> Relu -> Gemm(6 -> 3).
inline nn::Network netPoolFirst(int seed) {
  Builder b;
  b.input("x", {1, 1, 5, 5});
  b.init("W1", {6, 16}, small(96, seed));
  b.init("B1", {6}, small(6, seed + 1));
  b.init("W2", {3, 6}, small(18, seed + 2));
  b.init("B2", {3}, small(3, seed + 3));
  PoolSpec s;
  maxPoolNode(b, "x", "p", s);
  b.node("Flatten", {"p"}, {"f"});
  attrI(b.node("Gemm", {"f", "W1", "B1"}, {"h"}, "fc1"), "transB", 1);
  b.node("Relu", {"h"}, {"hr"});
  attrI(b.node("Gemm", {"hr", "W2", "B2"}, {"y"}, "fc2"), "transB", 1);
  b.output("y");
  return b.load();
}

struct NetCase {
  std::string name;
  nn::Network net;
};

inline std::vector<NetCase> netCases(int seed) {
  return {{"relu-pool", netReluPool(seed)},
          {"pool-no-relu", netPoolNoRelu(seed + 10)},
          {"pool-first", netPoolFirst(seed + 20)}};
}

inline VectorXd randomPoint(int64_t n, unsigned seed, double lo = 0.1, double hi = 0.9) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  VectorXd x(n);
  for (auto& v : x) v = u(rng);
  return x;
}

// Random corners, points on faces and uniform interior points.
inline std::vector<VectorXd> samplePoints(std::mt19937& rng, const spec::Box& box, int total) {
  const int64_t n = box.size();
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::bernoulli_distribution coin(0.5);
  std::vector<VectorXd> pts;
  pts.reserve(total);
  while (static_cast<int>(pts.size()) < total) {
    VectorXd x(n);
    const int kind = static_cast<int>(pts.size() % 3);
    for (int64_t i = 0; i < n; ++i) {
      double t = u01(rng);
      if (kind == 0 || (kind == 1 && coin(rng))) t = coin(rng) ? 1.0 : 0.0;
      x[i] = box.lo[i] + t * (box.hi[i] - box.lo[i]);
    }
    pts.push_back(x);
  }
  return pts;
}

// Largest amount any layer output of any point leaves the table's bounds.
inline double worstViolation(const nn::Network& net, const bounds::BoundTable& t,
                      const std::vector<VectorXd>& pts) {
  double worst = 0.0;
  for (const auto& x : pts) {
    const auto outs = net.forwardAll(x);
    for (size_t l = 0; l < outs.size(); ++l) {
      worst = std::max(worst, (t.lo[l] - outs[l]).maxCoeff());
      worst = std::max(worst, (outs[l] - t.hi[l]).maxCoeff());
    }
  }
  return worst;
}

// Largest amount `t` is looser than `ref` on any neuron of any layer.
inline double looserThan(const bounds::BoundTable& t, const bounds::BoundTable& ref) {
  double worst = 0.0;
  for (size_t i = 0; i < t.lo.size(); ++i) {
    worst = std::max(worst, (ref.lo[i] - t.lo[i]).maxCoeff());
    worst = std::max(worst, (t.hi[i] - ref.hi[i]).maxCoeff());
  }
  return worst;
}


inline double marginOf(const nn::Network& net, const VectorXd& x, int label, int target) {
  const VectorXd y = net.forward(x);
  return y[label] - y[target];
}


inline std::string readFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace nnopt::test::maxpool
