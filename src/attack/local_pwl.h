#pragma once
// The native local solver of the margin attack on piecewise-linear networks
// (ReLU, LeakyReLU, MaxPool; any Dense/Conv-as-Dense layers): the network is
// embedded once as an LPCC (formulate::ComplForm::kNone: t = p - n per
// unstable unit, no complementarity row) and solve::LpccLocalSolver walks its
// linear regions from each start (see lpcc_local.h for what the returned
// point is certified to be). One object per thread: build it once, then call
// solveFrom() for any number of starts; the embedding, the bounds and the Clp
// model (with its last basis, the warm start of the next solve) are reused.
#include <Eigen/Dense>
#include <memory>

#include "attack/attack.h"
#include "solve/lpcc_local.h"

namespace nnopt::attack {

class PwlMarginLocal {
 public:
  // Throws Error when the network is not piecewise linear.
  PwlMarginLocal(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                 int true_label, int target_label, const MarginAttackParams& p);
  ~PwlMarginLocal();
  PwlMarginLocal(PwlMarginLocal&&) noexcept;
  PwlMarginLocal& operator=(PwlMarginLocal&&) noexcept;

  // One local solve from `start` (clamped into the box; empty = x0), within
  // time_limit seconds. The returned point is replayed through the forward
  // pass (verdict kAttackFound only when the replayed margin is < 0).
  // explore: the walk's step-5 LP budget (LpccParams::explore; -1 = the
  // params' local_explore).
  MarginAttackResult solveFrom(const Eigen::VectorXd& start, double time_limit,
                               const std::atomic<bool>* cancel = nullptr, int explore = -1);

  double setupSeconds() const;  // bounds + embedding + Clp load

 private:
  MarginAttackResult walkFrom(Eigen::VectorXd s, double time_limit,
                              const std::atomic<bool>* cancel, int explore);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Stationarity-check tolerances and limits used by the attacks.
solve::LpccParams defaultLpccParams(double time_limit);

}  // namespace nnopt::attack
