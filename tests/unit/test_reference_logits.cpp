// The C++ forward pass against torch: every committed fixture network
// (scripts/train_fixtures.py wrote reference logits computed by torch for a
// few real MNIST digits) must reproduce torch's logits to 1e-5.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "io/onnx.h"
#include "nn/network.h"

namespace {

using nnopt::nn::Network;

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kRepo = NNOPT_FIXTURES_DIR "/../..";

TEST(ReferenceLogits, EveryFixtureNetworkMatchesTorch) {
  const auto ref = nlohmann::json::parse(readText(NNOPT_FIXTURES_DIR "/reference_logits.json"));
  const double mean = ref.at("mean").get<double>(), stdv = ref.at("std").get<double>();
  std::set<std::string> models;
  int cases = 0;
  double worst = 0.0;
  for (const auto& c : ref.at("cases")) {
    const std::string model = c.at("model").get<std::string>();
    SCOPED_TRACE(model);
    models.insert(model);
    const Network net = nnopt::io::loadOnnx(kRepo + "/" + model).withInputNormalization(mean, stdv);
    const auto px = c.at("pixels").get<std::vector<double>>();
    const auto logits = c.at("logits").get<std::vector<double>>();
    ASSERT_EQ(static_cast<int64_t>(px.size()), net.inputSize());
    ASSERT_EQ(static_cast<int64_t>(logits.size()), net.outputSize());
    const Eigen::VectorXd y = net.forward(Eigen::Map<const Eigen::VectorXd>(px.data(), px.size()));
    for (size_t k = 0; k < logits.size(); ++k) {
      EXPECT_NEAR(y[k], logits[k], 1e-5) << "logit " << k;
      worst = std::max(worst, std::abs(y[k] - logits[k]));
    }
    ++cases;
  }
  // The file covers every bundled MLP form (1x10, 1x20, 2x20, 3x10, tanh),
  // the ConvNet and sweep networks up to 5x60: a shrunken file must fail.
  EXPECT_GE(models.size(), 9u);
  EXPECT_GE(cases, 40);
  RecordProperty("worst_abs_error", std::to_string(worst));
}

}  // namespace
