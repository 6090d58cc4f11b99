#pragma once
// A fresh directory under the system temp dir, removed with everything in it
// when the object goes out of scope; unique per process and object.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace nnopt::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "nnopt_test") {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

}  // namespace nnopt::test
