#pragma once
// Subcommands that live in their own files. Each has an options struct filled
// by CLI11, an add*Command() that registers the subcommand on the app, and a
// run*Command() that executes it (throws nnopt::Error on bad input; main
// prints the message and exits with code 2).
#include <CLI/CLI.hpp>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "report/sweep.h"
#include "robust/robustness.h"
#include "verify/verify.h"

namespace nnopt::cli {

// --dataset's help text (every command reads the same formats, io/images.h).
inline constexpr const char* kDatasetHelp =
    "MNIST IDX images file (gz or not), CIFAR-10 binary batch (*.bin) or CSV label,p0..pN "
    "(0-255; N+1 = s*s gray or 3*s*s colour pixels, channel-major)";

// --mean/--std: one value for all inputs or C comma-separated values, one per
// channel of a C x H x W input (io/normalization.h checks and expands them).
inline void addNormalizationOptions(CLI::App* cmd, std::vector<double>& mean,
                                    std::vector<double>& stdv) {
  cmd->add_option("--mean", mean,
                  "input normalisation (x - mean) / std, applied outside the graph: one value, "
                  "or one per channel (e.g. 0.4914,0.4822,0.4465)")
      ->delimiter(',');
  cmd->add_option("--std", stdv, "input normalisation std: one value or one per channel")
      ->delimiter(',');
}

// nnopt sweep: every (network, method) pair on one image -> OUT/results.jsonl,
// table.md, table.csv, summary.json, times.svg, times.png.
struct SweepCli {
  report::SweepParams params;
  std::vector<std::string> methods;  // comma-separated on the command line
  bool quiet = false;
};
CLI::App* addSweepCommand(CLI::App& app, SweepCli& o);
int runSweepCommand(const SweepCli& o);

// Options shared by verify and verify-batch (see verify/verify.h).
struct VerifyOptions {
  int threads = 0;
  std::string prover = "auto";
  std::string split = "crown";
  std::string order = "best";
  int lookahead = 2;
  bool no_incremental = false;
  int combine_iters = 8;
  int exact_unstable = 40;
  int exact_unstable_late = 48;
  int pgd_samples = 512;
  std::string relu_branching = "intercept";
  std::string relu_bounds = "auto";
  int relu_beta = 0;
  int relu_beta_no_lp = 5;
  int relu_fresh = 0;
  int relu_batch = 0;
  std::string relu_tables = "auto";
  int root_alpha = 20;
  bool no_nlp = false;
  bool solver_log = false;
  int pgd_restarts = 16;
  int pgd_steps = 100;
  uint64_t seed = 0;
  int falsify_rounds = verify::VerifyParams{}.falsify_rounds;
  double falsify_duty = verify::VerifyParams{}.falsify_duty;
  bool no_falsify_beside = false;
  bool no_interlude = false;
};

// nnopt verify: one ONNX + VNN-LIB instance -> VNN-COMP result file.
struct VerifyCli {
  std::string onnx, vnnlib, result, json;
  double timeout = 60.0;
  bool quiet = false;
  VerifyOptions opt;
};
CLI::App* addVerifyCommand(CLI::App& app, VerifyCli& o);
int runVerifyCommand(const VerifyCli& o);

// nnopt verify-batch: an instance list -> results CSV (resumable).
struct VerifyBatchCli {
  std::string instances, reference, dir, out, ce_dir;
  bool resume = false;
  double timeout_scale = 1.0;
  long limit = 0;
  VerifyOptions opt;
};
CLI::App* addVerifyBatchCommand(CLI::App& app, VerifyBatchCli& o);
int runVerifyBatchCommand(const VerifyBatchCli& o);

// nnopt score: results CSV vs reference.csv.
struct ScoreCli {
  std::string results, reference;
};
CLI::App* addScoreCommand(CLI::App& app, ScoreCli& o);
int runScoreCommand(const ScoreCli& o);

// nnopt bounds: per ReLU layer and bounds method (interval, crown, lp), the
// stable-active / stable-inactive / unstable ReLU counts and the mean
// pre-activation bound width over one input box (each box of a VNN-LIB file).
struct BoundsCli {
  std::string model;
  std::string vnnlib;
  std::string dataset;
  long index = -1;
  std::string image;
  std::optional<double> eps;
  std::vector<double> mean, stdv;  // empty: none; 1 value or one per channel
  std::vector<std::string> methods{"interval", "crown", "lp"};
  double lp_time_limit = 60;  // seconds per box
  std::string json_out;
};
CLI::App* addBoundsCommand(CLI::App& app, BoundsCli& o);
int runBoundsCommand(const BoundsCli& o);

// nnopt robustness: certified / attacked robust accuracy of a network over a
// dataset at several eps -> OUT/results.jsonl, summary.json, summary.csv,
// panels/, report.html (resumable, MPI like verify-batch).
struct RobustnessCli {
  robust::RunParams params;
  std::string eps, indices;  // comma-separated lists
  std::string method = "auto";
  std::string norm = "linf";
  bool no_infer = false;
  bool quiet = false;
};
CLI::App* addRobustnessCommand(CLI::App& app, RobustnessCli& o);
int runRobustnessCommand(const RobustnessCli& o);

}  // namespace nnopt::cli
