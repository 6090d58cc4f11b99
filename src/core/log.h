#pragma once
// Logging without printing from the library: messages go to a callback that the
// application installs (the CLI writes them to stderr). Default: discarded.
#include <atomic>
#include <chrono>
#include <functional>
#include <string>

namespace nnopt {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using LogCallback = std::function<void(LogLevel, const std::string&)>;

void setLogCallback(LogCallback cb);
void setLogLevel(LogLevel level);
void log(LogLevel level, const std::string& msg);
inline void logInfo(const std::string& msg) { log(LogLevel::kInfo, msg); }
inline void logDebug(const std::string& msg) { log(LogLevel::kDebug, msg); }
inline void logWarn(const std::string& msg) { log(LogLevel::kWarn, msg); }

// Wall-clock stopwatch.
class Timer {
 public:
  Timer() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// A point in time after which work should stop. Infinite by default.
class Deadline {
 public:
  Deadline() = default;
  // cancel: optional flag; once it is true the deadline has passed (expired(),
  // remaining() == 0), so work bounded by it stops as on time.
  explicit Deadline(double seconds_from_now, const std::atomic<bool>* cancel = nullptr);
  bool expired() const;
  double remaining() const;  // seconds, +inf when unlimited, >= 0
  bool unlimited() const { return unlimited_ && cancel_ == nullptr; }

 private:
  bool cancelled() const { return cancel_ != nullptr && cancel_->load(); }
  const std::atomic<bool>* cancel_ = nullptr;
  bool unlimited_ = true;
  std::chrono::steady_clock::time_point end_{};
};

}  // namespace nnopt
