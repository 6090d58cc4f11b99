#pragma once
// Shared checks of the fuzz targets: the readers may only fail with an
// nnopt::Error whose message is ONE line starting with the name they were given.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace nnopt::fuzz {

inline void checkMessage(const Error& e, const std::string& name) {
  const std::string msg = e.what();
  if (msg.rfind(name + ": ", 0) != 0 || msg.find('\n') != std::string::npos ||
      msg.size() > 4096) {
    std::fprintf(stderr, "bad error message (must be one line starting with '%s: '): %s\n",
                 name.c_str(), msg.c_str());
    std::abort();
  }
}

}  // namespace nnopt::fuzz
