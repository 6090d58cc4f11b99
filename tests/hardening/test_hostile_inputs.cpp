// Catalogue of hostile inputs, run against the `nnopt` CLI binary.
//
// Every broken file is made at test time in a fresh temporary directory
// (ONNX models from protobuf text with the onnx C++ API, the rest byte by byte);
// nothing depends on ../shared. Each case runs the CLI in a child process
// (posix_spawn, stdin /dev/null, stdout/stderr to files) and checks:
//   - exit code 2 (a few valid inputs: their documented code),
//   - exactly one line on stderr that contains the expected words (the file and
//     the cause),
//   - no hang: killed after NNOPT_HOSTILE_TIMEOUT seconds (default 60),
//   - bounded memory: the child's peak RSS (wait4 rusage) below
//     NNOPT_HOSTILE_RSS_MB (default 100; sanitizer builds raise it).
// With NNOPT_HOSTILE_TABLE=FILE each case appends a Markdown table row to FILE
// (docs/results/hardening.md is made from it).
#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

const std::string kSrc = NNOPT_SOURCE_DIR;

double envNumber(const char* name, double def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atof(v) : def;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
  ASSERT_TRUE(f.good()) << path;
}

std::string repeat(const std::string& s, int n) {
  std::string r;
  for (int i = 0; i < n; ++i) r += s;
  return r;
}

// ------------------------------------------------------------------ files

// Big-endian 32-bit integer.
std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string gzipBytes(const std::string& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, raw.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zlibBytes(const std::string& raw) {
  uLongf n = compressBound(raw.size());
  std::string out(n, '\0');
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(out.data()), &n,
                     reinterpret_cast<const Bytef*>(raw.data()), raw.size()),
            Z_OK);
  out.resize(n);
  return out;
}

std::string pngChunk(const std::string& type, const std::string& body) {
  std::string tb = type + body;
  uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(tb.data()),
                                             static_cast<uInt>(tb.size())));
  return be32(static_cast<uint32_t>(body.size())) + tb + be32(crc);
}

// 8-bit gray PNG of w x h whose IDAT holds `raw` (filter bytes included).
std::string png(uint32_t w, uint32_t h, const std::string& raw) {
  std::string ihdr = be32(w) + be32(h) + std::string("\x08\x00\x00\x00\x00", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + pngChunk("IHDR", ihdr) +
         pngChunk("IDAT", zlibBytes(raw)) + pngChunk("IEND", "");
}

std::string goodPngRaw(int w, int h) {
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw += '\0';
    for (int x = 0; x < w; ++x) raw += static_cast<char>((x * 9 + y * 3) % 256);
  }
  return raw;
}

std::string idxImages(uint32_t n, uint32_t rows, uint32_t cols, size_t payload) {
  std::string s = be32(0x803) + be32(n) + be32(rows) + be32(cols);
  for (size_t i = 0; i < payload; ++i) s += static_cast<char>(i * 7 % 256);
  return s;
}
std::string idxLabels(uint32_t n, size_t payload) {
  std::string s = be32(0x801) + be32(n);
  for (size_t i = 0; i < payload; ++i) s += static_cast<char>(i % 10);
  return s;
}

std::string csvRow(const std::string& label, int npix, const std::string& extra = "") {
  std::string s = label;
  for (int i = 0; i < npix; ++i) s += ",0";
  return s + extra + "\n";
}

// ONNX model from the text of its graph (protobuf text format).
std::string onnxFromText(const std::string& graph_text) {
  onnx::ModelProto m;
  const std::string text = "ir_version: 7\nopset_import { version: 13 }\ngraph {\n" +
                           graph_text + "\n}\n";
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  std::string bytes;
  EXPECT_TRUE(m.SerializeToString(&bytes));
  return bytes;
}

const char* kInput2 =
    R"(input { name: "input" type { tensor_type { elem_type: 1 shape { dim { dim_value: 1 } dim { dim_value: 2 } } } } }
       output { name: "logits" type { tensor_type { elem_type: 1 } } })";

// A 2-input 2-output Gemm(W, B) + op graph; W as given in text.
std::string tinyGemm(const std::string& w_init, const std::string& op = "Relu") {
  return onnxFromText(std::string(kInput2) + "\ninitializer { name: \"W\" " + w_init + " }\n" +
                      R"(initializer { name: "B" data_type: 1 dims: 2 float_data: 0.1 float_data: -0.1 }
      node { op_type: "Gemm" name: "gemm" input: "input" input: "W" input: "B" output: "h"
             attribute { name: "transB" type: INT i: 1 } }
      node { op_type: ")" + op + R"(" name: "act" input: "h" output: "logits" })");
}
const char* kW = "data_type: 1 dims: 2 dims: 2 float_data: 1 float_data: 0.5 float_data: -0.5 float_data: 1";

// A copy of a real fixture model with one weight replaced by `value`.
std::string patchedModel(const std::string& model, float value) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(readFile(model)));
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "Gemm" && n.op_type() != "MatMul") continue;
    for (auto& t : *m.mutable_graph()->mutable_initializer()) {
      if (t.name() != n.input(1)) continue;
      if (t.has_raw_data()) {
        std::string raw = t.raw_data();
        std::memcpy(&raw[12], &value, 4);
        t.set_raw_data(raw);
      } else {
        t.set_float_data(3, value);
      }
      std::string bytes;
      EXPECT_TRUE(m.SerializeToString(&bytes));
      return bytes;
    }
  }
  ADD_FAILURE() << "no Gemm/MatMul weight in " << model;
  return {};
}

void makeFiles(const std::string& d) {
  const std::string m1 = readFile(kSrc + "/models/mnist_mlp_1x20.onnx");
  // ---- ONNX
  writeFile(d + "/truncated_1000.onnx", m1.substr(0, 1000));
  writeFile(d + "/truncated_half.onnx", m1.substr(0, m1.size() / 2));
  writeFile(d + "/truncated_minus1.onnx", m1.substr(0, m1.size() - 1));
  {
    std::string r(4096, '\0');
    uint32_t s = 1;
    for (auto& c : r) c = static_cast<char>((s = s * 1664525u + 1013904223u) >> 24);
    writeFile(d + "/random.onnx", r);
  }
  writeFile(d + "/empty.onnx", "");
  writeFile(d + "/tiny_ok.onnx", tinyGemm(kW));
  writeFile(d + "/unknown_op.onnx", tinyGemm(kW, "FrobnicateOp"));
  writeFile(d + "/nan_weight_tiny.onnx",
            tinyGemm("data_type: 1 dims: 2 dims: 2 float_data: nan float_data: 0.5 float_data: -0.5 float_data: 1"));
  writeFile(d + "/inf_weight_tiny.onnx",
            tinyGemm("data_type: 1 dims: 2 dims: 2 float_data: 1 float_data: inf float_data: -0.5 float_data: 1"));
  writeFile(d + "/nan_raw_weight.onnx",
            tinyGemm(R"(data_type: 1 dims: 2 dims: 2 raw_data: "\000\000\200?\000\000\300\177\000\000\200?\000\000\200?")"));
  writeFile(d + "/nan_weight_1x20.onnx", patchedModel(kSrc + "/models/mnist_mlp_1x20.onnx",
                                                      std::nanf("")));
  writeFile(d + "/int64_weight.onnx",
            tinyGemm("data_type: 7 dims: 2 dims: 2 int64_data: 1 int64_data: 0 int64_data: 0 int64_data: 1"));
  writeFile(d + "/float16_weight.onnx",  // 0x3C00 = 1.0 in float16
            tinyGemm("data_type: 10 dims: 2 dims: 2 int32_data: 15360 int32_data: 0 int32_data: 0 int32_data: 15360"));
  writeFile(d + "/string_weight.onnx",
            tinyGemm(R"(data_type: 8 dims: 2 dims: 2 string_data: "a" string_data: "b" string_data: "c" string_data: "d")"));
  writeFile(d + "/huge_initializer.onnx",  // 10^12 elements declared, 4 present
            tinyGemm("data_type: 1 dims: 1000000 dims: 1000000 float_data: 1 float_data: 0 float_data: 0 float_data: 1"));
  writeFile(d + "/huge_raw_initializer.onnx",  // 4*10^8 elements declared, 16 bytes present
            tinyGemm(R"(data_type: 1 dims: 20000 dims: 20000 raw_data: "0123456789abcdef")"));
  writeFile(d + "/short_weight.onnx", tinyGemm("data_type: 1 dims: 2 dims: 2 float_data: 1 float_data: 0.5"));
  writeFile(d + "/zero_size_weight.onnx", tinyGemm("data_type: 1 dims: 0 dims: 2"));
  writeFile(d + "/external_data.onnx",
            tinyGemm(R"(data_type: 1 dims: 2 dims: 2 data_location: EXTERNAL external_data { key: "location" value: "/etc/passwd" })"));
  writeFile(d + "/negative_dim_weight.onnx", tinyGemm("data_type: 1 dims: -2 dims: -2 float_data: 1 float_data: 0.5 float_data: -0.5 float_data: 1"));
  auto withInput = [](const std::string& dims, const std::string& nodes) {
    return onnxFromText(R"(input { name: "input" type { tensor_type { elem_type: 1 shape { )" + dims +
                        R"( } } } }
        output { name: "logits" type { tensor_type { elem_type: 1 } } })" + nodes);
  };
  const std::string relu = R"(node { op_type: "Relu" name: "act" input: "input" output: "logits" })";
  writeFile(d + "/huge_input.onnx", withInput("dim { dim_value: 1 } dim { dim_value: 1000000000000 }", relu));
  writeFile(d + "/big_input.onnx", withInput("dim { dim_value: 1 } dim { dim_value: 60000000 }", relu));
  writeFile(d + "/zero_input.onnx", withInput("dim { dim_value: 1 } dim { dim_value: 0 }", relu));
  writeFile(d + "/symbolic_input.onnx", withInput("dim { dim_value: 1 } dim { dim_param: \"W\" }", relu));
  writeFile(d + "/cycle.onnx", onnxFromText(std::string(kInput2) + R"(
      node { op_type: "Add" name: "add" input: "input" input: "t2" output: "t1" }
      node { op_type: "Relu" name: "r1" input: "t1" output: "t2" }
      node { op_type: "Relu" name: "r2" input: "t2" output: "logits" })"));
  writeFile(d + "/self_loop.onnx", onnxFromText(std::string(kInput2) + R"(
      node { op_type: "Relu" name: "r1" input: "logits" output: "logits" })"));
  writeFile(d + "/dangling.onnx", onnxFromText(std::string(kInput2) + R"(
      node { op_type: "Gemm" name: "gemm" input: "input" input: "W_missing" output: "h" }
      node { op_type: "Relu" name: "act" input: "h" output: "logits" })"));
  writeFile(d + "/no_output_producer.onnx", onnxFromText(std::string(kInput2) + R"(
      node { op_type: "Relu" name: "act" input: "input" output: "other" })"));
  writeFile(d + "/no_nodes.onnx", onnxFromText(kInput2));
  // A name with a newline and a terminal escape (found by fuzz_onnx): the
  // message quoting it must stay on one line.
  writeFile(d + "/control_chars_name.onnx", onnxFromText(R"(
      input { name: "in\nput\033[31m" type { tensor_type { elem_type: 1 } } }
      output { name: "logits" type { tensor_type { elem_type: 1 } } }
      node { op_type: "Relu" name: "act" input: "in\nput\033[31m" output: "logits" })"));
  writeFile(d + "/two_producers.onnx", onnxFromText(std::string(kInput2) + R"(
      node { op_type: "Relu" name: "a" input: "input" output: "logits" }
      node { op_type: "Tanh" name: "b" input: "input" output: "logits" })"));
  writeFile(d + "/reshape_bomb.onnx", onnxFromText(std::string(kInput2) + R"(
      initializer { name: "s" data_type: 7 dims: 2 int64_data: 1000000 int64_data: 1000000 }
      node { op_type: "Reshape" name: "r" input: "input" input: "s" output: "h" }
      node { op_type: "Relu" name: "act" input: "h" output: "logits" })"));
  writeFile(d + "/expand_bomb.onnx", onnxFromText(std::string(kInput2) + R"(
      initializer { name: "big" data_type: 7 dims: 3 int64_data: 100000 int64_data: 100000 int64_data: 1 }
      initializer { name: "one" data_type: 1 dims: 1 float_data: 1 }
      node { op_type: "ConstantOfShape" name: "c" input: "big" output: "z" }
      node { op_type: "Add" name: "a" input: "input" input: "z" output: "h" }
      node { op_type: "Relu" name: "act" input: "h" output: "logits" })"));

  // ---- VNN-LIB (for tiny_ok.onnx: 2 inputs, 2 outputs)
  const std::string decl = "(declare-const X_0 Real)\n(declare-const X_1 Real)\n"
                           "(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n";
  const std::string box = "(assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n"
                          "(assert (<= X_1 1))\n";
  writeFile(d + "/ok.vnnlib", decl + box + "(assert (>= Y_0 Y_1))\n");
  writeFile(d + "/unbalanced.vnnlib", decl + box + "(assert (>= Y_0 Y_1)\n");
  writeFile(d + "/extra_paren.vnnlib", decl + box + "(assert (>= Y_0 Y_1)))\n");
  writeFile(d + "/bad_number.vnnlib", decl + "(assert (>= X_0 1.2.3))\n" + box);
  writeFile(d + "/unknown_op.vnnlib", decl + box + "(assert (frob Y_0 Y_1))\n");
  writeFile(d + "/unknown_command.vnnlib", decl + box + "(frobnicate)\n");
  writeFile(d + "/undeclared.vnnlib", "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n" + box);
  writeFile(d + "/out_of_range.vnnlib", decl + "(declare-const X_7 Real)\n(assert (<= X_7 1))\n" + box);
  writeFile(d + "/huge_index.vnnlib", decl + "(declare-const X_99999999999999999999 Real)\n" + box);
  writeFile(d + "/empty_box.vnnlib", decl + "(assert (>= X_0 0.7))\n(assert (<= X_0 0.2))\n"
                                            "(assert (>= X_1 0))\n(assert (<= X_1 1))\n(assert (>= Y_0 Y_1))\n");
  writeFile(d + "/missing_bound.vnnlib", decl + "(assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n");
  writeFile(d + "/nonlinear.vnnlib", decl + box + "(assert (>= (* Y_0 Y_1) 0))\n");
  writeFile(d + "/mixed_xy.vnnlib", decl + box + "(assert (>= Y_0 X_0))\n");
  writeFile(d + "/div_zero.vnnlib", decl + box + "(assert (>= Y_0 (/ 1 0)))\n");
  writeFile(d + "/contradiction.vnnlib", decl + box + "(assert (>= 0 1))\n");
  writeFile(d + "/empty.vnnlib", "");
  writeFile(d + "/binary.vnnlib", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  writeFile(d + "/deep_nesting.vnnlib", decl + "(assert " + repeat("(and ", 200000) + "true" +
                                            repeat(")", 200000) + ")\n");
  writeFile(d + "/dnf_explosion.vnnlib",
            decl + box + "(assert (and " + repeat("(or (>= Y_0 0) (>= Y_1 0))", 40) + "))\n");
  writeFile(d + "/unterminated_string.vnnlib", decl + "(set-info :source \"never closed\n" + box);
  writeFile(d + "/declared_twice.vnnlib", decl + "(declare-const X_0 Real)\n" + box);
  writeFile(d + "/bool_sort.vnnlib", "(declare-const X_0 Bool)\n" + box);

  // ---- images
  writeFile(d + "/small_10x10.pgm", "P5\n10 10\n255\n" + std::string(100, '\0'));
  writeFile(d + "/truncated.pgm", readFile(kSrc + "/data/mnist_test_0.pgm").substr(0, 400));
  writeFile(d + "/maxval0.pgm", "P5\n28 28\n0\n" + std::string(784, '\0'));
  writeFile(d + "/huge_header.pgm", "P5\n100000 100000\n255\n" + std::string(784, '\0'));
  writeFile(d + "/big_ascii.pgm", "P2\n16000 16000\n255\n0 0 0 0\n");
  writeFile(d + "/no_maxval.pgm", "P5\n28 28\n");
  writeFile(d + "/empty.pgm", "");
  writeFile(d + "/pixel_over_maxval.pgm", "P2\n2 2\n10\n1 2 3 11\n");
  writeFile(d + "/garbage.img", "GIF89a not an image at all");
  const std::string good = png(28, 28, goodPngRaw(28, 28));
  writeFile(d + "/ok.png", good);
  writeFile(d + "/truncated.png", good.substr(0, good.size() / 2));
  writeFile(d + "/signature_only.png", good.substr(0, 8));
  {
    std::string c = good;
    std::memset(&c[60], 0, 20);
    writeFile(d + "/corrupt_idat.png", c);
  }
  // Claims 16000 x 16000 (256 MB of pixels) with a few bytes of data.
  writeFile(d + "/png_lies_size.png", png(16000, 16000, std::string(64, '\0')));
  writeFile(d + "/png_huge.png", png(100000, 100000, std::string(64, '\0')));
  writeFile(d + "/png_zero_width.png", png(0, 28, goodPngRaw(1, 28)));

  // ---- datasets
  const std::string digits = readFile(kSrc + "/tests/fixtures/digits.csv");
  writeFile(d + "/csv_short_row.csv", csvRow("7", 783));
  writeFile(d + "/csv_long_row.csv", csvRow("7", 785));
  writeFile(d + "/csv_non_numeric.csv", csvRow("7", 783, ",abc"));
  writeFile(d + "/csv_pixel_300.csv", csvRow("7", 783, ",300"));
  writeFile(d + "/csv_bad_label.csv", csvRow("x", 784));
  writeFile(d + "/csv_text.csv", "hello world\n");
  {
    std::string h = "label";
    for (int i = 0; i < 784; ++i) h += ",p" + std::to_string(i);
    writeFile(d + "/csv_header_only.csv", h + "\n");
  }
  {
    std::istringstream in(digits);
    std::string rows, line;
    for (int i = 0; i < 3 && std::getline(in, line); ++i) rows += line + "\n";
    writeFile(d + "/csv_bad_first_row.csv", csvRow("x", 784) + rows);
    writeFile(d + "/csv_ragged.csv", rows + csvRow("3", 100));
    writeFile(d + "/csv_nul.csv", rows + std::string("7,0\0,0\n", 7));
  }
  writeFile(d + "/csv_empty.csv", "");
  writeFile(d + "/csv_nan_pixel.csv", csvRow("7", 783, ",nan"));
  // IDX: 10 images 28x28 made from the digits fixture
  std::string imgs = be32(0x803) + be32(10) + be32(28) + be32(28);
  std::string labs = be32(0x801) + be32(10);
  {
    std::istringstream in(digits);
    std::string line;
    for (int i = 0; i < 10 && std::getline(in, line); ++i) {
      std::istringstream f(line);
      std::string v;
      std::getline(f, v, ',');
      labs += static_cast<char>(std::stoi(v));
      while (std::getline(f, v, ',')) imgs += static_cast<char>(std::stoi(v));
    }
  }
  auto idxDir = [&](const std::string& name, const std::string& images, const std::string* labels,
                    bool gz) {
    const std::string dir = d + "/" + name;
    fs::create_directories(dir);
    writeFile(dir + "/t10k-images-idx3-ubyte" + (gz ? ".gz" : ""), images);
    if (labels) writeFile(dir + "/t10k-labels-idx1-ubyte" + (gz ? ".gz" : ""), *labels);
  };
  const std::string gzImgs = gzipBytes(imgs), gzLabs = gzipBytes(labs);
  idxDir("idx_trunc_gz", gzImgs.substr(0, gzImgs.size() / 2), &gzLabs, true);
  {
    const std::string s = gzipBytes(imgs.substr(0, 16 + 784 * 5 + 100));
    idxDir("idx_short_idx", s, &gzLabs, true);
  }
  {
    const std::string s = gzipBytes(std::string("\x00\x00\x09\x99", 4) + imgs.substr(4));
    idxDir("idx_bad_magic", s, &gzLabs, true);
  }
  idxDir("idx_no_labels", gzImgs, nullptr, true);
  {
    const std::string l = idxLabels(1000000000, 10);
    idxDir("idx_1e9", idxImages(1000000000, 28, 28, 784), &l, false);
  }
  {
    const std::string s = gzipBytes(idxImages(1000000000, 28, 28, 784));
    idxDir("idx_1e9_gz", s, nullptr, true);
  }
  idxDir("idx_1e6_truncated", idxImages(1000000, 28, 28, 784 * 3), nullptr, false);
  idxDir("idx_header_only", idxImages(10, 28, 28, 0).substr(0, 10), nullptr, false);
  {
    const std::string l = idxLabels(7, 7);
    idxDir("idx_label_count", imgs, &l, false);
  }
  {
    const std::string l = idxLabels(10, 3);
    idxDir("idx_short_labels", imgs, &l, false);
  }
  idxDir("idx_zero_rows", idxImages(10, 0, 28, 0), nullptr, false);
  idxDir("idx_big_images", idxImages(1, 65536, 65536, 100), nullptr, false);
  idxDir("idx_wrong_type", std::string("\x00\x00\x0D\x03", 4) + imgs.substr(4), nullptr, false);
}

// ------------------------------------------------------------------ runner

struct RunResult {
  bool exited = false;
  int code = -1;
  int signal = 0;
  bool timed_out = false;
  long max_rss_kb = 0;
  double seconds = 0;
  std::string out, err;
};

RunResult runCli(const std::vector<std::string>& args, const std::string& outdir, double timeout_s) {
  std::vector<std::string> argv_s{NNOPT_CLI};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string out = outdir + "/stdout.txt", err = outdir + "/stderr.txt";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  RunResult r;
  pid_t pid = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
    return r;
  }
  int status = 0;
  struct rusage ru{};
  for (;;) {
    const pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (el > timeout_s && !r.timed_out) {
      r.timed_out = true;
      kill(pid, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.max_rss_kb = ru.ru_maxrss;
  r.exited = WIFEXITED(status);
  if (r.exited) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = readFile(out);
  r.err = readFile(err);
  return r;
}

// ------------------------------------------------------------------ cases

struct Case {
  std::string name;  // gtest name
  std::string what;  // description (table)
  std::vector<std::string> args;  // "@D" = temp dir, "@S" = source dir
  std::vector<std::string> expect;  // substrings of the one stderr line ("@D", "@S" expanded)
  int code = 2;
};

const std::string kM1 = "@S/models/mnist_mlp_1x20.onnx";
const std::string kImg = "@S/data/mnist_test_0.pgm";
const std::string kCsv = "@S/tests/fixtures/digits.csv";

std::vector<std::string> attackImg(const std::string& img) {
  return {"attack", "--model", kM1, "--image", img, "--label", "7", "--eps", "0.1"};
}
std::vector<std::string> attackNorm(std::vector<std::string> extra) {
  std::vector<std::string> a{"attack", "--model", kM1, "--image", kImg, "--label", "7",
                             "--mean", "0.1307", "--std", "0.3081"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}
std::vector<std::string> info(const std::string& model) { return {"info", "--model", model}; }
std::vector<std::string> classify(const std::string& ds) {
  return {"classify", "--model", kM1, "--dataset", ds};
}
std::vector<std::string> verify(const std::string& prop) {
  return {"verify", "--onnx", "@D/tiny_ok.onnx", "--vnnlib", prop, "--timeout", "10", "-q"};
}

std::vector<Case> cases() {
  std::vector<Case> c;
  auto add = [&](std::string name, std::string what, std::vector<std::string> args,
                 std::vector<std::string> expect, int code = 2) {
    c.push_back({std::move(name), std::move(what), std::move(args), std::move(expect), code});
  };
  // ---- ONNX
  auto onnxCase = [&](const std::string& name, const std::string& what, const std::string& file,
                      std::vector<std::string> cause) {
    cause.insert(cause.begin(), "@D/" + file + ": ");
    add(name, what, info("@D/" + file), cause);
  };
  add("OnnxTruncated1000", "ONNX truncated to 1000 bytes",
      {"attack", "--model", "@D/truncated_1000.onnx", "--image", kImg, "--eps", "0.1"},
      {"@D/truncated_1000.onnx: ", "protobuf parse failed"});
  onnxCase("OnnxTruncatedHalf", "ONNX truncated to half", "truncated_half.onnx", {"protobuf parse failed"});
  onnxCase("OnnxTruncatedMinus1", "ONNX with the last byte cut", "truncated_minus1.onnx", {"protobuf parse failed"});
  onnxCase("OnnxRandomBytes", "4 KiB of random bytes as ONNX", "random.onnx", {"not a valid ONNX model"});
  onnxCase("OnnxEmptyFile", "empty ONNX file", "empty.onnx", {"not a valid ONNX model"});
  add("OnnxDirectory", "a directory as ONNX", info("@D"), {"@D: "});
  add("OnnxMissingFile", "missing ONNX file", info("@D/no_such.onnx"), {"@D/no_such.onnx: ", "cannot open"});
  onnxCase("OnnxUnknownOp", "unknown op FrobnicateOp", "unknown_op.onnx", {"unsupported op 'FrobnicateOp'"});
  onnxCase("OnnxNanWeight", "NaN weight (float_data)", "nan_weight_tiny.onnx", {"NaN or Inf"});
  onnxCase("OnnxInfWeight", "Inf weight (float_data)", "inf_weight_tiny.onnx", {"NaN or Inf"});
  onnxCase("OnnxNanRawWeight", "NaN weight (raw_data)", "nan_raw_weight.onnx", {"NaN or Inf"});
  add("OnnxNanWeightRealModel", "NaN in a weight of mnist_mlp_1x20 (raw_data)",
      {"attack", "--model", "@D/nan_weight_1x20.onnx", "--image", kImg, "--label", "7", "--eps", "0.1"},
      {"@D/nan_weight_1x20.onnx: ", "NaN or Inf"});
  onnxCase("OnnxInt64Weight", "int64 initializer as Gemm weights", "int64_weight.onnx", {"int64", "'W'"});
  onnxCase("OnnxFloat16Weight", "float16 initializer as Gemm weights (float input)", "float16_weight.onnx", {"float16", "'W'"});
  onnxCase("OnnxStringWeight", "string initializer as weights", "string_weight.onnx", {"unsupported data type"});
  onnxCase("OnnxHugeInitializer", "initializer declaring 10^6 x 10^6 = 10^12 elements", "huge_initializer.onnx", {"more than 2^31 elements"});
  onnxCase("OnnxHugeRawInitializer", "initializer declaring 20000 x 20000 floats, 16 bytes of raw_data", "huge_raw_initializer.onnx", {"raw_data has 16 bytes"});
  onnxCase("OnnxShortWeight", "initializer with 2 of 4 values", "short_weight.onnx", {"has 2 values"});
  onnxCase("OnnxZeroSizeWeight", "zero-size initializer [0, 2] as weights", "zero_size_weight.onnx", {"gemm"});
  onnxCase("OnnxExternalData", "initializer with external data", "external_data.onnx", {"external data"});
  onnxCase("OnnxNegativeDim", "initializer with negative dims", "negative_dim_weight.onnx", {"negative dimension"});
  onnxCase("OnnxHugeInput", "input declaring [1, 10^12]", "huge_input.onnx", {"input 'input'", "more than 2^31 elements"});
  onnxCase("OnnxBigInput", "input declaring [1, 6*10^7] (no data needed)", "big_input.onnx", {"limit"});
  onnxCase("OnnxZeroInput", "zero-size input [1, 0]", "zero_input.onnx", {"no values"});
  onnxCase("OnnxSymbolicInput", "symbolic non-batch input dimension", "symbolic_input.onnx", {"symbolic dimension"});
  onnxCase("OnnxCycle", "graph with a cycle (Add -> Relu -> Add)", "cycle.onnx", {"cycle"});
  onnxCase("OnnxControlCharsInName", "input name with a newline and an ESC sequence",
           "control_chars_name.onnx", {"'in\\nput\\x1b[31m'", "no tensor shape"});
  onnxCase("OnnxSelfLoop", "node consuming its own output", "self_loop.onnx", {"cycle"});
  onnxCase("OnnxDanglingInput", "node input not defined anywhere", "dangling.onnx", {"'W_missing'", "dangling"});
  onnxCase("OnnxOutputNotProduced", "graph output produced by no node", "no_output_producer.onnx", {"not produced by any node"});
  onnxCase("OnnxNoNodes", "graph without nodes", "no_nodes.onnx", {"no nodes"});
  onnxCase("OnnxTwoProducers", "tensor produced twice", "two_producers.onnx", {"produced twice"});
  onnxCase("OnnxReshapeBomb", "Reshape of 2 values to [10^6, 10^6]", "reshape_bomb.onnx", {"Reshape"});
  onnxCase("OnnxConstantOfShapeBomb", "unsupported ConstantOfShape [10^5, 10^5, 1]", "expand_bomb.onnx", {"ConstantOfShape"});
  add("OnnxWrongInputSize", "2-input network, 28x28 image",
      {"attack", "--model", "@D/tiny_ok.onnx", "--image", kImg, "--eps", "0.1"}, {"784", "2"});

  // ---- VNN-LIB (tiny_ok.onnx has 2 inputs and 2 outputs)
  auto vnn = [&](const std::string& name, const std::string& what, const std::string& file,
                 std::vector<std::string> cause) {
    cause.insert(cause.begin(), "@D/" + file + ": ");
    add(name, what, verify("@D/" + file), cause);
  };
  vnn("VnnlibUnbalanced", "unbalanced parentheses (missing ')')", "unbalanced.vnnlib", {"line 9", "never closed"});
  vnn("VnnlibExtraParen", "unexpected ')'", "extra_paren.vnnlib", {"line 9", "unexpected ')'"});
  vnn("VnnlibBadNumber", "bad number 1.2.3", "bad_number.vnnlib", {"line 5", "bad number '1.2.3'"});
  vnn("VnnlibUnknownOperator", "unknown operator in a formula", "unknown_op.vnnlib", {"unknown operator 'frob'"});
  vnn("VnnlibUnknownCommand", "unknown top-level command", "unknown_command.vnnlib", {"unknown command 'frobnicate'"});
  vnn("VnnlibUndeclared", "variable used but not declared", "undeclared.vnnlib", {"X_1 is used but not declared"});
  vnn("VnnlibOutOfRange", "X_7 for a 2-input network", "out_of_range.vnnlib", {"X_7 is out of range", "2 inputs"});
  vnn("VnnlibHugeIndex", "X_99999999999999999999", "huge_index.vnnlib", {"out of range"});
  vnn("VnnlibEmptyBox", "empty box: X_0 >= 0.7 and X_0 <= 0.2", "empty_box.vnnlib", {"empty input box", "X_0"});
  vnn("VnnlibMissingBound", "X_1 without upper bound", "missing_bound.vnnlib", {"X_1 has no upper bound"});
  vnn("VnnlibNonlinear", "product of two outputs", "nonlinear.vnnlib", {"non-linear"});
  vnn("VnnlibMixedXY", "constraint mixing X and Y", "mixed_xy.vnnlib", {"mixing inputs and outputs"});
  vnn("VnnlibDivZero", "division by zero", "div_zero.vnnlib", {"division by zero"});
  vnn("VnnlibContradiction", "constant-false assert (0 >= 1)", "contradiction.vnnlib", {"unsafe set is empty"});
  vnn("VnnlibEmpty", "empty file", "empty.vnnlib", {"no"});
  vnn("VnnlibBinary", "binary bytes", "binary.vnnlib", {"line 1"});
  vnn("VnnlibDeepNesting", "200000 nested (and", "deep_nesting.vnnlib", {"nested deeper than"});
  vnn("VnnlibDnfExplosion", "2^40 disjuncts in DNF", "dnf_explosion.vnnlib", {"disjuncts"});
  vnn("VnnlibUnterminatedString", "unterminated string", "unterminated_string.vnnlib", {"unterminated string"});
  vnn("VnnlibDeclaredTwice", "X_0 declared twice", "declared_twice.vnnlib", {"X_0 is declared twice"});
  vnn("VnnlibBoolSort", "declare-const of sort Bool", "bool_sort.vnnlib", {"only Real"});
  vnn("VnnlibMissingFile", "missing file", "no_such.vnnlib", {"cannot open"});

  // ---- images
  auto img = [&](const std::string& name, const std::string& what, const std::string& file,
                 std::vector<std::string> cause) {
    cause.insert(cause.begin(), "@D/" + file + ": ");
    add(name, what, attackImg("@D/" + file), cause);
  };
  add("ImageWrongSize", "10x10 PGM for a 784-input network",
      {"attack", "--model", kM1, "--image", "@D/small_10x10.pgm", "--label", "7", "--eps", "0.1"},
      {"100", "784"});
  img("PgmTruncated", "PGM cut to 400 bytes", "truncated.pgm", {"truncated file"});
  img("PgmMaxval0", "PGM maxval 0", "maxval0.pgm", {"maxval 0"});
  img("PgmHugeHeader", "PGM header 100000x100000", "huge_header.pgm", {"too large"});
  img("PgmBigAscii", "ASCII PGM header 16000x16000, 4 values", "big_ascii.pgm", {"truncated file"});
  img("PgmNoMaxval", "PGM without maxval", "no_maxval.pgm", {"maxval"});
  img("PgmEmpty", "empty PGM", "empty.pgm", {"empty"});
  img("PgmPixelOverMaxval", "ASCII PGM value 11 > maxval 10", "pixel_over_maxval.pgm", {"exceeds maxval"});
  img("ImageUnknownFormat", "GIF-like bytes", "garbage.img", {"unrecognised image format"});
  img("ImageMissing", "missing image file", "no_such.pgm", {"file not found"});
  img("PngTruncated", "PNG cut in half", "truncated.png", {"PNG"});
  img("PngSignatureOnly", "PNG signature only", "signature_only.png", {"PNG"});
  img("PngCorruptIdat", "PNG with zeroed IDAT bytes", "corrupt_idat.png", {"PNG"});
  img("PngLiesAboutSize", "PNG declaring 16000x16000 with 64 bytes of pixels", "png_lies_size.png", {"PNG"});
  img("PngHuge", "PNG declaring 100000x100000", "png_huge.png", {"too large"});
  img("PngZeroWidth", "PNG of width 0", "png_zero_width.png", {"zero size"});

  // ---- datasets
  auto ds = [&](const std::string& name, const std::string& what, const std::string& file,
                std::vector<std::string> cause) {
    cause.insert(cause.begin(), "@D/" + file + ": ");
    add(name, what, classify("@D/" + file), cause);
  };
  ds("CsvShortRow", "CSV row with 783 pixels", "csv_short_row.csv", {"783 pixel values"});
  ds("CsvLongRow", "CSV row with 785 pixels", "csv_long_row.csv", {"785 pixel values"});
  ds("CsvNonNumeric", "CSV pixel 'abc'", "csv_non_numeric.csv", {"not a number"});
  ds("CsvNanPixel", "CSV pixel 'nan'", "csv_nan_pixel.csv", {"not a number"});
  ds("CsvPixel300", "CSV pixel 300", "csv_pixel_300.csv", {"out of range"});
  ds("CsvBadLabel", "CSV label 'x'", "csv_bad_label.csv", {"label is not a number"});
  ds("CsvText", "a line of text", "csv_text.csv", {"no data rows"});
  ds("CsvHeaderOnly", "CSV header only", "csv_header_only.csv", {"no data rows"});
  ds("CsvBadFirstRow", "first row label 'x', then 3 good rows", "csv_bad_first_row.csv", {"line 1"});
  ds("CsvRagged", "3 good rows, then a row of 100 pixels", "csv_ragged.csv", {"line 4", "100 pixel values"});
  ds("CsvNulByte", "NUL byte in a CSV row", "csv_nul.csv", {"NUL"});
  ds("CsvEmpty", "empty CSV", "csv_empty.csv", {"empty"});
  ds("DatasetMissing", "missing dataset", "no_such.csv", {"file not found"});
  add("CsvViaAttack", "malformed CSV via attack --index 0",
      {"attack", "--model", kM1, "--dataset", "@D/csv_non_numeric.csv", "--index", "0", "--eps", "0.1"},
      {"@D/csv_non_numeric.csv: ", "not a number"});
  const std::string gzi = "t10k-images-idx3-ubyte.gz", raw = "t10k-images-idx3-ubyte";
  ds("IdxTruncatedGzip", "gzip stream cut in half", "idx_trunc_gz/" + gzi, {"gzip"});
  add("IdxTruncatedGzipAttack", "gzip stream cut in half (attack)",
      {"attack", "--model", kM1, "--dataset", "@D/idx_trunc_gz/" + gzi, "--index", "0", "--eps", "0.1"},
      {"@D/idx_trunc_gz/" + gzi + ": ", "gzip"});
  ds("IdxShortInGzip", "valid gzip, IDX shorter than declared", "idx_short_idx/" + gzi, {"truncated IDX file"});
  ds("IdxBadMagic", "IDX magic 0x00000999", "idx_bad_magic/" + gzi, {"wrong magic"});
  ds("Idx1e9Images", "IDX header claiming 10^9 images of 28x28", "idx_1e9/" + raw, {"1000000000x28x28", "refusing"});
  ds("Idx1e9ImagesGz", "gzipped IDX header claiming 10^9 images", "idx_1e9_gz/" + gzi, {"refusing"});
  ds("Idx1e6Truncated", "IDX header claiming 10^6 images, 3 present", "idx_1e6_truncated/" + raw, {"truncated IDX file"});
  ds("IdxHeaderOnly", "IDX cut inside the header", "idx_header_only/" + raw, {"truncated IDX header"});
  add("IdxLabelCount", "7 labels for 10 images", classify("@D/idx_label_count/" + raw),
      {"@D/idx_label_count/t10k-labels-idx1-ubyte: ", "label count mismatch"});
  add("IdxShortLabels", "labels file declaring 10, holding 3", classify("@D/idx_short_labels/" + raw),
      {"@D/idx_short_labels/t10k-labels-idx1-ubyte: ", "truncated IDX file"});
  ds("IdxZeroRows", "IDX images of 0x28", "idx_zero_rows/" + raw, {"empty images"});
  ds("IdxBigImages", "IDX images of 65536x65536", "idx_big_images/" + raw, {"refusing"});
  ds("IdxWrongType", "IDX of float32 images", "idx_wrong_type/" + raw, {"wrong magic"});
  add("IdxNoLabelsValid", "gz IDX without labels, --index 0 (valid: label = clean prediction)",
      {"attack", "--model", kM1, "--dataset", "@D/idx_no_labels/" + gzi, "--index", "0", "--eps",
       "0.1", "--method", "nlp", "-q"},
      {}, 0);

  // ---- options
  add("EpsNegative", "--eps -0.1", attackNorm({"--eps", "-0.1"}), {"eps"});
  add("EpsMinus1", "--eps -1", attackNorm({"--eps", "-1"}), {"eps"});
  add("EpsNan", "--eps nan", attackNorm({"--eps", "nan"}), {"eps"});
  add("EpsInf", "--eps inf", attackNorm({"--eps", "inf"}), {"eps"});
  add("EpsText", "--eps abc", attackNorm({"--eps", "abc"}), {"eps"});
  add("IndexOutOfRange", "--index 100000 of 100 rows",
      {"attack", "--model", kM1, "--dataset", kCsv, "--index", "100000", "--eps", "0.1"},
      {"index 100000 out of range"});
  add("IndexNegative", "--index -1",
      {"attack", "--model", kM1, "--dataset", kCsv, "--index", "-1", "--eps", "0.1"}, {"index"});
  add("IndexHuge", "--index 2^62",
      {"attack", "--model", kM1, "--dataset", kCsv, "--index", "4611686018427387904", "--eps", "0.1"},
      {"index"});
  add("LabelTen", "--label 10", attackImg(kImg), {"label"});
  c.back().args[6] = "10";
  add("LabelNegative", "--label -1", attackImg(kImg), {"label"});
  c.back().args[6] = "-1";
  add("TargetFoo", "--target foo", attackNorm({"--eps", "0.1", "--target", "foo"}), {"target"});
  add("TargetIsLabel", "--target 7 = label", attackNorm({"--eps", "0.1", "--target", "7"}), {"target"});
  add("TargetTen", "--target 10", attackNorm({"--eps", "0.1", "--target", "10"}), {"target"});
  add("Target3x", "--target 3x", attackNorm({"--eps", "0.1", "--target", "3x"}), {"target"});
  add("MethodFoo", "--method foo", attackNorm({"--eps", "0.1", "--method", "foo"}), {"method"});
  add("NlpFormFoo", "--nlp-form foo", attackNorm({"--eps", "0.1", "--method", "nlp", "--nlp-form", "foo"}), {"form 'foo'"});
  add("MpecFormFoo", "--mpec-form foo", attackNorm({"--eps", "0.1", "--method", "mpec", "--mpec-form", "foo"}), {"form 'foo'"});
  add("TimeLimitZero", "--time-limit 0", attackNorm({"--eps", "0.1", "--time-limit", "0"}), {"time-limit"});
  add("MeanWithoutStd", "--mean without --std",
      {"attack", "--model", kM1, "--image", kImg, "--label", "7", "--mean", "0.1307", "--eps", "0.1"},
      {"std"});
  add("StdWithoutMean", "--std without --mean",
      {"attack", "--model", kM1, "--image", kImg, "--label", "7", "--std", "0.3081", "--eps", "0.1"},
      {"mean"});
  add("StdZero", "--std 0", attackNorm({"--eps", "0.1"}), {"std"});
  c.back().args[10] = "0";
  add("ImageAndDataset", "--image and --dataset",
      {"attack", "--model", kM1, "--image", kImg, "--dataset", kCsv, "--index", "0", "--eps", "0.1"},
      {"image"});
  add("NoInput", "no --image/--dataset", {"attack", "--model", kM1, "--eps", "0.1"}, {"image"});
  add("UnknownOption", "unknown option --frobnicate",
      {"attack", "--model", kM1, "--image", kImg, "--eps", "0.1", "--frobnicate"}, {"frobnicate"});
  add("NoSubcommand", "no subcommand", {}, {"subcommand"});
  add("VerifyTimeoutZero", "verify --timeout 0",
      {"verify", "--onnx", "@D/tiny_ok.onnx", "--vnnlib", "@D/ok.vnnlib", "--timeout", "0"},
      {"timeout"});
  return c;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::string expand(std::string s, const std::string& d) {
  for (const auto& [k, v] : {std::pair<std::string, std::string>{"@D", d}, {"@S", kSrc}})
    for (size_t p; (p = s.find(k)) != std::string::npos;) s.replace(p, k.size(), v);
  return s;
}

std::string tableCell(std::string s) {
  for (size_t p = 0; (p = s.find('|', p)) != std::string::npos; p += 2) s.replace(p, 1, "\\|");
  return s;
}

class HostileInput : public testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/nnopt_hostile_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    makeFiles(dir_);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  static std::string dir_;
};
std::string HostileInput::dir_;

TEST_P(HostileInput, FailsCleanly) {
  const Case& k = GetParam();
  std::vector<std::string> args;
  for (const auto& a : k.args) args.push_back(expand(a, dir_));
  const std::string rundir = dir_ + "/run_" + k.name;
  fs::create_directories(rundir);
  const double timeout = envNumber("NNOPT_HOSTILE_TIMEOUT", 60);
  const double rss_mb = envNumber("NNOPT_HOSTILE_RSS_MB", 100);
  const RunResult r = runCli(args, rundir, timeout);
  std::string cmd = "nnopt";
  for (const auto& a : k.args) cmd += " " + a;
  SCOPED_TRACE(expand(cmd, dir_) + "\nstderr: " + r.err + "\nstdout: " + r.out.substr(0, 2000));
  EXPECT_FALSE(r.timed_out) << "hang: killed after " << timeout << " s";
  EXPECT_EQ(r.signal, 0) << "crash: signal " << r.signal;
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.code, k.code);
  EXPECT_LT(r.max_rss_kb / 1024.0, rss_mb) << "peak RSS " << r.max_rss_kb / 1024 << " MB";
  const std::string line = r.err.substr(0, r.err.find('\n'));
  if (k.code == 2) {
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "expected exactly one stderr line";
    EXPECT_EQ(r.err.back(), '\n');
    for (const auto& e : k.expect)
      EXPECT_NE(line.find(expand(e, dir_)), std::string::npos) << "missing '" << expand(e, dir_) << "'";
  }
  if (const char* table = std::getenv("NNOPT_HOSTILE_TABLE")) {
    std::string shown = line;
    for (size_t p; (p = shown.find(dir_)) != std::string::npos;) shown.replace(p, dir_.size(), "$TMP");
    for (size_t p; (p = shown.find(kSrc + "/")) != std::string::npos;) shown.replace(p, kSrc.size() + 1, "");
    std::ofstream t(table, std::ios::app);
    char rss[32];
    std::snprintf(rss, sizeof rss, "%.0f", r.max_rss_kb / 1024.0);
    t << "| " << k.name << " | " << tableCell(k.what) << " | "
      << (r.timed_out ? std::string("HANG") : r.signal ? "signal " + std::to_string(r.signal)
                                                       : std::to_string(r.code))
      << " | " << rss << " | " << tableCell(k.code == 2 ? shown : "(valid input, no error)") << " |\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, HostileInput, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
