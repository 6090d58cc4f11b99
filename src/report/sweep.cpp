// The sweep study: run bookkeeping (results.jsonl append/resume), the summary
// table and the paired solve-time plot. Nothing here calls the solvers: the
// attack runner and the ONNX loader come in through SweepHooks (sweep_run.cpp
// supplies the real ones).
#include "report/sweep.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fmt/core.h>
#include <fstream>
#include <numeric>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "core/append.h"
#include "core/error.h"
#include "core/log.h"
#include "io/images.h"
#include "report/plot.h"

namespace nnopt::report {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json jnum(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

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

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string fmtNum(double v, int prec) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}f}", v, prec);
}
std::string csvNum(double v) {
  if (!std::isfinite(v)) return "";
  return fmt::format("{:.10g}", v);
}
std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

bool isUniform(const std::vector<int>& w) {
  return std::all_of(w.begin(), w.end(), [&](int x) { return x == w.front(); });
}

std::string neuronsText(int neurons, const std::vector<int>& widths) {
  if (widths.size() > 1 && !isUniform(widths)) {
    std::string s;
    for (size_t i = 0; i < widths.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(widths[i]);
    }
    return s;
  }
  return std::to_string(neurons);
}

std::string joinNames(const std::vector<std::string>& v, size_t max = 8) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > max) s += fmt::format(", ... ({} more)", v.size() - max);
  return s;
}

bool endsWithOnnx(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".onnx";
}

}  // namespace

// ============================================================ method specs
MethodSpec parseMethodSpec(const std::string& raw) {
  std::string s = raw;
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  const std::string choices =
      "mip, nlp, nlp:<form>, mpec, mpec:<form> or auto (forms: pwl (nlp only: the native local "
      "solver, the default of nlp), scholtes, product, inequality, fb, cm, penalty)";
  MethodSpec m;
  std::string head = s, form;
  if (auto c = s.find(':'); c != std::string::npos) {
    head = s.substr(0, c);
    form = s.substr(c + 1);
  }
  auto canonForm = [&](const std::string& f) -> std::string {
    if (f == "scholtes" || f == "product" || f == "inequality" || f == "fb" || f == "cm" ||
        f == "penalty")
      return f;
    if (f == "product-ineq") return "inequality";
    throw Error("method '" + raw + "': unknown form '" + f + "'; methods are " + choices);
  };
  if (head == "mip" || head == "auto") {
    if (s.find(':') != std::string::npos)
      throw Error("method '" + raw + "' takes no form; methods are " + choices);
    m.kind = head == "mip" ? SweepMethodKind::kMip : SweepMethodKind::kAuto;
    m.name = head;
    return m;
  }
  if (head == "nlp" || head == "mpec") {
    m.kind = head == "nlp" ? SweepMethodKind::kNlp : SweepMethodKind::kMpec;
    if (s.find(':') != std::string::npos && form.empty())
      throw Error("method '" + raw + "': empty form; methods are " + choices);
    if (head == "nlp" && (form.empty() || form == "pwl"))
      m.form = "pwl";
    else
      m.form = form.empty() ? "fb" : canonForm(form);
    m.name = head + ":" + m.form;
    return m;
  }
  throw Error("unknown method '" + raw + "'; methods are " + choices);
}

// ============================================================ architecture
Architecture architectureOf(const nn::Network& net) {
  Architecture a;
  std::vector<int> dense;
  for (const auto& l : net.layers())
    if (l.isDense()) dense.push_back(static_cast<int>(l.dense().W.rows()));
  if (dense.empty()) return a;
  a.hidden_layers = static_cast<int>(dense.size()) - 1;
  a.widths.assign(dense.begin(), dense.end() - 1);
  a.neurons = a.widths.empty() ? 0 : a.widths.front();
  a.total_neurons = std::accumulate(a.widths.begin(), a.widths.end(), 0L);
  return a;
}

std::optional<Architecture> architectureFromName(const std::string& file) {
  std::string stem = fs::path(file).stem().string();
  static const std::regex re("(\\d+)x(\\d+)");
  std::optional<Architecture> out;
  for (auto it = std::sregex_iterator(stem.begin(), stem.end(), re); it != std::sregex_iterator();
       ++it) {
    Architecture a;
    a.hidden_layers = std::stoi((*it)[1].str());
    a.neurons = std::stoi((*it)[2].str());
    a.widths.assign(static_cast<size_t>(a.hidden_layers), a.neurons);
    a.total_neurons = long(a.hidden_layers) * a.neurons;
    out = a;  // the last group wins ("mnist_1x2_mlp_3x40" -> 3x40)
  }
  return out;
}

std::string archLabel(int hidden_layers, int neurons, const std::vector<int>& widths) {
  if (widths.size() > 1 && !isUniform(widths)) {
    std::string s = std::to_string(hidden_layers) + "x[";
    for (size_t i = 0; i < widths.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(widths[i]);
    }
    return s + "]";
  }
  return std::to_string(hidden_layers) + "x" + std::to_string(neurons);
}

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
  j["margin"] = jnum(r.margin);
  j["bound"] = jnum(r.bound);
  j["solver_objective"] = jnum(r.solver_objective);
  j["status"] = r.status;
  j["time_s"] = jnum(r.time_s);
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
  j["starts_per_s"] = jnum(r.starts_per_s);
  j["decided_by"] = r.decided_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.decided_by);
  j["linf_distance"] = jnum(r.linf_distance);
  j["eps"] = r.eps;
  j["time_limit"] = jnum(r.time_limit);
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

// ============================================================ table & summary
SweepTable buildTable(const std::vector<SweepRecord>& records,
                      const std::vector<std::string>& method_order, double exact_tol) {
  SweepTable t;
  t.exact_tol = exact_tol;
  std::vector<std::string> methods;
  auto addMethod = [&](const std::string& m) {
    if (std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
  };
  for (const auto& m : method_order) {
    try {
      addMethod(parseMethodSpec(m).name);
    } catch (const Error&) {
      addMethod(m);
    }
  }
  for (const auto& r : records) addMethod(r.method);
  t.methods = methods;
  if (std::find(methods.begin(), methods.end(), "mip") != methods.end()) t.mip = "mip";
  for (const auto& m : methods)
    if (m.rfind("nlp:", 0) == 0) {
      t.nlp = m;
      break;
    }
  if (t.nlp.empty())
    for (const auto& m : methods)
      if (m.rfind("mpec:", 0) == 0) {
        t.nlp = m;
        break;
      }

  // Rows: the last successful record per pair; errors only where nothing else.
  std::map<std::string, SweepTable::Row> rows;
  std::set<std::pair<std::string, std::string>> errored;
  for (const auto& r : records) {
    auto& row = rows[r.network];
    if (row.network.empty() || r.verdict != "error") {
      row.network = r.network;
      row.hidden_layers = r.hidden_layers;
      row.neurons = r.neurons;
      row.widths = r.widths;
    }
    if (r.verdict == "error")
      errored.insert({r.network, r.method});
    else
      row.by_method[r.method] = r;
  }
  for (auto& [name, row] : rows) t.rows.push_back(std::move(row));
  auto total = [](const SweepTable::Row& r) {
    return std::accumulate(r.widths.begin(), r.widths.end(), 0L);
  };
  std::sort(t.rows.begin(), t.rows.end(), [&](const auto& a, const auto& b) {
    if (a.hidden_layers != b.hidden_layers) return a.hidden_layers < b.hidden_layers;
    if (a.neurons != b.neurons) return a.neurons < b.neurons;
    if (total(a) != total(b)) return total(a) < total(b);
    return a.network < b.network;
  });

  auto get = [](const SweepTable::Row& row, const std::string& m) -> const SweepRecord* {
    auto it = row.by_method.find(m);
    return it == row.by_method.end() ? nullptr : &it->second;
  };
  for (auto& row : t.rows) {
    const SweepRecord* mip = t.mip.empty() ? nullptr : get(row, t.mip);
    const SweepRecord* nlp = t.nlp.empty() ? nullptr : get(row, t.nlp);
    row.false_robust = mip && nlp && mip->margin < 0 && !(nlp->margin < 0);
  }

  for (const auto& m : methods) {
    MethodStats s;
    s.method = m;
    std::vector<double> times;
    for (const auto& row : t.rows) {
      const SweepRecord* r = get(row, m);
      if (!r) {
        if (errored.count({row.network, m})) ++s.errors;
        continue;
      }
      ++s.runs;
      if (std::isfinite(r->time_s)) times.push_back(r->time_s);
      s.timeouts += r->timed_out;
      s.attacks += r->verdict == "attack_found";
    }
    if (!times.empty()) {
      s.median_time_s = median(times);
      s.mean_time_s = std::accumulate(times.begin(), times.end(), 0.0) / times.size();
      s.max_time_s = *std::max_element(times.begin(), times.end());
    }
    t.stats.push_back(s);
  }

  if (!t.mip.empty()) {
    for (const auto& row : t.rows)
      if (const SweepRecord* mip = get(row, t.mip)) {
        t.mip_unproven += !mip->proven;
        t.mip_no_incumbent += std::isnan(mip->margin);
      }
    for (const auto& m : methods) {
      if (m == t.mip) continue;
      Comparison c;
      c.method = m;
      for (const auto& row : t.rows) {
        const SweepRecord* a = get(row, t.mip);
        const SweepRecord* b = get(row, m);
        if (!a || !b) continue;
        ++c.networks;
        const std::string label = archLabel(row.hidden_layers, row.neurons, row.widths);
        const double ma = a->margin, mb = b->margin;
        const bool unproven = !a->proven;
        if (std::isfinite(ma) && std::isfinite(mb)) {
          ++c.comparable;
          if ((ma < 0) == (mb < 0)) {
            ++c.sign_agree;
            c.sign_agree_mip_unproven += unproven;
          } else {
            ++c.sign_disagree;
            c.sign_disagree_mip_unproven += unproven;
            c.disagree_networks.push_back(label);
          }
          if (std::abs(ma - mb) <= exact_tol) ++c.exact_agree;
          if (mb < ma - exact_tol) ++c.stronger_than_mip;
        }
        if (ma < 0 && !(mb < 0)) {
          ++c.false_robust;
          c.false_robust_networks.push_back(label);
        }
        if (b->time_s > a->time_s) ++c.slower_than_mip;
      }
      t.vs_mip.push_back(c);
    }
  }
  return t;
}

namespace {

std::string displayName(const SweepTable& t, const std::string& m) {
  if (m == t.mip) return "MIP";
  if (m == t.nlp) return "NLP";
  return m;
}

bool anyMultiStart(const SweepTable& t, const std::string& m) {
  for (const auto& row : t.rows)
    if (auto it = row.by_method.find(m); it != row.by_method.end() && it->second.starts > 1)
      return true;
  return false;
}
bool isAuto(const std::string& m) { return m == "auto"; }

struct Column {
  std::string header;
  std::function<std::string(const SweepTable::Row&, bool csv)> cell;
};

std::vector<Column> tableColumns(const SweepTable& t) {
  std::vector<Column> cols;
  auto rec = [](const SweepTable::Row& row, const std::string& m) -> const SweepRecord* {
    auto it = row.by_method.find(m);
    return it == row.by_method.end() ? nullptr : &it->second;
  };
  cols.push_back({"Hidden Layers", [](const SweepTable::Row& r, bool) {
                    return std::to_string(r.hidden_layers);
                  }});
  cols.push_back({"Neurons/Layer", [](const SweepTable::Row& r, bool) {
                    return neuronsText(r.neurons, r.widths);
                  }});
  auto objective = [rec](std::string m) {
    return [rec, m](const SweepTable::Row& row, bool csv) -> std::string {
      const SweepRecord* r = rec(row, m);
      if (!r) return "";
      return csv ? csvNum(r->margin) : fmtNum(r->margin, 5);
    };
  };
  auto time = [rec](std::string m) {
    return [rec, m](const SweepTable::Row& row, bool csv) -> std::string {
      const SweepRecord* r = rec(row, m);
      if (!r) return "";
      if (csv) return csvNum(r->time_s);
      return fmtNum(r->time_s, 3) + (r->timed_out ? "*" : "");
    };
  };
  auto variables = [rec](std::string m) {
    return [rec, m](const SweepTable::Row& row, bool) -> std::string {
      const SweepRecord* r = rec(row, m);
      return r ? std::to_string(r->variables) : "";
    };
  };
  if (!t.mip.empty()) {
    cols.push_back({"MIP Objective", objective(t.mip)});
    cols.push_back({"MIP Time (s)", time(t.mip)});
    cols.push_back({"MIP Variables", variables(t.mip)});
  }
  if (!t.nlp.empty()) {
    cols.push_back({"NLP Objective", objective(t.nlp)});
    cols.push_back({"NLP Time (s)", time(t.nlp)});
    cols.push_back({"NLP Variables", variables(t.nlp)});
  }
  if (!t.mip.empty() && !t.nlp.empty())
    cols.push_back({"False Robustness", [](const SweepTable::Row& r, bool) -> std::string {
                      return r.false_robust ? "Yes" : "";
                    }});
  if (!t.mip.empty()) {
    cols.push_back({"MIP Bound", [rec, m = t.mip](const SweepTable::Row& row, bool csv) -> std::string {
                      const SweepRecord* r = rec(row, m);
                      if (!r) return "";
                      return csv ? csvNum(r->bound) : fmtNum(r->bound, 5);
                    }});
    cols.push_back({"MIP Status", [rec, m = t.mip](const SweepTable::Row& row, bool) -> std::string {
                      const SweepRecord* r = rec(row, m);
                      return r ? r->status : "";
                    }});
  }
  for (const auto& m : t.methods) {
    if (m == t.mip || m == t.nlp) continue;
    cols.push_back({m + " Objective", objective(m)});
    cols.push_back({m + " Time (s)", time(m)});
  }
  for (const auto& m : t.methods) {
    if (!anyMultiStart(t, m) && !isAuto(m)) continue;
    const std::string d = displayName(t, m);
    cols.push_back({d + " Starts Run", [rec, m](const SweepTable::Row& row, bool) -> std::string {
                      const SweepRecord* r = rec(row, m);
                      return r ? fmt::format("{}/{}", r->starts_run, r->starts) : "";
                    }});
    cols.push_back({d + " First Attack Start",
                    [rec, m](const SweepTable::Row& row, bool) -> std::string {
                      const SweepRecord* r = rec(row, m);
                      if (!r) return "";
                      return r->first_attack_start >= 0 ? std::to_string(r->first_attack_start)
                                                        : "-";
                    }});
    if (isAuto(m))
      cols.push_back({d + " Decided By", [rec, m](const SweepTable::Row& row, bool) -> std::string {
                        const SweepRecord* r = rec(row, m);
                        return r ? r->decided_by : "";
                      }});
  }
  return cols;
}

const SweepRecord* anyRecord(const SweepTable& t) {
  for (const auto& row : t.rows)
    if (!row.by_method.empty()) return &row.by_method.begin()->second;
  return nullptr;
}

double maxTimeLimit(const SweepTable& t) {
  double tl = 0;
  for (const auto& row : t.rows)
    for (const auto& [m, r] : row.by_method)
      if (std::isfinite(r.time_limit)) tl = std::max(tl, r.time_limit);
  return tl;
}

}  // namespace

std::vector<std::string> summaryLines(const SweepTable& t) {
  std::vector<std::string> out;
  const size_t n = t.rows.size();
  if (const SweepRecord* r = anyRecord(t))
    out.push_back(fmt::format(
        "Image: {} #{} (true label {}), target {}, L-inf eps {}; time limit {} s per run.",
        r->dataset, r->index, r->true_label, r->target_mode.empty() ? "?" : r->target_mode, r->eps,
        r->time_limit));
  std::string ms;
  for (size_t i = 0; i < t.methods.size(); ++i) {
    const std::string d = displayName(t, t.methods[i]);
    ms += (i ? ", " : "") + (d == t.methods[i] ? d : d + " = " + t.methods[i]);
  }
  out.push_back(fmt::format("{} networks; methods: {}.", n, ms));
  for (const auto& s : t.stats) {
    std::string line = fmt::format("{}: {} runs", displayName(t, s.method), s.runs);
    if (s.runs)
      line += fmt::format(", median time {} s, mean {} s, max {} s; {}/{} hit the time limit; {} "
                          "attacks found",
                          fmtNum(s.median_time_s, 3), fmtNum(s.mean_time_s, 3),
                          fmtNum(s.max_time_s, 3), s.timeouts, s.runs, s.attacks);
    if (s.errors) line += fmt::format("; {} runs failed (see results.jsonl)", s.errors);
    out.push_back(line + ".");
  }
  if (!t.mip.empty()) {
    int mip_runs = 0;
    for (const auto& s : t.stats)
      if (s.method == t.mip) mip_runs = s.runs;
    out.push_back(fmt::format(
        "MIP proven optimal on {}/{} networks; {} unproven (time limit){}.", mip_runs - t.mip_unproven,
        mip_runs, t.mip_unproven,
        t.mip_no_incumbent ? fmt::format(", {} of them without any incumbent (no margin)",
                                         t.mip_no_incumbent)
                           : ""));
  }
  for (const auto& c : t.vs_mip) {
    const std::string d = displayName(t, c.method);
    std::string line = fmt::format("{} vs MIP ({} networks with both runs", d, c.networks);
    if (c.comparable != c.networks)
      line += fmt::format(", {} with both margins", c.comparable);
    line += fmt::format("): same sign {}/{}", c.sign_agree, c.comparable);
    if (c.sign_agree_mip_unproven)
      line += fmt::format(" (MIP unproven in {} of them)", c.sign_agree_mip_unproven);
    line += fmt::format("; different sign {}/{}", c.sign_disagree, c.comparable);
    if (c.sign_disagree)
      line += fmt::format(" ({}; MIP unproven in {} of them)", joinNames(c.disagree_networks),
                          c.sign_disagree_mip_unproven);
    line += fmt::format("; equal to {:g}: {}/{}", t.exact_tol, c.exact_agree, c.comparable);
    line += fmt::format("; false robust {}/{}", c.false_robust, c.networks);
    if (c.false_robust) line += " (" + joinNames(c.false_robust_networks) + ")";
    if (c.stronger_than_mip)
      line += fmt::format("; stronger than MIP on {} (MIP not optimal there)", c.stronger_than_mip);
    line += fmt::format("; slower than MIP {}/{}.", c.slower_than_mip, c.networks);
    out.push_back(line);
  }
  std::string note = "Objective = replayed margin logit[true] - logit[target] (negative: attack). ";
  if (!t.mip.empty() && !t.nlp.empty())
    note += "False Robustness: NLP margin >= 0 (or none) while the MIP margin < 0. ";
  out.push_back(note + "* = the run hit the time limit.");
  return out;
}

std::string tableMarkdown(const SweepTable& t) {
  auto cols = tableColumns(t);
  std::ostringstream os;
  os << "# nnopt sweep\n\n";
  os << "|";
  for (const auto& c : cols) os << " " << c.header << " |";
  os << "\n|";
  for (size_t i = 0; i < cols.size(); ++i) os << "---|";
  os << "\n";
  for (const auto& row : t.rows) {
    os << "|";
    for (const auto& c : cols) os << " " << c.cell(row, false) << " |";
    os << "\n";
  }
  os << "\n## Summary\n\n";
  for (const auto& l : summaryLines(t)) os << "- " << l << "\n";
  return os.str();
}

std::string tableCsv(const SweepTable& t) {
  auto cols = tableColumns(t);
  std::ostringstream os;
  os << "Network";
  for (const auto& c : cols) os << "," << csvField(c.header);
  os << "\n";
  for (const auto& row : t.rows) {
    os << csvField(row.network);
    for (const auto& c : cols) os << "," << csvField(c.cell(row, true));
    os << "\n";
  }
  return os.str();
}

nlohmann::json summaryJson(const SweepTable& t) {
  nlohmann::json j;
  j["networks"] = t.rows.size();
  j["methods"] = t.methods;
  j["mip_method"] = t.mip.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.mip);
  j["nlp_method"] = t.nlp.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.nlp);
  if (const SweepRecord* r = anyRecord(t)) {
    j["dataset"] = r->dataset;
    j["index"] = r->index;
    j["eps"] = r->eps;
    j["true_label"] = r->true_label;
    j["target_mode"] = r->target_mode;
    j["time_limit"] = jnum(r->time_limit);
  }
  auto per = nlohmann::json::object();
  for (const auto& s : t.stats)
    per[s.method] = {{"runs", s.runs},
                     {"median_time_s", jnum(s.median_time_s)},
                     {"mean_time_s", jnum(s.mean_time_s)},
                     {"max_time_s", jnum(s.max_time_s)},
                     {"timeouts", s.timeouts},
                     {"attacks_found", s.attacks},
                     {"errors", s.errors}};
  j["per_method"] = per;
  if (!t.mip.empty()) {
    j["mip_unproven"] = t.mip_unproven;
    j["mip_no_incumbent"] = t.mip_no_incumbent;
  }
  auto vs = nlohmann::json::object();
  for (const auto& c : t.vs_mip)
    vs[c.method] = {{"networks", c.networks},
                    {"comparable", c.comparable},
                    {"sign_agree", c.sign_agree},
                    {"sign_agree_mip_unproven", c.sign_agree_mip_unproven},
                    {"sign_disagree", c.sign_disagree},
                    {"sign_disagree_mip_unproven", c.sign_disagree_mip_unproven},
                    {"disagree_networks", c.disagree_networks},
                    {"exact_agree", c.exact_agree},
                    {"exact_tol", t.exact_tol},
                    {"false_robust", c.false_robust},
                    {"false_robust_networks", c.false_robust_networks},
                    {"stronger_than_mip", c.stronger_than_mip},
                    {"slower_than_mip", c.slower_than_mip}};
  j["vs_mip"] = vs;
  auto rows = nlohmann::json::array();
  for (const auto& row : t.rows) {
    nlohmann::json r;
    r["network"] = row.network;
    r["arch"] = archLabel(row.hidden_layers, row.neurons, row.widths);
    r["false_robust"] = row.false_robust;
    for (const auto& [m, rec] : row.by_method)
      r["methods"][m] = {{"verdict", rec.verdict},
                         {"margin", jnum(rec.margin)},
                         {"time_s", jnum(rec.time_s)},
                         {"timed_out", rec.timed_out}};
    rows.push_back(r);
  }
  j["rows"] = rows;
  return j;
}

std::vector<std::string> writeSweepOutputs(const SweepTable& t, const std::string& dir,
                                           double time_limit) {
  std::vector<std::string> files;
  const fs::path d(dir);
  auto path = [&](const char* f) { return (d / f).string(); };
  writeFileAtomic(path("table.md"), tableMarkdown(t));
  files.push_back(path("table.md"));
  writeFileAtomic(path("table.csv"), tableCsv(t));
  files.push_back(path("table.csv"));
  writeFileAtomic(path("summary.json"), summaryJson(t).dump(2) + "\n");
  files.push_back(path("summary.json"));

  PairedChart c;
  std::string names;
  for (size_t i = 0; i < t.methods.size(); ++i)
    names += (i ? " vs " : "") + displayName(t, t.methods[i]);
  // The legend names every method; a long "a vs b vs ..." list would run off the title.
  c.title = t.methods.size() <= 3
                ? "Solve time per architecture: " + names
                : fmt::format("Solve time per architecture, {} methods", t.methods.size());
  if (const SweepRecord* r = anyRecord(t)) c.title += fmt::format(" (L-inf eps {})", r->eps);
  c.x_label = "architecture (hidden layers x neurons per layer), ordered by size";
  c.y_label = "solve time (s, log scale)";
  for (const auto& row : t.rows)
    c.categories.push_back(archLabel(row.hidden_layers, row.neurons, row.widths));
  bool any_timeout = false;
  for (const auto& m : t.methods) {
    ChartSeries s;
    const std::string d = displayName(t, m);
    s.name = d == m ? m : d + " (" + m + ")";
    for (const auto& row : t.rows) {
      auto it = row.by_method.find(m);
      s.y.push_back(it == row.by_method.end() ? kNaN : it->second.time_s);
      s.hollow.push_back(it != row.by_method.end() && it->second.timed_out);
      any_timeout |= s.hollow.back();
    }
    c.series.push_back(std::move(s));
  }
  const double tl = time_limit > 0 ? time_limit : maxTimeLimit(t);
  if (tl > 0 && std::isfinite(tl)) {
    c.ref_line = tl;
    c.ref_label = fmt::format("time limit ({:g} s)", tl);
  }
  if (any_timeout) c.hollow_note = "hollow: hit the time limit";
  writeChart(c, path("times.svg"));
  files.push_back(path("times.svg"));
  writeChart(c, path("times.png"));
  files.push_back(path("times.png"));
  return files;
}

// ============================================================ the sweep
std::vector<std::string> expandModelPaths(const std::vector<std::string>& models) {
  require(!models.empty(), "--models: give a directory or .onnx files");
  std::vector<std::string> out;
  for (const auto& m : models) {
    std::error_code ec;
    if (fs::is_directory(m, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(m, ec))
        if (e.is_regular_file() && endsWithOnnx(e.path())) found.push_back(e.path().string());
      require(!ec, m + ": cannot list directory (" + ec.message() + ")");
      require(!found.empty(), m + ": no .onnx files in this directory");
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      require(fs::exists(m, ec), m + ": no such file or directory");
      out.push_back(m);
    }
  }
  std::map<std::string, std::string> seen;
  std::vector<std::string> uniq;
  for (const auto& p : out) {
    const std::string base = fs::path(p).filename().string();
    auto [it, inserted] = seen.emplace(base, p);
    if (!inserted) {
      if (fs::weakly_canonical(it->second) == fs::weakly_canonical(p)) continue;  // same file twice
      throw Error("two networks share the file name " + base + " (" + it->second + ", " + p +
                  "); results are keyed by file name");
    }
    uniq.push_back(p);
  }
  return uniq;
}

namespace {

int argmaxOf(const Eigen::VectorXd& v) {
  Eigen::Index a = 0;
  v.maxCoeff(&a);
  return static_cast<int>(a);
}

int runnerUpOf(const Eigen::VectorXd& logits, int label) {
  int best = -1;
  for (int k = 0; k < logits.size(); ++k)
    if (k != label && (best < 0 || logits[k] > logits[best])) best = k;
  return best;
}

struct NetJob {
  std::string path, name;
  Architecture arch;
  nn::Network net;  // normalised
  int label = -1, target = -1;
};

}  // namespace

SweepOutcome runSweepWith(const SweepParams& p, const SweepHooks& hooks,
                          const SweepProgressFn& progress) {
  require(static_cast<bool>(hooks.load_network) && static_cast<bool>(hooks.run),
          "sweep: missing network loader or attack runner");
  // ---- parameters
  require(std::isfinite(p.eps) && p.eps >= 0,
          fmt::format("--eps must be a finite number >= 0 (got {})", p.eps));
  require(!p.methods.empty(), "--methods: give at least one of mip, nlp, nlp:<form>, mpec:<form>, auto");
  std::vector<MethodSpec> methods;
  for (const auto& s : p.methods) {
    MethodSpec m = parseMethodSpec(s);
    if (std::none_of(methods.begin(), methods.end(), [&](const auto& x) { return x.name == m.name; }))
      methods.push_back(m);
  }
  require(p.time_limit > 0, "--time-limit must be > 0");
  require(p.starts >= 0, "--starts must be >= 1");
  require(!p.out_dir.empty(), "--out: give an output directory");
  require(!p.dataset.empty(), "--dataset: give an MNIST IDX or CSV file");
  require(p.index >= 0, "--index must be >= 0");
  require(p.mean.has_value() == p.stdv.has_value(), "--mean and --std must be given together");
  if (p.stdv) require(*p.stdv > 0, "--std must be > 0");
  std::optional<int> fixed_target;
  if (p.target != "runner-up") {
    size_t pos = 0;
    int k = -1;
    try {
      k = std::stoi(p.target, &pos);
    } catch (...) {
      pos = 0;
    }
    require(pos == p.target.size() && k >= 0,
            "--target must be runner-up or a class index (got '" + p.target + "')");
    fixed_target = k;
  }
  const std::vector<std::string> paths = expandModelPaths(p.models);

  // ---- output directory and previous results (the writing process only)
  const bool writer = hooks.runner.writer;
  const std::string results = (fs::path(p.out_dir) / "results.jsonl").string();
  // One sweep per output directory at a time (released when the fd closes).
  std::optional<FileLock> lock;
  SweepOutcome outcome;
  LoadedResults prev;
  if (writer) {
    std::error_code ec;
    fs::create_directories(p.out_dir, ec);
    require(!ec && fs::is_directory(p.out_dir), p.out_dir + ": cannot create output directory");
    lock.emplace((fs::path(p.out_dir) / ".sweep.lock").string(),
                 p.out_dir + ": another nnopt sweep is writing to this directory");
  }
  if (writer && fs::exists(results)) {
    require(p.resume, results + " already exists: use --resume or another --out");
    prev = loadResults(results);
    if (prev.partial_tail) {
      truncateResults(results, prev.valid_bytes);
      outcome.dropped_partial_line = true;
    }
    const std::string ds = fs::path(p.dataset).filename().string();
    for (const auto& r : prev.records) {
      require(std::abs(r.eps - p.eps) <= 1e-12,
              fmt::format("{}: made with eps {}, this sweep has eps {} (use another --out)", results,
                          r.eps, p.eps));
      require(r.index == p.index && (r.dataset.empty() || r.dataset == ds),
              fmt::format("{}: made with {} #{}, this sweep has {} #{} (use another --out)", results,
                          r.dataset, r.index, ds, p.index));
      require(r.target_mode.empty() || r.target_mode == p.target,
              fmt::format("{}: made with --target {}, this sweep has {} (use another --out)",
                          results, r.target_mode, p.target));
    }
  }
  const auto done = donePairs(prev.records);

  // ---- image and networks
  io::Image img = io::loadDatasetItem(p.dataset, p.index);
  const spec::Box box = spec::linfBall(img.pixels, p.eps, 0.0, 1.0);
  std::vector<NetJob> nets;
  for (const auto& path : paths) {
    NetJob j;
    j.path = path;
    j.name = fs::path(path).filename().string();
    nn::Network raw = hooks.load_network(path);
    j.arch = architectureOf(raw);
    if (j.arch.widths.empty())
      if (auto a = architectureFromName(j.name)) j.arch = *a;
    j.net = p.mean ? raw.withInputNormalization(*p.mean, *p.stdv) : raw;
    require(j.net.inputSize() == img.pixels.size(),
            fmt::format("{}: expects {} inputs but {} #{} has {} pixels", path, j.net.inputSize(),
                        p.dataset, p.index, img.pixels.size()));
    const int n_out = static_cast<int>(j.net.outputSize());
    require(n_out >= 2, path + ": needs at least 2 outputs for a margin attack");
    Eigen::VectorXd clean = j.net.forward(img.pixels);
    j.label = p.label ? *p.label : (img.label >= 0 ? img.label : argmaxOf(clean));
    require(j.label >= 0 && j.label < n_out,
            fmt::format("label {} out of range: {} has {} outputs", j.label, path, n_out));
    j.target = fixed_target ? *fixed_target : runnerUpOf(clean, j.label);
    require(j.target >= 0 && j.target < n_out && j.target != j.label,
            fmt::format("--target {} must be a class in [0,{}] other than the label {} ({})",
                        p.target, n_out - 1, j.label, path));
    nets.push_back(std::move(j));
  }
  std::stable_sort(nets.begin(), nets.end(), [](const NetJob& a, const NetJob& b) {
    if (a.arch.hidden_layers != b.arch.hidden_layers) return a.arch.hidden_layers < b.arch.hidden_layers;
    if (a.arch.neurons != b.arch.neurons) return a.arch.neurons < b.arch.neurons;
    if (a.arch.total_neurons != b.arch.total_neurons) return a.arch.total_neurons < b.arch.total_neurons;
    return a.name < b.name;
  });

  // ---- jobs: every (network, method) pair, numbered the same way in every
  // process; the writer runs those not done yet.
  struct Job {
    const NetJob* net;
    const MethodSpec* method;
  };
  std::vector<Job> jobs;
  std::vector<long> todo;
  for (const auto& n : nets)
    for (const auto& m : methods) {
      if (done.count({n.name, m.name}))
        ++outcome.skipped;
      else
        todo.push_back(static_cast<long>(jobs.size()));
      jobs.push_back({&n, &m});
    }
  if (!writer) todo.clear();
  SweepProgress prog;
  prog.to_run = static_cast<int>(todo.size());
  prog.skipped = outcome.skipped;
  if (progress && writer) progress(prog);

  SweepParams pj = p;  // what a run sees
  if (pj.threads == 0) pj.threads = hooks.runner.default_threads;
  const std::string ds_name = fs::path(p.dataset).filename().string();
  auto cancelled = [&] { return p.cancel != nullptr && p.cancel->load(); };
  auto work = [&](long i) -> std::string {
    if (cancelled()) return {};
    const NetJob& n = *jobs[static_cast<size_t>(i)].net;
    const MethodSpec& m = *jobs[static_cast<size_t>(i)].method;
    const int starts = m.kind == SweepMethodKind::kMip
                           ? 1
                           : (p.starts > 0 ? p.starts : (m.kind == SweepMethodKind::kAuto ? 16 : 1));
    Timer wall;
    SweepRecord r;
    try {
      r = hooks.run(n.net, box, img.pixels, n.label, n.target, m, starts, pj);
    } catch (const std::exception& e) {
      r = SweepRecord{};
      r.verdict = "error";
      r.error = e.what();
      r.status = "error";
      r.starts = starts;
      r.starts_run = 0;
      r.time_s = wall.seconds();
      logWarn(fmt::format("sweep: {} {}: {}", n.name, m.name, e.what()));
    }
    r.network = n.name;
    r.network_path = n.path;
    r.hidden_layers = n.arch.hidden_layers;
    r.neurons = n.arch.neurons;
    r.widths = n.arch.widths;
    r.method = m.name;
    if (r.method_result.empty()) r.method_result = m.name;
    r.true_label = n.label;
    r.target_label = n.target;
    r.eps = p.eps;
    r.time_limit = p.time_limit;
    r.dataset = ds_name;
    r.index = p.index;
    r.target_mode = p.target;
    return toJson(r).dump();
  };

  Timer total;
  std::map<std::string, std::pair<double, int>> method_time;  // run time, runs
  double all_time = 0;
  std::set<long> finished;
  auto record = [&](long i, const std::string& line) {
    // A run cut short by the cancel is not a finished run: never recorded.
    if (cancelled() || line.empty()) return;
    SweepRecord r = recordFromJson(nlohmann::json::parse(line));
    r.timestamp = nowIsoUtc();
    appendResult(results, r);
    ++outcome.ran;
    finished.insert(i);

    method_time[r.method].first += r.time_s;
    method_time[r.method].second += 1;
    all_time += r.time_s;
    double eta = 0;
    const double avg_all = all_time / double(finished.size());
    for (long k : todo) {
      if (finished.count(k)) continue;
      auto it = method_time.find(jobs[static_cast<size_t>(k)].method->name);
      eta += it != method_time.end() ? it->second.first / it->second.second : avg_all;
    }
    prog.done = static_cast<int>(finished.size());
    prog.elapsed_s = total.seconds();
    prog.eta_s = eta;
    prog.record = &r;
    if (progress) progress(prog);
    prog.record = nullptr;
  };
  runJobs(hooks.runner, todo, work, record);
  if (!writer || cancelled()) return outcome;

  // ---- table, summary, plot (also when everything was done already)
  LoadedResults all = loadResults(results);
  std::vector<std::string> order;
  for (const auto& m : methods) order.push_back(m.name);
  outcome.table = buildTable(all.records, order);
  outcome.files = writeSweepOutputs(outcome.table, p.out_dir, 0.0);
  outcome.files.insert(outcome.files.begin(), results);
  return outcome;
}

}  // namespace nnopt::report
