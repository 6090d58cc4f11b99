#pragma once
// The frame of a batch command that may run under mpirun (sweep,
// robustness): interrupt handlers installed before any thread starts, a
// WorkPool (MPI when started by mpirun, else this process alone), and on an
// error in an MPI rank the whole job ended with code 2 (a lone process
// rethrows, and main prints the one-line message).
#include <fmt/core.h>

#include <functional>
#include <iostream>
#include <string>

#include "core/interrupt.h"
#include "core/jobs.h"
#include "dist/work_pool.h"

namespace nnopt::cli {

// body(runner, writer): writer is rank 0 (or the lone process), the one that
// prints; interrupted: the message rank 0 prints on SIGINT/SIGTERM.
inline int runOnWorkPool(const std::string& interrupted,
                         const std::function<void(const JobRunner&, bool writer)>& body) {
  // Before any thread is started (MPI_Init starts some): see core/interrupt.h.
  // The message is set below, once this process knows whether it writes.
  installInterruptHandlers("");
  dist::WorkPool pool;
  try {
    installInterruptHandlers(pool.rank() == 0 ? interrupted.c_str() : "");
    body(pool.runner(), pool.rank() == 0);
  } catch (const std::exception& e) {
    if (!pool.mpi()) throw;
    std::cerr << fmt::format("nnopt: error (rank {}): {}\n", pool.rank(), e.what());
    pool.abort(2);
  }
  return 0;
}

}  // namespace nnopt::cli
