// libFuzzer target: the image (PNG/PGM/PPM) and dataset (IDX, gzipped IDX,
// CSV) readers. The readers take paths, so the input is written to a fresh
// file under $TMPDIR (a new name each run: the dataset caches key on the path).
//
// First byte: mode. 0: loadImage (gray), 1: loadImage (colour), 2: dataset
// item 0 + size, 3: dataset with a labels file: the rest is split at byte 1
// (offset = byte1 * 16) into an images file and its sibling labels file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_common.h"
#include "io/images.h"

namespace {

std::string tmpDir() {
  static const std::string dir = [] {
    const char* t = std::getenv("TMPDIR");
    std::string d = std::string(t && *t ? t : "/tmp") + "/nnopt_fuzz_images." +
                    std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

void writeFile(const std::string& path, const uint8_t* p, size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (n && std::fwrite(p, 1, n, f) != n) std::abort();
  std::fclose(f);
}

template <class F>
void expectError(const std::string& name, F&& f) {
  try {
    f();
  } catch (const nnopt::Error& e) {
    nnopt::fuzz::checkMessage(e, name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static unsigned long run = 0;
  const std::string dir = tmpDir() + "/" + std::to_string(run++);
  std::filesystem::create_directories(dir);
  const int mode = data[0] % 4;
  ++data;
  --size;
  if (mode <= 1) {
    const std::string path = dir + "/image";
    writeFile(path, data, size);
    expectError(path, [&] {
      nnopt::io::Image img = nnopt::io::loadImage(path, mode == 0);
      if (img.pixels.size() != int64_t(img.channels) * img.rows * img.cols) std::abort();
    });
  } else {
    const std::string path = dir + "/t10k-images-idx3-ubyte";
    size_t split = size;
    if (mode == 3 && size >= 1) {
      split = std::min<size_t>(size - 1, size_t(data[0]) * 16);
      ++data;
      --size;
      writeFile(dir + "/t10k-labels-idx1-ubyte", data + split, size - split);
    }
    writeFile(path, data, split);
    // Errors may name the labels file instead of the images file.
    auto check = [&](auto&& f) {
      try {
        f();
      } catch (const nnopt::Error& e) {
        const std::string msg = e.what();
        const std::string lab = dir + "/t10k-labels-idx1-ubyte";
        nnopt::fuzz::checkMessage(e, msg.rfind(lab, 0) == 0 ? lab : path);
      }
    };
    check([&] {
      nnopt::io::Image img = nnopt::io::loadDatasetItem(path, 0);
      if (img.pixels.size() != int64_t(img.channels) * img.rows * img.cols) std::abort();
    });
    check([&] { nnopt::io::datasetSize(path); });
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
