#pragma once
// Result files made of whole lines, safe against kills: every append is one
// write(2) of whole lines followed by fsync, under an ExitGuard (so SIGINT /
// SIGTERM never cut it, see core/interrupt.h); only a hard kill (SIGKILL,
// power loss) can leave a partial last line, which readers ignore and
// resumed runs drop with dropPartialLastLine().
#include <string>

namespace nnopt {

// Appends text (one or more lines ending in '\n') to path, creating it; when
// the file is empty, header + '\n' goes first in the same write. Throws Error
// when the file cannot be opened or written.
void appendLines(const std::string& path, const std::string& text, const std::string& header = "");

// Cuts a trailing partial line (the bytes after the last '\n') from path.
// Returns the number of bytes dropped (0 also when the file does not exist).
long dropPartialLastLine(const std::string& path);

}  // namespace nnopt
