#pragma once
// Error messages are one line (the CLI prints one line and exits with code 2),
// but they quote text read from input files: tensor and node names, tokens,
// CSV fields. oneLine() makes such a message safe to print on one line.
#include <cstddef>
#include <string>
#include <string_view>

namespace nnopt {

// Control characters become \n, \r, \t or \xNN (so a name holding a newline
// or a terminal escape cannot break the line), and so does every byte that is
// not part of valid UTF-8 (binary input quoted in a message) or is a C1
// control; a message longer than max_len bytes keeps its start and end with
// " ... " between (max_len bytes in all). Idempotent.
std::string oneLine(std::string_view s, std::size_t max_len = 2000);

}  // namespace nnopt
