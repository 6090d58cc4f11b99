// CIFAR-10 binary datasets (data_batch_1.bin ... data_batch_5.bin, test_batch.bin,
// gzipped or not): records of 1 label byte (0-9) and 3072 pixel bytes, the
// 32x32 red plane, then green, then blue (row-major), i.e. already C x H x W.
// The file has no header: it is told by its name (*.bin, not IDX, at least one
// record long) and checked to be a whole number of records.
#include <cctype>
#include <string>

#include "io/images_internal.h"

namespace nnopt::io::images_detail {
namespace {

constexpr std::uint64_t kSide = 32;
constexpr std::uint64_t kPixels = 3 * kSide * kSide;
constexpr std::uint64_t kRecord = kCifarRecordBytes;
static_assert(kRecord == 1 + kPixels);

long cifarRecords(const std::string& path, Source& src) {
  if (src.size() == 0) fail(path, src.gzipped() ? "gzip file holds no data" : "file is empty");
  if (src.size() % kRecord != 0)
    fail(path, "truncated or not a CIFAR-10 binary file: " + std::to_string(src.size()) +
                   " bytes is not a whole number of " + std::to_string(kRecord) +
                   "-byte records (1 label byte + 3x32x32 pixel bytes); " +
                   std::to_string(src.size() / kRecord) + " whole records and " +
                   std::to_string(src.size() % kRecord) + " bytes left over");
  if (src.size() / kRecord > 0x7fffffffULL) fail(path, "too many CIFAR-10 records");
  return static_cast<long>(src.size() / kRecord);
}

}  // namespace

bool looksLikeCifarName(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ends = [&](const std::string& s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".bin") || ends(".bin.gz");
}

Image loadCifarItem(const std::string& path, Source& src, long index) {
  const long n = cifarRecords(path, src);
  if (index < 0 || index >= n) outOfRange(path, index, n);
  std::vector<unsigned char> rec(kRecord);
  src.readExact(std::uint64_t(index) * kRecord, rec.data(), rec.size(), "CIFAR-10 record");
  if (rec[0] > 9)
    fail(path, "record " + std::to_string(index) + ": label byte " + std::to_string(rec[0]) +
                   " is not a CIFAR-10 class 0-9 (not a CIFAR-10 binary file?)");
  Image img;
  img.channels = 3;
  img.rows = img.cols = static_cast<int>(kSide);
  img.label = rec[0];
  img.pixels.resize(static_cast<Eigen::Index>(kPixels));
  for (std::uint64_t i = 0; i < kPixels; ++i)
    img.pixels[static_cast<Eigen::Index>(i)] = rec[1 + i] / 255.0;
  return img;
}

long cifarSize(const std::string& path, Source& src) { return cifarRecords(path, src); }

}  // namespace nnopt::io::images_detail
