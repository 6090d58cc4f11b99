// Image and dataset readers/writers: MNIST IDX (plain or gzipped), CSV
// "label,p0,...", PNG (libpng) and PGM (P5/P2, plus PPM P6/P3).
//
// Every error is an nnopt::Error whose one-line message starts with the path.
// Sizes declared by file headers are checked against the real data, and
// against fixed limits, before anything is allocated for them.
#include "io/images.h"

#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace nnopt::io {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxIdxDataBytes = std::uint64_t(1) << 31;  // declared IDX payload
constexpr std::uint64_t kMaxDecompressed = std::uint64_t(1) << 31;  // gzipped CSV text
constexpr std::uint64_t kMaxImagePixels = std::uint64_t(1) << 28;   // PNG/PGM/written images
constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t(1) << 31;
constexpr std::size_t kMaxCsvLine = std::size_t(1) << 28;
// Upper bound of deflate's expansion (1032:1 in theory), with headroom.
constexpr std::uint64_t kMaxDeflateRatio = 1100;

[[noreturn]] void fail(const std::string& path, const std::string& cause) {
  throw Error(oneLine(path + ": " + cause));
}

std::string errnoText(int e) { return e ? std::string(std::strerror(e)) : "unknown error"; }

// Throws unless `path` names an existing regular file (or something readable
// that is not a directory).
void checkReadable(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail(path, "file not found");
  if (fs::is_directory(st)) fail(path, "is a directory, expected a file");
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr openRead(const std::string& path) {
  checkReadable(path);
  errno = 0;
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, "cannot open file: " + errnoText(errno));
  return f;
}

// Identity of a file's current contents, for the caches below.
struct Stamp {
  std::uintmax_t size = 0;
  fs::file_time_type mtime{};
  bool operator==(const Stamp&) const = default;
};

Stamp stampOf(const std::string& path) {
  std::error_code ec;
  Stamp s;
  s.size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read file size: " + ec.message());
  s.mtime = fs::last_write_time(path, ec);
  if (ec) fail(path, "cannot read file time: " + ec.message());
  return s;
}

// ------------------------------------------------------------ IDX headers

struct IdxHeader {
  int type = 0;   // 0x08 = uint8, ...
  int ndims = 0;
  std::vector<std::uint64_t> dims;
  std::uint64_t dataOffset = 0;
  std::uint64_t dataBytes = 0;  // as declared by the header
  std::uint32_t magic = 0;
};

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

bool looksLikeIdx(const unsigned char* p, std::size_t n) { return n >= 4 && p[0] == 0 && p[1] == 0; }

// Parses an IDX header from the first `avail` bytes. Throws on unknown data
// types, bad dimension counts, truncated headers and absurd declared sizes.
IdxHeader parseIdxHeader(const std::string& path, const unsigned char* p, std::size_t avail) {
  if (avail < 4) fail(path, "truncated IDX header (" + std::to_string(avail) + " bytes)");
  IdxHeader h;
  h.magic = be32(p);
  h.type = p[2];
  h.ndims = p[3];
  int elem = 0;
  switch (h.type) {
    case 0x08: case 0x09: elem = 1; break;
    case 0x0B: elem = 2; break;
    case 0x0C: case 0x0D: elem = 4; break;
    case 0x0E: elem = 8; break;
    default: fail(path, "wrong magic " + hex32(h.magic) + ": unknown IDX data type");
  }
  if (h.ndims < 1 || h.ndims > 4)
    fail(path, "wrong magic " + hex32(h.magic) + ": IDX dimension count must be 1..4");
  h.dataOffset = 4 + 4 * std::uint64_t(h.ndims);
  if (avail < h.dataOffset)
    fail(path, "truncated IDX header (" + std::to_string(avail) + " of " +
                   std::to_string(h.dataOffset) + " bytes)");
  // Product with saturation: every factor is < 2^32, stop once past the limit.
  std::uint64_t total = std::uint64_t(elem);
  bool huge = false;
  for (int i = 0; i < h.ndims; ++i) {
    std::uint64_t d = be32(p + 4 + 4 * i);
    h.dims.push_back(d);
    if (!huge) {
      if (d != 0 && total > (kMaxIdxDataBytes << 1) / d) huge = true;
      else total *= d;
    }
  }
  bool anyZero = std::find(h.dims.begin(), h.dims.end(), 0) != h.dims.end();
  if (anyZero) total = 0, huge = false;
  if (huge || total > kMaxIdxDataBytes) {
    std::string dims;
    for (auto d : h.dims) {
      if (!dims.empty()) dims += 'x';
      dims += std::to_string(d);
    }
    fail(path, "IDX header declares " + dims + " items, more than " +
                   std::to_string(kMaxIdxDataBytes) + " bytes of data; refusing to read it");
  }
  h.dataBytes = total;
  return h;
}

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

// Random access to a file's (decompressed) bytes.
class Source {
 public:
  explicit Source(const std::string& path) : path_(path) {
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
  std::uint64_t size() const { return size_; }
  bool gzipped() const { return gzipped_; }
  // Reads up to n bytes at offset; returns the count read (short only at EOF).
  std::size_t read(std::uint64_t off, void* buf, std::size_t n) {
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
  void readExact(std::uint64_t off, void* buf, std::size_t n, const char* what) {
    if (read(off, buf, n) != n) fail(path_, std::string("unexpected end of file reading ") + what);
  }

 private:
  std::string path_;
  FilePtr file_;
  std::shared_ptr<const std::string> mem_;
  std::uint64_t size_ = 0;
  bool gzipped_ = false;
};

// ------------------------------------------------------------ IDX datasets

struct IdxImages {
  IdxHeader h;
  long n = 0;
  int rows = 0, cols = 0;
};

IdxHeader readIdxHeader(const std::string& path, Source& src) {
  unsigned char hdr[20] = {};
  std::size_t got = src.read(0, hdr, sizeof hdr);
  return parseIdxHeader(path, hdr, got);
}

void checkIdxSize(const std::string& path, Source& src, const IdxHeader& h, const std::string& what) {
  std::uint64_t have = src.size() > h.dataOffset ? src.size() - h.dataOffset : 0;
  if (have < h.dataBytes)
    fail(path, "truncated IDX file: header declares " + what + " (" + std::to_string(h.dataBytes) +
                   " bytes of data) but only " + std::to_string(have) +
                   " bytes follow the header");
}

IdxImages openIdxImages(const std::string& path, Source& src) {
  IdxImages r;
  r.h = readIdxHeader(path, src);
  if (r.h.magic != 0x00000803)
    fail(path, "wrong magic " + hex32(r.h.magic) +
                   ": expected 0x00000803 (IDX file of uint8 images, n x rows x cols)");
  if (r.h.dims[1] == 0 || r.h.dims[2] == 0)
    fail(path, "IDX header declares empty images (" + std::to_string(r.h.dims[1]) + "x" +
                   std::to_string(r.h.dims[2]) + ")");
  if (r.h.dims[1] * r.h.dims[2] > kMaxImagePixels)
    fail(path, "IDX header declares images of " + std::to_string(r.h.dims[1]) + "x" +
                   std::to_string(r.h.dims[2]) + " pixels, too large");
  if (r.h.dims[0] > 0x7fffffffULL) fail(path, "IDX header declares too many images");
  r.n = static_cast<long>(r.h.dims[0]);
  r.rows = static_cast<int>(r.h.dims[1]);
  r.cols = static_cast<int>(r.h.dims[2]);
  checkIdxSize(path, src, r.h,
               std::to_string(r.n) + " images of " + std::to_string(r.rows) + "x" +
                   std::to_string(r.cols));
  return r;
}

// The sibling labels file of an IDX images file, or "" when there is none.
std::string siblingLabels(const std::string& path) {
  fs::path p(path);
  std::string name = p.filename().string();
  auto pos = name.find("images-idx3");
  if (pos == std::string::npos) return "";
  name.replace(pos, std::strlen("images-idx3"), "labels-idx1");
  std::vector<std::string> names{name};
  const std::string gz = ".gz";
  if (name.size() > gz.size() && name.compare(name.size() - gz.size(), gz.size(), gz) == 0)
    names.push_back(name.substr(0, name.size() - gz.size()));
  else
    names.push_back(name + gz);
  for (const auto& n : names) {
    fs::path cand = p.parent_path() / n;
    std::error_code ec;
    if (fs::exists(cand, ec) && !fs::is_directory(cand, ec)) return cand.string();
  }
  return "";
}

struct IdxLabels {
  std::string path;
  IdxHeader h;
};

// Opens and checks the labels file for an images file with n images.
std::unique_ptr<Source> openIdxLabels(const std::string& imagesPath, long n, IdxLabels& out) {
  out.path = siblingLabels(imagesPath);
  if (out.path.empty()) return nullptr;
  auto src = std::make_unique<Source>(out.path);
  out.h = readIdxHeader(out.path, *src);
  if (out.h.magic != 0x00000801)
    fail(out.path, "wrong magic " + hex32(out.h.magic) +
                       ": expected 0x00000801 (IDX file of uint8 labels)");
  checkIdxSize(out.path, *src, out.h, std::to_string(out.h.dims[0]) + " labels");
  if (out.h.dims[0] != static_cast<std::uint64_t>(n))
    fail(out.path, "label count mismatch: " + std::to_string(out.h.dims[0]) + " labels but " +
                       imagesPath + " has " + std::to_string(n) + " images");
  return src;
}

[[noreturn]] void outOfRange(const std::string& path, long index, long n) {
  fail(path, "index " + std::to_string(index) + " out of range: " + path + " has " +
                 std::to_string(n) + (n == 1 ? " image" : " images"));
}

Image loadIdxItem(const std::string& path, Source& src, long index) {
  IdxImages im = openIdxImages(path, src);
  IdxLabels lab;
  auto labSrc = openIdxLabels(path, im.n, lab);
  if (index < 0 || index >= im.n) outOfRange(path, index, im.n);
  std::size_t npix = std::size_t(im.rows) * std::size_t(im.cols);
  std::vector<unsigned char> buf(npix);
  src.readExact(im.h.dataOffset + std::uint64_t(index) * npix, buf.data(), npix, "image data");
  Image img;
  img.rows = im.rows;
  img.cols = im.cols;
  img.channels = 1;
  img.pixels.resize(static_cast<Eigen::Index>(npix));
  for (std::size_t i = 0; i < npix; ++i) img.pixels[static_cast<Eigen::Index>(i)] = buf[i] / 255.0;
  if (labSrc) {
    unsigned char l = 0;
    labSrc->readExact(lab.h.dataOffset + std::uint64_t(index), &l, 1, "label");
    img.label = l;
  }
  return img;
}

// ------------------------------------------------------------ CSV datasets

// Where each data line of a CSV file starts, found by scanning for newlines
// only as far as needed; kept between calls so a loop over the items scans the
// file once.
struct CsvIndex {
  std::string path;
  Stamp stamp;
  std::vector<std::uint64_t> start;  // byte offset of data line k
  std::vector<long> lineNo;          // its 1-based line number in the file
  std::uint64_t scanPos = 0;         // always at the start of a line
  long physLine = 0;                 // lines finished so far
  bool sawFirst = false;             // first non-blank line seen (header check done)
  bool done = false;
  long fields = -1;                  // comma-separated fields of the first data line
  long firstDataLine = 0;
};
std::mutex csvMutex;
std::list<CsvIndex> csvCache;

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Extends idx until it holds more than `want` data lines or the file ends.
void scanCsv(const std::string& path, Source& src, CsvIndex& idx, long want) {
  std::vector<char> buf(1 << 20);
  if (idx.scanPos == 0 && idx.physLine == 0) {  // skip a UTF-8 byte order mark
    unsigned char bom[3] = {};
    if (src.read(0, bom, 3) == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF)
      idx.scanPos = 3;
  }
  std::uint64_t lineStart = idx.scanPos, pos = idx.scanPos;
  long commas = 0;
  char first = 0;   // first non-blank character of the line
  std::string second;  // the second field (up to 32 characters, blanks dropped)
  auto numeric = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.';
  };
  auto isNumber = [](const std::string& t) {
    if (t.empty()) return false;
    char* end = nullptr;
    std::strtod(t.c_str(), &end);
    return *end == '\0';
  };
  auto finishLine = [&]() {
    ++idx.physLine;
    if (first == 0) return;  // blank line
    bool header = false;
    if (!idx.sawFirst) {
      idx.sawFirst = true;
      // A header names its columns ("label,p0,..."): no numeric field at the
      // start. A first line whose label is garbage but whose pixels are numbers
      // is a corrupt data row, not a header, and must not vanish silently.
      header = !numeric(first);
      if (header && isNumber(second))
        fail(path, "line " + std::to_string(idx.physLine) +
                       ": not a CSV data row label,p0,...,p783 (the label is not a number)");
    }
    if (header) return;
    long f = commas + 1;
    if (idx.fields < 0) {
      long p = f - 1;
      long side = static_cast<long>(std::lround(std::sqrt(double(std::max(p, 0L)))));
      if (p < 1 || side * side != p)
        fail(path, "line " + std::to_string(idx.physLine) + ": " + std::to_string(p) +
                       " pixel values after the label, expected a square image such as 784 "
                       "(28x28)");
      idx.fields = f;
      idx.firstDataLine = idx.physLine;
    } else if (f != idx.fields) {
      fail(path, "line " + std::to_string(idx.physLine) + ": " + std::to_string(f - 1) +
                     " pixel values, expected " + std::to_string(idx.fields - 1) + " as on line " +
                     std::to_string(idx.firstDataLine));
    }
    idx.start.push_back(lineStart);
    idx.lineNo.push_back(idx.physLine);
  };
  while (!idx.done && static_cast<long>(idx.start.size()) <= want) {
    std::size_t got = src.read(pos, buf.data(), buf.size());
    if (got == 0) {
      if (pos > lineStart) finishLine();  // last line without a newline
      idx.done = true;
      idx.scanPos = pos;
      break;
    }
    for (std::size_t i = 0; i < got; ++i) {
      char c = buf[i];
      if (c == '\n') {
        finishLine();
        lineStart = pos + i + 1;
        commas = 0;
        first = 0;
        second.clear();
        idx.scanPos = lineStart;
        if (static_cast<long>(idx.start.size()) > want) break;
      } else if (c == '\0') {
        fail(path, "line " + std::to_string(idx.physLine + 1) +
                       ": binary data (NUL byte); not an IDX, gzip or CSV dataset file");
      } else {
        if (c == ',') {
          ++commas;
        } else if (!isBlank(c)) {
          if (first == 0) first = c;
          if (commas == 1 && second.size() < 32 && c != '\r') second += c;
        }
      }
    }
    if (static_cast<long>(idx.start.size()) > want) break;
    pos += got;
    if (pos - lineStart > kMaxCsvLine)
      fail(path, "line " + std::to_string(idx.physLine + 1) + " is longer than " +
                     std::to_string(kMaxCsvLine) + " bytes");
  }
}

// Runs f(index) with the cached index of path, scanned to hold `want`+1 lines.
template <class F>
auto withCsvIndex(const std::string& path, Source& src, long want, F&& f) {
  Stamp st = stampOf(path);
  std::lock_guard<std::mutex> lock(csvMutex);
  auto it = std::find_if(csvCache.begin(), csvCache.end(),
                         [&](const CsvIndex& c) { return c.path == path; });
  if (it == csvCache.end() || !(it->stamp == st)) {
    if (it != csvCache.end()) csvCache.erase(it);
    csvCache.push_front(CsvIndex{});
    csvCache.front().path = path;
    csvCache.front().stamp = st;
    while (csvCache.size() > 4) csvCache.pop_back();
  } else {
    csvCache.splice(csvCache.begin(), csvCache, it);
  }
  CsvIndex& idx = csvCache.front();
  try {
    scanCsv(path, src, idx, want);
    if (idx.done && idx.start.empty())
      fail(path, "no data rows (expected CSV lines label,p0,...,p783 with pixels 0-255)");
  } catch (...) {
    csvCache.pop_front();  // leave no half-scanned state behind a malformed file
    throw;
  }
  return f(idx);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (isBlank(s.front()) || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (isBlank(s.back()) || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// A short quoted excerpt of file text for a one-line message.
std::string shown(std::string_view s) {
  std::string r;
  for (char c : s.substr(0, 20)) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') r += "\\n";
    else if (c == '\r') r += "\\r";
    else if (c == '\t') r += "\\t";
    else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      r += buf;
    } else r += c;
  }
  if (s.size() > 20) r += "...";
  return "'" + r + "'";
}

Image parseCsvLine(const std::string& path, std::string_view line, long lineNo, long fields) {
  auto where = [&](const std::string& what) {
    fail(path, "line " + std::to_string(lineNo) + ": " + what);
  };
  Image img;
  long npix = fields - 1;
  int side = static_cast<int>(std::lround(std::sqrt(double(npix))));
  img.rows = img.cols = side;
  img.channels = 1;
  img.pixels.resize(npix);
  std::size_t pos = 0;
  for (long k = 0; k < fields; ++k) {
    std::size_t comma = line.find(',', pos);
    std::string_view field =
        trim(line.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? line.size() : comma + 1;
    if (k == 0) {
      long v = 0;
      auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
      if (field.empty() || ec != std::errc() || p != field.data() + field.size() || v < 0 ||
          v > 0x7fffffffL || field[0] == '-')
        where("label " + shown(field) + " is not a non-negative integer");
      img.label = static_cast<int>(v);
    } else {
      double v = 0;
      std::string_view num = field;
      if (!num.empty() && num[0] == '+') num.remove_prefix(1);
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
      if (num.empty() || ec != std::errc() || p != num.data() + num.size() || !std::isfinite(v))
        where("pixel " + std::to_string(k - 1) + " value " + shown(field) + " is not a number");
      if (v < 0 || v > 255)
        where("pixel " + std::to_string(k - 1) + " value " + shown(field) +
              " is out of range [0,255]");
      img.pixels[k - 1] = v / 255.0;
    }
  }
  return img;
}

std::string readCsvLine(const std::string& path, Source& src, std::uint64_t off, long lineNo) {
  std::string line;
  std::vector<char> buf(1 << 16);
  for (;;) {
    std::size_t got = src.read(off, buf.data(), buf.size());
    if (got == 0) break;
    const char* nl = static_cast<const char*>(std::memchr(buf.data(), '\n', got));
    line.append(buf.data(), nl ? static_cast<std::size_t>(nl - buf.data()) : got);
    if (nl) break;
    off += got;
    if (line.size() > kMaxCsvLine)
      fail(path, "line " + std::to_string(lineNo) + " is longer than " +
                     std::to_string(kMaxCsvLine) + " bytes");
  }
  return line;
}

// ------------------------------------------------------------ format dispatch

enum class Kind { Idx, Csv };

Kind detect(const std::string& path, Source& src) {
  if (src.size() == 0) fail(path, src.gzipped() ? "gzip file holds no data" : "file is empty");
  unsigned char m[4] = {};
  std::size_t got = src.read(0, m, sizeof m);
  if (looksLikeIdx(m, got)) return Kind::Idx;
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
               "gzipped, or CSV text)");
  return Kind::Csv;
}

}  // namespace

Image loadDatasetItem(const std::string& path, long index) {
  Source src(path);
  if (detect(path, src) == Kind::Idx) return loadIdxItem(path, src, index);
  std::uint64_t off = 0;
  long lineNo = 0, fields = 0, n = 0;
  bool found = withCsvIndex(path, src, index < 0 ? 0 : index, [&](const CsvIndex& idx) {
    n = static_cast<long>(idx.start.size());
    if (index < 0 || index >= n) return false;
    off = idx.start[index];
    lineNo = idx.lineNo[index];
    fields = idx.fields;
    return true;
  });
  if (!found) outOfRange(path, index, n);
  return parseCsvLine(path, readCsvLine(path, src, off, lineNo), lineNo, fields);
}

long datasetSize(const std::string& path) {
  Source src(path);
  if (detect(path, src) == Kind::Idx) {
    IdxImages im = openIdxImages(path, src);
    IdxLabels lab;
    openIdxLabels(path, im.n, lab);
    return im.n;
  }
  return withCsvIndex(path, src, 0x7fffffffL,
                      [](const CsvIndex& idx) { return static_cast<long>(idx.start.size()); });
}

// ================================================================ images

namespace {

std::string readWholeFile(const std::string& path) {
  FilePtr f = openRead(path);
  if (std::fseek(f.get(), 0, SEEK_END) != 0) fail(path, "cannot seek in file: " + errnoText(errno));
  long long size = ftello(f.get());
  if (size < 0) fail(path, "cannot seek in file: " + errnoText(errno));
  if (static_cast<std::uint64_t>(size) > kMaxImageFileBytes)
    fail(path, "file is larger than " + std::to_string(kMaxImageFileBytes) + " bytes");
  std::rewind(f.get());
  std::string data(static_cast<std::size_t>(size), '\0');
  if (size > 0 && std::fread(data.data(), 1, data.size(), f.get()) != data.size())
    fail(path, "cannot read file: " + errnoText(errno));
  return data;
}

void checkPixelCount(const std::string& path, std::uint64_t w, std::uint64_t h, const char* what) {
  if (w == 0 || h == 0)
    fail(path, std::string(what) + " has zero size (" + std::to_string(w) + "x" +
                   std::to_string(h) + ")");
  if (w > kMaxImagePixels || h > kMaxImagePixels || w * h > kMaxImagePixels)
    fail(path, std::string(what) + " is too large (" + std::to_string(w) + "x" +
                   std::to_string(h) + ", limit " + std::to_string(kMaxImagePixels) + " pixels)");
}

// Builds the Image from interleaved samples in [0,1] with `ch` channels, of
// which an alpha channel (ch 2 or 4) is dropped; gray=true mixes RGB by luminance.
Image fromInterleaved(const std::vector<double>& s, int rows, int cols, int ch, bool gray) {
  Image img;
  img.rows = rows;
  img.cols = cols;
  const bool color = ch >= 3;
  const Eigen::Index n = Eigen::Index(rows) * cols;
  if (!color || gray) {
    img.channels = 1;
    img.pixels.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const double* p = &s[static_cast<std::size_t>(i) * ch];
      img.pixels[i] = color ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
    }
  } else {
    img.channels = 3;
    img.pixels.resize(3 * n);
    for (int c = 0; c < 3; ++c)
      for (Eigen::Index i = 0; i < n; ++i) img.pixels[c * n + i] = s[static_cast<std::size_t>(i) * ch + c];
  }
  return img;
}

// ---- PNG reading (libpng errors longjmp back to the setjmp in readPng)

struct PngReadCtx {
  const std::string* data = nullptr;
  std::size_t pos = 0;
  char msg[256] = {};
  std::vector<unsigned char> pixels;
  std::vector<png_bytep> rowPtrs;
};

void pngErrorFn(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngReadCtx*>(png_get_error_ptr(png));
  if (ctx) std::snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}
void pngWarningFn(png_structp, png_const_charp) {}

void pngReadFn(png_structp png, png_bytep out, png_size_t n) {
  auto* ctx = static_cast<PngReadCtx*>(png_get_io_ptr(png));
  if (ctx->data->size() - ctx->pos < n) png_error(png, "unexpected end of file (truncated PNG)");
  std::memcpy(out, ctx->data->data() + ctx->pos, n);
  ctx->pos += n;
}

struct PngInfo {
  std::uint32_t w = 0, h = 0;
  int ch = 0, depth = 0;
  bool tooBig = false;
};

// C-style body: no object with a destructor lives in this frame after setjmp.
bool readPngBody(PngReadCtx* ctx, PngInfo* out) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, pngErrorFn, pngWarningFn);
  if (!png) {
    std::snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, ctx, pngReadFn);
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_read_info(png, info);
  out->w = png_get_image_width(png, info);
  out->h = png_get_image_height(png, info);
  if (out->w == 0 || out->h == 0 || std::uint64_t(out->w) * out->h > kMaxImagePixels) {
    out->tooBig = true;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  int colorType = png_get_color_type(png, info);
  if (colorType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colorType == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->ch = png_get_channels(png, info);
  out->depth = png_get_bit_depth(png, info);
  std::size_t rowBytes = png_get_rowbytes(png, info);
  // The pixels come from deflate data inside the file, which expands at most
  // ~1032:1: a header declaring far more pixel bytes than that lies about the
  // size (or the file is truncated). Refuse before allocating the raster.
  const std::uint64_t rasterBytes = std::uint64_t(rowBytes) * out->h;
  const std::uint64_t canHold = std::uint64_t(ctx->data->size()) * kMaxDeflateRatio + (1u << 16);
  if (rasterBytes > canHold) {
    std::snprintf(ctx->msg, sizeof ctx->msg,
                  "header declares %ux%u pixels (%llu bytes) but the file (%llu bytes) can "
                  "hold at most %llu",
                  static_cast<unsigned>(out->w), static_cast<unsigned>(out->h),
                  static_cast<unsigned long long>(rasterBytes),
                  static_cast<unsigned long long>(ctx->data->size()),
                  static_cast<unsigned long long>(canHold));
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  ctx->pixels.resize(rowBytes * out->h);
  ctx->rowPtrs.resize(out->h);
  for (std::uint32_t y = 0; y < out->h; ++y) ctx->rowPtrs[y] = ctx->pixels.data() + y * rowBytes;
  png_read_image(png, ctx->rowPtrs.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

Image readPng(const std::string& path, const std::string& data, bool gray) {
  // IHDR is always the first chunk: refuse absurd sizes before libpng sees them.
  if (data.size() >= 24 && std::memcmp(data.data() + 12, "IHDR", 4) == 0) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    checkPixelCount(path, be32(p + 16), be32(p + 20), "PNG image");
  }
  auto ctx = std::make_unique<PngReadCtx>();
  ctx->data = &data;
  PngInfo info;
  bool ok = false;
  try {
    ok = readPngBody(ctx.get(), &info);
  } catch (const std::bad_alloc&) {
    fail(path, "out of memory reading PNG");
  }
  if (info.tooBig) checkPixelCount(path, info.w, info.h, "PNG image");
  if (!ok) fail(path, std::string("corrupt or truncated PNG: ") + ctx->msg);
  const int ch = info.ch;
  const std::size_t n = std::size_t(info.w) * info.h * ch;
  std::vector<double> s(n);
  if (info.depth == 16) {
    for (std::size_t i = 0; i < n; ++i)
      s[i] = ((ctx->pixels[2 * i] << 8) | ctx->pixels[2 * i + 1]) / 65535.0;
  } else {
    for (std::size_t i = 0; i < n; ++i) s[i] = ctx->pixels[i] / 255.0;
  }
  ctx->pixels.clear();
  ctx->pixels.shrink_to_fit();
  return fromInterleaved(s, static_cast<int>(info.h), static_cast<int>(info.w), ch, gray);
}

// ---- PGM / PPM

class PnmReader {
 public:
  PnmReader(const std::string& path, const std::string& d) : path_(path), d_(d) {}
  // Skips whitespace and '#' comments.
  void skipSpace() {
    while (pos_ < d_.size()) {
      char c = d_[pos_];
      if (c == '#') {
        while (pos_ < d_.size() && d_[pos_] != '\n' && d_[pos_] != '\r') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else {
        break;
      }
    }
  }
  std::uint64_t number(const char* what) {
    skipSpace();
    if (pos_ >= d_.size()) fail(path_, std::string("unexpected end of file reading ") + what);
    if (!std::isdigit(static_cast<unsigned char>(d_[pos_])))
      fail(path_, std::string("bad header: expected ") + what + ", found " +
                      shown(std::string_view(d_).substr(pos_, 8)));
    std::uint64_t v = 0;
    while (pos_ < d_.size() && std::isdigit(static_cast<unsigned char>(d_[pos_]))) {
      v = v * 10 + static_cast<std::uint64_t>(d_[pos_] - '0');
      if (v > 0xffffffffULL) fail(path_, std::string(what) + " is too large");
      ++pos_;
    }
    if (pos_ < d_.size() && !std::isspace(static_cast<unsigned char>(d_[pos_])) && d_[pos_] != '#')
      fail(path_, std::string("bad ") + what + ": unexpected character " +
                      shown(std::string_view(d_).substr(pos_, 1)));
    return v;
  }
  std::size_t pos() const { return pos_; }
  void setPos(std::size_t p) { pos_ = p; }

 private:
  const std::string& path_;
  const std::string& d_;
  std::size_t pos_ = 0;
};

Image readPnm(const std::string& path, const std::string& data, bool gray) {
  const char kind = data[1];
  const bool ascii = kind == '2' || kind == '3';
  const int ch = (kind == '3' || kind == '6') ? 3 : 1;
  PnmReader r(path, data);
  r.setPos(2);
  if (data.size() > 2 && !std::isspace(static_cast<unsigned char>(data[2])) && data[2] != '#')
    fail(path, "bad header: expected whitespace after magic number P" + std::string(1, kind));
  std::uint64_t w = r.number("width");
  std::uint64_t h = r.number("height");
  std::uint64_t maxval = r.number("maxval");
  if (maxval == 0 || maxval > 65535)
    fail(path, "bad header: maxval " + std::to_string(maxval) + " must be in 1..65535");
  checkPixelCount(path, w, h, "image");
  const std::size_t n = std::size_t(w * h) * ch;
  std::vector<double> s;
  if (ascii) {
    s.reserve(std::min<std::size_t>(n, data.size() / 2 + 1));  // each sample needs >= 2 bytes
    for (std::size_t i = 0; i < n; ++i) {
      r.skipSpace();
      if (r.pos() >= data.size())
        fail(path, "truncated file: " + std::to_string(i) + " of " + std::to_string(n) +
                       " pixel values present");
      std::uint64_t v = r.number("pixel value");
      if (v > maxval)
        fail(path, "pixel " + std::to_string(i) + " value " + std::to_string(v) +
                       " exceeds maxval " + std::to_string(maxval));
      s.push_back(double(v) / double(maxval));
    }
  } else {
    // Exactly one whitespace character separates maxval from the raster.
    std::size_t start = r.pos() + 1;
    const std::size_t bps = maxval < 256 ? 1 : 2;
    std::uint64_t have = data.size() > start ? data.size() - start : 0;
    if (r.pos() >= data.size() || have < std::uint64_t(n) * bps)
      fail(path, "truncated file: " + std::to_string(w) + "x" + std::to_string(h) + " image needs " +
                     std::to_string(std::uint64_t(n) * bps) + " bytes of pixel data, found " +
                     std::to_string(have));
    s.resize(n);
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + start);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t v = bps == 1 ? p[i] : (std::uint64_t(p[2 * i]) << 8) | p[2 * i + 1];
      if (v > maxval)
        fail(path, "pixel " + std::to_string(i) + " value " + std::to_string(v) +
                       " exceeds maxval " + std::to_string(maxval));
      s[i] = double(v) / double(maxval);
    }
  }
  return fromInterleaved(s, static_cast<int>(h), static_cast<int>(w), ch, gray);
}

// ---- PNG writing

struct PngWriteCtx {
  char msg[256] = {};
};

void pngWriteErrorFn(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngWriteCtx*>(png_get_error_ptr(png));
  if (ctx) std::snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

bool writePngBody(std::FILE* f, PngWriteCtx* ctx, png_bytep* rows, std::uint32_t w,
                  std::uint32_t h, int colorType) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, pngWriteErrorFn, pngWarningFn);
  if (!png) {
    std::snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, 8, colorType, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

void writePng(const std::string& path, const std::vector<unsigned char>& bytes, std::uint32_t w,
              std::uint32_t h, int channels) {
  std::vector<png_bytep> rows(h);
  for (std::uint32_t y = 0; y < h; ++y)
    rows[y] = const_cast<png_bytep>(bytes.data() + std::size_t(y) * w * channels);
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail(path, "cannot write file: " + errnoText(errno));
  auto ctx = std::make_unique<PngWriteCtx>();
  bool ok = writePngBody(f, ctx.get(), rows.data(), w, h,
                         channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB);
  bool flushed = std::fflush(f) == 0 && !std::ferror(f);
  int err = errno;
  bool closed = std::fclose(f) == 0;
  if (!ok || !flushed || !closed) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) fs::remove(path, ec);  // never a device such as /dev/full
    if (!ok) fail(path, std::string("cannot write PNG: ") + ctx->msg);
    fail(path, "cannot write file: " + errnoText(err ? err : errno));
  }
}

void checkWriteSize(const std::string& path, long long rows, long long cols, long long scale) {
  if (rows <= 0 || cols <= 0)
    fail(path, "cannot write an image of size " + std::to_string(rows) + "x" + std::to_string(cols));
  if (scale < 1) fail(path, "scale must be >= 1, got " + std::to_string(scale));
  if (rows * scale > 0x7fffffff || cols * scale > 0x7fffffff ||
      std::uint64_t(rows * scale) * std::uint64_t(cols * scale) > kMaxImagePixels)
    fail(path, "image to write is too large (" + std::to_string(rows * scale) + "x" +
                   std::to_string(cols * scale) + " pixels)");
}

}  // namespace

Image loadImage(const std::string& path, bool gray) {
  std::string data = readWholeFile(path);
  if (data.empty()) fail(path, "file is empty");
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (data.size() >= 8 && std::memcmp(data.data(), sig, 8) == 0) return readPng(path, data, gray);
  if (data.size() >= 2 && data[0] == 'P' && (data[1] == '2' || data[1] == '5' || data[1] == '3' || data[1] == '6'))
    return readPnm(path, data, gray);
  fail(path, "unrecognised image format (expected PNG, or PGM P5/P2)");
}

void writePngGray(const std::string& path, const Eigen::VectorXd& pixels, int rows, int cols,
                  int scale) {
  checkWriteSize(path, rows, cols, scale);
  if (pixels.size() != Eigen::Index(rows) * cols)
    fail(path, "cannot write image: " + std::to_string(pixels.size()) + " pixels for " +
                   std::to_string(rows) + "x" + std::to_string(cols));
  const std::uint32_t W = std::uint32_t(cols) * scale, H = std::uint32_t(rows) * scale;
  std::vector<unsigned char> out(std::size_t(W) * H);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      double v = pixels[Eigen::Index(r) * cols + c];
      if (std::isnan(v)) v = 0;
      v = std::clamp(v, 0.0, 1.0);
      auto b = static_cast<unsigned char>(std::lround(v * 255.0));
      for (int dy = 0; dy < scale; ++dy) {
        unsigned char* row = out.data() + (std::size_t(r) * scale + dy) * W + std::size_t(c) * scale;
        std::memset(row, b, static_cast<std::size_t>(scale));
      }
    }
  writePng(path, out, W, H, 1);
}

void writePngRgb(const std::string& path, const std::vector<unsigned char>& rgb, int rows,
                 int cols) {
  checkWriteSize(path, rows, cols, 1);
  if (rgb.size() != std::size_t(rows) * std::size_t(cols) * 3)
    fail(path, "cannot write image: " + std::to_string(rgb.size()) + " bytes for " +
                   std::to_string(rows) + "x" + std::to_string(cols) + " RGB (expected " +
                   std::to_string(std::size_t(rows) * cols * 3) + ")");
  writePng(path, rgb, std::uint32_t(cols), std::uint32_t(rows), 3);
}

}  // namespace nnopt::io
