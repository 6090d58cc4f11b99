// Datasets (loadDatasetItem, datasetSize): a file's bytes through Source
// (plain, or gunzipped once and cached while the file is unchanged), the format
// told by content (IDX magic), then by name (*.bin of at least one record:
// CIFAR-10, which has no magic), else CSV text, then dataset_cifar.cpp, dataset_idx.cpp or dataset_csv.cpp.
#include "io/images.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>

#include "io/images_internal.h"

namespace nnopt::io::images_detail {
namespace {

// ------------------------------------------------------------ byte sources

// Decompressed contents of gzipped files, shared by later calls so a loop over
// a dataset decompresses it once. A few entries, least recently used first out.
struct GzEntry {
  std::string path;
  Stamp stamp;
  std::shared_ptr<const std::string> data;
};
std::mutex gzMutex;
std::list<GzEntry> gzCache;

std::shared_ptr<const std::string> gunzip(const std::string& path) {
  Stamp st = stampOf(path);
  {
    std::lock_guard<std::mutex> lock(gzMutex);
    for (auto it = gzCache.begin(); it != gzCache.end(); ++it)
      if (it->path == path && it->stamp == st) {
        gzCache.splice(gzCache.begin(), gzCache, it);
        return it->data;
      }
  }
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) fail(path, "cannot open file: " + errnoText(errno));
  struct GzCloser {
    gzFile g;
    ~GzCloser() { gzclose(g); }
  } closer{gz};
  auto out = std::make_shared<std::string>();
  auto readSome = [&](std::size_t want) -> std::size_t {
    std::size_t got = 0;
    std::vector<char> buf(std::min<std::size_t>(want, 1 << 20));
    while (got < want) {
      unsigned ask = static_cast<unsigned>(std::min<std::size_t>(want - got, buf.size()));
      int r = gzread(gz, buf.data(), ask);
      int code = Z_OK;
      const char* msg = gzerror(gz, &code);
      std::string text = msg ? msg : "read error";
      if (text.rfind(path + ": ", 0) == 0) text.erase(0, path.size() + 2);  // zlib prefixes the path
      if (r < 0) fail(path, "corrupt gzip data: " + text);
      if (code == Z_BUF_ERROR) fail(path, "truncated gzip data: " + text);
      if (r == 0) break;
      out->append(buf.data(), static_cast<std::size_t>(r));
      got += static_cast<std::size_t>(r);
    }
    return got;
  };
  // Header first: an IDX header tells how much data to expect, so an absurd
  // declaration is refused before decompressing (or allocating) anything more.
  readSome(20);
  std::uint64_t limit = kMaxDecompressed + 1;
  const auto* p = reinterpret_cast<const unsigned char*>(out->data());
  if (looksLikeIdx(p, out->size())) {
    IdxHeader h = parseIdxHeader(path, p, out->size());
    limit = h.dataOffset + h.dataBytes;  // trailing bytes past the declared data are ignored
  }
  if (out->size() < limit) readSome(limit - out->size());
  if (out->size() > kMaxDecompressed)
    fail(path, "decompressed data is larger than " + std::to_string(kMaxDecompressed) +
                   " bytes; refusing to read it");
  std::shared_ptr<const std::string> data = out;
  std::lock_guard<std::mutex> lock(gzMutex);
  gzCache.push_front(GzEntry{path, st, data});
  while (gzCache.size() > 4) gzCache.pop_back();
  return data;
}

}  // namespace

Source::Source(const std::string& path) : path_(path) {
  file_ = openRead(path);
  unsigned char m[2] = {0, 0};
  std::size_t n = std::fread(m, 1, 2, file_.get());
  if (n < 2 && std::ferror(file_.get())) fail(path, "cannot read file: " + errnoText(errno));
  if (n == 2 && m[0] == 0x1f && m[1] == 0x8b) {
    gzipped_ = true;
    file_.reset();
    mem_ = gunzip(path);
    size_ = mem_->size();
  } else {
    if (std::fseek(file_.get(), 0, SEEK_END) != 0)
      fail(path, "cannot seek in file: " + errnoText(errno));
    long long end = ftello(file_.get());
    if (end < 0) fail(path, "cannot seek in file: " + errnoText(errno));
    size_ = static_cast<std::uint64_t>(end);
  }
}

std::size_t Source::read(std::uint64_t off, void* buf, std::size_t n) {
  if (off >= size_) return 0;
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - off));
  if (mem_) {
    std::memcpy(buf, mem_->data() + off, n);
    return n;
  }
  if (fseeko(file_.get(), static_cast<off_t>(off), SEEK_SET) != 0)
    fail(path_, "cannot seek in file: " + errnoText(errno));
  std::size_t got = std::fread(buf, 1, n, file_.get());
  if (got < n && std::ferror(file_.get())) fail(path_, "cannot read file: " + errnoText(errno));
  return got;
}

void Source::readExact(std::uint64_t off, void* buf, std::size_t n, const char* what) {
  if (read(off, buf, n) != n) fail(path_, std::string("unexpected end of file reading ") + what);
}

[[noreturn]] void outOfRange(const std::string& path, long index, long n) {
  fail(path, "index " + std::to_string(index) + " out of range: " + path + " has " +
                 std::to_string(n) + (n == 1 ? " image" : " images"));
}

namespace {

enum class Kind { Idx, Csv, Cifar };

Kind detect(const std::string& path, Source& src) {
  if (src.size() == 0) fail(path, src.gzipped() ? "gzip file holds no data" : "file is empty");
  unsigned char m[4] = {};
  std::size_t got = src.read(0, m, sizeof m);
  if (looksLikeIdx(m, got)) return Kind::Idx;  // an IDX file may be called *.bin too
  // CIFAR-10 has no magic: a *.bin holding at least one whole record (a
  // shorter one is reported as unrecognised binary data below).
  if (looksLikeCifarName(path) && src.size() >= kCifarRecordBytes) return Kind::Cifar;
  const char* what = nullptr;
  if (got >= 4 && m[0] == 0x89 && m[1] == 'P' && m[2] == 'N' && m[3] == 'G') what = "a PNG image";
  else if (got >= 3 && m[0] == 'P' && m[1] >= '1' && m[1] <= '6' && std::isspace(m[2]))
    what = "a PGM/PPM image";
  if (what)
    fail(path, std::string("is ") + what +
                   ", not a dataset (expected MNIST IDX, optionally gzipped, or CSV text)");
  // CSV is text: a NUL byte near the start means some other binary format.
  char head[4096];
  std::size_t n = src.read(0, head, sizeof head);
  if (std::memchr(head, '\0', n))
    fail(path, "unrecognised binary data, not a dataset (expected MNIST IDX, optionally "
               "gzipped, CIFAR-10 *.bin or CSV text)");
  return Kind::Csv;
}

}  // namespace
}  // namespace nnopt::io::images_detail

namespace nnopt::io {

using namespace images_detail;

Image loadDatasetItem(const std::string& path, long index) {
  Source src(path);
  switch (detect(path, src)) {
    case Kind::Idx: return loadIdxItem(path, src, index);
    case Kind::Cifar: return loadCifarItem(path, src, index);
    case Kind::Csv: break;
  }
  return loadCsvItem(path, src, index);
}

long datasetSize(const std::string& path) {
  Source src(path);
  switch (detect(path, src)) {
    case Kind::Idx: return idxSize(path, src);
    case Kind::Cifar: return cifarSize(path, src);
    case Kind::Csv: break;
  }
  return csvSize(path, src);
}

}  // namespace nnopt::io
