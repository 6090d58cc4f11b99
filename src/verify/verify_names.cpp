// The small public helpers of verify.h: answer and prover names, the
// property's cases, and the replay of a counterexample.
#include <string>
#include <vector>

#include "core/error.h"
#include "verify/verify.h"

namespace nnopt::verify {

const char* answerName(VerifyAnswer a) {
  switch (a) {
    case VerifyAnswer::kSat:
      return "sat";
    case VerifyAnswer::kUnsat:
      return "unsat";
    case VerifyAnswer::kTimeout:
      return "timeout";
    case VerifyAnswer::kUnknown:
      return "unknown";
  }
  return "?";
}

const char* proverName(Prover p) {
  switch (p) {
    case Prover::kAuto:
      return "auto";
    case Prover::kInputBab:
      return "input-bab";
    case Prover::kMip:
      return "mip";
    case Prover::kReluBab:
      return "relu-bab";
    case Prover::kPortfolio:
      return "portfolio";
    case Prover::kNone:
      return "none";
  }
  return "?";
}

Prover parseProver(const std::string& s) {
  if (s == "auto") return Prover::kAuto;
  if (s == "input-bab") return Prover::kInputBab;
  if (s == "mip") return Prover::kMip;
  if (s == "relu-bab") return Prover::kReluBab;
  if (s == "portfolio") return Prover::kPortfolio;
  if (s == "none") return Prover::kNone;
  throw Error("unknown prover '" + s +
              "' (supported: auto, input-bab, mip, relu-bab, portfolio, none)");
}

std::vector<spec::PropertyCase> propertyCases(const spec::Property& prop) {
  if (!prop.cases.empty()) return prop.cases;
  std::vector<spec::PropertyCase> cases;
  for (const auto& b : prop.input_boxes) cases.push_back({b, prop.unsafe});
  return cases;
}

bool replayCounterexample(const nn::Network& net, const spec::Property& prop,
                          const spec::Box& case_box, const Eigen::VectorXd& x,
                          Eigen::VectorXd& x_out, Eigen::VectorXd& y_out, double tol) {
  if (x.size() != case_box.size() || !x.allFinite() || !case_box.contains(x, tol)) return false;
  x_out = x.cwiseMax(case_box.lo).cwiseMin(case_box.hi);
  y_out = net.forward(x_out);
  return y_out.allFinite() && prop.isUnsafe(x_out, y_out, 0.0);
}

}  // namespace nnopt::verify
