#pragma once
// Small text helpers shared by the batch commands' progress lines.
#include <fmt/core.h>

#include <cmath>
#include <string>

namespace nnopt::cli {

// "12.3 s", "4m05s", "2h07m"; "?" when not finite.
inline std::string duration(double s) {
  if (!std::isfinite(s)) return "?";
  if (s < 60) return fmt::format("{:.1f} s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", int(s) / 60, int(s) % 60);
  return fmt::format("{}h{:02d}m", int(s) / 3600, (int(s) % 3600) / 60);
}

// argv as one shell-readable line (arguments with spaces or quotes in '...').
inline std::string commandLine(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a.find_first_of(" \t'\"$\\") != std::string::npos) {
      std::string q = "'";
      for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      a = q + "'";
    }
    s += (i ? " " : "") + a;
  }
  return s;
}

}  // namespace nnopt::cli
