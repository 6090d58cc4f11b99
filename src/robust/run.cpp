// runRobustness(): nnopt robustness over a dataset - checks, the resumable
// results file, the images spread by a JobRunner, then the summary and the
// report (see robustness.h).
#include <fmt/core.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/append.h"
#include "core/error.h"
#include "core/log.h"
#include "io/images.h"
#include "io/normalization.h"
#include "io/onnx.h"
#include "report/panel.h"
#include "robust/robustness.h"

#ifndef NNOPT_VERSION
#define NNOPT_VERSION "unknown"
#endif

namespace nnopt::robust {
namespace {

namespace fs = std::filesystem;

std::string baseName(const std::string& path) { return fs::path(path).filename().string(); }

void checkParams(RunParams& p) {
  p.robust.eps = normalizeEps(p.robust.eps);
  const double tl = p.robust.time_limit;
  require(tl > 0 && std::isfinite(tl),
          fmt::format("--time-limit must be a positive number of seconds (got {})", tl));
  require(!p.model.empty(), "--model: give an ONNX network");
  require(!p.dataset.empty(), "--dataset: give an MNIST IDX, CIFAR-10 .bin or CSV file");
  require(!p.out_dir.empty(), "--out: give an output directory");
  io::checkNormalization(p.mean, p.stdv);
  require(p.limit >= 0, fmt::format("--limit must be >= 0 (got {})", p.limit));
  require(p.limit == 0 || p.indices.empty(), "--limit and --indices exclude each other");
  require(p.robust.pgd_restarts >= 1 && p.robust.pgd_steps >= 0,
          "--pgd-restarts must be >= 1 and --pgd-steps >= 0");
  require(p.gallery_max >= 0, "--gallery must be >= 0");
  const double tol = p.robust.radius_tol;
  require(tol > 0 && std::isfinite(tol),
          fmt::format("--radius-tol must be a positive number (got {})", tol));
  require(p.robust.radius_probes >= 0,
          fmt::format("--radius-probes must be >= 0 (got {})", p.robust.radius_probes));
}

bool cancelled(const RunParams& p) { return p.robust.cancel != nullptr && p.robust.cancel->load(); }

// The resume key of a radius line.
const std::string kRadiusKey = "radius";

// The images of the run, in order, each checked against the network.
std::vector<long> selectImages(const RunParams& p, const nn::Network& net) {
  const long n = io::datasetSize(p.dataset);
  std::vector<long> idx;
  if (!p.indices.empty()) {
    std::set<long> seen;
    for (long k : p.indices) {
      require(k >= 0 && k < n, fmt::format("--indices: {} out of range: {} has {} images (0..{})", k,
                                           p.dataset, n, n - 1));
      if (seen.insert(k).second) idx.push_back(k);
    }
  } else {
    const long count = p.limit > 0 ? std::min(p.limit, n) : n;
    for (long k = 0; k < count; ++k) idx.push_back(k);
  }
  require(!idx.empty(), p.dataset + ": no images");
  const int n_out = static_cast<int>(net.outputSize());
  require(n_out >= 2, p.model + ": robustness needs a network with at least 2 outputs");
  for (long k : idx) {
    const io::Image img = io::loadDatasetItem(p.dataset, k);
    require(img.pixels.size() == net.inputSize(),
            fmt::format("{} #{}: {} pixels but {} expects {} inputs", p.dataset, k,
                        img.pixels.size(), p.model, net.inputSize()));
    require(img.label >= 0, fmt::format("{} #{}: no label (an IDX image file needs its sibling "
                                        "labels file)", p.dataset, k));
    require(img.label < n_out, fmt::format("{} #{}: label {} out of range: {} has {} outputs",
                                           p.dataset, k, img.label, p.model, n_out));
  }
  return idx;
}

std::string radiusLine(const RunParams& p, const RobustRecord& base, const RadiusResult& radius) {
  RadiusRecord rr;
  rr.model = base.model;
  rr.dataset = base.dataset;
  rr.index = base.index;
  rr.label = base.label;
  rr.predicted = base.predicted;
  rr.method = base.method;
  rr.time_limit = base.time_limit;
  rr.tol = p.robust.radius_tol;
  rr.radius = radius;
  return toJson(rr).dump() + "\n";
}

// The JSON lines of one image (all eps, then its radius with --radius), run
// anywhere (an MPI worker too). known: the image's eps rows already on disk
// when they are all there (the writer only): then only the radius is
// bisected, from them. Empty when cancelled (nothing of the image is kept).
std::string runImage(const RunParams& p, const nn::Network& net, long index,
                     const std::vector<EpsRow>* known) {
  if (cancelled(p)) return {};
  const io::Image img = io::loadDatasetItem(p.dataset, index);
  RobustRecord base;
  base.model = baseName(p.model);
  base.dataset = baseName(p.dataset);
  base.index = index;
  base.label = img.label;
  base.method = exactMethodName(p.robust.method);
  base.time_limit = p.robust.time_limit;
  std::vector<RobustRecord> recs;
  std::string radius;
  try {
    if (known) {
      const Eigen::VectorXd y = net.forward(img.pixels);
      Eigen::Index am = 0;
      y.maxCoeff(&am);
      base.predicted = static_cast<int>(am);
      const RadiusResult r = radiusFromRows(net, img.pixels, img.label, p.robust, *known);
      return cancelled(p) ? std::string() : radiusLine(p, base, r);
    }
    const ImageResult res = evaluateImage(net, img.pixels, img.label, p.robust);
    if (res.cancelled) return {};
    for (const auto& row : res.rows) {
      RobustRecord r = base;
      r.predicted = res.predicted;
      r.clean_margin = res.clean_margin;
      r.row = row;
      recs.push_back(std::move(r));
    }
    if (res.radius) {
      base.predicted = res.predicted;
      radius = radiusLine(p, base, *res.radius);
    }
  } catch (const std::exception& e) {  // solver trouble: unknown, retried on --resume
    if (cancelled(p)) return {};
    for (double e_ : p.robust.eps) {
      RobustRecord r = base;
      r.row.eps = e_;
      r.row.verdict = "unknown";
      r.row.decided_by = "error";
      r.row.status = std::string("error: ") + e.what();
      recs.push_back(std::move(r));
    }
  }
  std::string lines;
  for (const auto& r : recs) lines += toJson(r).dump() + "\n";
  return lines + radius;
}

std::string readBytes(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  require(static_cast<bool>(is), path + ": cannot open");
  return std::string((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
}

// Panels of the attacked images (the smallest eps whose solve found the
// point), written to OUT/panels/ and kept as PNG bytes for the report.
std::vector<GalleryItem> writeGallery(const RunParams& p, const nn::Network& net,
                                      const std::vector<RobustRecord>& records, int* total,
                                      std::vector<std::string>& files) {
  std::map<long, const RobustRecord*> first;
  std::set<long> attacked;
  for (const auto& r : records) {
    if (r.row.verdict != "attacked") continue;
    attacked.insert(r.index);
    if (r.row.adversarial.size() != net.inputSize()) continue;
    auto& f = first[r.index];
    if (!f || r.row.eps < f->row.eps) f = &r;
  }
  *total = static_cast<int>(attacked.size());
  std::vector<GalleryItem> out;
  if (first.empty() || p.gallery_max == 0) return out;
  const fs::path dir = fs::path(p.out_dir) / "panels";
  std::error_code ec;
  fs::create_directories(dir, ec);
  require(!ec, dir.string() + ": cannot create");
  for (const auto& [index, r] : first) {
    if (static_cast<int>(out.size()) >= p.gallery_max) break;
    const io::Image img = io::loadDatasetItem(p.dataset, index);
    report::AttackPanel panel;
    panel.original = img.pixels;
    panel.adversarial = r->row.adversarial;
    panel.channels = img.channels;
    panel.rows = img.rows;
    panel.cols = img.cols;
    panel.logits_original = net.forward(img.pixels);
    panel.logits_adversarial = net.forward(r->row.adversarial);
    panel.title = fmt::format("{} #{} (label {}), eps {}", baseName(p.dataset), index, r->label,
                              epsKey(r->row.eps));
    panel.subtitle = fmt::format("{}: class {} wins, L-inf {:.4f}", r->row.decided_by,
                                 r->row.adv_class, r->row.linf);
    const std::string path =
        (dir / fmt::format("{}_eps{}.png", index, epsKey(r->row.eps))).string();
    report::writeAttackPanel(panel, path);
    files.push_back(path);
    GalleryItem g;
    g.index = index;
    g.eps = r->row.eps;
    g.label = r->label;
    g.adv_class = r->row.adv_class;
    g.margin = r->row.margin_upper;
    g.linf = r->row.linf;
    g.png = readBytes(path);
    out.push_back(std::move(g));
  }
  return out;
}

// summary.json, summary.csv, panels/ and report.html from results.jsonl.
void writeOutputs(const RunParams& p, const nn::Network& net, const std::string& results,
                  RunOutcome& outcome) {
  const ResultsFile file = loadResults(results);
  const std::vector<RobustRecord>& records = file.rows;
  outcome.summary = summarize(records, p.robust.eps);
  if (!file.radii.empty()) outcome.radius = summarizeRadii(file.radii);
  const fs::path dir(p.out_dir);
  nlohmann::json sj = summaryJson(outcome.summary, outcome.radius);
  sj["model"] = baseName(p.model);
  sj["dataset"] = baseName(p.dataset);
  sj["method"] = exactMethodName(p.robust.method);
  sj["time_limit_s"] = p.robust.time_limit;
  sj["version"] = NNOPT_VERSION;
  sj["command"] = p.command;
  const std::string sjson = (dir / "summary.json").string();
  writeFileAtomic(sjson, sj.dump(2) + "\n");
  const std::string scsv = (dir / "summary.csv").string();
  writeFileAtomic(scsv, summaryCsv(outcome.summary, outcome.radius));
  outcome.files.push_back(results);
  outcome.files.push_back(sjson);
  outcome.files.push_back(scsv);
  ReportInput in;
  in.title = baseName(p.model) + " on " + baseName(p.dataset);
  in.command = p.command;
  in.version = NNOPT_VERSION;
  in.summary = outcome.summary;
  in.records = records;
  in.radii = file.radii;
  in.gallery = writeGallery(p, net, records, &in.gallery_total, outcome.files);
  const std::string html = (dir / "report.html").string();
  writeFileAtomic(html, reportHtml(in));
  outcome.files.push_back(html);
}

}  // namespace

RunOutcome runRobustness(const RunParams& params, const RunProgressFn& progress,
                         const JobRunner& runner) {
  RunParams p = params;
  checkParams(p);
  const nn::Network raw = io::loadOnnx(p.model);
  const nn::Network net = io::withNormalization(raw, p.mean, p.stdv);
  const std::vector<long> images = selectImages(p, net);
  if (p.robust.method != ExactMethod::kNone && !net.isPiecewiseLinear())
    p.robust.method = ExactMethod::kNone;  // no exact route for Tanh/Sigmoid: screens only
  const std::string results = (fs::path(p.out_dir) / "results.jsonl").string();
  RunOutcome outcome;
  std::optional<FileLock> lock;
  std::set<std::pair<long, std::string>> on_disk;  // (index, eps key or "radius")
  std::map<long, std::vector<EpsRow>> disk_rows;   // --radius: the eps rows on disk
  std::vector<long> todo;  // positions in images
  if (runner.writer) {
    std::error_code ec;
    fs::create_directories(p.out_dir, ec);
    require(!ec && fs::is_directory(p.out_dir), p.out_dir + ": cannot create output directory");
    lock.emplace((fs::path(p.out_dir) / ".robustness.lock").string(),
                 p.out_dir + ": another nnopt robustness is writing to this directory");
    if (fs::exists(results) && fs::file_size(results) > 0)
      require(p.resume, results + " already exists: use --resume or another --out");
    outcome.dropped_partial_bytes = dropPartialLastLine(results);
    const std::string now =
        fmt::format("{} on {}, --method {}, --time-limit {}", baseName(p.model),
                    baseName(p.dataset), exactMethodName(p.robust.method), p.robust.time_limit);
    auto check = [&](const std::string& model, const std::string& dataset,
                     const std::string& method, double time_limit) {
      const std::string made =
          fmt::format("{} on {}, --method {}, --time-limit {}", model, dataset, method, time_limit);
      require(made == now, fmt::format("{}: made with {}; this run has {} (use another --out)",
                                       results, made, now));
    };
    const ResultsFile file = loadResults(results);
    for (const auto& r : file.rows) {
      check(r.model, r.dataset, r.method, r.time_limit);
      if (r.row.decided_by == "error") continue;
      on_disk.insert({r.index, epsKey(r.row.eps)});
      if (p.robust.radius) disk_rows[r.index].push_back(r.row);
    }
    for (const auto& r : file.radii) {
      check(r.model, r.dataset, r.method, r.time_limit);
      on_disk.insert({r.index, kRadiusKey});
    }
    for (size_t i = 0; i < images.size(); ++i) {
      bool all = true;
      for (double e : p.robust.eps) all = all && on_disk.count({images[i], epsKey(e)});
      if (all && p.robust.radius && !on_disk.count({images[i], kRadiusKey})) {
        todo.push_back(static_cast<long>(i));  // only its radius is left
        continue;
      }
      if (!all) disk_rows.erase(images[i]);  // solved again: the new rows bound the radius
      if (all)
        ++outcome.images_skipped;
      else
        todo.push_back(static_cast<long>(i));
    }
  }
  RunProgress prog;
  prog.images_todo = static_cast<int>(todo.size());
  prog.images_skipped = outcome.images_skipped;
  if (progress && runner.writer) progress(prog);

  Timer wall;
  auto work = [&](long i) {
    const long index = images[static_cast<size_t>(i)];
    auto it = disk_rows.find(index);
    return runImage(p, net, index, it == disk_rows.end() ? nullptr : &it->second);
  };
  auto done = [&](long i, const std::string& lines) {
    if (lines.empty()) return;  // cancelled: nothing of this image is kept
    std::istringstream is(lines);
    std::string line, text;
    while (std::getline(is, line)) {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (isRadiusLine(j)) {
        RadiusRecord rr = radiusRecordFromJson(j);
        if (!on_disk.insert({rr.index, kRadiusKey}).second) continue;
        rr.timestamp = nowIsoUtc();
        text += toJson(rr).dump() + "\n";
        continue;
      }
      RobustRecord r = recordFromJson(j);
      if (!on_disk.insert({r.index, epsKey(r.row.eps)}).second) continue;  // already there
      r.timestamp = nowIsoUtc();
      text += toJson(r).dump() + "\n";
      const std::string& v = r.row.verdict;
      if (v == "attacked") ++prog.attacked;
      if (v == "certified") ++prog.certified;
      if (v == "unknown") ++prog.unknown;
      if (v == "misclassified") ++prog.misclassified;
      if (r.row.inferred && !r.row.upgraded) ++prog.inferred;
    }
    appendLines(results, text);
    ++outcome.images_run;
    prog.images_done = outcome.images_run;
    prog.index = images[static_cast<size_t>(i)];
    prog.elapsed_s = wall.seconds();
    prog.eta_s = prog.elapsed_s / prog.images_done * (prog.images_todo - prog.images_done);
    if (progress) progress(prog);
  };
  runJobs(runner, todo, work, done);
  outcome.cancelled = cancelled(p);
  if (!runner.writer || outcome.cancelled) return outcome;
  writeOutputs(p, net, results, outcome);
  outcome.wall_s = wall.seconds();
  return outcome;
}

}  // namespace nnopt::robust
