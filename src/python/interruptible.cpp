#include "python/interruptible.h"

#include <csignal>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace py = pybind11;

namespace nnopt::pyjobs {

namespace {

// CBC's driver and Clp's initialSolve install their own SIGINT handler while
// they run (and restore the previous one afterwards): a Ctrl-C would then
// stop only that LP or search, and Python would never see it. While a job
// runs, the handler Python had when it started is put back on every poll.
class SigintKeeper {
 public:
  SigintKeeper() { have_ = sigaction(SIGINT, nullptr, &python_) == 0; }
  void reassert() const {
    if (!have_) return;
    struct sigaction now {};
    if (sigaction(SIGINT, nullptr, &now) != 0) return;
    if (now.sa_handler != python_.sa_handler) sigaction(SIGINT, &python_, nullptr);
  }

 private:
  struct sigaction python_ {};
  bool have_ = false;
};

}  // namespace

void runInterruptible(const std::function<void()>& job, std::atomic<bool>& cancel,
                      const std::function<void()>& poll) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr failure;
  const SigintKeeper keeper;
  std::thread worker([&] {
    try {
      job();
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  });
  auto finished = [&] {
    py::gil_scoped_release nogil;
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; });
  };
  try {
    while (!finished()) {
      keeper.reassert();
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (poll) poll();
    }
  } catch (...) {
    cancel.store(true);
    {
      py::gil_scoped_release nogil;
      worker.join();
    }
    throw;
  }
  worker.join();
  keeper.reassert();
  if (failure) std::rethrow_exception(failure);
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C in the last 50 ms
}

}  // namespace nnopt::pyjobs
