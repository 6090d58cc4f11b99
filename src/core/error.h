#pragma once
// The one project exception type. The library throws it with a message a user
// can act on (file, node, op, what is supported); the CLI catches it, prints
// one line and exits with code 2.
#include <stdexcept>
#include <string>

namespace nnopt {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Throws Error(msg) when cond is false.
inline void require(bool cond, const std::string& msg) {
  if (!cond) throw Error(msg);
}

}  // namespace nnopt
