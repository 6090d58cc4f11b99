#pragma once
// SIGINT/SIGTERM for long batch commands (sweep, verify-batch) whose results
// are appended to a file one whole line at a time.
//
// installInterruptHandlers(): on SIGINT or SIGTERM the process abandons the
// instance it is working on and exits at once with 128 + signal (130 SIGINT,
// 143 SIGTERM) after printing `message` to stderr - unless a thread is inside
// an ExitGuard (appending a result line): then the exit waits until the
// outermost guard closes, so every line on disk is whole. Finished results
// are on disk already (appended with fsync), so `--resume` loses nothing.
//
// Call it before starting threads (MPI's included): the two signals are then
// blocked in the calling thread, so in every thread started later, and taken
// by a watcher thread with sigwait(). A handler alone would not do: Clp's
// initialSolve swaps in its own SIGINT handler during LP solves (it stops the
// LP and the process goes on, the signal lost). The handler is installed too,
// for threads started before the call.
//
// The protocol is Dekker-style on two sequentially consistent atomics: the
// handler publishes the signal, then looks for a guard; a guard publishes
// itself, then looks for a signal. Either the handler sees the guard (and the
// guard exits when it closes) or the guard sees the signal before writing
// anything (and exits without writing).
namespace nnopt {

// Installs the handlers (idempotent; the last message wins). message may be
// empty; it is copied.
void installInterruptHandlers(const char* message);

// The signal received (0: none).
int interruptSignal();

// Defers an interrupt exit while alive (nestable, any thread). When the
// handlers are not installed it does nothing.
class ExitGuard {
 public:
  ExitGuard();
  ~ExitGuard();
  ExitGuard(const ExitGuard&) = delete;
  ExitGuard& operator=(const ExitGuard&) = delete;

 private:
  bool active_ = false;
};

}  // namespace nnopt
