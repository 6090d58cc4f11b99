#pragma once
// Lock-free running minimum / maximum of a shared double (racing solvers
// publish incumbents and bounds through these).
#include <atomic>

namespace nnopt {

inline void atomicMin(std::atomic<double>& a, double v) {
  double cur = a.load();
  while (v < cur && !a.compare_exchange_weak(cur, v)) {
  }
}
inline void atomicMax(std::atomic<double>& a, double v) {
  double cur = a.load();
  while (v > cur && !a.compare_exchange_weak(cur, v)) {
  }
}

}  // namespace nnopt
