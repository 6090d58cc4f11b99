// The sweep's output files: summary.json, and table.md, table.csv and the
// paired solve-time plot times.svg / times.png written next to it.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/core.h>

#include "core/append.h"
#include "report/plot.h"
#include "report/sweep.h"
#include "report/sweep_internal.h"

namespace nnopt::report {

namespace fs = std::filesystem;
using sweep_detail::anyRecord;
using sweep_detail::displayName;
using sweep_detail::kNaN;

namespace {

double maxTimeLimit(const SweepTable& t) {
  double tl = 0;
  for (const auto& row : t.rows)
    for (const auto& [m, r] : row.by_method)
      if (std::isfinite(r.time_limit)) tl = std::max(tl, r.time_limit);
  return tl;
}

}  // namespace

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
    j["time_limit"] = num(r->time_limit);
  }
  auto per = nlohmann::json::object();
  for (const auto& s : t.stats)
    per[s.method] = {{"runs", s.runs},
                     {"median_time_s", num(s.median_time_s)},
                     {"mean_time_s", num(s.mean_time_s)},
                     {"max_time_s", num(s.max_time_s)},
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
                         {"margin", num(rec.margin)},
                         {"time_s", num(rec.time_s)},
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

}  // namespace nnopt::report
