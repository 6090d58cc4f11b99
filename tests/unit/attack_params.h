#pragma once
// Margin-attack parameters the attack tests share (test_attack, test_maxpool).
#include <Eigen/Dense>

#include "attack/attack.h"
#include "bounds/lp_tighten.h"

namespace nnopt::test {

inline attack::MarginAttackParams mipParams(
    bounds::BoundsLevel level = bounds::BoundsLevel::kCrown) {
  attack::MarginAttackParams p;
  p.method = attack::Method::kMip;
  p.time_limit = 60;
  p.bounds = level;
  return p;
}

// An Ipopt complementarity form (the native local solver has its own params).
inline attack::MarginAttackParams nlpParams(attack::NlpForm f) {
  attack::MarginAttackParams p;
  p.method = attack::Method::kNlp;
  p.local = attack::LocalSolver::kIpopt;
  p.nlp_form = f;
  p.time_limit = 60;
  return p;
}

// The native local solver (attack/local_pwl.h).
inline attack::MarginAttackParams pwlParams() {
  attack::MarginAttackParams p;
  p.method = attack::Method::kNlp;
  p.local = attack::LocalSolver::kPwl;
  p.time_limit = 60;
  return p;
}

inline const attack::NlpForm kAllForms[] = {
    attack::NlpForm::kScholtes,          attack::NlpForm::kProduct,
    attack::NlpForm::kInequality,        attack::NlpForm::kFischerBurmeister,
    attack::NlpForm::kChenMangasarian,   attack::NlpForm::kPenalty};

inline int argmax(const Eigen::VectorXd& v) {
  Eigen::Index a;
  v.maxCoeff(&a);
  return static_cast<int>(a);
}

}  // namespace nnopt::test
