// Convolutional layers in the ONNX loader: Conv, AveragePool, GlobalAveragePool
// and BatchNormalization are folded into Dense layers (Toeplitz matrices).
// Tiny models are built in memory and compared with a naive convolution
// written independently of the loader; the committed ConvNet fixture is
// compared with the torch reference logits, and CROWN bounds on it are
// checked against sampled points.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "io/images.h"
#include "io/onnx.h"
#include "nn/network.h"
#include "onnx_builder.h"
#include "spec/property.h"

using namespace nnopt;
using Eigen::VectorXd;

namespace {

using test::attrF;
using test::attrI;
using test::attrInts;
using test::attrS;
using test::vals;

const char* kName = "conv_model.onnx";

struct Builder : test::OnnxBuilder {
  explicit Builder(int opset = 13) : OnnxBuilder(opset, kName) {}
};


VectorXd vec(const std::vector<double>& v) {
  return Eigen::Map<const VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

void expectNear(const VectorXd& a, const VectorXd& b, double tol = 1e-9) {
  ASSERT_EQ(a.size(), b.size());
  for (Eigen::Index i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "index " << i;
}

void expectLoadError(const std::string& bytes, const std::vector<std::string>& fragments) {
  test::expectLoadError(bytes, kName, fragments);
}

// ---------------------------------------------------------------- naive reference

// A C x H x W image, zero-padded explicitly (so padding is handled differently
// from the loader, which skips out-of-image taps).
struct Image {
  int64_t C, H, W;
  std::vector<double> v;
  double at(int64_t c, int64_t h, int64_t w) const { return v[(c * H + h) * W + w]; }
};

Image pad(const Image& x, int64_t t, int64_t l, int64_t b, int64_t r) {
  Image p{x.C, x.H + t + b, x.W + l + r, {}};
  p.v.assign(p.C * p.H * p.W, 0.0);
  for (int64_t c = 0; c < x.C; ++c)
    for (int64_t h = 0; h < x.H; ++h)
      for (int64_t w = 0; w < x.W; ++w) p.v[(c * p.H + h + t) * p.W + w + l] = x.at(c, h, w);
  return p;
}

struct ConvSpec {
  int64_t C = 1, H = 5, W = 5, M = 2, kh = 3, kw = 3;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1, group = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;
  bool bias = true;
};

// y[m, oh, ow] = b[m] + sum_{ci,a,b} K[m, ci, a, b] * xpad[g*cpg + ci, oh*sh + a*dh, ow*sw + b*dw]
Image naiveConv(const Image& x, const ConvSpec& s, const std::vector<double>& K,
                const std::vector<double>& B) {
  const Image p = pad(x, s.pt, s.pl, s.pb, s.pr);
  const int64_t OH = (p.H - ((s.kh - 1) * s.dh + 1)) / s.sh + 1;
  const int64_t OW = (p.W - ((s.kw - 1) * s.dw + 1)) / s.sw + 1;
  const int64_t cpg = s.C / s.group, mpg = s.M / s.group;
  Image y{s.M, OH, OW, std::vector<double>(s.M * OH * OW, 0.0)};
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double acc = s.bias ? B[m] : 0.0;
        for (int64_t ci = 0; ci < cpg; ++ci)
          for (int64_t a = 0; a < s.kh; ++a)
            for (int64_t b = 0; b < s.kw; ++b)
              acc += K[((m * cpg + ci) * s.kh + a) * s.kw + b] *
                     p.at((m / mpg) * cpg + ci, oh * s.sh + a * s.dh, ow * s.sw + b * s.dw);
        y.v[(m * OH + oh) * OW + ow] = acc;
      }
  return y;
}

// Average pool; with count_include_pad = false the divisor counts only taps
// that hit the (unpadded) image.
Image naiveAvgPool(const Image& x, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt,
                   int64_t pl, int64_t pb, int64_t pr, bool include_pad) {
  const Image p = pad(x, pt, pl, pb, pr);
  Image mask{x.C, x.H, x.W, std::vector<double>(x.v.size(), 1.0)};
  const Image pm = pad(mask, pt, pl, pb, pr);
  const int64_t OH = (p.H - kh) / sh + 1, OW = (p.W - kw) / sw + 1;
  Image y{x.C, OH, OW, std::vector<double>(x.C * OH * OW, 0.0)};
  for (int64_t c = 0; c < x.C; ++c)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double sum = 0, cnt = 0;
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t b = 0; b < kw; ++b) {
            sum += p.at(c, oh * sh + a, ow * sw + b);
            cnt += pm.at(c, oh * sh + a, ow * sw + b);
          }
        y.v[(c * OH + oh) * OW + ow] = sum / (include_pad ? double(kh * kw) : cnt);
      }
  return y;
}

// A Conv model over input [1, C, H, W] with the spec's attributes.
Builder convModel(const ConvSpec& s, const std::vector<double>& K, const std::vector<double>& B,
                  const std::string& auto_pad = "") {
  Builder b;
  b.input("x", {1, s.C, s.H, s.W});
  b.init("K", {s.M, s.C / s.group, s.kh, s.kw}, K);
  std::vector<std::string> ins{"x", "K"};
  if (s.bias) {
    b.init("B", {s.M}, B);
    ins.push_back("B");
  }
  auto* n = b.node("Conv", ins, {"y"}, "conv");
  attrInts(n, "strides", {s.sh, s.sw});
  attrInts(n, "dilations", {s.dh, s.dw});
  attrI(n, "group", s.group);
  attrInts(n, "kernel_shape", {s.kh, s.kw});
  if (auto_pad.empty())
    attrInts(n, "pads", {s.pt, s.pl, s.pb, s.pr});
  else
    attrS(n, "auto_pad", auto_pad);
  b.output("y");
  return b;
}

void checkConv(const ConvSpec& s, const std::string& auto_pad = "", int seed = 1) {
  const auto K = vals(s.M * (s.C / s.group) * s.kh * s.kw, seed);
  const auto B = vals(s.M, seed + 100);
  auto net = convModel(s, K, B, auto_pad).load();
  ASSERT_EQ(net.numLayers(), 1u);
  ASSERT_TRUE(net.layers()[0].isDense());
  EXPECT_EQ(net.inputShape(), (nn::Shape{s.C, s.H, s.W}));
  for (int t = 0; t < 3; ++t) {
    Image x{s.C, s.H, s.W, vals(s.C * s.H * s.W, seed + 200 + t)};
    const Image y = naiveConv(x, s, K, B);
    EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{s.M, y.H, y.W}));
    expectNear(net.forward(vec(x.v)), vec(y.v));
  }
}

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const std::string kConvFixture = NNOPT_FIXTURES_DIR "/../../models/mnist_convnet.onnx";

}  // namespace

// ---------------------------------------------------------------- Conv

TEST(Conv, MatchesNaiveConvolutionOverAttributeSweep) {
  std::vector<ConvSpec> specs;
  {
    ConvSpec s;  // defaults: 1 -> 2 channels, 3x3, stride 1, no pad
    specs.push_back(s);
  }
  {
    ConvSpec s;
    s.C = 2; s.H = 7; s.W = 6; s.M = 3; s.kh = 3; s.kw = 2; s.sh = 2; s.sw = 1;
    s.pt = 1; s.pl = 0; s.pb = 2; s.pr = 1;  // asymmetric pads
    specs.push_back(s);
  }
  {
    ConvSpec s;  // dilation
    s.C = 2; s.H = 8; s.W = 9; s.M = 2; s.kh = 3; s.kw = 3; s.dh = 2; s.dw = 3; s.pt = s.pb = 1;
    specs.push_back(s);
  }
  {
    ConvSpec s;  // groups
    s.C = 4; s.H = 5; s.W = 5; s.M = 6; s.group = 2; s.kh = 2; s.kw = 2; s.sh = s.sw = 2;
    s.pr = 1; s.pb = 1;
    specs.push_back(s);
  }
  {
    ConvSpec s;  // depthwise, no bias
    s.C = 3; s.H = 6; s.W = 4; s.M = 3; s.group = 3; s.kh = 3; s.kw = 1; s.pt = s.pb = 1;
    s.bias = false;
    specs.push_back(s);
  }
  {
    ConvSpec s;  // 1x1 conv, stride 3
    s.C = 3; s.H = 7; s.W = 7; s.M = 2; s.kh = s.kw = 1; s.sh = s.sw = 3;
    specs.push_back(s);
  }
  {
    ConvSpec s;  // kernel = whole padded image -> 1x1 output
    s.C = 1; s.H = 3; s.W = 4; s.M = 2; s.kh = 5; s.kw = 4; s.pt = 1; s.pb = 1;
    specs.push_back(s);
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE("spec " + std::to_string(i));
    checkConv(specs[i], "", static_cast<int>(i) + 1);
  }
}

TEST(Conv, AutoPadValidSameUpperSameLower) {
  ConvSpec base;
  base.C = 2; base.H = 5; base.W = 6; base.M = 2; base.kh = 4; base.kw = 3;
  base.sh = 2; base.sw = 2;
  // VALID: no padding.
  checkConv(base, "VALID", 11);
  // SAME: out = ceil(in / stride); H: out 3, total pad (3-1)*2 + 4 - 5 = 3;
  // W: out 3, total (3-1)*2 + 3 - 6 = 1. SAME_UPPER puts the odd pad at the end.
  const auto K = vals(2 * 2 * 4 * 3, 12), B = vals(2, 13);
  Image x{2, 5, 6, vals(60, 14)};
  for (const std::string mode : {"SAME_UPPER", "SAME_LOWER"}) {
    SCOPED_TRACE(mode);
    ConvSpec s = base;
    if (mode == "SAME_UPPER") {
      s.pt = 1; s.pb = 2; s.pl = 0; s.pr = 1;
    } else {
      s.pt = 2; s.pb = 1; s.pl = 1; s.pr = 0;
    }
    auto net = convModel(base, K, B, mode).load();
    const Image y = naiveConv(x, s, K, B);
    ASSERT_EQ(y.H, 3);
    ASSERT_EQ(y.W, 3);
    EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{2, 3, 3}));
    expectNear(net.forward(vec(x.v)), vec(y.v));
  }
  // SAME with dilation: extent (3-1)*2+1 = 5 in both directions, stride 1 ->
  // total pad 4 each (symmetric).
  ConvSpec d = base;
  d.kh = d.kw = 3; d.dh = d.dw = 2; d.sh = d.sw = 1;
  auto Kd = vals(2 * 2 * 9, 15);
  auto net = convModel(d, Kd, B, "SAME_UPPER").load();
  ConvSpec dp = d;
  dp.pt = dp.pb = dp.pl = dp.pr = 2;
  expectNear(net.forward(vec(x.v)), vec(naiveConv(x, dp, Kd, B).v));
}

TEST(Conv, ConvReluConvGemmChainFoldsLikeTheTutorialNet) {
  // Conv(1->3,k3,s2) - Relu - Conv(3->2,k2) - Relu - Flatten - Gemm(->4):
  // three Dense layers with logical shapes (C,H,W).
  Builder b;
  b.input("x", {-1, 1, 9, 9});
  ConvSpec s1;
  s1.C = 1; s1.H = 9; s1.W = 9; s1.M = 3; s1.kh = s1.kw = 3; s1.sh = s1.sw = 2;
  ConvSpec s2;
  s2.C = 3; s2.H = 4; s2.W = 4; s2.M = 2; s2.kh = s2.kw = 2;
  const auto K1 = vals(27, 21), B1 = vals(3, 22), K2 = vals(24, 23), B2 = vals(2, 24);
  const auto Wf = vals(4 * 18, 25), Bf = vals(4, 26);
  b.init("K1", {3, 1, 3, 3}, K1);
  b.init("B1", {3}, B1);
  b.init("K2", {2, 3, 2, 2}, K2);
  b.init("B2", {2}, B2);
  b.init("Wf", {4, 18}, Wf);
  b.init("Bf", {4}, Bf);
  attrInts(b.node("Conv", {"x", "K1", "B1"}, {"c1"}, "conv1"), "strides", {2, 2});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "K2", "B2"}, {"c2"}, "conv2");
  b.node("Relu", {"c2"}, {"r2"});
  b.node("Flatten", {"r2"}, {"f"});
  attrI(b.node("Gemm", {"f", "Wf", "Bf"}, {"y"}, "fc"), "transB", 1);
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 5u);
  EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{3, 4, 4}));
  EXPECT_EQ(net.layers()[2].out_shape, (nn::Shape{2, 3, 3}));
  EXPECT_EQ(net.layers()[4].out_shape, (nn::Shape{4}));
  EXPECT_EQ(net.numReluNeurons(), 48 + 18);
  for (int t = 0; t < 3; ++t) {
    Image x{1, 9, 9, vals(81, 27 + t)};
    Image h1 = naiveConv(x, s1, K1, B1);
    for (auto& v : h1.v) v = std::max(v, 0.0);
    Image h2 = naiveConv(h1, s2, K2, B2);
    for (auto& v : h2.v) v = std::max(v, 0.0);
    VectorXd y = Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(Wf.data(), 4, 18) *
                     vec(h2.v) + vec(Bf);
    expectNear(net.forward(vec(x.v)), y);
  }
}

TEST(Conv, NhwcTransposesAroundConvAreFolded) {
  // TF-style export: NHWC input -> Transpose(0,3,1,2) -> Conv ->
  // Transpose(0,2,3,1) -> Reshape -> MatMul.
  Builder b;
  b.input("x", {1, 5, 4, 2});  // H, W, C
  ConvSpec s;
  s.C = 2; s.H = 5; s.W = 4; s.M = 3; s.kh = 2; s.kw = 2; s.pt = s.pl = s.pb = s.pr = 1;
  const auto K = vals(3 * 2 * 4, 31), B = vals(3, 32);
  // out 3 x 6 x 5 -> NHWC 6 x 5 x 3 = 90 values -> MatMul 90 x 2
  const auto Wm = vals(90 * 2, 33);
  b.init("K", {3, 2, 2, 2}, K);
  b.init("B", {3}, B);
  b.init("Wm", {90, 2}, Wm);
  b.initI64("shape", {2}, {1, 90});
  attrInts(b.node("Transpose", {"x"}, {"xt"}), "perm", {0, 3, 1, 2});
  attrInts(b.node("Conv", {"xt", "K", "B"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  attrInts(b.node("Transpose", {"c"}, {"ct"}), "perm", {0, 2, 3, 1});
  b.node("Reshape", {"ct", "shape"}, {"f"});
  b.node("MatMul", {"f", "Wm"}, {"y"}, "mm");
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 1u);  // everything is one linear map
  EXPECT_EQ(net.inputShape(), (nn::Shape{5, 4, 2}));
  const auto xv = vals(40, 34);
  Image x{2, 5, 4, std::vector<double>(40)};
  for (int64_t h = 0; h < 5; ++h)
    for (int64_t w = 0; w < 4; ++w)
      for (int64_t c = 0; c < 2; ++c) x.v[(c * 5 + h) * 4 + w] = xv[(h * 4 + w) * 2 + c];
  const Image y = naiveConv(x, s, K, B);
  ASSERT_EQ(y.H, 6);
  ASSERT_EQ(y.W, 5);
  VectorXd nhwc(90);
  for (int64_t h = 0; h < 6; ++h)
    for (int64_t w = 0; w < 5; ++w)
      for (int64_t c = 0; c < 3; ++c) nhwc[(h * 5 + w) * 3 + c] = y.at(c, h, w);
  VectorXd expect =
      Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(Wm.data(), 90, 2)
          .transpose() * nhwc;
  expectNear(net.forward(vec(xv)), expect);
}

TEST(Conv, ConvOnConstantInputIsEvaluated) {
  // y = x + Conv(constant image): the Conv is constant-folded.
  Builder b;
  b.input("x", {1, 2, 2, 2});
  ConvSpec s;
  s.C = 1; s.H = 3; s.W = 3; s.M = 2; s.kh = s.kw = 2;
  const auto img = vals(9, 41), K = vals(8, 42), B = vals(2, 43);
  b.init("img", {1, 1, 3, 3}, img);
  b.init("K", {2, 1, 2, 2}, K);
  b.init("B", {2}, B);
  b.node("Conv", {"img", "K", "B"}, {"c"});
  b.node("Add", {"x", "c"}, {"y"});
  b.output("y");
  auto net = b.load();
  const Image c = naiveConv(Image{1, 3, 3, img}, s, K, B);
  const auto xv = vals(8, 44);
  expectNear(net.forward(vec(xv)), vec(xv) + vec(c.v));
}

// ---------------------------------------------------------------- pooling, BN

TEST(Conv, AveragePoolCountIncludePadBothWays) {
  for (int include = 0; include <= 1; ++include) {
    SCOPED_TRACE("count_include_pad=" + std::to_string(include));
    Builder b;
    b.input("x", {1, 2, 5, 6});
    auto* n = b.node("AveragePool", {"x"}, {"y"}, "pool");
    attrInts(n, "kernel_shape", {3, 2});
    attrInts(n, "strides", {2, 2});
    attrInts(n, "pads", {1, 0, 1, 1});
    attrI(n, "count_include_pad", include);
    b.output("y");
    auto net = b.load();
    Image x{2, 5, 6, vals(60, 51)};
    const Image y = naiveAvgPool(x, 3, 2, 2, 2, 1, 0, 1, 1, include != 0);
    EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{2, y.H, y.W}));
    expectNear(net.forward(vec(x.v)), vec(y.v));
  }
  {  // SAME_UPPER: 5x5 input, k 2, s 2 -> out 3, total pad 1 at the end
    Builder b;
    b.input("x", {1, 1, 5, 5});
    auto* n = b.node("AveragePool", {"x"}, {"y"}, "pool");
    attrInts(n, "kernel_shape", {2, 2});
    attrInts(n, "strides", {2, 2});
    attrS(n, "auto_pad", "SAME_UPPER");
    b.output("y");
    auto net = b.load();
    Image x{1, 5, 5, vals(25, 52)};
    expectNear(net.forward(vec(x.v)), vec(naiveAvgPool(x, 2, 2, 2, 2, 0, 0, 1, 1, false).v));
  }
}

TEST(Conv, GlobalAveragePoolAndBatchNormAfterConv) {
  // Conv -> BatchNormalization -> Relu -> GlobalAveragePool -> Flatten.
  Builder b;
  b.input("x", {1, 2, 4, 4});
  ConvSpec s;
  s.C = 2; s.H = 4; s.W = 4; s.M = 3; s.kh = s.kw = 3; s.pt = s.pl = s.pb = s.pr = 1;
  const auto K = vals(3 * 2 * 9, 61), B = vals(3, 62);
  const std::vector<double> scale{0.5, -1.25, 2.0}, shift{0.25, 0.0, -0.5},
      mean{0.125, -0.5, 1.0}, var{1.0, 0.25, 4.0};
  b.init("K", {3, 2, 3, 3}, K);
  b.init("B", {3}, B);
  b.init("s", {3}, scale);
  b.init("sh", {3}, shift);
  b.init("m", {3}, mean);
  b.init("v", {3}, var);
  attrInts(b.node("Conv", {"x", "K", "B"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  attrF(b.node("BatchNormalization", {"c", "s", "sh", "m", "v"}, {"bn"}, "bn"), "epsilon", 0.001f);
  b.node("Relu", {"bn"}, {"r"});
  b.node("GlobalAveragePool", {"r"}, {"gap"}, "gap");
  b.node("Flatten", {"gap"}, {"y"});
  b.output("y");
  auto net = b.load();
  ASSERT_EQ(net.numLayers(), 3u);  // Dense(conv+bn), Relu, Dense(gap)
  EXPECT_EQ(net.layers()[0].name, "conv+bn");
  EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{3, 4, 4}));
  const double eps = static_cast<double>(0.001f);
  for (int t = 0; t < 3; ++t) {
    Image x{2, 4, 4, vals(32, 63 + t)};
    Image c = naiveConv(x, s, K, B);
    VectorXd expect(3);
    for (int64_t m = 0; m < 3; ++m) {
      double sum = 0;
      for (int64_t i = 0; i < 16; ++i) {
        double v = scale[m] * (c.v[m * 16 + i] - mean[m]) / std::sqrt(var[m] + eps) + shift[m];
        sum += std::max(v, 0.0);
      }
      expect[m] = sum / 16;
    }
    expectNear(net.forward(vec(x.v)), expect, 1e-9);
  }
}

// ---------------------------------------------------------------- errors

TEST(Conv, UnsupportedVariantsGiveClearErrors) {
  {  // 3-D max pooling
    Builder b;
    b.input("x", {1, 1, 4, 4, 4});
    attrInts(b.node("MaxPool", {"x"}, {"y"}, "pool3d"), "kernel_shape", {2, 2, 2});
    b.output("y");
    expectLoadError(b.bytes(), {"pool3d", "MaxPool", "only 2-D"});
  }
  {  // 3-D convolution
    Builder b;
    b.input("x", {1, 1, 3, 3, 3});
    b.init("K", {1, 1, 2, 2, 2}, vals(8, 71));
    b.node("Conv", {"x", "K"}, {"y"}, "conv3d");
    b.output("y");
    expectLoadError(b.bytes(), {"conv3d", "Conv", "only 2-D"});
  }
  {  // 1-D convolution
    Builder b;
    b.input("x", {1, 1, 8});
    b.init("K", {1, 1, 3}, vals(3, 72));
    b.node("Conv", {"x", "K"}, {"y"}, "conv1d");
    b.output("y");
    expectLoadError(b.bytes(), {"conv1d", "Conv", "only 2-D"});
  }
  {  // group does not divide the channels
    Builder b;
    b.input("x", {1, 3, 4, 4});
    b.init("K", {2, 1, 2, 2}, vals(8, 73));
    attrI(b.node("Conv", {"x", "K"}, {"y"}, "cg"), "group", 2);
    b.output("y");
    expectLoadError(b.bytes(), {"cg", "group 2"});
  }
  {  // weights do not match the input channels
    Builder b;
    b.input("x", {1, 3, 4, 4});
    b.init("K", {2, 2, 2, 2}, vals(16, 74));
    b.node("Conv", {"x", "K"}, {"y"}, "cw");
    b.output("y");
    expectLoadError(b.bytes(), {"cw", "do not match"});
  }
  {  // kernel larger than the image
    Builder b;
    b.input("x", {1, 1, 2, 2});
    b.init("K", {1, 1, 3, 3}, vals(9, 75));
    b.node("Conv", {"x", "K"}, {"y"}, "big");
    b.output("y");
    expectLoadError(b.bytes(), {"big", "larger than the padded input"});
  }
  {  // unknown auto_pad
    Builder b;
    b.input("x", {1, 1, 4, 4});
    b.init("K", {1, 1, 3, 3}, vals(9, 76));
    attrS(b.node("Conv", {"x", "K"}, {"y"}, "ap"), "auto_pad", "SOMETIMES");
    b.output("y");
    expectLoadError(b.bytes(), {"ap", "auto_pad 'SOMETIMES'", "SAME_LOWER"});
  }
  {  // AveragePool ceil_mode
    Builder b;
    b.input("x", {1, 1, 5, 5});
    auto* n = b.node("AveragePool", {"x"}, {"y"}, "ceilpool");
    attrInts(n, "kernel_shape", {2, 2});
    attrInts(n, "strides", {2, 2});
    attrI(n, "ceil_mode", 1);
    b.output("y");
    expectLoadError(b.bytes(), {"ceilpool", "AveragePool", "ceil_mode"});
  }
  {  // BatchNormalization in training mode
    Builder b;
    b.input("x", {1, 2, 2, 2});
    for (const char* p : {"s", "b", "m", "v"}) b.init(p, {2}, {1.0, 1.0});
    attrI(b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "bnt"), "training_mode", 1);
    b.output("y");
    expectLoadError(b.bytes(), {"bnt", "training_mode"});
  }
  {  // BatchNormalization with a wrong parameter size
    Builder b;
    b.input("x", {1, 2, 2, 2});
    b.init("s", {3}, {1.0, 1.0, 1.0});
    for (const char* p : {"b", "m", "v"}) b.init(p, {2}, {1.0, 1.0});
    b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "bns");
    b.output("y");
    expectLoadError(b.bytes(), {"bns", "scale", "one value per channel"});
  }
  {  // batch size 2
    Builder b;
    b.input("x", {2, 1, 4, 4});
    b.init("K", {1, 1, 3, 3}, vals(9, 77));
    b.node("Conv", {"x", "K"}, {"y"}, "batch2");
    b.output("y");
    expectLoadError(b.bytes(), {"batch2", "batch size 2"});
  }
}

TEST(Conv, ComposedConvolutionsAreSparseAndExact) {
  // Conv -> Conv with nothing between (ERAN convSmall's leading 1x1
  // normalisation conv), and a Conv after a per-pixel Mul: the first stays a
  // kernel, what is composed with it becomes the sparse Toeplitz product.
  ConvSpec s1;  // 2 -> 3 channels, 1x1
  s1.C = 2; s1.H = 6; s1.W = 5; s1.M = 3; s1.kh = 1; s1.kw = 1; s1.bias = true;
  ConvSpec s2;  // 3 -> 2 channels, 3x3 stride 2, padded
  s2.C = 3; s2.H = 6; s2.W = 5; s2.M = 2; s2.sh = s2.sw = 2; s2.pt = s2.pl = s2.pb = s2.pr = 1;
  s2.bias = true;
  const auto K1 = vals(3 * 2, 91), B1 = vals(3, 92), K2 = vals(2 * 3 * 9, 93), B2 = vals(2, 94);
  const auto S = vals(2 * 6 * 5, 95);
  for (const bool mul_first : {false, true}) {
    SCOPED_TRACE(mul_first ? "Mul -> Conv" : "Conv -> Conv");
    Builder b;
    b.input("x", {1, 2, 6, 5});
    b.init("K1", {3, 2, 1, 1}, K1);
    b.init("B1", {3}, B1);
    b.init("K2", {2, 3, 3, 3}, K2);
    b.init("B2", {2}, B2);
    b.init("S", {1, 2, 6, 5}, S);
    std::string x = "x";
    if (mul_first) {
      b.node("Mul", {"x", "S"}, {"xs"});
      x = "xs";
    }
    b.node("Conv", {x, "K1", "B1"}, {"c1"});
    auto* n = b.node("Conv", {"c1", "K2", "B2"}, {"y"});
    attrInts(n, "strides", {2, 2});
    attrInts(n, "pads", {1, 1, 1, 1});
    b.output("y");
    const nn::Network net = b.load();
    ASSERT_EQ(net.numLayers(), 1u);
    EXPECT_TRUE(net.layers()[0].dense().W.isSparse());
    for (int t = 0; t < 3; ++t) {
      Image in{2, 6, 5, vals(60, 300 + t)};
      Image x0 = in;
      if (mul_first)
        for (size_t i = 0; i < x0.v.size(); ++i) x0.v[i] *= S[i];
      const Image y = naiveConv(naiveConv(x0, s1, K1, B1), s2, K2, B2);
      expectNear(net.forward(vec(in.v)), vec(y.v));
    }
  }
}

TEST(Conv, LargeConvolutionLoadsInKernelForm) {
  // 64 channels of 3x3 'same' conv over a 1 x 100 x 100 image: 640000 x 10000
  // = 6.4e9 entries as a dense matrix (refused when convolutions were folded
  // densely), 5.7M stored taps as a sparse matrix, 576 kernel weights in the
  // kernel form (nn/conv2d.h).
  Builder b;
  b.input("x", {1, 1, 100, 100});
  const auto K = vals(64 * 9, 78);
  b.init("K", {64, 1, 3, 3}, K);
  attrInts(b.node("Conv", {"x", "K"}, {"y"}, "bigconv"), "pads", {1, 1, 1, 1});
  b.output("y");
  const nn::Network net = io::loadOnnxFromBytes(b.bytes(), kName);
  ASSERT_EQ(net.numLayers(), 1u);
  const auto& W = net.layers()[0].dense().W;
  ASSERT_TRUE(W.isConv());
  EXPECT_EQ(W.rows(), 640000);
  EXPECT_EQ(W.cols(), 10000);
  EXPECT_EQ(W.storedEntries(), 64 * 9);
  // Output (channel 5, row 50, col 60) of a ramp image, by hand.
  VectorXd x(10000);
  for (int i = 0; i < 10000; ++i) x[i] = 0.001 * (i % 97);
  const VectorXd y = net.forward(x);
  double want = 0.0;
  for (int a = 0; a < 3; ++a)
    for (int c = 0; c < 3; ++c) want += K[5 * 9 + a * 3 + c] * x[(49 + a) * 100 + 59 + c];
  EXPECT_NEAR(y[5 * 10000 + 50 * 100 + 60], want, 1e-9);
}

TEST(Conv, WideConvolutionLoadsInKernelFormUnlessComposed) {
  // 64 -> 256 channels of 3x3 'same' conv over 32 x 32: 262144 outputs of 576
  // taps each = 151M Toeplitz entries (over the 50M limit of a sparse map),
  // 147456 kernel weights.
  const auto K = vals(256 * 64 * 9, 79);
  {
    Builder b;
    b.input("x", {1, 64, 32, 32});
    b.init("K", {256, 64, 3, 3}, K);
    attrInts(b.node("Conv", {"x", "K"}, {"y"}, "hugeconv"), "pads", {1, 1, 1, 1});
    b.output("y");
    const nn::Network net = io::loadOnnxFromBytes(b.bytes(), kName);
    const auto& W = net.layers()[0].dense().W;
    ASSERT_TRUE(W.isConv());
    EXPECT_EQ(W.storedEntries(), 256 * 64 * 9);
    // Output (channel 200, row 0, col 31) of a ramp: the padding is skipped.
    VectorXd x(64 * 1024);
    for (int i = 0; i < x.size(); ++i) x[i] = 0.01 * (i % 89) - 0.3;
    const VectorXd y = net.forward(x);
    double want = 0.0;
    for (int c = 0; c < 64; ++c)
      for (int a = 0; a < 3; ++a)
        for (int d = 0; d < 3; ++d) {
          const int ih = a - 1, iw = 30 + d;
          if (ih < 0 || iw > 31) continue;
          want += K[((200 * 64 + c) * 3 + a) * 3 + d] * x[c * 1024 + ih * 32 + iw];
        }
    EXPECT_NEAR(y[200 * 1024 + 31], want, 1e-9);
  }
  {  // after a per-pixel scaling the map is a sparse Toeplitz one: refused
    Builder b;
    b.input("x", {1, 64, 32, 32});
    b.init("s", {1, 1, 32, 32}, vals(1024, 80));
    b.node("Mul", {"x", "s"}, {"xs"}, "perpixel");
    b.init("K", {256, 64, 3, 3}, K);
    attrInts(b.node("Conv", {"xs", "K"}, {"y"}, "hugeconv"), "pads", {1, 1, 1, 1});
    b.output("y");
    expectLoadError(b.bytes(), {"hugeconv", "limit of 50000000"});
  }
}

// ---------------------------------------------------------------- fixture

TEST(Conv, TutorialConvNetMatchesTorchReferenceLogits) {
  auto ref = nlohmann::json::parse(readFile(NNOPT_FIXTURES_DIR "/reference_logits.json"));
  const double mean = ref["mean"].get<double>(), stdv = ref["std"].get<double>();
  nn::Network net = io::loadOnnx(kConvFixture).withInputNormalization(mean, stdv);
  EXPECT_EQ(net.inputShape(), (nn::Shape{1, 28, 28}));
  // Conv(1,8,k5,s2) -> 8x12x12, Conv(8,4,k5,s2) -> 4x4x4, Linear(64,10).
  ASSERT_EQ(net.numLayers(), 5u);
  EXPECT_EQ(net.layers()[0].out_shape, (nn::Shape{8, 12, 12}));
  EXPECT_EQ(net.layers()[2].out_shape, (nn::Shape{4, 4, 4}));
  EXPECT_EQ(net.outputSize(), 10);
  int cases = 0;
  for (const auto& c : ref["cases"]) {
    if (c["model"].get<std::string>() != "models/mnist_convnet.onnx") continue;
    ++cases;
    const auto px = c["pixels"].get<std::vector<double>>();
    const auto logits = c["logits"].get<std::vector<double>>();
    const VectorXd y = net.forward(vec(px));
    expectNear(y, vec(logits), 1e-5);
    Eigen::Index arg;
    y.maxCoeff(&arg);
    EXPECT_EQ(arg, c["label"].get<int>());
  }
  EXPECT_EQ(cases, 5);
}

TEST(Conv, CrownBoundsOnConvNetContainSampledPoints) {
  nn::Network net = io::loadOnnx(kConvFixture).withInputNormalization(0.1307, 0.3081);
  const io::Image img = io::loadDatasetItem(NNOPT_FIXTURES_DIR "/digits.csv", 0);
  ASSERT_EQ(img.pixels.size(), 784);
  std::mt19937 rng(5);
  for (double eps : {0.01, 0.05}) {
    SCOPED_TRACE("eps " + std::to_string(eps));
    const spec::Box box = spec::linfBall(img.pixels, eps, 0.0, 1.0);
    const auto t = bounds::crownBounds(net, box);
    const auto ti = bounds::intervalBounds(net, box);
    ASSERT_EQ(t.lo.size(), net.numLayers());
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::bernoulli_distribution coin(0.5);
    double worst = 0.0;
    for (int k = 0; k < 400; ++k) {
      VectorXd x(784);
      for (int i = 0; i < 784; ++i) {
        double s = k % 2 == 0 ? (coin(rng) ? 1.0 : 0.0) : u(rng);  // corners and interior
        x[i] = box.lo[i] + s * (box.hi[i] - box.lo[i]);
      }
      const auto outs = net.forwardAll(x);
      for (size_t l = 0; l < outs.size(); ++l) {
        worst = std::max(worst, (t.lo[l] - outs[l]).maxCoeff());
        worst = std::max(worst, (outs[l] - t.hi[l]).maxCoeff());
      }
    }
    EXPECT_LE(worst, 1e-9);
    // CROWN is never looser than interval arithmetic on the output.
    EXPECT_LE((t.hi.back() - t.lo.back()).sum(), (ti.hi.back() - ti.lo.back()).sum() + 1e-9);
  }
}
