// The sweep table as text: its columns, the summary lines, table.md and
// table.csv.
#include <cmath>
#include <fmt/core.h>
#include <functional>
#include <sstream>

#include "report/sweep.h"
#include "report/sweep_internal.h"

namespace nnopt::report {

using sweep_detail::anyRecord;
using sweep_detail::displayName;
using sweep_detail::isUniform;

namespace {

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
  const std::string ref = t.mip.empty() ? "" : displayName(t, t.mip);  // "MIP" mostly
  if (!t.mip.empty()) {
    cols.push_back({ref + " Objective", objective(t.mip)});
    cols.push_back({ref + " Time (s)", time(t.mip)});
    cols.push_back({ref + " Variables", variables(t.mip)});
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
    cols.push_back({ref + " Bound", [rec, m = t.mip](const SweepTable::Row& row, bool csv) -> std::string {
                      const SweepRecord* r = rec(row, m);
                      if (!r) return "";
                      return csv ? csvNum(r->bound) : fmtNum(r->bound, 5);
                    }});
    cols.push_back({ref + " Status", [rec, m = t.mip](const SweepTable::Row& row, bool) -> std::string {
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
    const std::string d = displayName(t, m);
    if (m == "exact") {  // which exact method the rule chose per network
      cols.push_back({d + " Method", [rec, m](const SweepTable::Row& row, bool) -> std::string {
                        const SweepRecord* r = rec(row, m);
                        return r ? r->decided_by : "";
                      }});
      continue;
    }
    if (!anyMultiStart(t, m) && !isAuto(m)) continue;
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
  const std::string ref = t.mip.empty() ? "" : displayName(t, t.mip);  // "MIP" mostly
  if (!t.mip.empty()) {
    int mip_runs = 0;
    for (const auto& s : t.stats)
      if (s.method == t.mip) mip_runs = s.runs;
    out.push_back(fmt::format(
        "{} proven optimal on {}/{} networks; {} unproven (time limit){}.", ref,
        mip_runs - t.mip_unproven,
        mip_runs, t.mip_unproven,
        t.mip_no_incumbent ? fmt::format(", {} of them without any incumbent (no margin)",
                                         t.mip_no_incumbent)
                           : ""));
  }
  for (const auto& c : t.vs_mip) {
    const std::string d = displayName(t, c.method);
    std::string line = fmt::format("{} vs {} ({} networks with both runs", d, ref, c.networks);
    if (c.comparable != c.networks)
      line += fmt::format(", {} with both margins", c.comparable);
    line += fmt::format("): same sign {}/{}", c.sign_agree, c.comparable);
    if (c.sign_agree_mip_unproven)
      line += fmt::format(" ({} unproven in {} of them)", ref, c.sign_agree_mip_unproven);
    line += fmt::format("; different sign {}/{}", c.sign_disagree, c.comparable);
    if (c.sign_disagree)
      line += fmt::format(" ({}; {} unproven in {} of them)", joinNames(c.disagree_networks), ref,
                          c.sign_disagree_mip_unproven);
    line += fmt::format("; equal to {:g}: {}/{}", t.exact_tol, c.exact_agree, c.comparable);
    line += fmt::format("; false robust {}/{}", c.false_robust, c.networks);
    if (c.false_robust) line += " (" + joinNames(c.false_robust_networks) + ")";
    if (c.stronger_than_mip)
      line += fmt::format("; stronger than {} on {} ({} not optimal there)", ref,
                          c.stronger_than_mip, ref);
    line += fmt::format("; slower than {} {}/{}.", ref, c.slower_than_mip, c.networks);
    out.push_back(line);
  }
  std::string note = "Objective = replayed margin logit[true] - logit[target] (negative: attack). ";
  if (!t.mip.empty() && !t.nlp.empty())
    note += "False Robustness: NLP margin >= 0 (or none) while the " + ref + " margin < 0. ";
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

}  // namespace nnopt::report
