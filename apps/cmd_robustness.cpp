// nnopt robustness: "how robust is my model?" over a test set. Progress on
// stderr only when it is a terminal; the per-eps summary and the files
// written on stdout. MPI (mpirun -np N) and SIGINT/SIGTERM as verify-batch.
#include <unistd.h>

#include <cstdio>
#include <fmt/core.h>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "format.h"
#include "pool_run.h"

namespace nnopt::cli {
namespace {

// The comma-separated items of s, each given to parse (empty items too).
template <class F>
void forEachItem(const std::string& s, F parse) {
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = std::min(s.find(',', pos), s.size());
    parse(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
}

std::vector<double> parseEpsList(const std::string& s) {
  std::vector<double> out;
  forEachItem(s, [&](const std::string& tok) {
    size_t used = 0;
    try {
      out.push_back(std::stod(tok, &used));
    } catch (...) {
      used = 0;
    }
    if (tok.empty() || used != tok.size())
      throw Error("--eps: '" + tok + "' is not a number (give a comma-separated list, e.g. "
                  "--eps 0.01,0.03)");
  });
  return out;
}

// Indices and ranges a-b.
std::vector<long> parseIndexList(const std::string& s) {
  std::vector<long> out;
  forEachItem(s, [&](const std::string& tok) {
    auto num = [&](const std::string& t) {
      size_t used = 0;
      long v = -1;
      try {
        v = std::stol(t, &used);
      } catch (...) {
        used = 0;
      }
      if (t.empty() || used != t.size() || v < 0)
        throw Error("--indices: '" + tok + "' is not an image index >= 0 or a range a-b");
      return v;
    };
    const size_t dash = tok.find('-', 1);
    if (dash == std::string::npos) return out.push_back(num(tok));
    const long a = num(tok.substr(0, dash)), b = num(tok.substr(dash + 1));
    if (b < a) throw Error("--indices: empty range '" + tok + "'");
    for (long k = a; k <= b; ++k) out.push_back(k);
  });
  return out;
}

void printSummary(const robust::RunOutcome& out) {
  std::cout << fmt::format("nnopt robustness: {} images run now, {} already in results.jsonl{}\n",
                           out.images_run, out.images_skipped,
                           out.dropped_partial_bytes ? "; dropped a partial last line" : "");
  std::cout << "     eps  images  certified  attacked  unknown  miscl.  cert.acc  1-attacked  "
               "inferred  median s\n";
  for (const auto& e : out.summary)
    std::cout << fmt::format("{:>8}  {:>6}  {:>9}  {:>8}  {:>7}  {:>6}  {:>7.1f}%  {:>9.1f}%  {:>8}  {:>8}\n",
                             robust::epsKey(e.eps), e.images, e.certified, e.attacked, e.unknown,
                             e.misclassified, 100 * e.certified_accuracy, 100 * e.attacked_upper,
                             e.inferred + e.upgraded,
                             std::isfinite(e.median_time_s) ? fmt::format("{:.2f}", e.median_time_s)
                                                            : std::string("-"));
  if (out.radius) {
    const auto& r = *out.radius;
    auto num = [](double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "n/a"; };
    std::cout << fmt::format("  radius ({} correctly classified images): certified median {} / "
                             "mean {}; attacked median {} / mean {} ({} with a counterexample); "
                             "{} closed, {} probes\n",
                             r.images, num(r.median_lo), num(r.mean_lo), num(r.median_hi),
                             num(r.mean_hi), r.attacked, r.closed, r.probes);
  }
  for (const auto& f : out.files) std::cout << "  wrote " << f << "\n";
}

}  // namespace

CLI::App* addRobustnessCommand(CLI::App& app, RobustnessCli& o) {
  auto& p = o.params;
  auto* cmd = app.add_subcommand(
      "robustness",
      "certified and attacked robust accuracy over a dataset at several eps: results.jsonl, "
      "summary.json/csv, report.html");
  cmd->add_option("--model", p.model, "ONNX network")->required();
  cmd->add_option("--dataset", p.dataset, kDatasetHelp)
      ->required();
  auto* limit = cmd->add_option("--limit", p.limit, "the first N images (default: all)");
  cmd->add_option("--indices", o.indices,
                  "images by 0-based index: a comma-separated list, ranges a-b allowed")
      ->excludes(limit);
  cmd->add_option("--eps", o.eps, "comma-separated L-inf budgets in pixel space, e.g. 0.01,0.03,0.1")
      ->required();
  cmd->add_option("--norm", o.norm, "perturbation norm: linf (the only one)");
  addNormalizationOptions(cmd, p.mean, p.stdv);
  cmd->add_option("--time-limit", p.robust.time_limit,
                  "seconds per (image, eps) instance (default 60)");
  cmd->add_option("--method", o.method,
                  "exact route: auto (default: verify; mip per class on MaxPool nets), verify "
                  "(the verify command's prover on all open classes at once), or per class: "
                  "portfolio, mip, bab (decision mode); none (screens and CROWN only)");
  cmd->add_flag("--no-infer", o.no_infer,
                "solve every eps on its own (default: infer across eps, bisection order)");
  cmd->add_flag("--radius", p.robust.radius,
                "also bisect each image's L-inf radius between its largest certified and closest "
                "attacked eps: an interval [certified_lo, attacked_hi] per image");
  cmd->add_option("--radius-tol", p.robust.radius_tol,
                  "stop the radius bisection at this interval width (default 1e-3)");
  cmd->add_option("--radius-probes", p.robust.radius_probes,
                  "at most N bisection probes per image, each an (image, eps) instance "
                  "(default 12)");
  cmd->add_flag("--no-nlp", [&p](int64_t) { p.robust.nlp_screen = false; },
                "skip the local-solver screen");
  cmd->add_option("--pgd-restarts", p.robust.pgd_restarts, "PGD starts per instance (default 8)");
  cmd->add_option("--pgd-steps", p.robust.pgd_steps, "PGD steps per start (default 100)");
  cmd->add_option("--alpha-iters", p.robust.alpha_iters,
                  "alpha-CROWN iterations for classes CROWN leaves open (default 20, 0 = off)");
  cmd->add_option("--seed", p.robust.seed, "seed of the PGD starts");
  cmd->add_option("--gallery", p.gallery_max, "at most N adversarial panels in the report (default 24)");
  cmd->add_option("--out", p.out_dir, "output directory")->required();
  cmd->add_flag("--resume", p.resume, "continue OUT/results.jsonl: skip finished images");
  cmd->add_flag("--quiet,-q", o.quiet, "no summary on stdout");
  return cmd;
}

int runRobustnessCommand(const RobustnessCli& o) {
  robust::RunParams p = o.params;
  if (o.norm != "linf") throw Error("--norm must be linf (got '" + o.norm + "')");
  p.robust.method = robust::parseExactMethod(o.method);
  p.robust.eps = parseEpsList(o.eps);
  if (!o.indices.empty()) p.indices = parseIndexList(o.indices);
  p.robust.infer = !o.no_infer;
  const bool tty = isatty(fileno(stderr)) != 0;
  auto progress = [&](const robust::RunProgress& pr) {
    if (!tty) return;
    if (pr.index < 0) {
      std::cerr << fmt::format("nnopt robustness: {} images to run{}\n", pr.images_todo,
                               pr.images_skipped ? fmt::format(", {} already in results.jsonl",
                                                               pr.images_skipped)
                                                 : std::string());
      return;
    }
    std::cerr << fmt::format(
        "[{}/{}] image {} | (image, eps) rows: {} certified, {} attacked, {} unknown, {} "
        "misclassified ({} inferred) | elapsed {}, ETA {}\n",
        pr.images_done, pr.images_todo, pr.index, pr.certified, pr.attacked, pr.unknown,
        pr.misclassified, pr.inferred, duration(pr.elapsed_s), duration(pr.eta_s));
  };
  return runOnWorkPool(
      fmt::format("nnopt robustness: interrupted; finished images are in {}/results.jsonl, "
                  "rerun with --resume to continue\n",
                  p.out_dir),
      [&](const JobRunner& runner, bool writer) {
        const robust::RunOutcome out = robust::runRobustness(p, progress, runner);
        if (writer && !o.quiet) printSummary(out);
      });
}

}  // namespace nnopt::cli
