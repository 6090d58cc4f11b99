// Colour inputs (issue 15, point 3): RGB / RGBA / palette / 16-bit PNGs decode to
// C x H x W in [0,1]; CIFAR-10 binary batches and colour CSV rows read back;
// per-channel --mean/--std give the logits of normalising by hand (and torch's,
// tests/fixtures/color_reference.json); bad counts and broken files fail with one
// line; the RGB attack panel is drawn in colour with one perturbation tile per channel.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/images.h"
#include "io/normalization.h"
#include "io/onnx.h"
#include "report/panel.h"
#include "temp_dir.h"

using namespace nnopt;
using nnopt::test::TempDir;

namespace {

const std::string kRepo = NNOPT_FIXTURES_DIR "/../..";
const std::string kColorNet = kRepo + "/models/color_cnn_3x8x8.onnx";
const std::string kMnistNet = kRepo + "/models/mnist_mlp_1x10.onnx";

// ---- a minimal PNG encoder (no libpng): signature, IHDR, [PLTE], IDAT, IEND

void put32(std::string& s, std::uint32_t v) {
  for (int k = 3; k >= 0; --k) s += static_cast<char>((v >> (8 * k)) & 0xff);
}

std::string chunk(const std::string& kind, const std::string& data) {
  std::string c;
  put32(c, static_cast<std::uint32_t>(data.size()));
  const std::string body = kind + data;
  c += body;
  put32(c, static_cast<std::uint32_t>(
               crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
  return c;
}

// rows: the raw scanline bytes of each row (without the filter byte).
std::string makePng(int w, int h, int depth, int colorType, const std::vector<std::string>& rows,
                    const std::string& plte = "") {
  std::string ihdr;
  put32(ihdr, static_cast<std::uint32_t>(w));
  put32(ihdr, static_cast<std::uint32_t>(h));
  ihdr += static_cast<char>(depth);
  ihdr += static_cast<char>(colorType);
  ihdr += std::string(3, '\0');  // deflate, adaptive filter, no interlace
  std::string raw;
  for (const auto& r : rows) raw += '\0' + r;  // filter type 0 (None)
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  std::string z(n, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()),
           static_cast<uLong>(raw.size()));
  z.resize(n);
  std::string png = "\x89PNG\r\n\x1a\n";
  png += chunk("IHDR", ihdr);
  if (!plte.empty()) png += chunk("PLTE", plte);
  png += chunk("IDAT", z) + chunk("IEND", "");
  return png;
}

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += static_cast<char>(b);
  return s;
}

void writeFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The 2x2 test image: (row, col) -> RGB bytes.
//   (0,0) red 255,0,0    (0,1) 10,20,30
//   (1,0) 0,128,255      (1,1) white 255,255,255
const std::vector<std::string> kRgbRows = {bytes({255, 0, 0, 10, 20, 30}),
                                           bytes({0, 128, 255, 255, 255, 255})};
// Channel-major expected values: the R plane (row-major), then G, then B.
const std::vector<int> kChw = {255, 10, 0, 255, 0, 20, 128, 255, 0, 30, 255, 255};

void expectChw(const io::Image& img, const std::vector<double>& expect) {
  ASSERT_EQ(img.channels, 3);
  ASSERT_EQ(img.rows, 2);
  ASSERT_EQ(img.cols, 2);
  ASSERT_EQ(img.pixels.size(), static_cast<Eigen::Index>(expect.size()));
  for (size_t k = 0; k < expect.size(); ++k)
    EXPECT_EQ(img.pixels[static_cast<Eigen::Index>(k)], expect[k]) << "value " << k;
}

std::vector<double> over255(const std::vector<int>& v) {
  std::vector<double> out;
  for (int b : v) out.push_back(b / 255.0);
  return out;
}

nlohmann::json readJson(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

}  // namespace

// ------------------------------------------------------------------ PNG

TEST(ColorPng, Rgb2x2DecodesToExactChw) {
  TempDir d;
  writeFile(d / "rgb.png", makePng(2, 2, 8, 2, kRgbRows));
  expectChw(io::loadImage(d / "rgb.png", false), over255(kChw));
  // The gray reading mixes by luminance, as before.
  io::Image g = io::loadImage(d / "rgb.png", true);
  ASSERT_EQ(g.channels, 1);
  EXPECT_DOUBLE_EQ(g.pixels[0], 0.299);
  EXPECT_DOUBLE_EQ(g.pixels[3], 1.0);
}

TEST(ColorPng, RgbaDropsAlphaAndPaletteExpands) {
  TempDir d;
  // RGBA: the same colours with arbitrary alpha bytes.
  writeFile(d / "rgba.png", makePng(2, 2, 8, 6, {bytes({255, 0, 0, 7, 10, 20, 30, 0}),
                                                  bytes({0, 128, 255, 255, 255, 255, 255, 99})}));
  expectChw(io::loadImage(d / "rgba.png", false), over255(kChw));
  // Palette (8-bit indices into 4 entries, listed in a different order).
  const std::string plte = bytes({255, 255, 255, 0, 128, 255, 10, 20, 30, 255, 0, 0});
  writeFile(d / "pal.png", makePng(2, 2, 8, 3, {bytes({3, 2}), bytes({1, 0})}, plte));
  expectChw(io::loadImage(d / "pal.png", false), over255(kChw));
}

TEST(ColorPng, SixteenBitScalesBy65535) {
  TempDir d;
  // 16-bit big-endian samples: (0,0) = 65535,0,1 ; (0,1) = 256,512,1024; row 1 all 32768.
  std::vector<std::string> rows = {
      bytes({255, 255, 0, 0, 0, 1, 1, 0, 2, 0, 4, 0}),
      bytes({128, 0, 128, 0, 128, 0, 128, 0, 128, 0, 128, 0})};
  writeFile(d / "rgb16.png", makePng(2, 2, 16, 2, rows));
  const double h = 32768 / 65535.0;
  expectChw(io::loadImage(d / "rgb16.png", false),
            {1.0, 256 / 65535.0, h, h, 0.0, 512 / 65535.0, h, h, 1 / 65535.0, 1024 / 65535.0, h, h});
}

TEST(ColorPng, LoadImageForFollowsTheNetworkInput) {
  TempDir d;
  writeFile(d / "rgb.png", makePng(2, 2, 8, 2, kRgbRows));
  writeFile(d / "gray.png", makePng(2, 2, 8, 0, {bytes({0, 64}), bytes({128, 255})}));
  expectChw(io::loadImageFor(d / "rgb.png", {3, 2, 2}), over255(kChw));
  expectChw(io::loadImageFor(d / "rgb.png", {12}), over255(kChw));  // flat 3*2*2 input
  io::Image g = io::loadImageFor(d / "rgb.png", {1, 2, 2});
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, io::loadImage(d / "rgb.png", true).pixels);  // bit-identical to --image before
  EXPECT_EQ(io::loadImageFor(d / "gray.png", {1, 2, 2}).pixels,
            io::loadImage(d / "gray.png").pixels);
  const std::string m = message([&] { io::loadImageFor(d / "gray.png", {3, 2, 2}); });
  EXPECT_NE(m.find("gray image (1 channel, 2x2)"), std::string::npos) << m;
  EXPECT_NE(m.find("3 channels (input 3x2x2)"), std::string::npos) << m;
}

TEST(ColorPng, TruncatedOrCorruptColourPngIsAClearError) {
  TempDir d;
  const std::string good = makePng(2, 2, 8, 2, kRgbRows);
  for (size_t cut : {good.size() - 12, good.size() / 2, size_t(30)}) {
    writeFile(d / "cut.png", good.substr(0, cut));
    const std::string m = message([&] { io::loadImage(d / "cut.png", false); });
    EXPECT_EQ(m.rfind(d / "cut.png" + ": ", 0), 0u) << m;
    EXPECT_NE(m.find("PNG"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  std::string bad = good;
  bad[good.find("IDAT") + 6] ^= 0x55;  // damage the deflate stream
  writeFile(d / "bad.png", bad);
  EXPECT_NE(message([&] { io::loadImage(d / "bad.png", false); }).find("corrupt or truncated PNG"),
            std::string::npos);
  // A palette index beyond the palette: an error or a decoded image, never a crash.
  writeFile(d / "pal.png", makePng(2, 2, 8, 3, {bytes({0, 9}), bytes({0, 0})}, bytes({1, 2, 3})));
  try {
    EXPECT_EQ(io::loadImage(d / "pal.png", false).pixels.size(), 12);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

// ------------------------------------------------------------------ CIFAR-10 binary

namespace {

// Record k: label labels[k]; pixel i of the 3x32x32 plane bytes = (i * 7 + k) % 256.
std::string cifarBytes(const std::vector<int>& labels) {
  std::string s;
  for (size_t k = 0; k < labels.size(); ++k) {
    s += static_cast<char>(labels[k]);
    for (int i = 0; i < 3072; ++i) s += static_cast<char>((i * 7 + static_cast<int>(k)) % 256);
  }
  return s;
}

}  // namespace

TEST(Cifar, BinaryBatchReadsLabelsAndPlanes) {
  TempDir d;
  writeFile(d / "test_batch.bin", cifarBytes({3, 7, 0}));
  EXPECT_EQ(io::datasetSize(d / "test_batch.bin"), 3);
  for (long k = 0; k < 3; ++k) {
    io::Image img = io::loadDatasetItem(d / "test_batch.bin", k);
    EXPECT_EQ(img.label, std::vector<int>({3, 7, 0})[k]);
    ASSERT_EQ(img.channels, 3);
    ASSERT_EQ(img.rows, 32);
    ASSERT_EQ(img.cols, 32);
    ASSERT_EQ(img.pixels.size(), 3072);
    for (int i : {0, 1, 1023, 1024, 2048, 3071})  // first / last of each plane
      EXPECT_EQ(img.pixels[i], ((i * 7 + k) % 256) / 255.0) << "record " << k << " pixel " << i;
  }
  // Gzipped (data_batch_1.bin.gz) reads the same.
  gzFile gz = gzopen((d / "data_batch_1.bin.gz").c_str(), "wb");
  const std::string raw = cifarBytes({5, 9});
  gzwrite(gz, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(gz);
  EXPECT_EQ(io::datasetSize(d / "data_batch_1.bin.gz"), 2);
  io::Image img = io::loadDatasetItem(d / "data_batch_1.bin.gz", 1);
  EXPECT_EQ(img.label, 9);
  EXPECT_EQ(img.pixels[2048], ((2048 * 7 + 1) % 256) / 255.0);
}

TEST(Cifar, TruncatedEmptyAndWrongFilesAreClearErrors) {
  TempDir d;
  writeFile(d / "cut.bin", cifarBytes({1, 2}).substr(0, 3073 + 1000));
  std::string m = message([&] { io::datasetSize(d / "cut.bin"); });
  EXPECT_EQ(m.rfind(d / "cut.bin" + ": truncated or not a CIFAR-10 binary file", 0), 0u) << m;
  EXPECT_NE(m.find("1 whole records and 1000 bytes left over"), std::string::npos) << m;
  EXPECT_THROW(io::loadDatasetItem(d / "cut.bin", 0), Error);
  writeFile(d / "empty.bin", "");
  EXPECT_NE(message([&] { io::datasetSize(d / "empty.bin"); }).find("file is empty"),
            std::string::npos);
  writeFile(d / "labels.bin", cifarBytes({4, 12}));
  EXPECT_EQ(io::loadDatasetItem(d / "labels.bin", 0).label, 4);
  m = message([&] { io::loadDatasetItem(d / "labels.bin", 1); });
  EXPECT_NE(m.find("record 1: label byte 12 is not a CIFAR-10 class 0-9"), std::string::npos) << m;
  m = message([&] { io::loadDatasetItem(d / "labels.bin", 2); });
  EXPECT_NE(m.find("index 2 out of range"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

// ------------------------------------------------------------------ colour CSV

TEST(ColorCsv, RowsOfThreeSquaresAreChannelMajorColour) {
  TempDir d;
  // label, then the R plane, G plane, B plane of a 2x2 image.
  writeFile(d / "c.csv", "label,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9,p10,p11\n"
                         "6,255,10,0,255,0,20,128,255,0,30,255,255\n"
                         "2,0,0,0,0,0,0,0,0,51,51,51,51\n");
  EXPECT_EQ(io::datasetSize(d / "c.csv"), 2);
  io::Image img = io::loadDatasetItem(d / "c.csv", 0);
  EXPECT_EQ(img.label, 6);
  expectChw(img, over255(kChw));
  EXPECT_EQ(io::loadDatasetItem(d / "c.csv", 1).pixels[8], 0.2);
  writeFile(d / "odd.csv", "1,1,2,3,4,5,6,7,8,9,10,11,12,13\n");
  const std::string m = message([&] { io::datasetSize(d / "odd.csv"); });
  EXPECT_NE(m.find("13 pixel values after the label"), std::string::npos) << m;
  EXPECT_NE(m.find("3072 (3x32x32, colour)"), std::string::npos) << m;
}

// ------------------------------------------------------------------ per-channel mean/std

TEST(Normalization, PerChannelValuesExpandChannelMajor) {
  Eigen::VectorXd e = io::expandPerChannel({1, 2, 3}, {3, 2, 2}, "--mean");
  Eigen::VectorXd want(12);
  want << 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3;
  EXPECT_EQ(e, want);
  EXPECT_EQ(io::expandPerChannel({0.5}, {3, 2, 2}, "--mean"), Eigen::VectorXd::Constant(12, 0.5));
}

TEST(Normalization, PerChannelMeanStdGivesTheLogitsOfNormalisingByHand) {
  const nn::Network raw = io::loadOnnx(kColorNet);
  ASSERT_EQ(raw.inputShape(), nn::Shape({3, 8, 8}));
  const std::vector<double> mean = {0.4914, 0.4822, 0.4465}, stdv = {0.2470, 0.2435, 0.2616};
  const nn::Network net = io::withNormalization(raw, mean, stdv);
  const auto ref = readJson(NNOPT_FIXTURES_DIR "/color_reference.json");
  for (const auto& c : ref["cases"]) {
    const auto px = c["pixels"].get<std::vector<double>>();
    Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(px.data(), 192);
    Eigen::VectorXd byHand(192);
    for (int k = 0; k < 192; ++k) byHand[k] = (x[k] - mean[k / 64]) / stdv[k / 64];
    const Eigen::VectorXd a = net.forward(x), b = raw.forward(byHand);
    for (Eigen::Index j = 0; j < a.size(); ++j) EXPECT_NEAR(a[j], b[j], 1e-9);
    // The fixture's own statistics reproduce torch's float64 logits.
    const nn::Network fixture = io::withNormalization(
        raw, ref["mean"].get<std::vector<double>>(), ref["std"].get<std::vector<double>>());
    const auto want = c["logits"].get<std::vector<double>>();
    const Eigen::VectorXd got = fixture.forward(x);
    for (size_t j = 0; j < want.size(); ++j) EXPECT_NEAR(got[j], want[j], 1e-9);
    int best = 0;
    got.maxCoeff(&best);
    EXPECT_EQ(best, c["label"].get<int>());
  }
  // One value still means every input (the MNIST path), bit for bit.
  const nn::Network mnist = io::loadOnnx(kMnistNet);
  Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(784, 0.0, 1.0);
  EXPECT_EQ(io::withNormalization(mnist, {0.1307}, {0.3081}).forward(x),
            mnist.withInputNormalization(0.1307, 0.3081).forward(x));
  EXPECT_EQ(io::withNormalization(mnist, {}, {}).forward(x), mnist.forward(x));
}

TEST(Normalization, WrongCountsAndValuesAreOneLineErrors) {
  const nn::Network net = io::loadOnnx(kColorNet);
  std::string m = message([&] { io::withNormalization(net, {0.1, 0.2}, {0.3, 0.3, 0.3}); });
  EXPECT_EQ(m, "--mean has 2 values but the network input is 3x8x8: give 1 value (all inputs) "
               "or 3 (one per channel of the C x H x W input)");
  m = message([&] { io::withNormalization(net, {0.1, 0.2, 0.3}, {0.3, 0.3, 0.3, 0.3}); });
  EXPECT_NE(m.find("--std has 4 values but the network input is 3x8x8"), std::string::npos) << m;
  const nn::Network mnist = io::loadOnnx(kMnistNet);
  m = message([&] { io::withNormalization(mnist, {0.1, 0.2, 0.3}, {0.3}); });
  EXPECT_NE(m.find("--mean has 3 values but the network input is 1x28x28"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_EQ(message([&] { io::withNormalization(net, {0.1, 0.2, 0.3}, {}); }),
            "--mean and --std must be given together");
  EXPECT_EQ(message([&] { io::withNormalization(net, {0.1, 0.2, 0.3}, {0.3, 0.0, 0.3}); }),
            "--std must be > 0");
}

// ------------------------------------------------------------------ colour panel

TEST(ColorPanel, RgbPanelIsColourWithOnePerturbationTilePerChannel) {
  TempDir d;
  report::AttackPanel p;
  p.channels = 3;
  p.rows = p.cols = 8;
  p.original = Eigen::VectorXd::Constant(192, 0.5);
  p.adversarial = p.original;
  p.adversarial[0] += 0.2;    // R up at pixel (0,0)
  p.adversarial[64] -= 0.2;   // G down at the same pixel: the channel mean would be 0
  p.logits_original = Eigen::VectorXd::LinSpaced(4, 0.0, 3.0);
  p.logits_adversarial = Eigen::VectorXd::LinSpaced(4, 3.0, 0.0);
  report::writeAttackPanel(p, d / "rgb.png");
  const io::Image img = io::loadImage(d / "rgb.png", false);
  const auto size = report::attackPanelSize(8, 8, 3);
  EXPECT_EQ(img.cols, size.width);
  EXPECT_EQ(img.rows, size.height);
  EXPECT_GT(size.width, report::attackPanelSize(8, 8, 1).width);  // two more tiles
  const long plane = static_cast<long>(img.rows) * img.cols;
  const int barStart = img.cols - 90;  // the colour bar and its labels: gap 14, bar 14, text 62
  long red = 0, blue = 0, colour = 0;
  for (long k = 0; k < plane; ++k) {
    const double r = img.pixels[k], g = img.pixels[plane + k], b = img.pixels[2 * plane + k];
    if (k % img.cols >= barStart) continue;
    red += r > 0.9 && g < 0.3 && b < 0.3;
    blue += b > 0.9 && r < 0.3 && g < 0.3;
    colour += std::abs(r - 0.7) < 0.01 && std::abs(g - 0.3) < 0.01 && std::abs(b - 0.5) < 0.01;
  }
  const long block = 28L * 28;  // one input pixel drawn at scale 224 / 8
  EXPECT_EQ(red, block);        // the R tile
  EXPECT_EQ(blue, block);       // the G tile
  EXPECT_EQ(colour, block);     // the adversarial pixel (0.7, 0.3, 0.5) in colour
}
