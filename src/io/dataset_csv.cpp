// CSV datasets "label,p0,...,p783" (pixels 0-255, one image per line, an
// optional header line, blank lines ignored): where each data line starts is
// found by a scan kept between calls, so a loop over the items reads the file once.
// A row of s*s pixels is a gray s x s image; one of 3*s*s pixels (e.g. 3072) is
// a colour 3 x s x s image, channel-major as CIFAR-10 stores it (the red plane,
// then green, then blue), s >= 2. No count is both (s*s = 3*t*t has no
// solution in positive integers).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>

#include "io/images_internal.h"

namespace nnopt::io::images_detail {
namespace {

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

// The image shape of a row of p pixel values: s x s gray or 3 x s x s colour.
bool csvShape(long p, int* channels, int* side) {
  for (int c : {1, 3}) {
    if (p < c || p % c != 0) continue;
    const long s = std::lround(std::sqrt(double(p / c)));
    if (s * s == p / c && (c == 1 || s >= 2)) {  // 3 values are no 1x1 colour image
      *channels = c;
      *side = static_cast<int>(s);
      return true;
    }
  }
  return false;
}

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
      int channels = 0, side = 0;
      if (p < 1 || !csvShape(p, &channels, &side))
        fail(path, "line " + std::to_string(idx.physLine) + ": " + std::to_string(p) +
                       " pixel values after the label, expected a square image such as 784 "
                       "(28x28) or 3 squares such as 3072 (3x32x32, colour)");
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

Image parseCsvLine(const std::string& path, std::string_view line, long lineNo, long fields) {
  auto where = [&](const std::string& what) {
    fail(path, "line " + std::to_string(lineNo) + ": " + what);
  };
  Image img;
  long npix = fields - 1;
  int channels = 1, side = 0;
  csvShape(npix, &channels, &side);  // checked by scanCsv
  img.rows = img.cols = side;
  img.channels = channels;
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

}  // namespace

Image loadCsvItem(const std::string& path, Source& src, long index) {
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

long csvSize(const std::string& path, Source& src) {
  return withCsvIndex(path, src, 0x7fffffffL,
                      [](const CsvIndex& idx) { return static_cast<long>(idx.start.size()); });
}

}  // namespace nnopt::io::images_detail
