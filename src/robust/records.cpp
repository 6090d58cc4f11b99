// results.jsonl of nnopt robustness: one JSON object per (image, eps).
#include <fmt/core.h>

#include <cmath>
#include <limits>

#include "core/append.h"
#include "core/error.h"
#include "report/json.h"
#include "robust/robustness.h"

namespace nnopt::robust {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// JSON has no NaN/Inf: null stands for "none" (NaN), and for -inf in margin_lower.

const nlohmann::json& field(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end()) throw Error(fmt::format("missing field '{}'", k));
  return *it;
}
std::string str(const nlohmann::json& j, const char* k) {
  const auto& v = field(j, k);
  if (!v.is_string()) throw Error(fmt::format("field '{}' is not a string", k));
  return v.get<std::string>();
}
long integer(const nlohmann::json& j, const char* k) {
  const auto& v = field(j, k);
  if (!v.is_number_integer()) throw Error(fmt::format("field '{}' is not an integer", k));
  return v.get<long>();
}
// A number, or null for `none`.
double real(const nlohmann::json& j, const char* k, double none = kNaN) {
  const auto& v = field(j, k);
  if (v.is_null()) return none;
  if (!v.is_number()) throw Error(fmt::format("field '{}' is not a number", k));
  return v.get<double>();
}
bool flag(const nlohmann::json& j, const char* k) {
  const auto& v = field(j, k);
  if (!v.is_boolean()) throw Error(fmt::format("field '{}' is not true/false", k));
  return v.get<bool>();
}

// An optional array of numbers (empty when absent).
Eigen::VectorXd vectorField(const nlohmann::json& j, const char* k) {
  Eigen::VectorXd v;
  auto it = j.find(k);
  if (it == j.end()) return v;
  if (!it->is_array()) throw Error(fmt::format("field '{}' is not an array", k));
  v.resize(static_cast<Eigen::Index>(it->size()));
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_number()) throw Error(fmt::format("field '{}' holds a non-number", k));
    v[static_cast<Eigen::Index>(i)] = (*it)[i].get<double>();
  }
  return v;
}

}  // namespace

std::string epsKey(double eps) { return fmt::format("{:.12g}", eps); }

nlohmann::json toJson(const RobustRecord& r) {
  const EpsRow& w = r.row;
  nlohmann::json j;
  j["model"] = r.model;
  j["dataset"] = r.dataset;
  j["index"] = r.index;
  j["eps"] = w.eps;
  j["verdict"] = w.verdict;
  j["decided_by"] = w.decided_by;
  j["label"] = r.label;
  j["predicted"] = r.predicted;
  j["clean_margin"] = report::num(r.clean_margin);
  j["method"] = r.method;
  j["time_limit"] = r.time_limit;
  j["solved"] = w.solved;
  j["inferred"] = w.inferred;
  j["upgraded"] = w.upgraded;
  j["from_eps"] = report::num(w.from_eps);
  j["time_s"] = w.time_s;
  j["margin_upper"] = report::num(w.margin_upper);
  j["margin_lower"] = report::num(w.margin_lower);
  j["adv_class"] = w.adv_class;
  j["linf"] = report::num(w.linf);
  j["classes_bound"] = w.classes_bound;
  j["classes_exact"] = w.classes_exact;
  j["classes_inferred"] = w.classes_inferred;
  j["status"] = w.status;
  j["timestamp"] = r.timestamp;
  if (w.adversarial.size()) {
    nlohmann::json a = nlohmann::json::array();
    for (double v : w.adversarial) a.push_back(v);
    j["adversarial"] = std::move(a);
  }
  return j;
}

RobustRecord recordFromJson(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("not a JSON object");
  RobustRecord r;
  EpsRow& w = r.row;
  r.model = str(j, "model");
  r.dataset = str(j, "dataset");
  r.index = integer(j, "index");
  w.eps = real(j, "eps");
  if (!(w.eps >= 0)) throw Error("field 'eps' must be a number >= 0");
  w.verdict = str(j, "verdict");
  if (w.verdict != "attacked" && w.verdict != "certified" && w.verdict != "unknown" &&
      w.verdict != "misclassified")
    throw Error("unknown verdict '" + w.verdict + "'");
  w.decided_by = str(j, "decided_by");
  r.label = static_cast<int>(integer(j, "label"));
  r.predicted = static_cast<int>(integer(j, "predicted"));
  r.clean_margin = real(j, "clean_margin");
  r.method = str(j, "method");
  r.time_limit = real(j, "time_limit");
  w.solved = flag(j, "solved");
  w.inferred = flag(j, "inferred");
  w.upgraded = flag(j, "upgraded");
  w.from_eps = real(j, "from_eps");
  w.time_s = real(j, "time_s", 0.0);
  w.margin_upper = real(j, "margin_upper");
  w.margin_lower = real(j, "margin_lower", -std::numeric_limits<double>::infinity());
  w.adv_class = static_cast<int>(integer(j, "adv_class"));
  w.linf = real(j, "linf");
  w.classes_bound = static_cast<int>(integer(j, "classes_bound"));
  w.classes_exact = static_cast<int>(integer(j, "classes_exact"));
  w.classes_inferred = static_cast<int>(integer(j, "classes_inferred"));
  w.status = str(j, "status");
  r.timestamp = str(j, "timestamp");
  w.adversarial = vectorField(j, "adversarial");
  return r;
}

bool isRadiusLine(const nlohmann::json& j) {
  auto it = j.find("kind");
  return it != j.end() && it->is_string() && it->get<std::string>() == "radius";
}

nlohmann::json toJson(const RadiusRecord& r) {
  const RadiusResult& w = r.radius;
  nlohmann::json j;
  j["kind"] = "radius";
  j["model"] = r.model;
  j["dataset"] = r.dataset;
  j["index"] = r.index;
  j["label"] = r.label;
  j["predicted"] = r.predicted;
  j["method"] = r.method;
  j["time_limit"] = r.time_limit;
  j["radius_tol"] = r.tol;
  j["certified_lo"] = w.certified_lo;
  j["attacked_hi"] = report::num(w.attacked_hi);  // null: no counterexample found
  j["closed"] = w.closed;
  j["probes"] = w.probes;
  j["adv_class"] = w.adv_class;
  j["time_s"] = w.time_s;
  j["status"] = w.status;
  j["timestamp"] = r.timestamp;
  if (w.adversarial.size()) {
    nlohmann::json a = nlohmann::json::array();
    for (double v : w.adversarial) a.push_back(v);
    j["adversarial"] = std::move(a);
  }
  return j;
}

RadiusRecord radiusRecordFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !isRadiusLine(j)) throw Error("not a radius line");
  RadiusRecord r;
  RadiusResult& w = r.radius;
  r.model = str(j, "model");
  r.dataset = str(j, "dataset");
  r.index = integer(j, "index");
  r.label = static_cast<int>(integer(j, "label"));
  r.predicted = static_cast<int>(integer(j, "predicted"));
  r.method = str(j, "method");
  r.time_limit = real(j, "time_limit");
  r.tol = real(j, "radius_tol");
  w.certified_lo = real(j, "certified_lo");
  w.attacked_hi = real(j, "attacked_hi", std::numeric_limits<double>::infinity());
  if (!(w.certified_lo >= 0) || !(w.attacked_hi >= 0))
    throw Error("fields 'certified_lo' and 'attacked_hi' must be numbers >= 0");
  w.closed = flag(j, "closed");
  w.probes = static_cast<int>(integer(j, "probes"));
  w.adv_class = static_cast<int>(integer(j, "adv_class"));
  w.time_s = real(j, "time_s", 0.0);
  w.status = str(j, "status");
  r.timestamp = str(j, "timestamp");
  w.adversarial = vectorField(j, "adversarial");
  return r;
}

ResultsFile loadResults(const std::string& path) {
  ResultsFile out;
  long line_no = 0;
  for (const std::string& line : readWholeLines(path)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (isRadiusLine(j))
        out.radii.push_back(radiusRecordFromJson(j));
      else
        out.rows.push_back(recordFromJson(j));
    } catch (const nlohmann::json::exception&) {
      throw Error(fmt::format("{}:{}: not a valid JSON line (fix or remove it)", path, line_no));
    } catch (const Error& e) {
      throw Error(fmt::format("{}:{}: not a robustness record: {}", path, line_no, e.what()));
    }
  }
  return out;
}

std::vector<RobustRecord> loadRecords(const std::string& path) { return loadResults(path).rows; }

}  // namespace nnopt::robust
