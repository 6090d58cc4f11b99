// The sweep's records: one SweepRecord <-> one JSON line of results.jsonl, the
// append/load/truncate of that file and the pairs already done (--resume).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/core.h>

#include "core/append.h"
#include "core/error.h"
#include "report/sweep.h"
#include "report/sweep_internal.h"

namespace nnopt::report {

using sweep_detail::kNaN;

namespace {

double getD(const nlohmann::json& j, const char* k, double dflt = kNaN) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number()) return dflt;
  return it->get<double>();
}
long getL(const nlohmann::json& j, const char* k, long dflt) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number()) return dflt;
  return it->get<long>();
}
std::string getS(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}
bool getB(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

// ============================================================ records
nlohmann::json toJson(const SweepRecord& r) {
  nlohmann::json j;
  j["network"] = r.network;
  j["network_path"] = r.network_path;
  j["hidden_layers"] = r.hidden_layers;
  j["neurons"] = r.neurons;
  j["widths"] = r.widths;
  j["method"] = r.method;
  j["method_result"] = r.method_result;
  j["verdict"] = r.verdict;
  j["margin"] = num(r.margin);
  j["bound"] = num(r.bound);
  j["solver_objective"] = num(r.solver_objective);
  j["status"] = r.status;
  j["time_s"] = num(r.time_s);
  j["timed_out"] = r.timed_out;
  j["proven"] = r.proven;
  j["variables"] = r.variables;
  j["binaries"] = r.binaries;
  j["constraints"] = r.constraints;
  j["true_label"] = r.true_label;
  j["target_label"] = r.target_label;
  j["starts"] = r.starts;
  j["starts_run"] = r.starts_run;
  j["first_attack_start"] = r.first_attack_start;
  j["starts_per_s"] = num(r.starts_per_s);
  j["decided_by"] = r.decided_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.decided_by);
  j["linf_distance"] = num(r.linf_distance);
  j["eps"] = r.eps;
  j["time_limit"] = num(r.time_limit);
  j["dataset"] = r.dataset;
  j["index"] = r.index;
  j["target_mode"] = r.target_mode;
  j["timestamp"] = r.timestamp;
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

SweepRecord recordFromJson(const nlohmann::json& j) {
  require(j.is_object(), "not a JSON object");
  SweepRecord r;
  r.network = getS(j, "network");
  r.method = getS(j, "method");
  r.verdict = getS(j, "verdict");
  require(!r.network.empty() && !r.method.empty() && !r.verdict.empty(),
          "record without network/method/verdict");
  r.network_path = getS(j, "network_path");
  r.hidden_layers = int(getL(j, "hidden_layers", 0));
  r.neurons = int(getL(j, "neurons", 0));
  if (auto it = j.find("widths"); it != j.end() && it->is_array())
    for (const auto& w : *it)
      if (w.is_number()) r.widths.push_back(w.get<int>());
  r.method_result = getS(j, "method_result");
  r.margin = getD(j, "margin");
  r.bound = getD(j, "bound", -std::numeric_limits<double>::infinity());
  r.solver_objective = getD(j, "solver_objective");
  r.status = getS(j, "status");
  r.time_s = getD(j, "time_s");
  r.timed_out = getB(j, "timed_out");
  r.proven = getB(j, "proven");
  r.variables = int(getL(j, "variables", 0));
  r.binaries = int(getL(j, "binaries", 0));
  r.constraints = int(getL(j, "constraints", 0));
  r.true_label = int(getL(j, "true_label", -1));
  r.target_label = int(getL(j, "target_label", -1));
  r.starts = int(getL(j, "starts", 1));
  r.starts_run = int(getL(j, "starts_run", 1));
  r.first_attack_start = int(getL(j, "first_attack_start", -1));
  r.starts_per_s = getD(j, "starts_per_s");
  r.decided_by = getS(j, "decided_by");
  r.linf_distance = getD(j, "linf_distance");
  r.eps = getD(j, "eps", 0.0);
  r.time_limit = getD(j, "time_limit", 0.0);
  r.dataset = getS(j, "dataset");
  r.index = getL(j, "index", -1);
  r.target_mode = getS(j, "target_mode");
  r.timestamp = getS(j, "timestamp");
  r.error = getS(j, "error");
  return r;
}

LoadedResults loadResults(const std::string& path) {
  LoadedResults out;
  long line_no = 0;
  // A line cut by a kill mid-write is not among the lines (partial_tail).
  for (const std::string& line : readWholeLines(path, &out.partial_tail, &out.valid_bytes)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(fmt::format("{}:{}: not a valid JSON line (fix or remove it)", path, line_no));
    }
    try {
      out.records.push_back(recordFromJson(j));
    } catch (const Error& e) {
      throw Error(fmt::format("{}:{}: {}", path, line_no, e.what()));
    }
  }
  return out;
}

void appendResult(const std::string& path, const SweepRecord& r) {
  appendLines(path, toJson(r).dump() + "\n");
}

void truncateResults(const std::string& path, long bytes) {
  if (::truncate(path.c_str(), bytes) != 0)
    throw Error(path + ": cannot drop the partial last line (" + std::strerror(errno) + ")");
}

std::map<std::pair<std::string, std::string>, SweepRecord> donePairs(
    const std::vector<SweepRecord>& records) {
  std::map<std::pair<std::string, std::string>, SweepRecord> done;
  for (const auto& r : records)
    if (r.verdict != "error") done[{r.network, r.method}] = r;
  return done;
}

}  // namespace nnopt::report
