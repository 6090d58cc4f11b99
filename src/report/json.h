#pragma once
// Machine-readable results.
#include <nlohmann/json.hpp>
#include <string>

#include "attack/attack.h"
#include "attack/min_distortion.h"

namespace nnopt::report {

// JSON number or null for NaN/Inf (JSON has no NaN).
nlohmann::json num(double v);
nlohmann::json vec(const Eigen::VectorXd& v);
// --mean/--std values: a number for one value (all inputs), an array for one per channel.
nlohmann::json numbers(const std::vector<double>& v);

nlohmann::json toJson(const attack::MarginAttackResult& r);
nlohmann::json toJson(const attack::MinDistortionResult& r);

// Writes j to path (pretty-printed), atomically (temp file + rename).
void writeJsonFile(const std::string& path, const nlohmann::json& j);

}  // namespace nnopt::report
