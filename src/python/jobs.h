#pragma once
// The attack job behind nnopt.attack(): the CLI's `nnopt attack` semantics and
// defaults (apps/main.cpp runAttack), without printing, returning the result
// and the CLI's JSON object.
#include <Eigen/Dense>
#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "attack/attack.h"
#include "attack/min_distortion.h"
#include "nn/network.h"

namespace nnopt::pyjobs {

struct MarginJob {
  std::string model_name;  // "model" in the JSON (the ONNX path, or a label)
  std::string input_name;  // "input" in the JSON
  Eigen::VectorXd image;   // pixels in [0,1]
  std::optional<int> label;
  double eps = -1;
  std::string target = "runner-up";  // runner-up | all | class index
  std::string method = "mip";        // mip | nlp | mpec | bab | portfolio
  std::string nlp_form = "scholtes";
  std::string mpec_form = "fb";
  std::string bounds = "crown";
  double time_limit = 600;
  double lp_time_limit = 30;
  bool mip_cuts = false;  // --mip-cuts
  bool early_stop = false;
  std::optional<std::string> warm_start;  // nlp | none (default: nlp for portfolio)
  std::vector<double> mean, stdv;  // --mean/--std: empty, 1 value or one per channel
};

struct MarginJobResult {
  attack::MarginAttackResult result;  // best over the targets, verdict over all
  int label = -1;
  int predicted_clean = -1;
  Eigen::VectorXd logits_clean;
  nlohmann::json json;  // the CLI's --json content
};

// Throws Error with the CLI's messages on bad arguments.
// cancel (optional): stop the solvers as on the time limit (Ctrl-C in Python).
MarginJobResult runMarginJob(const nn::Network& net, const MarginJob& job,
                             const std::atomic<bool>* cancel = nullptr);

// `nnopt attack --objective min-distortion` (apps/main.cpp runMinDistortion).
struct MinDistJob {
  std::string model_name, input_name;
  Eigen::VectorXd image;
  std::optional<int> label;
  int target = -1;  // required: a class other than the label
  std::string method = "mip";  // mip | nlp
  std::string norm = "l1";     // l1 | linf | l2
  double gap = 0.1;
  std::optional<double> max_eps;
  std::string bounds = "crown";
  double time_limit = 600;
  double lp_time_limit = 30;
  bool mip_cuts = false;  // --mip-cuts
  std::optional<std::string> warm_start;  // nlp (default) | none
  std::vector<double> mean, stdv;  // --mean/--std: empty, 1 value or one per channel
};

struct MinDistJobResult {
  attack::MinDistortionResult result;
  int label = -1;
  int predicted_clean = -1;
  Eigen::VectorXd logits_clean;
  nlohmann::json json;  // the CLI's --json content
};

MinDistJobResult runMinDistJob(const nn::Network& net, const MinDistJob& job,
                               const std::atomic<bool>* cancel = nullptr);

}  // namespace nnopt::pyjobs
