// nnopt sweep: the seed blog's study (MIP vs NLP over a family of networks).
// Progress lines go to stderr only when it is a terminal; the summary block
// and the list of files written go to stdout.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fmt/core.h>
#include <iostream>
#include <string>

#include "attack/exact_policy.h"
#include "commands.h"
#include "format.h"
#include "pool_run.h"
#include "core/error.h"

namespace nnopt::cli {
namespace {

void printSweepSummary(const SweepCli& o, const report::SweepOutcome& out) {
  if (!o.quiet) {
    std::cout << fmt::format("nnopt sweep: {} runs done now, {} skipped (already in results.jsonl){}\n",
                             out.ran, out.skipped,
                             out.dropped_partial_line ? "; dropped a partial last line" : "");
    for (const auto& l : report::summaryLines(out.table)) std::cout << "  " << l << "\n";
    for (const auto& f : out.files) std::cout << "  wrote " << f << "\n";
  }
}

}  // namespace

CLI::App* addSweepCommand(CLI::App& app, SweepCli& o) {
  auto& p = o.params;
  auto* cmd = app.add_subcommand(
      "sweep", "study: attack one image with every method on every network; table, summary, plot");
  cmd->add_option("--models", p.models, "directory of .onnx networks and/or .onnx files")
      ->required();
  cmd->add_option("--dataset", p.dataset, kDatasetHelp)
      ->required();
  cmd->add_option("--index", p.index, "0-based item of --dataset (default 0)");
  cmd->add_option("--eps", p.eps, "L-inf budget in pixel space")->required();
  cmd->add_option("--methods", o.methods,
                  "comma-separated: mip (CBC), portfolio (CBC and the ReLU BaB racing on two "
                  "threads), exact (per network: the portfolio from --portfolio-min-unstable "
                  "ReLUs unstable under CROWN, else CBC), nlp (= nlp:pwl), nlp:<form>, "
                  "mpec:<form>, auto (forms: pwl, scholtes, product, inequality, fb, cm, "
                  "penalty); the first of mip, exact, portfolio is the reference the others are "
                  "compared with")
      ->delimiter(',')
      ->required();
  cmd->add_option("--starts", p.starts,
                  "starts for nlp/mpec/auto (the clean image, then Sobol points; default 1, auto 16)");
  cmd->add_flag("--early-stop", p.early_stop, "multi-start: stop at the first replayed attack");
  cmd->add_option("--threads", p.threads, "multi-start workers (default: all cores)");
  cmd->add_option("--time-limit", p.time_limit, "seconds per run (default 600)");
  cmd->add_option("--portfolio-min-unstable", p.portfolio_min_unstable,
                  "method exact: the portfolio from N ReLUs unstable under CROWN over the box, "
                  "else CBC alone (default " +
                      std::to_string(attack::ExactPolicy{}.portfolio_min_unstable) + ")");
  cmd->add_option("--out", p.out_dir, "output directory")->required();
  cmd->add_flag("--resume", p.resume, "continue OUT/results.jsonl: skip finished (network, method) pairs");
  addNormalizationOptions(cmd, p.mean, p.stdv);
  cmd->add_option("--label", p.label, "true label (default: the dataset's, or the clean prediction)");
  cmd->add_option("--target", p.target, "runner-up (default, per network) or a class index");
  cmd->add_flag("--quiet,-q", o.quiet, "no summary on stdout");
  return cmd;
}

int runSweepCommand(const SweepCli& o) {
  report::SweepParams p = o.params;
  p.methods = o.methods;
  const bool tty = isatty(fileno(stderr)) != 0;
  auto progress = [&](const report::SweepProgress& pr) {
    if (!tty) return;
    if (!pr.record) {
      std::cerr << fmt::format("nnopt sweep: {} runs to do{}\n", pr.to_run,
                               pr.skipped ? fmt::format(", {} already in results.jsonl", pr.skipped)
                                          : std::string());
      return;
    }
    const auto& r = *pr.record;
    std::string what = r.verdict == "error"
                           ? "error: " + r.error
                           : fmt::format("{} margin {}", r.verdict,
                                         std::isfinite(r.margin) ? fmt::format("{:.5f}", r.margin)
                                                                 : std::string("n/a"));
    std::cerr << fmt::format("[{}/{}] {} {}: {} ({:.3f} s) | elapsed {}, ETA {}\n", pr.done,
                             pr.to_run, report::archLabel(r.hidden_layers, r.neurons, r.widths),
                             r.method, what, r.time_s, duration(pr.elapsed_s), duration(pr.eta_s));
  };
  return runOnWorkPool(
      fmt::format("nnopt sweep: interrupted; finished runs are in {}/results.jsonl, rerun with "
                  "--resume to continue\n",
                  p.out_dir),
      [&](const JobRunner& runner, bool writer) {
        report::SweepOutcome out = report::runSweep(p, progress, runner);
        if (writer) printSweepSummary(o, out);
      });
}


}  // namespace nnopt::cli
