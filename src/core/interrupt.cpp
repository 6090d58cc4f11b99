#include "core/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

namespace nnopt {
namespace {

std::atomic<int> g_signal{0};
std::atomic<int> g_guards{0};
std::atomic<bool> g_installed{false};
char g_message[512] = {0};
std::atomic<size_t> g_message_len{0};

[[noreturn]] void exitNow(int sig) {
  const size_t n = g_message_len.load();
  if (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, g_message, n);
    (void)w;
  }
  ::_exit(128 + sig);
}

void onSignal(int sig) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);  // the first signal names the exit
  if (g_guards.load() == 0) exitNow(g_signal.load());
  // A guard is open: its destructor exits.
}

sigset_t interruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Takes SIGINT/SIGTERM, which every other thread started after the install
// blocks, and acts on them as the handler would (from a normal thread).
void watch() {
  const sigset_t set = interruptSignals();
  for (;;) {
    int sig = 0;
    if (::sigwait(&set, &sig) == 0) onSignal(sig);
  }
}

}  // namespace

void installInterruptHandlers(const char* message) {
  size_t n = message ? std::strlen(message) : 0;
  if (n >= sizeof g_message) n = sizeof g_message - 1;
  g_message_len.store(0);
  if (n) std::memcpy(g_message, message, n);
  g_message_len.store(n);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  // The handler alone is not enough: Clp's ClpSimplex::initialSolve(ClpSolve&)
  // (reached from our LPs, OsiClp and CbcMain1) installs its own SIGINT handler with signal() for
  // the length of the solve (it stops the LP and the process goes on) and puts
  // back the one it found, so concurrent solves can even leave Clp's installed.
  // So the signals are blocked in this thread, hence in every thread started
  // from here on, and taken by a watcher thread with sigwait(): no handler
  // swap can intercept them. (The handler stays for threads started earlier.)
  static std::once_flag once;
  std::call_once(once, [] {
    const sigset_t set = interruptSignals();
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread(watch).detach();
  });
  g_installed.store(true);
}

int interruptSignal() { return g_signal.load(); }

// Leaves a guard: the last one out exits when a signal came.
static void release() {
  if (g_guards.fetch_sub(1) == 1)
    if (const int sig = g_signal.load()) exitNow(sig);
}

ExitGuard::ExitGuard() : active_(g_installed.load()) {
  if (!active_) return;
  g_guards.fetch_add(1);
  if (g_signal.load() == 0) return;
  // The signal came first: this guard has written nothing. Leave at once; when
  // other guards are open, wait for the last of them to exit the process.
  release();
  for (;;) ::pause();
}

ExitGuard::~ExitGuard() {
  if (active_) release();
}

}  // namespace nnopt
