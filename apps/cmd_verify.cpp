// nnopt verify / verify-batch / score: VNN-COMP style verification of
// ONNX + VNN-LIB instances, a resumable batch runner and scoring against a
// reference table. Human summaries go to stdout, progress to stderr.
#include <fmt/core.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "bab/relu_bab.h"
#include "commands.h"
#include "format.h"
#include "core/append.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/jobs.h"
#include "dist/work_pool.h"
#include "core/log.h"
#include "io/onnx.h"
#include "io/vnnlib.h"
#include "report/json.h"
#include "verify/vnncomp.h"

namespace nnopt::cli {
namespace {

void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot open for writing");
  out << text;
  out.flush();
  if (!out) throw Error(path + ": write failed");
}

std::string stem(const std::string& path) {
  std::string b = verify::baseName(path);
  size_t dot = b.find_last_of('.');
  return dot == std::string::npos ? b : b.substr(0, dot);
}

std::string joinPath(const std::string& dir, const std::string& rel) {
  if (dir.empty() || (!rel.empty() && rel[0] == '/')) return rel;
  return dir.back() == '/' ? dir + rel : dir + "/" + rel;
}

verify::VerifyParams makeParams(const VerifyOptions& o, double timeout) {
  verify::VerifyParams p;
  p.timeout_s = timeout;
  p.threads = o.threads;
  p.seed = o.seed;
  p.prover = verify::parseProver(o.prover);
  p.nlp = !o.no_nlp;
  p.solver_log = o.solver_log;
  if (o.order == "depth")
    p.bab_order = bab::BabOrder::kDepthFirst;
  else if (o.order == "best")
    p.bab_order = bab::BabOrder::kBestFirst;
  else
    throw Error("--order must be depth or best (got '" + o.order + "')");
  if (o.relu_branching == "intercept")
    p.relu_branching = bab::BabBranching::kBabsr;
  else if (o.relu_branching == "gap")
    p.relu_branching = bab::BabBranching::kLpViolation;
  else
    throw Error("--relu-branching must be intercept or gap (got '" + o.relu_branching + "')");
  if (o.relu_bounds == "auto")
    p.relu_node_bounds = bab::NodeBounds::kAuto;
  else if (o.relu_bounds == "lp")
    p.relu_node_bounds = bab::NodeBounds::kLp;
  else if (o.relu_bounds == "crown")
    p.relu_node_bounds = bab::NodeBounds::kCrown;
  else
    throw Error("--relu-bounds must be auto, lp or crown (got '" + o.relu_bounds + "')");
  if (o.relu_beta < 0) throw Error("--relu-beta must be >= 0 (got " + std::to_string(o.relu_beta) + ")");
  p.relu_beta_iters = o.relu_beta;
  if (o.relu_beta_no_lp < 0)
    throw Error("--relu-beta-no-lp must be >= 0 (got " + std::to_string(o.relu_beta_no_lp) + ")");
  p.relu_beta_no_lp = o.relu_beta_no_lp;
  if (o.relu_fresh < 0) throw Error("--relu-fresh must be >= 0 (got " + std::to_string(o.relu_fresh) + ")");
  p.relu_fresh = o.relu_fresh;
  p.relu_batch = o.relu_batch;

  if (o.relu_tables == "crown" || o.relu_tables == "parent") {
    p.relu_node_crown = p.relu_crown_tables_no_lp = o.relu_tables == "crown";
    p.relu_tables_given = true;
  } else if (o.relu_tables != "auto") {
    throw Error("--relu-tables must be auto, crown or parent (got '" + o.relu_tables + "')");
  }
  if (o.root_alpha < 0) throw Error("--root-alpha must be >= 0 (got " + std::to_string(o.root_alpha) + ")");
  p.root_alpha_iters = o.root_alpha;
  if (o.lookahead < 0) throw Error("--lookahead must be >= 0");
  p.bab_lookahead = o.lookahead;
  p.bab_incremental = !o.no_incremental;
  if (o.combine_iters < 0) throw Error("--combine-iters must be >= 0");
  p.bab_combine_iters = o.combine_iters;
  p.bab_exact_unstable_max = o.exact_unstable;
  p.bab_exact_unstable_late = o.exact_unstable_late;
  if (o.pgd_restarts < 1 || o.pgd_steps < 0)
    throw Error("--pgd-restarts must be >= 1 and --pgd-steps >= 0");
  p.pgd_restarts = o.pgd_restarts;
  if (o.pgd_samples < 0) throw Error("--pgd-samples must be >= 0");
  p.pgd_samples = o.pgd_samples;
  p.pgd_steps = o.pgd_steps;
  if (o.falsify_rounds < 0 || !(o.falsify_duty > 0 && o.falsify_duty <= 1))
    throw Error("--falsify-rounds must be >= 0 and --falsify-duty in (0, 1]");
  p.falsify_rounds = o.falsify_rounds;
  p.falsify_duty = o.falsify_duty;
  p.falsify_beside = !o.no_falsify_beside;
  p.bab_interlude = !o.no_interlude;
  if (o.split == "smear")
    p.bab_split = bab::InputSplitRule::kSmear;
  else if (o.split == "crown")
    p.bab_split = bab::InputSplitRule::kCrownCoef;
  else
    throw Error("--split must be crown or smear (got '" + o.split + "')");
  return p;
}

void addVerifyOptions(CLI::App* cmd, VerifyOptions& o) {
  cmd->add_option("--threads", o.threads, "worker threads for the input B&B (default: all cores)");
  cmd->add_option("--prover", o.prover,
                  "auto (default: input B&B for <= 10 inputs, else CROWN + alpha-CROWN-tightened bounds + ReLU B&B), "
                  "input-bab, relu-bab, mip (CBC instead of the ReLU B&B), portfolio (both racing per "
                  "disjunct), none (falsify only)");
  cmd->add_option(
      "--split", o.split,
      "input B&B branching: crown (default: input coefficients of the CROWN bound) or smear");
  cmd->add_option("--order", o.order, "input B&B node order: best (default) or depth");
  cmd->add_option("--lookahead", o.lookahead,
                  "input B&B: try the top K smear dimensions and the top crown one, keep the best "
                  "split by the children's refined bounds (default 2, 0 = off)");
  cmd->add_option("--relu-bounds", o.relu_bounds,
                  "relu-bab node bounds: auto (default: CROWN and the node LP unless the root LP "
                  "is too slow; on fully-connected networks racing beta-CROWN nodes on the "
                  "parent's bounds without LPs - with one thread in turns, beta-CROWN first "
                  "for 3 % of the time left), lp or crown (beta-CROWN, LPs only "
                  "at leaves)");
  cmd->add_option("--relu-beta", o.relu_beta,
                  "relu-bab: beta-CROWN node bounds, this many optimisation steps per node "
                  "warm-started from the parent (default 0 = plain CROWN)");
  cmd->add_option("--relu-beta-no-lp", o.relu_beta_no_lp,
                  "relu-bab: beta-CROWN steps at nodes bounded without an LP (--relu-bounds crown, "
                  "or auto once the root LP was too slow; default 5, 0 = plain CROWN)");
  cmd->add_option("--relu-batch", o.relu_batch,
                  "relu-bab: open nodes bounded at once at nodes bounded by beta-CROWN without an "
                  "LP, their children in one batch of matrix products (default 0: " +
                      std::to_string(bab::kDefaultBatch) + "; 1 = one at a time)")
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--relu-fresh", o.relu_fresh,
                  "relu-bab: before a node branches, fresh CROWN bounds of its N best-scored "
                  "candidates on nodes bounded without an LP (one-signed ones are fixed instead of "
                  "split; default 0 = off)");
  cmd->add_option("--relu-tables", o.relu_tables,
                  "relu-bab: a child node's intermediate bounds by CROWN with its splits (crown: "
                  "a backward pass per layer) or the parent's bounds with the splits clipped "
                  "(parent: cheaper nodes); auto (default): parent where the node LP runs and on "
                  "the beta-CROWN side of --relu-bounds auto's race, else crown");
  cmd->add_option("--root-alpha", o.root_alpha,
                  "high-dimensional inputs: alpha-CROWN steps per neuron when tightening every "
                  "layer's intermediate bounds at the root, instead of the LP tightening (default "
                  "20, 0 = off: LP tightening as before)");
  cmd->add_option("--relu-branching", o.relu_branching,
                  "relu-bab branching score: intercept (default, BaBSR: CROWN coefficient x triangle intercept) or gap (CROWN coefficient x relaxation gap at the node LP point)");
  cmd->add_flag("--no-incremental", o.no_incremental,
                "input B&B: full CROWN bounds at every node (default: refined from the parent's)");
  cmd->add_option("--exact-unstable-late", o.exact_unstable_late,
                  "input B&B: after 10 s of search, nodes with at most N unstable ReLUs go to "
                  "the ReLU B&B too (default 48, -1 = off)");
  cmd->add_option("--exact-unstable", o.exact_unstable,
                  "input B&B: decide a node with at most N unstable ReLUs by the ReLU B&B (LP "
                  "bounds) instead of splitting it further (default " +
                      std::to_string(o.exact_unstable) + ", -1 = off)");
  cmd->add_option("--combine-iters", o.combine_iters,
                  "input B&B: weight steps for a combination of a conjunction's constraints when "
                  "none is refuted alone (default " + std::to_string(o.combine_iters) +
                      ", 0 = off)");
  cmd->add_flag("--no-nlp", o.no_nlp, "skip the complementarity-NLP falsifier");
  cmd->add_option("--seed", o.seed, "seed of the PGD starts");
  cmd->add_flag("--solver-log", o.solver_log, "show the solvers' own logs");
  cmd->add_option("--pgd-restarts", o.pgd_restarts, "PGD starts per input box (default 16)");
  cmd->add_option("--pgd-samples", o.pgd_samples,
                  "inputs <= 10: half of the PGD starts are the best of this many uniform samples "
                  "(default " + std::to_string(o.pgd_samples) + ", 0 = off)");
  cmd->add_option("--pgd-steps", o.pgd_steps, "PGD steps per start (default 100)");
  cmd->add_option("--falsify-rounds", o.falsify_rounds,
                  "falsifier rounds after the PGD, times (disjuncts + 1), each disjunct targeted "
                  "on its own (default " + std::to_string(o.falsify_rounds) + ", 0 = off)");
  cmd->add_option("--falsify-duty", o.falsify_duty,
                  "share of the wall time of the falsifier thread beside the exact search "
                  "(default 0.5)");
  cmd->add_flag("--no-interlude", o.no_interlude,
                "input B&B: no falsifier runs between nodes (default: after 0.3 s of search, "
                "then at doubling gaps, a quarter of the time)");
  cmd->add_flag("--no-falsify-beside", o.no_falsify_beside,
                "no falsifier thread beside the exact search");
}

nlohmann::json toJson(const verify::VerifyResult& r) {
  nlohmann::json j;
  j["result"] = verify::answerName(r.answer);
  j["decided_by"] = r.decided_by;
  j["falsify"] = {{"rounds", r.falsify_rounds},
                  {"pgd_starts", r.falsify_starts},
                  {"local_walks", r.falsify_local}};
  j["portfolio_wins"] = {{"relu_bab", r.portfolio_bab_wins}, {"mip", r.portfolio_mip_wins}};
  j["relu_race_wins"] = {{"lp", r.relu_race_lp_wins}, {"beta", r.relu_race_beta_wins}};
  j["reason"] = r.reason;
  j["time_s"] = r.time_s;
  j["stage_time_s"] = {
      {"pgd", r.pgd_s}, {"nlp", r.nlp_s}, {"prove", r.prove_s}, {"lp_tighten", r.lp_s}};
  j["root_alpha"] = {{"time_s", r.alpha_s},
                     {"unstable_before", r.alpha_unstable_before},
                     {"unstable_after", r.alpha_unstable_after}};
  j["lp_tighten"] = {
      {"lps", r.lp_lps}, {"stabilised", r.lp_stabilised}, {"gave_up", r.lp_gave_up}};
  j["nodes"] = r.nodes;
  j["relu_bab"] = {{"crown_nodes", r.bab_crown_nodes},
                   {"crown_pruned", r.bab_crown_pruned},
                   {"fresh_fixed", r.bab_fresh_fixed},
                   {"lp_dropped", r.bab_lp_dropped},
                   {"stopped_runs", r.bab_stopped_runs},
                   {"closed_fraction", r.bab_closed_fraction}};
  j["max_depth"] = r.max_depth;
  j["input_bab_exact"] = {
      {"runs", r.exact_runs}, {"nodes", r.exact_nodes}, {"time_s", r.exact_s}};
  j["input_bab_interlude_s"] = r.interlude_s;
  j["cases"] = r.cases;
  j["disjuncts"] = r.disjuncts;
  j["disjuncts_refuted"] = r.disjuncts_refuted;
  j["best_margin"] = report::num(r.best_margin);
  if (r.answer == verify::VerifyAnswer::kSat) {
    j["case"] = r.case_index;
    j["disjunct"] = r.disjunct_index;
    j["x"] = report::vec(r.x);
    j["y"] = report::vec(r.y);
  }
  return j;
}

std::string summaryLine(const std::string& what, const verify::VerifyResult& r) {
  std::string s = fmt::format("{}: {} in {:.2f} s", what, verify::answerName(r.answer), r.time_s);
  if (!r.decided_by.empty()) s += " by " + r.decided_by;
  if (r.nodes) s += fmt::format(", {} nodes", r.nodes);
  s += " (" + r.reason + ")";
  return s;
}

}  // namespace

// ---------------------------------------------------------------- verify
CLI::App* addVerifyCommand(CLI::App& app, VerifyCli& o) {
  auto* cmd = app.add_subcommand(
      "verify",
      "VNN-COMP instance: search a counterexample of an ONNX + VNN-LIB property or prove "
      "there is none; writes the result file (sat + counterexample, unsat, timeout, "
      "unknown, error)");
  cmd->add_option("--onnx", o.onnx, "ONNX network")->required();
  cmd->add_option("--vnnlib", o.vnnlib, "VNN-LIB property (the unsafe set)")->required();
  cmd->add_option("--timeout", o.timeout, "seconds (default 60)");
  cmd->add_option("--result", o.result, "write the VNN-COMP result file here");
  cmd->add_option("--json", o.json, "write the result and statistics as JSON");
  cmd->add_flag("--quiet,-q", o.quiet, "no summary line on stdout");
  addVerifyOptions(cmd, o.opt);
  return cmd;
}

int runVerifyCommand(const VerifyCli& o) {
  try {
    if (!(o.timeout > 0) || !std::isfinite(o.timeout))
      throw Error(
          fmt::format("--timeout must be a positive number of seconds (got {})", o.timeout));
    verify::VerifyParams p = makeParams(o.opt, o.timeout);
    Timer total;
    nn::Network net = io::loadOnnx(o.onnx);
    spec::Property prop = io::loadVnnlib(o.vnnlib, net.inputSize(), net.outputSize());
    p.timeout_s = std::max(0.05, o.timeout - total.seconds());
    verify::VerifyResult r = verify::verifyProperty(net, prop, p);
    r.time_s = total.seconds();
    if (!o.result.empty()) writeText(o.result, verify::formatResultFile(r.answer, r.x, r.y));
    if (!o.json.empty()) {
      nlohmann::json j = toJson(r);
      j["onnx"] = o.onnx;
      j["vnnlib"] = o.vnnlib;
      j["timeout_s"] = o.timeout;
      j["network"] = net.summary();
      report::writeJsonFile(o.json, j);
    }
    if (!o.quiet)
      std::cout << summaryLine(verify::baseName(o.onnx) + " " + verify::baseName(o.vnnlib), r)
                << "\n";
    return 0;
  } catch (const Error&) {
    if (!o.result.empty()) {
      try {
        writeText(o.result, verify::formatErrorResult());
      } catch (const Error&) {
      }
    }
    throw;
  }
}

// ---------------------------------------------------------------- verify-batch
CLI::App* addVerifyBatchCommand(CLI::App& app, VerifyBatchCli& o) {
  auto* cmd =
      app.add_subcommand("verify-batch",
                         "run a VNN-COMP instance list, appending network,property,result,time_s "
                         "rows to a results CSV");
  auto* inst = cmd->add_option("--instances", o.instances,
                               "instances.csv: rows onnx,vnnlib,timeout (paths relative to --dir)");
  auto* ref = cmd->add_option("--reference", o.reference,
                              "take the list from a reference.csv (network, property, timeout_s)");
  inst->excludes(ref);
  cmd->add_option("--dir", o.dir, "benchmark folder the paths are relative to")->required();
  cmd->add_option("--out", o.out, "results CSV (appended to)")->required();
  cmd->add_flag("--resume", o.resume, "skip instances already in --out");
  cmd->add_option("--timeout-scale", o.timeout_scale, "multiply every timeout (default 1)");
  cmd->add_option("--limit", o.limit, "run at most N instances (after skipping)");
  cmd->add_option("--ce-dir", o.ce_dir,
                  "write each sat counterexample to DIR/<net stem>_<prop stem>.counterexample");
  addVerifyOptions(cmd, o.opt);
  return cmd;
}

namespace {

// One instance of a batch, run anywhere (an MPI worker included): the result
// as "result\ttime_s\tdetail" for recordBatchResult. Writes the
// counterexample file itself (one file per instance, no two ranks share one).
std::string runBatchInstance(const VerifyBatchCli& o, const verify::Instance& inst, int threads,
                             std::map<std::string, std::shared_ptr<nn::Network>>& nets) {
  const double timeout = inst.timeout_s * o.timeout_scale;
  std::string result = "error", detail;
  Timer t;
  try {
    const std::string onnx = joinPath(o.dir, inst.onnx);
    auto& net = nets[onnx];
    if (!net) net = std::make_shared<nn::Network>(io::loadOnnx(onnx));
    spec::Property prop =
        io::loadVnnlib(joinPath(o.dir, inst.vnnlib), net->inputSize(), net->outputSize());
    verify::VerifyParams p = makeParams(o.opt, std::max(0.05, timeout - t.seconds()));
    if (o.opt.threads == 0) p.threads = threads;
    verify::VerifyResult r = verify::verifyProperty(*net, prop, p);
    result = verify::answerName(r.answer);
    detail = r.decided_by.empty() ? r.reason : "by " + r.decided_by;
    if (r.answer == verify::VerifyAnswer::kSat && !o.ce_dir.empty())
      writeText(joinPath(o.ce_dir, stem(inst.onnx) + "_" + stem(inst.vnnlib) + ".counterexample"),
                verify::formatResultFile(r.answer, r.x, r.y));
  } catch (const std::exception& e) {
    result = "error";
    detail = e.what();
  }
  for (char& c : detail)
    if (c == '\n' || c == '\t') c = ' ';
  return fmt::format("{}\t{:.6f}\t{}", result, t.seconds(), detail);
}

}  // namespace

int runVerifyBatchCommand(const VerifyBatchCli& o) {
  if (o.instances.empty() == o.reference.empty())
    throw Error("verify-batch needs --instances FILE or --reference FILE");
  if (!(o.timeout_scale > 0) || !std::isfinite(o.timeout_scale))
    throw Error(fmt::format("--timeout-scale must be > 0 (got {})", o.timeout_scale));
  // Before any thread is started (MPI_Init starts some): see core/interrupt.h.
  // The message is set below, once this process knows whether it writes.
  installInterruptHandlers("");
  dist::WorkPool pool;  // MPI when started by mpirun, else this process alone
  try {
    const JobRunner runner = pool.runner();
    std::vector<verify::Instance> list = o.instances.empty()
                                             ? verify::instancesFromReference(o.reference)
                                             : verify::readInstancesCsv(o.instances);
    installInterruptHandlers(
        runner.writer ? fmt::format("nnopt verify-batch: interrupted; finished instances are in "
                                    "{}, rerun with --resume to continue\n",
                                    o.out)
                            .c_str()
                      : "");
    std::vector<long> todo;
    size_t skipped = 0;
    // One writer per results file at a time: a second run (e.g. a resume
    // started while an earlier run still goes on) would append the same rows
    // again. flock on the file itself, released when the process ends.
    std::optional<FileLock> lock;
    if (runner.writer) {
      lock.emplace(o.out, o.out + ": another nnopt verify-batch is writing to this file");
      // A last line cut by a hard kill is never a result: drop it before appending.
      if (const long cut = dropPartialLastLine(o.out))
        std::cerr << fmt::format("nnopt verify-batch: dropped a partial last line ({} bytes) of {}\n",
                                 cut, o.out);
      std::set<std::pair<std::string, std::string>> done;
      if (o.resume)
        for (const auto& r : verify::readResultsCsv(o.out)) done.insert({r.network, r.property});
      for (size_t i = 0; i < list.size(); ++i) {
        const auto key = std::make_pair(verify::baseName(list[i].onnx), verify::baseName(list[i].vnnlib));
        if (done.insert(key).second)  // also runs a listed instance only once
          todo.push_back(static_cast<long>(i));
        else
          ++skipped;
      }
      if (o.limit > 0 && static_cast<long>(todo.size()) > o.limit) todo.resize(o.limit);
    }
    double budget = 0.0;
    for (long i : todo) budget += list[i].timeout_s * o.timeout_scale;
    if (runner.writer)
      std::cerr << fmt::format(
          "nnopt verify-batch: {} instances to run ({} already in {}), at most {}{}\n", todo.size(),
          skipped, o.out, duration(budget),
          pool.mpi() ? fmt::format(" of solver time over {} MPI ranks", pool.size()) : "");
    std::map<std::string, std::shared_ptr<nn::Network>> nets;  // per process; one worker thread uses it
    Timer total;
    double budget_done = 0.0;
    size_t finished = 0;
    std::map<std::string, int> counts;
    auto work = [&](long i) {
      return runBatchInstance(o, list[static_cast<size_t>(i)], runner.default_threads, nets);
    };
    auto record = [&](long i, const std::string& payload) {
      const auto& inst = list[static_cast<size_t>(i)];
      const size_t t1 = payload.find('\t'), t2 = payload.find('\t', t1 + 1);
      verify::ResultRow row{verify::baseName(inst.onnx), verify::baseName(inst.vnnlib),
                            payload.substr(0, t1), std::stod(payload.substr(t1 + 1, t2 - t1 - 1))};
      const std::string detail = payload.substr(t2 + 1);
      verify::appendResultRow(o.out, row);
      ++counts[row.result];
      ++finished;
      budget_done += inst.timeout_s * o.timeout_scale;
      const double rate = budget_done > 0 ? total.seconds() / budget_done : 1.0;
      const double eta = (budget - budget_done) * rate;
      std::cerr << fmt::format("[{}/{}] {} {}: {} ({:.2f} s, {}) | elapsed {}, ETA {}\n", finished,
                               todo.size(), row.network, row.property, row.result, row.time_s,
                               detail, duration(total.seconds()), duration(eta));
    };
    runJobs(runner, todo, work, record);
    if (!runner.writer) return 0;
    std::cout << fmt::format("verify-batch: {} instances in {}:", todo.size(),
                             duration(total.seconds()));
    for (const auto& [k, v] : counts) std::cout << fmt::format(" {} {}", v, k);
    std::cout << "; results in " << o.out << "\n";
  } catch (const std::exception& e) {
    if (!pool.mpi()) throw;
    std::cerr << fmt::format("nnopt: error (rank {}): {}\n", pool.rank(), e.what());
    pool.abort(2);
  }
  return 0;
}

// ---------------------------------------------------------------- score
CLI::App* addScoreCommand(CLI::App& app, ScoreCli& o) {
  auto* cmd = app.add_subcommand("score", "compare a results CSV with a VNN-COMP reference.csv");
  cmd->add_option("--results", o.results, "results CSV from verify-batch")->required();
  cmd->add_option("--reference", o.reference, "reference.csv (network, property, verdict, ...)")
      ->required();
  return cmd;
}

int runScoreCommand(const ScoreCli& o) {
  auto ref = verify::readReferenceCsv(o.reference);
  std::ifstream probe(o.results);
  if (!probe) throw Error(o.results + ": cannot open");
  auto res = verify::readResultsCsv(o.results);
  auto s = verify::scoreResults(res, ref);
  std::cout << fmt::format("{} vs {}\n", o.results, o.reference);
  std::cout << fmt::format("  correct sat    {:4d}\n", s.correct_sat);
  std::cout << fmt::format("  correct unsat  {:4d}\n", s.correct_unsat);
  std::cout << fmt::format("  wrong          {:4d}\n", s.wrong);
  for (const auto& w : s.wrong_list) std::cout << "    WRONG " << w << "\n";
  std::cout << fmt::format("  unsolved       {:4d}{}\n", s.unsolved,
                           s.missing ? fmt::format(" ({} not run)", s.missing) : std::string());
  if (s.unchecked)
    std::cout << fmt::format("  unchecked      {:4d} (reference has no verdict)\n", s.unchecked);
  std::cout << fmt::format("  total          {:4d}\n", s.total);
  std::cout << fmt::format(
      "  time: total {:.1f} s, median {:.2f} s (all run), median {:.2f} s (solved)\n",
      s.total_time_s, s.median_time_s, s.median_solved_time_s);
  return 0;
}

}  // namespace nnopt::cli
