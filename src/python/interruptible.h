#pragma once
// Runs a long C++ job on a worker thread while the calling (Python) thread
// waits with the GIL released and, every 50 ms, takes the GIL to run
// PyErr_CheckSignals() (Ctrl-C -> KeyboardInterrupt) and an optional progress
// callback. On a pending Python exception the job's cancel flag is set, the
// worker is joined (the job must honour the flag within about a second) and
// the exception is raised. Called with the GIL held.
#include <pybind11/pybind11.h>

#include <atomic>
#include <functional>

namespace nnopt::pyjobs {

// poll: called with the GIL held on every wake-up while the job runs (may
// throw py::error_already_set, which cancels the job like Ctrl-C).
void runInterruptible(const std::function<void()>& job, std::atomic<bool>& cancel,
                      const std::function<void()>& poll = {});

}  // namespace nnopt::pyjobs
