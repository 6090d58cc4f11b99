// Tests for io/images: every file is made by the test in its own temp dir.
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/images.h"

using namespace nnopt;
namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

namespace {

class ImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("nnopt_test_images_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

void writeBytes(const std::string& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  ASSERT_TRUE(f.good()) << p;
}
void writeText(const std::string& p, const std::string& s) {
  writeBytes(p, Bytes(s.begin(), s.end()));
}
void writeGz(const std::string& p, const Bytes& b) {
  gzFile g = gzopen(p.c_str(), "wb");
  ASSERT_NE(g, nullptr) << p;
  if (!b.empty()) {
    ASSERT_EQ(gzwrite(g, b.data(), static_cast<unsigned>(b.size())), int(b.size()));
  }
  ASSERT_EQ(gzclose(g), Z_OK);
}
Bytes readBytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

void put32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

unsigned char pix(long i, int k) { return static_cast<unsigned char>((i * 37 + k * 11) % 256); }

// IDX images file with n images of rows x cols; pixel k of image i is pix(i,k).
Bytes idxImages(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, long dataImages = -1) {
  Bytes b;
  put32(b, 0x00000803);
  put32(b, n);
  put32(b, rows);
  put32(b, cols);
  long m = dataImages < 0 ? long(n) : dataImages;
  for (long i = 0; i < m; ++i)
    for (std::uint32_t k = 0; k < rows * cols; ++k) b.push_back(pix(i, int(k)));
  return b;
}
Bytes idxLabels(const std::vector<int>& labels) {
  Bytes b;
  put32(b, 0x00000801);
  put32(b, static_cast<std::uint32_t>(labels.size()));
  for (int l : labels) b.push_back(static_cast<unsigned char>(l));
  return b;
}

// Expects f() to throw an Error with a one-line message that starts with the
// path and contains every fragment.
void expectError(const std::function<void()>& f, const std::string& path,
                 const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "no error for " << path << "; expected '" << fragments.front() << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& fr : fragments)
      EXPECT_NE(msg.find(fr), std::string::npos) << msg << "\n  lacks: " << fr;
  }
}

void expectIdxItem(const io::Image& img, long i, int rows, int cols, int label) {
  ASSERT_EQ(img.rows, rows);
  ASSERT_EQ(img.cols, cols);
  ASSERT_EQ(img.channels, 1);
  ASSERT_EQ(img.pixels.size(), rows * cols);
  EXPECT_EQ(img.label, label);
  for (int k = 0; k < rows * cols; ++k) EXPECT_EQ(img.pixels[k], pix(i, k) / 255.0) << k;
}

std::string csvLine(int label, const std::vector<int>& px, const std::string& eol = "\n");

// ---------------------------------------------------------------- IDX

TEST_F(ImagesTest, IdxPlainWithLabels) {
  const std::string img = path("t10k-images-idx3-ubyte");
  writeBytes(img, idxImages(3, 4, 5));
  writeBytes(path("t10k-labels-idx1-ubyte"), idxLabels({7, 2, 9}));
  EXPECT_EQ(io::datasetSize(img), 3);
  expectIdxItem(io::loadDatasetItem(img, 0), 0, 4, 5, 7);
  expectIdxItem(io::loadDatasetItem(img, 2), 2, 4, 5, 9);
  expectIdxItem(io::loadDatasetItem(img, 1), 1, 4, 5, 2);
}

TEST_F(ImagesTest, IdxGzippedWithGzippedLabels) {
  const std::string img = path("t10k-images-idx3-ubyte.gz");
  writeGz(img, idxImages(4, 28, 28));
  writeGz(path("t10k-labels-idx1-ubyte.gz"), idxLabels({1, 0, 4, 3}));
  EXPECT_EQ(io::datasetSize(img), 4);
  for (long i : {3L, 0L, 2L, 1L}) {
    static const int labels[] = {1, 0, 4, 3};
    expectIdxItem(io::loadDatasetItem(img, i), i, 28, 28, labels[i]);
  }
}

TEST_F(ImagesTest, IdxGzippedImagesPlainLabels) {
  const std::string img = path("train-images-idx3-ubyte.gz");
  writeGz(img, idxImages(2, 3, 3));
  writeBytes(path("train-labels-idx1-ubyte"), idxLabels({5, 6}));
  expectIdxItem(io::loadDatasetItem(img, 1), 1, 3, 3, 6);
}

TEST_F(ImagesTest, IdxGzipDetectedByContentNotName) {
  // gzipped without .gz, plain with .gz
  const std::string a = path("a-images-idx3-ubyte"), b = path("b.gz");
  writeGz(a, idxImages(2, 2, 2));
  writeBytes(b, idxImages(2, 2, 2));
  expectIdxItem(io::loadDatasetItem(a, 1), 1, 2, 2, -1);
  expectIdxItem(io::loadDatasetItem(b, 1), 1, 2, 2, -1);
}

TEST_F(ImagesTest, IdxAnyNameWithoutLabels) {
  const std::string img = path("digits.bin");
  writeBytes(img, idxImages(5, 2, 3));
  EXPECT_EQ(io::datasetSize(img), 5);
  expectIdxItem(io::loadDatasetItem(img, 4), 4, 2, 3, -1);
}

TEST_F(ImagesTest, IdxTruncated) {
  const std::string img = path("t-images-idx3-ubyte");
  Bytes b = idxImages(10, 4, 4);
  b.resize(b.size() - 8);
  writeBytes(img, b);
  expectError([&] { io::datasetSize(img); }, img, {"truncated", "10 images of 4x4"});
  expectError([&] { io::loadDatasetItem(img, 0); }, img, {"truncated"});
  // Header only.
  const std::string hdr = path("h-images-idx3-ubyte");
  writeBytes(hdr, idxImages(10000, 28, 28, 0));
  expectError([&] { io::loadDatasetItem(hdr, 0); }, hdr, {"truncated", "10000 images"});
  // Header itself cut short.
  const std::string shortHdr = path("s-images-idx3-ubyte");
  writeBytes(shortHdr, Bytes{0, 0, 8, 3, 0, 0, 0, 1, 0, 0});
  expectError([&] { io::loadDatasetItem(shortHdr, 0); }, shortHdr, {"truncated IDX header"});
}

TEST_F(ImagesTest, IdxGzippedTruncated) {
  const std::string img = path("t-images-idx3-ubyte.gz");
  writeGz(img, idxImages(10, 4, 4, 7));
  expectError([&] { io::datasetSize(img); }, img, {"truncated"});
  // A gzip stream cut in the middle.
  const std::string cut = path("cut-images-idx3-ubyte.gz");
  const std::string full = path("full.gz");
  writeGz(full, idxImages(50, 28, 28));
  Bytes z = readBytes(full);
  z.resize(z.size() / 2);
  writeBytes(cut, z);
  expectError([&] { io::loadDatasetItem(cut, 49); }, cut, {"truncated gzip data"});
  // Same for gzipped CSV text.
  std::string csv;
  for (int i = 0; i < 2000; ++i) csv += csvLine(i % 10, {i % 256});
  writeGz(full, Bytes(csv.begin(), csv.end()));
  z = readBytes(full);
  z.resize(z.size() - 10);
  const std::string cutCsv = path("cut.csv.gz");
  writeBytes(cutCsv, z);
  expectError([&] { io::datasetSize(cutCsv); }, cutCsv, {"truncated gzip data"});
}

TEST_F(ImagesTest, IdxAbsurdHeaderRefused) {
  const std::string img = path("big-images-idx3-ubyte");
  writeBytes(img, idxImages(0xFFFFFFFFu, 0xFFFFu, 0xFFFFu, 0));
  expectError([&] { io::datasetSize(img); }, img, {"refusing"});
  const std::string gz = path("big-images-idx3-ubyte.gz");
  writeGz(gz, idxImages(4000000, 28, 28, 1));  // 3.1 GB declared
  expectError([&] { io::loadDatasetItem(gz, 0); }, gz, {"refusing"});
  // Zero images: valid, empty.
  const std::string empty = path("empty-images-idx3-ubyte");
  writeBytes(empty, idxImages(0, 28, 28));
  EXPECT_EQ(io::datasetSize(empty), 0);
  expectError([&] { io::loadDatasetItem(empty, 0); }, empty, {"index 0 out of range", "has 0 images"});
  // Zero-size images.
  const std::string zero = path("zero-images-idx3-ubyte");
  writeBytes(zero, idxImages(3, 0, 28));
  expectError([&] { io::datasetSize(zero); }, zero, {"empty images"});
}

TEST_F(ImagesTest, IdxWrongMagic) {
  const std::string lab = path("x-labels-idx1-ubyte");
  writeBytes(lab, idxLabels({1, 2, 3}));
  expectError([&] { io::loadDatasetItem(lab, 0); }, lab, {"wrong magic 0x00000801", "0x00000803"});
  const std::string f = path("floats.idx");
  Bytes b;
  put32(b, 0x00000D03);
  put32(b, 1);
  put32(b, 1);
  put32(b, 1);
  put32(b, 0);
  writeBytes(f, b);
  expectError([&] { io::datasetSize(f); }, f, {"wrong magic 0x00000D03"});
  const std::string bad = path("bad.idx");
  writeBytes(bad, Bytes{0, 0, 0x42, 3, 0, 0, 0, 0});
  expectError([&] { io::datasetSize(bad); }, bad, {"wrong magic"});
  // Labels file with the wrong magic.
  const std::string img = path("w-images-idx3-ubyte");
  writeBytes(img, idxImages(3, 2, 2));
  writeBytes(path("w-labels-idx1-ubyte"), idxImages(3, 2, 2));
  expectError([&] { io::loadDatasetItem(img, 0); }, path("w-labels-idx1-ubyte"),
              {"wrong magic 0x00000803", "0x00000801"});
}

TEST_F(ImagesTest, IdxIndexOutOfRange) {
  const std::string img = path("r-images-idx3-ubyte");
  writeBytes(img, idxImages(10, 2, 2));
  expectError([&] { io::loadDatasetItem(img, 12); }, img,
              {"index 12 out of range: " + img + " has 10 images"});
  expectError([&] { io::loadDatasetItem(img, 10); }, img, {"index 10 out of range"});
  expectError([&] { io::loadDatasetItem(img, -1); }, img, {"index -1 out of range"});
  expectIdxItem(io::loadDatasetItem(img, 9), 9, 2, 2, -1);
}

TEST_F(ImagesTest, IdxLabelProblems) {
  const std::string img = path("m-images-idx3-ubyte");
  const std::string lab = path("m-labels-idx1-ubyte");
  writeBytes(img, idxImages(3, 2, 2));
  writeBytes(lab, idxLabels({1, 2}));
  expectError([&] { io::datasetSize(img); }, lab, {"label count mismatch", "2 labels", "3 images"});
  expectError([&] { io::loadDatasetItem(img, 0); }, lab, {"label count mismatch"});
  Bytes t = idxLabels({1, 2, 3});
  t.pop_back();
  writeBytes(lab, t);
  expectError([&] { io::loadDatasetItem(img, 0); }, lab, {"truncated"});
}

TEST_F(ImagesTest, DatasetFileProblems) {
  const std::string missing = path("nope-images-idx3-ubyte");
  expectError([&] { io::loadDatasetItem(missing, 0); }, missing, {"not found"});
  expectError([&] { io::datasetSize(missing); }, missing, {"not found"});
  expectError([&] { io::datasetSize(dir_.string()); }, dir_.string(), {"directory"});
  const std::string empty = path("empty.csv");
  writeText(empty, "");
  expectError([&] { io::datasetSize(empty); }, empty, {"empty"});
  const std::string corrupt = path("corrupt.gz");
  writeBytes(corrupt, Bytes{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 'g', 'a', 'r', 'b', 'a', 'g', 'e',
                            1, 2, 3, 4, 5, 6, 7, 8, 9});
  expectError([&] { io::datasetSize(corrupt); }, corrupt, {"corrupt gzip data"});
  const std::string binary = path("binary.dat");
  writeBytes(binary, Bytes{0x89, 'P', 'N', 'G', 0, 0, 0, 13});
  expectError([&] { io::datasetSize(binary); }, binary, {"PNG image, not a dataset"});
  const std::string pgm = path("image.pgm");
  writeText(pgm, "P5\n2 2\n255\n" + std::string(4, '\0'));
  expectError([&] { io::loadDatasetItem(pgm, 0); }, pgm, {"PGM/PPM image, not a dataset"});
  const std::string junk = path("junk.bin");
  writeBytes(junk, Bytes{'1', ',', 2, 0, 0, 7, 9});
  expectError([&] { io::datasetSize(junk); }, junk, {"unrecognised binary data"});
#ifndef _WIN32
  if (::geteuid() != 0) {  // root reads anything
    const std::string locked = path("locked.csv");
    writeText(locked, "1,0\n");
    fs::permissions(locked, fs::perms::none);
    expectError([&] { io::datasetSize(locked); }, locked, {"cannot open"});
  }
#endif
}

// ---------------------------------------------------------------- CSV

std::string csvLine(int label, const std::vector<int>& px, const std::string& eol) {
  std::string s = std::to_string(label);
  for (int p : px) {
    s += ',';
    s += std::to_string(p);
  }
  return s + eol;
}

void expectPixels(const io::Image& img, const std::vector<int>& px, int label) {
  int side = static_cast<int>(std::lround(std::sqrt(double(px.size()))));
  ASSERT_EQ(img.rows, side);
  ASSERT_EQ(img.cols, side);
  ASSERT_EQ(img.channels, 1);
  ASSERT_EQ(img.pixels.size(), static_cast<Eigen::Index>(px.size()));
  EXPECT_EQ(img.label, label);
  for (std::size_t k = 0; k < px.size(); ++k) EXPECT_EQ(img.pixels[Eigen::Index(k)], px[k] / 255.0);
}

TEST_F(ImagesTest, CsvWithHeaderAndCrlf) {
  const std::string f = path("data.csv");
  writeText(f, "label,p0,p1,p2,p3\r\n" + csvLine(3, {0, 255, 17, 128}, "\r\n") +
                   csvLine(0, {1, 2, 3, 4}, "\r\n") + csvLine(9, {255, 254, 0, 5}, "\r\n"));
  EXPECT_EQ(io::datasetSize(f), 3);
  expectPixels(io::loadDatasetItem(f, 0), {0, 255, 17, 128}, 3);
  expectPixels(io::loadDatasetItem(f, 2), {255, 254, 0, 5}, 9);
  expectPixels(io::loadDatasetItem(f, 1), {1, 2, 3, 4}, 0);
  expectError([&] { io::loadDatasetItem(f, 3); }, f, {"index 3 out of range", "has 3 images"});
}

TEST_F(ImagesTest, CsvNoHeaderBlankLinesNoFinalNewline) {
  const std::string f = path("plain.txt");
  std::vector<int> a(784), b(784);
  for (int k = 0; k < 784; ++k) a[k] = k % 256, b[k] = 255 - k % 256;
  std::string last = csvLine(4, b);
  last.pop_back();
  writeText(f, csvLine(7, a) + "\n  \n" + last);
  EXPECT_EQ(io::datasetSize(f), 2);
  io::Image i0 = io::loadDatasetItem(f, 0);
  EXPECT_EQ(i0.rows, 28);
  expectPixels(i0, a, 7);
  expectPixels(io::loadDatasetItem(f, 1), b, 4);
}

TEST_F(ImagesTest, CsvFloatPixelsSpacesAndBom) {
  const std::string f = path("bom.csv");
  writeText(f, "\xEF\xBB\xBF" "2, 0.0 ,127.5,255,+3\n");
  EXPECT_EQ(io::datasetSize(f), 1);
  io::Image img = io::loadDatasetItem(f, 0);
  EXPECT_EQ(img.label, 2);
  EXPECT_EQ(img.pixels[1], 127.5 / 255.0);
  EXPECT_EQ(img.pixels[3], 3 / 255.0);
}

TEST_F(ImagesTest, CsvGzipped) {
  const std::string f = path("data.csv.gz");
  std::string s = csvLine(1, {10, 20, 30, 40, 50, 60, 70, 80, 90}) + csvLine(2, {9, 8, 7, 6, 5, 4, 3, 2, 1});
  writeGz(f, Bytes(s.begin(), s.end()));
  EXPECT_EQ(io::datasetSize(f), 2);
  expectPixels(io::loadDatasetItem(f, 1), {9, 8, 7, 6, 5, 4, 3, 2, 1}, 2);
}

TEST_F(ImagesTest, CsvScansOnlyUpToTheItem) {
  // Line 301 is malformed: items before it load, asking past it reports it.
  const std::string f = path("long.csv");
  std::string s;
  for (int i = 0; i < 300; ++i) s += csvLine(i % 10, {i % 256, 1, 2, 3});
  s += "5,1,2,3\n";
  for (int i = 0; i < 10; ++i) s += csvLine(1, {1, 1, 1, 1});
  writeText(f, s);
  expectPixels(io::loadDatasetItem(f, 0), {0, 1, 2, 3}, 0);
  expectPixels(io::loadDatasetItem(f, 299), {299 % 256, 1, 2, 3}, 9);
  expectPixels(io::loadDatasetItem(f, 123), {123, 1, 2, 3}, 3);
  expectError([&] { io::loadDatasetItem(f, 305); }, f, {"line 301", "3 pixel values, expected 4"});
  expectError([&] { io::datasetSize(f); }, f, {"line 301"});
}

TEST_F(ImagesTest, CsvFileChangedOnDiskIsReread) {
  const std::string f = path("changing.csv");
  writeText(f, csvLine(1, {1, 2, 3, 4}));
  EXPECT_EQ(io::datasetSize(f), 1);
  writeText(f, csvLine(1, {1, 2, 3, 4}) + csvLine(2, {5, 6, 7, 8}));
  EXPECT_EQ(io::datasetSize(f), 2);
  expectPixels(io::loadDatasetItem(f, 1), {5, 6, 7, 8}, 2);
}

TEST_F(ImagesTest, CsvMalformedLines) {
  struct Case {
    std::string text;
    long index;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"1,0,0,0,0\n2,0,300,0,0\n", 1, {"line 2", "pixel 1", "'300'", "out of range [0,255]"}},
      {"1,0,0,0,0\n2,0,-1,0,0\n", 1, {"line 2", "pixel 1", "out of range"}},
      {"label,p0,p1,p2,p3\n1,0,0,0,0\n2,0,0,abc,0\n", 1, {"line 3", "pixel 2", "'abc'", "not a number"}},
      // A first line that is neither a header nor a data row, and a file with
      // only a header: errors, never an empty dataset or a silently dropped row.
      {"hello world\n", 0, {"no data rows"}},
      {"x,0,0,0,0\n1,0,0,0,0\n", 0, {"line 1", "label is not a number"}},
      {"label,p0,p1,p2,p3\n", 0, {"no data rows"}},
      {"1,0,0,0,0\n2,0,0,,0\n", 1, {"line 2", "pixel 2", "not a number"}},
      {"1,0,0,0,nan\n", 0, {"line 1", "not a number"}},
      {"-3,0,0,0,0\n", 0, {"line 1", "label '-3'", "non-negative integer"}},
      {"1.5,0,0,0,0\n", 0, {"line 1", "label '1.5'"}},
      {"1,0,0,0,0\n2,0,0,0\n", 1, {"line 2", "3 pixel values, expected 4", "line 1"}},
      {"1,0,0,0,0\n\n2,0,0,0,0,0\n", 1, {"line 3", "5 pixel values"}},
      {"1,0,0,0\n", 0, {"line 1", "3 pixel values", "square"}},
      {"label\n7\n", 0, {"line 2", "0 pixel values"}},
      {"label,p0,p1,p2,p3\n1,0,0,0,0\n\"2\",0,0,0,0\n", 1, {"line 3", "label"}},
      {"\"1\",0,0,0,0\n1,0,0,0,0\n", 0, {"line 1", "label is not a number"}},
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string f = path("bad" + std::to_string(n++) + ".csv");
    writeText(f, c.text);
    SCOPED_TRACE(c.text);
    expectError([&] { io::loadDatasetItem(f, c.index); }, f, c.fragments);
  }
}

TEST_F(ImagesTest, CsvHeaderOnlyIsAnError) {
  const std::string f = path("header.csv");
  writeText(f, "label,pixel0\n");
  // A dataset without data rows is an error, not an empty dataset that a
  // classify run would report as "0 images, accuracy 0%" with exit code 0.
  expectError([&] { io::datasetSize(f); }, f, {"no data rows"});
  expectError([&] { io::loadDatasetItem(f, 0); }, f, {"no data rows"});
}

// ---------------------------------------------------------------- PGM

TEST_F(ImagesTest, PgmP5WithComments) {
  const std::string f = path("a.pgm");
  std::string s = "P5\n# made by a test\n3 # width\n2\n255\n";
  const Bytes px{0, 1, 128, 254, 255, 77};
  s.append(px.begin(), px.end());
  writeText(f, s);
  io::Image img = io::loadImage(f);
  ASSERT_EQ(img.rows, 2);
  ASSERT_EQ(img.cols, 3);
  ASSERT_EQ(img.channels, 1);
  EXPECT_EQ(img.label, -1);
  for (int k = 0; k < 6; ++k) EXPECT_EQ(img.pixels[k], px[k] / 255.0);
}

TEST_F(ImagesTest, PgmP5SixteenBit) {
  const std::string f = path("b.pgm");
  std::string s = "P5 2 1 1000\n";
  s += std::string{char(0x03), char(0xE8), char(0x01), char(0xF4)};  // 1000, 500
  writeText(f, s);
  io::Image img = io::loadImage(f);
  ASSERT_EQ(img.pixels.size(), 2);
  EXPECT_EQ(img.pixels[0], 1.0);
  EXPECT_EQ(img.pixels[1], 0.5);
}

TEST_F(ImagesTest, PgmP2Ascii) {
  const std::string f = path("c.pgm");
  writeText(f, "P2\n# comment\n2 2\n# another\n15\n0 15\r\n 3   7\n");
  io::Image img = io::loadImage(f);
  ASSERT_EQ(img.rows, 2);
  ASSERT_EQ(img.cols, 2);
  EXPECT_EQ(img.pixels[0], 0.0);
  EXPECT_EQ(img.pixels[1], 1.0);
  EXPECT_EQ(img.pixels[2], 3 / 15.0);
  EXPECT_EQ(img.pixels[3], 7 / 15.0);
}

TEST_F(ImagesTest, PpmP6GrayAndChannels) {
  const std::string f = path("d.ppm");
  std::string s = "P6 2 1 255\n";
  s += std::string{char(255), char(0), char(0), char(10), char(20), char(30)};
  writeText(f, s);
  io::Image g = io::loadImage(f, true);
  ASSERT_EQ(g.channels, 1);
  EXPECT_NEAR(g.pixels[0], 0.299, 1e-12);
  EXPECT_NEAR(g.pixels[1], (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255.0, 1e-12);
  io::Image c = io::loadImage(f, false);
  ASSERT_EQ(c.channels, 3);
  ASSERT_EQ(c.pixels.size(), 6);
  // CHW: R plane, G plane, B plane.
  EXPECT_EQ(c.pixels[0], 1.0);
  EXPECT_EQ(c.pixels[1], 10 / 255.0);
  EXPECT_EQ(c.pixels[2], 0.0);
  EXPECT_EQ(c.pixels[3], 20 / 255.0);
  EXPECT_EQ(c.pixels[5], 30 / 255.0);
}

TEST_F(ImagesTest, PgmErrors) {
  struct Case {
    std::string text;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"P5\n4 4\n255\n" + std::string(10, 'x'), {"truncated", "16 bytes", "found 10"}},
      {"P5\n4 4\n65535\n" + std::string(31, 'x'), {"truncated", "32 bytes"}},
      {"P5\n4 4\n255", {"truncated"}},
      {"P5\n4 4", {"end of file", "maxval"}},
      {"P5\nabc 4\n255\n", {"bad header", "width"}},
      {"P5\n4x 4\n255\n", {"bad width"}},
      {"P5\n4 4\n0\n", {"maxval 0"}},
      {"P5\n4 4\n70000\n", {"maxval 70000"}},
      {"P5\n0 4\n255\n", {"zero size"}},
      {"P5\n100000 100000\n255\n", {"too large"}},
      {"P5\n99999999999 1\n255\n", {"too large"}},
      {"P2\n2 2\n10\n1 2 3\n", {"truncated", "3 of 4"}},
      {"P2\n2 2\n10\n1 2 3 11\n", {"pixel 3", "exceeds maxval 10"}},
      {"P2\n2 2\n10\n1 2 x 1\n", {"pixel value"}},
      {"P5\n1 1\n10\n\x0b", {"exceeds maxval"}},
      {"P52 2 255\n", {"bad header"}},
      {"GIF89a....", {"unrecognised image format"}},
      {"", {"empty"}},
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string f = path("bad" + std::to_string(n++) + ".pgm");
    writeText(f, c.text);
    SCOPED_TRACE(c.text.substr(0, 30));
    expectError([&] { io::loadImage(f); }, f, c.fragments);
  }
  const std::string missing = path("missing.pgm");
  expectError([&] { io::loadImage(missing); }, missing, {"not found"});
}

// ---------------------------------------------------------------- PNG

struct PngSpec {
  int width, height, colorType, bitDepth;
  Bytes data;  // packed rows as libpng expects them
  std::vector<png_color> palette{};
  bool interlace = false;
  PngSpec(int w, int h, int ct, int bd, Bytes d)
      : width(w), height(h), colorType(ct), bitDepth(bd), data(std::move(d)) {}
};

void writeTestPng(const std::string& p, const PngSpec& s) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    FAIL() << "libpng write failed";
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, s.width, s.height, s.bitDepth, s.colorType,
               s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!s.palette.empty())
    png_set_PLTE(png, info, s.palette.data(), static_cast<int>(s.palette.size()));
  png_write_info(png, info);
  const std::size_t rowBytes = s.data.size() / s.height;
  std::vector<png_bytep> rows(s.height);
  for (int y = 0; y < s.height; ++y)
    rows[y] = const_cast<png_bytep>(s.data.data() + y * rowBytes);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

double lum(int r, int g, int b) { return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0; }

TEST_F(ImagesTest, PngGray8And16) {
  const std::string f8 = path("g8.png"), f16 = path("g16.png");
  writeTestPng(f8, {3, 2, PNG_COLOR_TYPE_GRAY, 8, {0, 10, 20, 200, 254, 255}});
  io::Image a = io::loadImage(f8);
  ASSERT_EQ(a.rows, 2);
  ASSERT_EQ(a.cols, 3);
  ASSERT_EQ(a.channels, 1);
  const int v8[] = {0, 10, 20, 200, 254, 255};
  for (int k = 0; k < 6; ++k) EXPECT_EQ(a.pixels[k], v8[k] / 255.0);
  io::Image a3 = io::loadImage(f8, false);
  EXPECT_EQ(a3.channels, 1);
  writeTestPng(f16, {2, 1, PNG_COLOR_TYPE_GRAY, 16, {0x12, 0x34, 0xFF, 0xFF}});
  io::Image b = io::loadImage(f16);
  EXPECT_EQ(b.pixels[0], 0x1234 / 65535.0);
  EXPECT_EQ(b.pixels[1], 1.0);
}

TEST_F(ImagesTest, PngGrayAlphaAndLowBitDepth) {
  const std::string ga = path("ga.png"), g1 = path("g1.png");
  writeTestPng(ga, {2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, {100, 0, 200, 255}});
  io::Image a = io::loadImage(ga);
  ASSERT_EQ(a.pixels.size(), 2);
  EXPECT_EQ(a.pixels[0], 100 / 255.0);
  EXPECT_EQ(a.pixels[1], 200 / 255.0);
  writeTestPng(g1, {8, 1, PNG_COLOR_TYPE_GRAY, 1, {0b10100001}});
  io::Image b = io::loadImage(g1);
  const int bits[] = {1, 0, 1, 0, 0, 0, 0, 1};
  for (int k = 0; k < 8; ++k) EXPECT_EQ(b.pixels[k], double(bits[k])) << k;
}

TEST_F(ImagesTest, PngRgbRgbaPalette) {
  const std::string rgb = path("rgb.png"), rgba = path("rgba.png"), pal = path("pal.png");
  writeTestPng(rgb, {2, 1, PNG_COLOR_TYPE_RGB, 8, {255, 0, 0, 10, 20, 30}});
  io::Image g = io::loadImage(rgb);
  ASSERT_EQ(g.channels, 1);
  EXPECT_NEAR(g.pixels[0], lum(255, 0, 0), 1e-12);
  EXPECT_NEAR(g.pixels[1], lum(10, 20, 30), 1e-12);
  io::Image c = io::loadImage(rgb, false);
  ASSERT_EQ(c.channels, 3);
  ASSERT_EQ(c.rows, 1);
  ASSERT_EQ(c.cols, 2);
  const double chw[] = {255, 10, 0, 20, 0, 30};
  for (int k = 0; k < 6; ++k) EXPECT_EQ(c.pixels[k], chw[k] / 255.0) << k;

  writeTestPng(rgba, {1, 2, PNG_COLOR_TYPE_RGBA, 8, {0, 255, 0, 128, 1, 2, 3, 0}});
  io::Image ga = io::loadImage(rgba);
  ASSERT_EQ(ga.rows, 2);
  EXPECT_NEAR(ga.pixels[0], lum(0, 255, 0), 1e-12);
  EXPECT_NEAR(ga.pixels[1], lum(1, 2, 3), 1e-12);
  io::Image ca = io::loadImage(rgba, false);
  EXPECT_EQ(ca.channels, 3);
  EXPECT_EQ(ca.pixels.size(), 6);

  PngSpec ps{3, 1, PNG_COLOR_TYPE_PALETTE, 8, {2, 0, 1}};
  ps.palette = {{0, 0, 0}, {255, 255, 255}, {40, 80, 120}};
  writeTestPng(pal, ps);
  io::Image p = io::loadImage(pal);
  EXPECT_NEAR(p.pixels[0], lum(40, 80, 120), 1e-12);
  EXPECT_NEAR(p.pixels[1], 0.0, 1e-12);
  EXPECT_NEAR(p.pixels[2], 1.0, 1e-12);
}

TEST_F(ImagesTest, PngRgb16Interlaced) {
  const std::string f = path("rgb16i.png");
  const int w = 9, h = 7;
  PngSpec s{w, h, PNG_COLOR_TYPE_RGB, 16, {}};
  s.interlace = true;
  for (int i = 0; i < w * h * 3; ++i) {
    int v = (i * 997) % 65536;
    s.data.push_back(static_cast<unsigned char>(v >> 8));
    s.data.push_back(static_cast<unsigned char>(v & 255));
  }
  writeTestPng(f, s);
  io::Image c = io::loadImage(f, false);
  ASSERT_EQ(c.channels, 3);
  ASSERT_EQ(c.rows, h);
  ASSERT_EQ(c.cols, w);
  for (int ch = 0; ch < 3; ++ch)
    for (int i = 0; i < w * h; ++i)
      EXPECT_EQ(c.pixels[ch * w * h + i], ((i * 3 + ch) * 997 % 65536) / 65535.0);
}

TEST_F(ImagesTest, PngTruncatedOrCorrupt) {
  const std::string good = path("good.png");
  Bytes px(40 * 40);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<unsigned char>(i * 7);
  writeTestPng(good, {40, 40, PNG_COLOR_TYPE_GRAY, 8, px});
  const Bytes full = readBytes(good);
  ASSERT_GT(full.size(), 100u);
  for (std::size_t len : {std::size_t(8), std::size_t(20), std::size_t(40), full.size() / 2,
                          full.size() - 13, full.size() - 1}) {
    const std::string f = path("trunc" + std::to_string(len) + ".png");
    writeBytes(f, Bytes(full.begin(), full.begin() + static_cast<long>(len)));
    SCOPED_TRACE(len);
    expectError([&] { io::loadImage(f); }, f, {"PNG"});
  }
  Bytes bad = full;
  bad[full.size() / 2] ^= 0x55;  // inside IDAT: CRC or zlib error
  const std::string corrupt = path("corrupt.png");
  writeBytes(corrupt, bad);
  expectError([&] { io::loadImage(corrupt); }, corrupt, {"corrupt or truncated PNG"});
}

// A PNG whose header declares a huge image: refused before reading any data.
TEST_F(ImagesTest, PngHugeDeclaredSize) {
  auto chunk = [](Bytes& out, const char* type, const Bytes& data) {
    put32(out, static_cast<std::uint32_t>(data.size()));
    Bytes td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    out.insert(out.end(), td.begin(), td.end());
    put32(out, static_cast<std::uint32_t>(crc32(0, td.data(), static_cast<unsigned>(td.size()))));
  };
  Bytes b{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Bytes ihdr;
  put32(ihdr, 100000);
  put32(ihdr, 100000);
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});
  chunk(b, "IHDR", ihdr);
  chunk(b, "IEND", {});
  const std::string f = path("huge.png");
  writeBytes(f, b);
  expectError([&] { io::loadImage(f); }, f, {"too large"});
}

// ---------------------------------------------------------------- writing

TEST_F(ImagesTest, WritePngGrayRoundTrip) {
  const std::string f = path("out.png");
  const int rows = 28, cols = 28;
  Eigen::VectorXd x(rows * cols);
  for (int k = 0; k < rows * cols; ++k) x[k] = (k % 256) / 255.0;
  io::writePngGray(f, x, rows, cols);
  io::Image img = io::loadImage(f);
  ASSERT_EQ(img.rows, rows);
  ASSERT_EQ(img.cols, cols);
  for (int k = 0; k < rows * cols; ++k) EXPECT_EQ(img.pixels[k], x[k]) << k;
}

TEST_F(ImagesTest, WritePngGrayScaledClampedNan) {
  const std::string f = path("big.png");
  Eigen::VectorXd x(6);
  x << -0.5, 1.7, std::numeric_limits<double>::quiet_NaN(), 0.5, 0.2, 1.0;
  io::writePngGray(f, x, 2, 3, 10);
  io::Image img = io::loadImage(f);
  ASSERT_EQ(img.rows, 20);
  ASSERT_EQ(img.cols, 30);
  const double expect[] = {0, 1, 0, 128 / 255.0, 51 / 255.0, 1};
  for (int r = 0; r < 20; ++r)
    for (int c = 0; c < 30; ++c)
      ASSERT_EQ(img.pixels[r * 30 + c], expect[(r / 10) * 3 + c / 10]) << r << "," << c;
}

TEST_F(ImagesTest, WritePngRgbRoundTrip) {
  const std::string f = path("rgbout.png");
  std::vector<unsigned char> rgb{255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 99, 199};
  io::writePngRgb(f, rgb, 2, 2);
  io::Image c = io::loadImage(f, false);
  ASSERT_EQ(c.channels, 3);
  ASSERT_EQ(c.rows, 2);
  ASSERT_EQ(c.cols, 2);
  for (int ch = 0; ch < 3; ++ch)
    for (int i = 0; i < 4; ++i) EXPECT_EQ(c.pixels[ch * 4 + i], rgb[i * 3 + ch] / 255.0);
}

TEST_F(ImagesTest, WriteErrors) {
  const std::string noDir = path("no/such/dir/x.png");
  Eigen::VectorXd x = Eigen::VectorXd::Zero(4);
  expectError([&] { io::writePngGray(noDir, x, 2, 2); }, noDir, {"cannot write"});
  expectError([&] { io::writePngRgb(noDir, std::vector<unsigned char>(12), 2, 2); }, noDir,
              {"cannot write"});
  expectError([&] { io::writePngGray(dir_.string(), x, 2, 2); }, dir_.string(), {"cannot write"});
  const std::string f = path("w.png");
  expectError([&] { io::writePngGray(f, x, 3, 2); }, f, {"4 pixels for 3x2"});
  expectError([&] { io::writePngGray(f, x, 2, 2, 0); }, f, {"scale"});
  expectError([&] { io::writePngGray(f, x, 0, 2); }, f, {"size 0x2"});
  expectError([&] { io::writePngGray(f, x, 2, 2, 100000); }, f, {"too large"});
  expectError([&] { io::writePngRgb(f, std::vector<unsigned char>(11), 2, 2); }, f, {"expected 12"});
  EXPECT_FALSE(fs::exists(f));
  if (fs::exists("/dev/full")) {
    expectError([&] { io::writePngGray("/dev/full", x, 2, 2); }, "/dev/full", {"cannot write"});
  }
}

}  // namespace
