// The attack panel PNG: written, decodes, has the documented size; softmax.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "io/images.h"
#include "report/panel.h"

using namespace nnopt;

namespace {

report::AttackPanel makePanel(int channels, int rows, int cols) {
  report::AttackPanel p;
  const int n = channels * rows * cols;
  p.original = Eigen::VectorXd::LinSpaced(n, 0.0, 1.0);
  p.adversarial = p.original;
  p.adversarial[0] += 0.3;   // positive change (red)
  p.adversarial[n - 1] -= 0.5;  // negative change (blue)
  p.channels = channels;
  p.rows = rows;
  p.cols = cols;
  p.logits_original = Eigen::VectorXd::LinSpaced(10, 0.0, 9.0);
  p.logits_adversarial = Eigen::VectorXd::LinSpaced(10, 9.0, 0.0);
  p.title = "test panel";
  p.subtitle = "subtitle";
  return p;
}

std::string tempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("nnopt_test_panel_" + name)).string();
}

// Writes the panel, decodes it and checks the documented size.
io::Image writeAndDecode(const report::AttackPanel& p, const std::string& f) {
  report::writeAttackPanel(p, f);
  io::Image img = io::loadImage(f, false);
  const auto size = report::attackPanelSize(p.rows, p.cols, p.channels);
  EXPECT_EQ(img.rows, size.height);
  EXPECT_EQ(img.cols, size.width);
  std::remove(f.c_str());
  return img;
}

}  // namespace

TEST(Panel, SoftmaxSumsToOneAndSurvivesLargeLogits) {
  Eigen::VectorXd l(3);
  l << 1000.0, 999.0, -5.0;
  Eigen::VectorXd p = report::softmax(l);
  EXPECT_NEAR(p.sum(), 1.0, 1e-12);
  EXPECT_NEAR(p[0] / p[1], std::exp(1.0), 1e-9);
  EXPECT_TRUE(p.allFinite());
}

TEST(Panel, GrayPanelWritesDecodablePngOfDocumentedSize) {
  io::Image img = writeAndDecode(makePanel(1, 28, 28), tempPath("gray.png"));
  EXPECT_EQ(img.channels, 3);  // colour (the perturbation map)
  // The perturbation tile holds red and blue pixels, not only grays.
  bool red = false, blue = false;
  const long plane = static_cast<long>(img.rows) * img.cols;
  for (long k = 0; k < plane; ++k) {
    double r = img.pixels[k], g = img.pixels[plane + k], b = img.pixels[2 * plane + k];
    red |= r > 0.9 && g < 0.3 && b < 0.3;
    blue |= b > 0.9 && r < 0.3 && g < 0.3;
  }
  EXPECT_TRUE(red);
  EXPECT_TRUE(blue);
}

TEST(Panel, RgbAndNonSquareImages) {
  writeAndDecode(makePanel(3, 8, 12), tempPath("rgb.png"));
}

TEST(Panel, RejectsSizeMismatchAndUnwritablePath) {
  auto p = makePanel(1, 4, 4);
  p.adversarial.resize(15);
  EXPECT_THROW(report::writeAttackPanel(p, tempPath("bad.png")), Error);
  EXPECT_THROW(report::writeAttackPanel(makePanel(1, 4, 4), "/nonexistent-dir/x.png"), Error);
}
