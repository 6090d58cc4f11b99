// Helpers shared by the image and dataset readers and the PNG writer: the
// one-line error, opening a file for reading, file stamps for the caches, and
// quoted excerpts of file text.
#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/error.h"
#include "core/message.h"
#include "io/images_internal.h"

namespace nnopt::io::images_detail {
namespace {

// Throws unless `path` names an existing regular file (or something readable
// that is not a directory).
void checkReadable(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail(path, "file not found");
  if (fs::is_directory(st)) fail(path, "is a directory, expected a file");
}

}  // namespace

[[noreturn]] void fail(const std::string& path, const std::string& cause) {
  throw Error(oneLine(path + ": " + cause));
}

std::string errnoText(int e) { return e ? std::string(std::strerror(e)) : "unknown error"; }

FilePtr openRead(const std::string& path) {
  checkReadable(path);
  errno = 0;
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, "cannot open file: " + errnoText(errno));
  return f;
}

Stamp stampOf(const std::string& path) {
  std::error_code ec;
  Stamp s;
  s.size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read file size: " + ec.message());
  s.mtime = fs::last_write_time(path, ec);
  if (ec) fail(path, "cannot read file time: " + ec.message());
  return s;
}

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

}  // namespace nnopt::io::images_detail
