#include "dist/work_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifdef NNOPT_WITH_MPI
#include <mpi.h>
#endif

namespace nnopt::dist {

#ifdef NNOPT_WITH_MPI
namespace {

constexpr int kTagRequest = 1;  // worker -> 0: int64 index of the result (-1: none) + result
constexpr int kTagAssign = 2;   // 0 -> worker: int64 index to run (-1: stop)

bool launchedByMpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (const char* s = std::getenv(v); s && *s) return true;
  return false;
}

void nap() { std::this_thread::sleep_for(std::chrono::milliseconds(1)); }

// MPI_Wait without spinning a core (OpenMPI's blocking calls busy-poll).
void waitSleepy(MPI_Request& req) {
  int flag = 0;
  for (;;) {
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) return;
    nap();
  }
}

[[noreturn]] void failed(const char* where, const std::string& what) {
  std::fprintf(stderr, "nnopt: %s: %s\n", where, what.c_str());
  MPI_Abort(MPI_COMM_WORLD, 2);
  std::abort();
}

}  // namespace

WorkPool::WorkPool() {
  if (!launchedByMpi()) return;
  int provided = 0;
  // Only the main thread of a rank calls MPI.
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  initialised_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

WorkPool::~WorkPool() {
  if (!initialised_) return;
  if (size_ > 1) {
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    waitSleepy(req);
  }
  MPI_Finalize();
}

bool WorkPool::built_with_mpi() { return true; }

void WorkPool::abort(int code) {
  if (initialised_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

JobRunner WorkPool::runner() {
  JobRunner r;
  r.writer = rank_ == 0;
  if (size_ <= 1) return r;
  MPI_Comm node;
  int local = 1;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &local);
  MPI_Comm_free(&node);
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  r.default_threads = std::max(1, cores / std::max(1, local));
  r.run = [this](const std::vector<long>& todo, const JobWork& work, const JobDone& done) {
    run(todo, work, done);
  };
  return r;
}

void WorkPool::run(const std::vector<long>& todo, const JobWork& work, const JobDone& done) {
  if (rank_ != 0) return serve(work);
  try {
    coordinate(todo, work, done);
  } catch (const std::exception& e) {
    failed("rank 0", e.what());
  }
}

void WorkPool::coordinate(const std::vector<long>& todo, const JobWork& work, const JobDone& done) {
  std::mutex mu;
  size_t next = 0;
  std::deque<std::pair<long, std::string>> local_results;
  bool local_done = false;
  std::string local_error;
  auto take = [&]() -> long {
    std::lock_guard<std::mutex> lk(mu);
    return next < todo.size() ? todo[next++] : -1;
  };
  // Rank 0's own worker.
  std::thread local([&] {
    try {
      for (long i = take(); i >= 0; i = take()) {
        std::string r = work(i);
        std::lock_guard<std::mutex> lk(mu);
        local_results.emplace_back(i, std::move(r));
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lk(mu);
      local_error = e.what();
    }
    std::lock_guard<std::mutex> lk(mu);
    local_done = true;
  });
  int active = size_ - 1;  // workers not told to stop yet
  std::vector<char> buf;
  for (;;) {
    std::deque<std::pair<long, std::string>> got;
    bool finished = false;
    {
      std::lock_guard<std::mutex> lk(mu);
      got.swap(local_results);
      finished = local_done;
      if (!local_error.empty()) failed("rank 0 worker", local_error);
    }
    for (const auto& [i, r] : got) done(i, r);
    bool busy = !got.empty();
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, MPI_COMM_WORLD, &flag, &st);
    if (flag) {
      int n = 0;
      MPI_Get_count(&st, MPI_BYTE, &n);
      buf.resize(static_cast<size_t>(std::max(n, 8)));
      MPI_Recv(buf.data(), n, MPI_BYTE, st.MPI_SOURCE, kTagRequest, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      int64_t idx = -1;
      std::memcpy(&idx, buf.data(), sizeof idx);
      if (idx >= 0) done(static_cast<long>(idx), std::string(buf.data() + 8, buf.data() + n));
      const int64_t assign = take();
      MPI_Send(&assign, 1, MPI_INT64_T, st.MPI_SOURCE, kTagAssign, MPI_COMM_WORLD);
      if (assign < 0) --active;
      busy = true;
    }
    if (finished && got.empty() && active == 0) break;
    if (!busy) nap();
  }
  local.join();
  std::lock_guard<std::mutex> lk(mu);
  for (const auto& [i, r] : local_results) done(i, r);
}

void WorkPool::serve(const JobWork& work) {
  int64_t idx = -1;
  std::string result;
  for (;;) {
    std::string msg(8, '\0');
    std::memcpy(msg.data(), &idx, sizeof idx);
    msg += result;
    MPI_Request req;
    MPI_Isend(msg.data(), static_cast<int>(msg.size()), MPI_BYTE, 0, kTagRequest, MPI_COMM_WORLD,
              &req);
    waitSleepy(req);
    int64_t next = -1;
    MPI_Irecv(&next, 1, MPI_INT64_T, 0, kTagAssign, MPI_COMM_WORLD, &req);
    waitSleepy(req);
    if (next < 0) return;
    idx = next;
    try {
      result = work(static_cast<long>(idx));
    } catch (const std::exception& e) {
      failed(("rank " + std::to_string(rank_)).c_str(), e.what());
    }
  }
}

#else  // built without MPI: always one process

WorkPool::WorkPool() = default;
WorkPool::~WorkPool() = default;
bool WorkPool::built_with_mpi() { return false; }
void WorkPool::abort(int code) { std::exit(code); }
JobRunner WorkPool::runner() { return JobRunner{}; }
void WorkPool::run(const std::vector<long>&, const JobWork&, const JobDone&) {}
void WorkPool::coordinate(const std::vector<long>&, const JobWork&, const JobDone&) {}
void WorkPool::serve(const JobWork&) {}

#endif

}  // namespace nnopt::dist
