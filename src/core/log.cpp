#include "core/log.h"

#include <atomic>
#include <limits>
#include <mutex>

namespace nnopt {
namespace {
std::mutex g_mutex;
LogCallback g_callback;
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
}  // namespace

void setLogCallback(LogCallback cb) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_callback = std::move(cb);
}

void setLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

void log(LogLevel level, const std::string& msg) {
  if (static_cast<int>(level) < g_level.load()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_callback) g_callback(level, msg);
}

Deadline::Deadline(double seconds_from_now, const std::atomic<bool>* cancel) : cancel_(cancel) {
  if (seconds_from_now >= 0 && seconds_from_now < std::numeric_limits<double>::infinity()) {
    unlimited_ = false;
    end_ = std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
               std::chrono::duration<double>(seconds_from_now));
  }
}

bool Deadline::expired() const {
  return cancelled() || (!unlimited_ && std::chrono::steady_clock::now() >= end_);
}

double Deadline::remaining() const {
  if (cancelled()) return 0.0;
  if (unlimited_) return std::numeric_limits<double>::infinity();
  double r = std::chrono::duration<double>(end_ - std::chrono::steady_clock::now()).count();
  return r > 0 ? r : 0.0;
}

}  // namespace nnopt
