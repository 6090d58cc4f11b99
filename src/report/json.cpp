#include "report/json.h"

#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/error.h"

namespace nnopt::report {

nlohmann::json num(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

nlohmann::json vec(const Eigen::VectorXd& v) {
  auto a = nlohmann::json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) a.push_back(num(v[i]));
  return a;
}

nlohmann::json numbers(const std::vector<double>& v) {
  if (v.size() == 1) return v[0];
  return nlohmann::json(v);
}

namespace {

// The solve and model-size fields both attack results share (same member
// names), in the order the JSON has always had them.
template <class R>
void addSolveFields(nlohmann::json& j, const R& r) {
  j["time_s"] = r.time_s;
  j["iterations"] = r.iterations;
  j["solves"] = r.solves;
  j["complementarity_violation"] = num(r.compl_violation);
  if (r.method == "nlp:pwl") {
    j["local_flips"] = r.local_flips;
    j["local_ties"] = r.local_ties;
    j["local_ties_checked"] = r.local_ties_checked;
    j["local_certified"] = r.local_certified;
    j["local_explored"] = r.local_explored;
    j["local_explore_moves"] = r.local_explore_moves;
  }
  j["variables"] = r.variables;
  j["binaries"] = r.binaries;
  j["constraints"] = r.constraints;
  j["unstable_relus"] = r.unstable_relus;
  j["stable_relus"] = r.stable_relus;
  j["bounds_method"] = r.bounds_method;
  j["bounds_time_s"] = r.bounds_time_s;
}

}  // namespace

nlohmann::json toJson(const attack::MarginAttackResult& r) {
  nlohmann::json j;
  j["verdict"] = attack::verdictName(r.verdict);
  j["method"] = r.method;
  j["status"] = r.status;
  if (!r.solver_message.empty()) j["solver_message"] = r.solver_message;
  j["true_label"] = r.true_label;
  j["target_label"] = r.target_label;
  j["margin"] = num(r.margin);
  j["solver_objective"] = num(r.solver_objective);
  j["bound"] = num(r.bound);
  j["predicted_label_adv"] = r.predicted_label_adv;
  j["logits_adv"] = vec(r.logits_adv);
  j["linf_distance"] = num(r.linf_distance);
  addSolveFields(j, r);
  if ((r.method == "mip" || r.method == "portfolio") && (std::isfinite(r.warm_start_margin) || r.warm_start_time_s > 0)) {
    j["warm_start_margin"] = num(r.warm_start_margin);
    j["warm_start_time_s"] = r.warm_start_time_s;
  }
  j["adversarial"] = vec(r.adversarial);
  return j;
}

nlohmann::json toJson(const attack::MinDistortionResult& r) {
  nlohmann::json j;
  j["objective"] = "min-distortion";
  j["verdict"] = attack::minDistVerdictName(r.verdict);
  j["method"] = r.method;
  j["status"] = r.status;
  j["norm"] = attack::normName(r.norm);
  j["gap"] = r.gap;
  j["max_eps"] = num(r.max_eps);  // null: no per-pixel bound
  j["true_label"] = r.true_label;
  j["target_label"] = r.target_label;
  j["distance"] = num(r.distance);
  j["l1_distance"] = num(r.l1);
  j["l2_distance"] = num(r.l2);
  j["linf_distance"] = num(r.linf);
  j["lower_bound"] = num(r.lower_bound);
  j["optimal"] = r.optimal;
  j["solver_objective"] = num(r.solver_objective);
  j["achieved_gap"] = num(r.achieved_gap);
  j["repaired"] = r.repaired;
  j["predicted_label_adv"] = r.predicted_label_adv;
  j["logits_adv"] = vec(r.logits_adv);
  addSolveFields(j, r);
  if (r.method == "nlp:pwl") j["local_rho"] = num(r.local_rho);
  if (r.method == "mip") {
    j["warm_start_distance"] = num(r.warm_start_distance);
    j["warm_start_time_s"] = r.warm_start_time_s;
    j["mip_box_eps"] = num(r.mip_box_eps);
  }
  j["adversarial"] = vec(r.adversarial);
  return j;
}

void writeJsonFile(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream os(tmp);
    require(static_cast<bool>(os), path + ": cannot open for writing");
    os << j.dump(2) << "\n";
    require(static_cast<bool>(os), path + ": write failed");
  }
  require(std::rename(tmp.c_str(), path.c_str()) == 0, path + ": cannot rename temp file");
}

}  // namespace nnopt::report
