#pragma once
// Result files made of whole lines, safe against kills: every append is one
// write(2) of whole lines followed by fsync, under an ExitGuard (so SIGINT /
// SIGTERM never cut it, see core/interrupt.h); only a hard kill (SIGKILL,
// power loss) can leave a partial last line, which readers ignore and
// resumed runs drop with dropPartialLastLine().
#include <string>
#include <vector>

namespace nnopt {

// Appends text (one or more lines ending in '\n') to path, creating it; when
// the file is empty, header + '\n' goes first in the same write. Throws Error
// when the file cannot be opened or written.
void appendLines(const std::string& path, const std::string& text, const std::string& header = "");

// Cuts a trailing partial line (the bytes after the last '\n') from path.
// Returns the number of bytes dropped (0 also when the file does not exist).
long dropPartialLastLine(const std::string& path);

// The complete lines of path (without their '\n'), blank ones included; a
// trailing partial line is left out (*partial_tail = true, *valid_bytes = the
// length of the whole-line prefix). A missing file has no lines. Throws Error
// when the file exists but cannot be read.
std::vector<std::string> readWholeLines(const std::string& path, bool* partial_tail = nullptr,
                                        long* valid_bytes = nullptr);

// Exclusive advisory lock (flock) on path, created when missing, held until
// the object is destroyed (or the process ends). Throws Error(busy_message)
// when another process holds it, Error naming the file when it cannot be
// opened.
class FileLock {
 public:
  FileLock(const std::string& path, const std::string& busy_message);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// The current time as ISO 8601 UTC ("2026-01-31T12:00:00Z").
std::string nowIsoUtc();

// Writes content to path through a temporary file and a rename (readers see
// the old or the new file, never a part). Throws Error naming the file.
void writeFileAtomic(const std::string& path, const std::string& content);

}  // namespace nnopt
