#pragma once
// How a batch command (sweep, verify-batch) spreads its instances: the
// command numbers its instances 0..n-1 the same way in every process, the
// writer decides which to run, work(i) runs an instance anywhere and returns
// its result as a string, done(i, result) records it - only in the writer,
// on the thread that called run, exactly once per instance, in completion
// order. The default runs everything in this process in order; an MPI pool
// (dist/work_pool.h) hands the indices out to its ranks.
#include <functional>
#include <string>
#include <vector>

namespace nnopt {

using JobWork = std::function<std::string(long index)>;
using JobDone = std::function<void(long index, const std::string& result)>;

struct JobRunner {
  // This process writes the results (a single process, or MPI rank 0). Other
  // processes only run work(i) for the indices the writer sends them; they
  // must not touch the result files.
  bool writer = true;
  // Runs work for every index of todo (the writer's list; other processes
  // pass an empty list and get theirs from the writer). Empty: serial.
  std::function<void(const std::vector<long>& todo, const JobWork& work, const JobDone& done)> run;
  // Worker threads an instance may use when the command's --threads is 0
  // (0: all cores; an MPI pool gives each rank its share of the node).
  int default_threads = 0;
};

inline void runJobs(const JobRunner& r, const std::vector<long>& todo, const JobWork& work,
                    const JobDone& done) {
  if (r.run) return r.run(todo, work, done);
  for (long i : todo) done(i, work(i));
}

}  // namespace nnopt
