#pragma once
// Internal to io/ (not installed): what the image and dataset readers and the
// PNG writer (images.h) share.
//
// Every error is an nnopt::Error whose one-line message starts with the path.
// Sizes declared by file headers are checked against the real data, and
// against fixed limits, before anything is allocated for them.
//
// The pieces:
//   images_common.cpp  fail, file opening and stamps, quoted excerpts
//   dataset.cpp        Source (a file's bytes, gunzipped and cached), format dispatch,
//                      loadDatasetItem / datasetSize
//   dataset_idx.cpp    MNIST IDX headers, images and sibling labels files
//   dataset_csv.cpp    CSV "label,p0,...": line index (cached), row parsing (gray or C x H x W)
//   dataset_cifar.cpp  CIFAR-10 binary batches (*.bin: label byte + 3x32x32 bytes per record)
//   normalization.cpp  --mean/--std per input or per channel (normalization.h)
//   images.cpp         loadImage: PNG (libpng) and PGM/PPM decoding
//   png_write.cpp      writePngGray / writePngRgb
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/images.h"

namespace nnopt::io::images_detail {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxIdxDataBytes = std::uint64_t(1) << 31;  // declared IDX payload
constexpr std::uint64_t kMaxDecompressed = std::uint64_t(1) << 31;  // gzipped CSV text
constexpr std::uint64_t kMaxImagePixels = std::uint64_t(1) << 28;   // PNG/PGM/written images
constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t(1) << 31;
constexpr std::size_t kMaxCsvLine = std::size_t(1) << 28;
// Upper bound of deflate's expansion (1032:1 in theory), with headroom.
constexpr std::uint64_t kMaxDeflateRatio = 1100;

// Throws Error("PATH: cause") on one line.
[[noreturn]] void fail(const std::string& path, const std::string& cause);

std::string errnoText(int e);

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Opens a file for reading; throws unless it exists and is not a directory.
FilePtr openRead(const std::string& path);

// Identity of a file's current contents, for the caches below.
struct Stamp {
  std::uintmax_t size = 0;
  fs::file_time_type mtime{};
  bool operator==(const Stamp&) const = default;
};

Stamp stampOf(const std::string& path);

inline std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}

// A short quoted excerpt of file text for a one-line message.
std::string shown(std::string_view s);

// ------------------------------------------------------------ datasets (dataset.cpp)

// Random access to a file's (decompressed) bytes.
class Source {
 public:
  explicit Source(const std::string& path);
  std::uint64_t size() const { return size_; }
  bool gzipped() const { return gzipped_; }
  // Reads up to n bytes at offset; returns the count read (short only at EOF).
  std::size_t read(std::uint64_t off, void* buf, std::size_t n);
  void readExact(std::uint64_t off, void* buf, std::size_t n, const char* what);

 private:
  std::string path_;
  FilePtr file_;
  std::shared_ptr<const std::string> mem_;
  std::uint64_t size_ = 0;
  bool gzipped_ = false;
};

[[noreturn]] void outOfRange(const std::string& path, long index, long n);

// ------------------------------------------------------------ IDX (dataset_idx.cpp)

struct IdxHeader {
  int type = 0;   // 0x08 = uint8, ...
  int ndims = 0;
  std::vector<std::uint64_t> dims;
  std::uint64_t dataOffset = 0;
  std::uint64_t dataBytes = 0;  // as declared by the header
  std::uint32_t magic = 0;
};

// An IDX file starts with two zero bytes (then type and dimension count).
inline bool looksLikeIdx(const unsigned char* p, std::size_t n) {
  return n >= 4 && p[0] == 0 && p[1] == 0;
}

// Parses an IDX header from the first `avail` bytes. Throws on unknown data
// types, bad dimension counts, truncated headers and absurd declared sizes.
IdxHeader parseIdxHeader(const std::string& path, const unsigned char* p, std::size_t avail);

Image loadIdxItem(const std::string& path, Source& src, long index);
// Number of images (after checking the images file and its labels file).
long idxSize(const std::string& path, Source& src);

// ------------------------------------------------------------ CSV (dataset_csv.cpp)

Image loadCsvItem(const std::string& path, Source& src, long index);
long csvSize(const std::string& path, Source& src);

// ------------------------------------------------------------ CIFAR-10 (dataset_cifar.cpp)

// A CIFAR-10 binary file has no magic number: it is told by its name (*.bin, *.bin.gz).
// Bytes of one CIFAR-10 record: a label byte and 3 x 32 x 32 pixel bytes.
inline constexpr std::uint64_t kCifarRecordBytes = 1 + 3 * 32 * 32;
bool looksLikeCifarName(const std::string& path);
Image loadCifarItem(const std::string& path, Source& src, long index);
long cifarSize(const std::string& path, Source& src);

}  // namespace nnopt::io::images_detail
