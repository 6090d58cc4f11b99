#pragma once
// Spreading a batch command's instances over MPI ranks (mpirun -np N nnopt
// sweep|verify-batch ...), dynamic load balancing:
//
//  - rank 0 is the writer: its main thread hands out instance indices one at
//    a time, on request, and records every result (JobDone) exactly once;
//    a second thread on rank 0 runs instances too, taking indices from the
//    same list (so -np 2 on 2 cores has two workers, and the coordinator
//    only wakes every millisecond to poll);
//  - ranks 1..N-1 ask for an index, run it (JobWork) and send the result
//    back with the next request, until rank 0 answers "stop".
//
// MPI is initialised only when the process was started by an MPI launcher
// (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK in the environment) and nnopt
// was built with MPI: a plain `nnopt ...` never touches MPI and runs the
// JobRunner's serial default. All waiting is polling with short sleeps, so an
// idle rank does not spin a core that a worker needs.
#include <memory>

#include "core/jobs.h"

namespace nnopt::dist {

class WorkPool {
 public:
  // Initialises MPI when launched by mpirun (see above), else a 1-process pool.
  WorkPool();
  ~WorkPool();  // MPI_Finalize (after a barrier) when MPI was initialised
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool mpi() const { return size_ > 1; }
  // The JobRunner to pass to a command: serial for one process; with MPI the
  // scheme above, default_threads = the node's cores / ranks on the node.
  JobRunner runner();
  // Ends the whole MPI job (all ranks) with this exit code; for failures of
  // the writer, whose workers would otherwise wait for it forever.
  [[noreturn]] void abort(int code);

  static bool built_with_mpi();

 private:
  void run(const std::vector<long>& todo, const JobWork& work, const JobDone& done);
  void coordinate(const std::vector<long>& todo, const JobWork& work, const JobDone& done);
  void serve(const JobWork& work);
  int rank_ = 0;
  int size_ = 1;
  bool initialised_ = false;
};

}  // namespace nnopt::dist
