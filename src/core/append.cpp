#include "core/append.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/error.h"
#include "core/interrupt.h"

namespace nnopt {
namespace {

std::string sysError(const std::string& path, const char* what) {
  return path + ": " + what + " (" + std::strerror(errno) + ")";
}

}  // namespace

void appendLines(const std::string& path, const std::string& text, const std::string& header) {
  require(text.empty() || text.back() == '\n', path + ": appendLines needs whole lines");
  ExitGuard guard;  // a SIGINT/SIGTERM now exits after the line is on disk
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(sysError(path, "cannot open for appending"));
  std::string all;
  if (!header.empty() && ::lseek(fd, 0, SEEK_END) == 0) all = header + "\n";
  all += text;
  size_t off = 0;
  while (off < all.size()) {
    const ssize_t w = ::write(fd, all.data() + off, all.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const std::string msg = sysError(path, "write failed");
      ::close(fd);
      throw Error(msg);
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    const std::string msg = sysError(path, "fsync failed");
    ::close(fd);
    throw Error(msg);
  }
  ::close(fd);
}

long dropPartialLastLine(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    throw Error(sysError(path, "cannot open"));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const std::string msg = sysError(path, "cannot stat");
    ::close(fd);
    throw Error(msg);
  }
  // Scan back from the end for the last '\n'.
  off_t end = st.st_size, keep = 0;
  std::vector<char> buf(4096);
  while (end > 0) {
    const off_t start = end > off_t(buf.size()) ? end - off_t(buf.size()) : 0;
    const ssize_t n = ::pread(fd, buf.data(), size_t(end - start), start);
    if (n != ssize_t(end - start)) {
      const std::string msg = sysError(path, "read failed");
      ::close(fd);
      throw Error(msg);
    }
    bool found = false;
    for (ssize_t i = n - 1; i >= 0; --i)
      if (buf[size_t(i)] == '\n') {
        keep = start + i + 1;
        found = true;
        break;
      }
    if (found) break;
    end = start;
  }
  const long dropped = long(st.st_size - keep);
  if (dropped > 0 && (::ftruncate(fd, keep) != 0 || ::fsync(fd) != 0)) {
    const std::string msg = sysError(path, "cannot drop the partial last line");
    ::close(fd);
    throw Error(msg);
  }
  ::close(fd);
  return dropped;
}

std::vector<std::string> readWholeLines(const std::string& path, bool* partial_tail,
                                        long* valid_bytes) {
  if (partial_tail) *partial_tail = false;
  if (valid_bytes) *valid_bytes = 0;
  std::vector<std::string> lines;
  std::ifstream is(path, std::ios::binary);
  if (!is) {
    if (errno == ENOENT) return lines;
    throw Error(sysError(path, "cannot open"));
  }
  const std::string data((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  if (is.bad()) throw Error(sysError(path, "read failed"));
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) {  // cut by a kill mid-write: not a line
      if (partial_tail) *partial_tail = true;
      break;
    }
    lines.push_back(data.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (valid_bytes) *valid_bytes = static_cast<long>(pos);
  return lines;
}

FileLock::FileLock(const std::string& path, const std::string& busy_message) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(sysError(path, "cannot open for locking"));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw Error(busy_message);
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string nowIsoUtc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void writeFileAtomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
    if (!os) throw Error(path + ": cannot open for writing");
    os << content;
    os.flush();
    if (!os) throw Error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(sysError(path, "cannot rename the temporary file"));
}

}  // namespace nnopt
