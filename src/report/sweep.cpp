// The sweep study's driver: the model paths, the checks, the lock and resume
// of OUT/results.jsonl, the (network, method) runs through the JobRunner, then
// the table and files. Nothing here calls the solvers: the attack runner and
// the ONNX loader come in through SweepHooks (sweep_run.cpp supplies the real
// ones). The pieces: sweep_spec.cpp (method specs, architecture),
// sweep_records.cpp (results.jsonl), sweep_table.cpp (buildTable),
// sweep_text.cpp (table.md/csv, summary lines), sweep_outputs.cpp (files, plot).
#include "report/sweep.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/core.h>
#include <map>
#include <optional>
#include <set>

#include "core/append.h"
#include "core/error.h"
#include "core/log.h"
#include "io/images.h"
#include "io/normalization.h"

namespace nnopt::report {

namespace fs = std::filesystem;

namespace {

bool endsWithOnnx(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".onnx";
}

}  // namespace

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
  require(!p.portfolio_min_unstable || *p.portfolio_min_unstable >= 0,
          "--portfolio-min-unstable must be >= 0");
  require(!p.methods.empty(),
          "--methods: give at least one of mip, portfolio, exact, nlp, nlp:<form>, mpec:<form>, "
          "auto");
  std::vector<MethodSpec> methods;
  for (const auto& s : p.methods) {
    MethodSpec m = parseMethodSpec(s);
    if (std::none_of(methods.begin(), methods.end(), [&](const auto& x) { return x.name == m.name; }))
      methods.push_back(m);
  }
  require(p.time_limit > 0, "--time-limit must be > 0");
  require(p.starts >= 0, "--starts must be >= 1");
  require(!p.out_dir.empty(), "--out: give an output directory");
  require(!p.dataset.empty(), "--dataset: give an MNIST IDX, CIFAR-10 .bin or CSV file");
  require(p.index >= 0, "--index must be >= 0");
  io::checkNormalization(p.mean, p.stdv);
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
    j.net = io::withNormalization(raw, p.mean, p.stdv);
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
    const int starts = m.exactType()
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
