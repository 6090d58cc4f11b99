#include <gtest/gtest.h>

#include "bounds/bound_table.h"
#include "core/error.h"
#include "nn/network.h"

using namespace nnopt;

namespace {
// 2 -> Dense(2) -> Relu -> Dense(1), hand-written weights.
nn::Network tinyNet() {
  nn::Dense d1;
  d1.W = (Eigen::MatrixXd(2, 2) << 1, -1, 2, 1).finished();
  d1.b.resize(2);
  d1.b << 0, -1;
  nn::Dense d2;
  d2.W = (Eigen::MatrixXd(1, 2) << 1, -2).finished();
  d2.b.resize(1);
  d2.b << 0.5;
  std::vector<nn::Layer> layers;
  layers.push_back({"fc1", d1, {2}});
  layers.push_back({"relu", nn::Activation{}, {2}});
  layers.push_back({"fc2", d2, {1}});
  return nn::Network({2}, layers);
}
}  // namespace

TEST(Network, ForwardHandComputed) {
  auto net = tinyNet();
  Eigen::VectorXd x(2);
  x << 1.0, 0.5;
  // h = [0.5, 1.5] -> relu same -> 0.5 - 3 + 0.5 = -2
  EXPECT_NEAR(net.forward(x)[0], -2.0, 1e-12);
  x << -1.0, 0.0;
  // h = [-1, -3] -> relu 0 -> 0.5
  EXPECT_NEAR(net.forward(x)[0], 0.5, 1e-12);
}

TEST(Network, NormalizationFoldsIntoFirstLayer) {
  auto net = tinyNet();
  auto nnet = net.withInputNormalization(0.25, 0.5);
  Eigen::VectorXd x(2);
  x << 0.75, 0.0;
  Eigen::VectorXd xn = (x.array() - 0.25) / 0.5;
  EXPECT_NEAR(nnet.forward(x)[0], net.forward(xn)[0], 1e-12);
  EXPECT_EQ(nnet.numLayers(), net.numLayers());
}

TEST(Network, SizeMismatchThrows) {
  auto net = tinyNet();
  EXPECT_THROW(net.forward(Eigen::VectorXd::Zero(3)), Error);
}

TEST(Network, ValidateRejectsNaN) {
  auto net = tinyNet();
  auto layers = net.layers();
  std::get<nn::Dense>(layers[0].op).W(0, 0) = std::nan("");
  nn::Network bad({2}, layers);
  EXPECT_THROW(bad.validate("bad.onnx"), Error);
}

TEST(Network, AbsurdMagnitudesWarnOrFail) {
  auto net = tinyNet();
  EXPECT_EQ(net.magnitudeWarning(), "");
  auto layers = net.layers();
  std::get<nn::Dense>(layers[2].op).b(0) = -3.2e14;  // a byte-mutated bias
  nn::Network large({2}, layers);
  EXPECT_NO_THROW(large.validate("large.onnx"));
  const std::string w = large.magnitudeWarning();
  EXPECT_NE(w.find("layer 2 (fc2)"), std::string::npos) << w;
  EXPECT_NE(w.find("3.2e+14"), std::string::npos) << w;
  std::get<nn::Dense>(layers[0].op).W(1, 0) = 1e21;
  nn::Network absurd({2}, layers);
  try {
    absurd.validate("absurd.onnx");
    ADD_FAILURE() << "a weight of 1e21 must be refused";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("absurd.onnx: layer 0 (fc1)"), std::string::npos) << m;
    EXPECT_NE(m.find("1e+21"), std::string::npos) << m;
  }
}

TEST(Bounds, IntervalContainsSampledForwardPasses) {
  auto net = tinyNet();
  spec::Box box{Eigen::Vector2d(-1, -0.5), Eigen::Vector2d(1, 2)};
  auto t = bounds::intervalBounds(net, box);
  std::srand(7);
  for (int k = 0; k < 1000; ++k) {
    Eigen::VectorXd x = box.lo + (box.hi - box.lo).cwiseProduct(
                                     (Eigen::VectorXd::Random(2).array() + 1.0).matrix() / 2.0);
    auto outs = net.forwardAll(x);
    for (size_t i = 0; i < outs.size(); ++i)
      for (Eigen::Index j = 0; j < outs[i].size(); ++j) {
        EXPECT_GE(outs[i][j], t.lo[i][j] - 1e-12);
        EXPECT_LE(outs[i][j], t.hi[i][j] + 1e-12);
      }
  }
}
