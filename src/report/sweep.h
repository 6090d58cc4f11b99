#pragma once
// The sweep study (the seed blog's "summary table" and Figure 2): every
// (network, method) pair attacked on one image, one JSON line per finished run
// appended to OUT/results.jsonl (resumable), then OUT/table.md, table.csv,
// summary.json and the paired solve-time plot OUT/times.svg / times.png.
//
// The table/summary/plot code works on plain SweepRecords, so it can be fed
// synthetic records; runSweep() wires in the ONNX loader and the attack engine
// (sweep_run.cpp), runSweepWith() takes them as hooks.
#include <Eigen/Dense>
#include <atomic>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/jobs.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::report {

// ------------------------------------------------------------ method specs
enum class SweepMethodKind { kMip, kNlp, kMpec, kAuto, kPortfolio, kExact };

// "mip", "nlp" (= nlp:pwl), "nlp:<form>", "mpec" (= mpec:fb),
// "mpec:<form>", "auto", "portfolio" (CBC and the ReLU BaB racing),
// "exact" (per network: the portfolio or CBC, attack::chooseExactMethod);
// forms: pwl (nlp only), scholtes, product, inequality (alias product-ineq),
// fb, cm, penalty.
struct MethodSpec {
  SweepMethodKind kind = SweepMethodKind::kMip;
  std::string form;   // NLP/MPEC form, canonical name; empty for mip/auto
  std::string name;   // canonical: "mip", "nlp:scholtes", "mpec:fb", "auto", "exact"
  bool nlpType() const { return kind == SweepMethodKind::kNlp || kind == SweepMethodKind::kMpec; }
  // One exact solve (mip, portfolio, exact): one start, a proven bound.
  bool exactType() const {
    return kind == SweepMethodKind::kMip || kind == SweepMethodKind::kPortfolio ||
           kind == SweepMethodKind::kExact;
  }
};
// Throws Error naming the accepted specs.
MethodSpec parseMethodSpec(const std::string& s);

// ------------------------------------------------------------ architecture
struct Architecture {
  int hidden_layers = 0;    // Dense layers - 1
  int neurons = 0;          // width of the first hidden Dense layer (0: none)
  std::vector<int> widths;  // output width of every hidden Dense layer
  long total_neurons = 0;
};
// From the network itself: its Dense layers and their widths.
Architecture architectureOf(const nn::Network& net);
// From a file name like "mlp_3x40.onnx" (last "<L>x<N>" group); nullopt when absent.
std::optional<Architecture> architectureFromName(const std::string& file);
// "3x40" (uniform widths), "3x[40,20,10]" otherwise.
std::string archLabel(int hidden_layers, int neurons, const std::vector<int>& widths = {});

// ------------------------------------------------------------ records
// One finished run = one line of results.jsonl.
struct SweepRecord {
  std::string network;       // file name (the resume key with method)
  std::string network_path;  // as given on the command line
  int hidden_layers = 0;
  int neurons = 0;
  std::vector<int> widths;
  std::string method;        // canonical method spec
  std::string method_result; // the engine's label, e.g. "auto(mip)"
  std::string verdict;       // attack_found | robust | no_attack_found | timeout | error
  double margin = std::numeric_limits<double>::quiet_NaN();
  double bound = -std::numeric_limits<double>::infinity();
  double solver_objective = std::numeric_limits<double>::quiet_NaN();
  std::string status;
  double time_s = 0.0;
  bool timed_out = false;    // hit the time limit (MIP: not proven optimal)
  bool proven = false;       // exact method finished optimal (margin is the global optimum)
  int variables = 0, binaries = 0, constraints = 0;
  int true_label = -1, target_label = -1;
  int starts = 1, starts_run = 1, first_attack_start = -1;
  double starts_per_s = std::numeric_limits<double>::quiet_NaN();
  std::string decided_by;    // auto: the deciding stage; exact: the method chosen (mip, portfolio)
  double linf_distance = std::numeric_limits<double>::quiet_NaN();
  double eps = 0.0;
  double time_limit = 0.0;
  std::string dataset;
  long index = -1;
  std::string target_mode;
  std::string timestamp;     // ISO 8601 UTC
  std::string error;         // verdict "error": the message
};

nlohmann::json toJson(const SweepRecord& r);
// Throws Error on missing/mistyped required fields (network, method, verdict).
SweepRecord recordFromJson(const nlohmann::json& j);

// results.jsonl: one JSON object per line. A trailing line without '\n' (a
// sweep killed mid-write) is ignored; a complete line that is not valid JSON
// is an Error naming the line. Missing file: empty.
struct LoadedResults {
  std::vector<SweepRecord> records;
  long valid_bytes = 0;       // length of the prefix made of complete lines
  bool partial_tail = false;  // a trailing partial line was found
};
LoadedResults loadResults(const std::string& path);
// Appends toJson(r) + '\n' with one write(2), then fsync.
void appendResult(const std::string& path, const SweepRecord& r);
// Cuts the file back to `bytes` (drops a partial tail before appending).
void truncateResults(const std::string& path, long bytes);

// The last record of every (network, method) pair, error records excluded
// (they are retried on --resume).
std::map<std::pair<std::string, std::string>, SweepRecord> donePairs(
    const std::vector<SweepRecord>& records);

// ------------------------------------------------------------ table & summary
struct MethodStats {
  std::string method;
  int runs = 0, timeouts = 0, attacks = 0, errors = 0;
  double median_time_s = std::numeric_limits<double>::quiet_NaN();
  double mean_time_s = std::numeric_limits<double>::quiet_NaN();
  double max_time_s = std::numeric_limits<double>::quiet_NaN();
};

// One method compared with the reference exact column (SweepTable::mip) over
// the networks that have both runs.
struct Comparison {
  std::string method;
  int networks = 0;             // networks with both runs (no error)
  int comparable = 0;           // both margins finite
  int sign_agree = 0;           // same sign (attack: margin < 0)
  int sign_agree_mip_unproven = 0;
  int sign_disagree = 0;
  int sign_disagree_mip_unproven = 0;
  int exact_agree = 0;          // |margin difference| <= tol
  int false_robust = 0;         // method margin >= 0 (or none) while MIP margin < 0
  int stronger_than_mip = 0;    // method margin < MIP margin - tol (MIP not optimal)
  int slower_than_mip = 0;
  std::vector<std::string> false_robust_networks;
  std::vector<std::string> disagree_networks;
};

struct SweepTable {
  std::vector<std::string> methods;   // column order
  // The reference exact column: "mip" when present, else "exact", else
  // "portfolio", else empty.
  std::string mip;
  std::string nlp;                    // the first nlp-type method, else empty
  // Networks ordered by size; rows[i].by_method[method].
  struct Row {
    std::string network;
    int hidden_layers = 0, neurons = 0;
    std::vector<int> widths;
    std::map<std::string, SweepRecord> by_method;
    bool false_robust = false;        // NLP vs MIP
  };
  std::vector<Row> rows;
  std::vector<MethodStats> stats;     // by methods order
  std::vector<Comparison> vs_mip;     // every non-mip method, when mip is present
  int mip_unproven = 0;               // MIP runs not proven optimal
  int mip_no_incumbent = 0;           // MIP runs without any point
  double exact_tol = 1e-5;
};

// method_order: preferred column order (e.g. --methods); methods only found in
// records are appended in first-seen order. Error records count as missing.
SweepTable buildTable(const std::vector<SweepRecord>& records,
                      const std::vector<std::string>& method_order, double exact_tol = 1e-5);
std::string tableMarkdown(const SweepTable& t);  // table + summary block
std::string tableCsv(const SweepTable& t);
nlohmann::json summaryJson(const SweepTable& t);
std::vector<std::string> summaryLines(const SweepTable& t);  // the summary block as text lines

// Writes table.md, table.csv, summary.json, times.svg, times.png into dir.
// Returns the paths written.
std::vector<std::string> writeSweepOutputs(const SweepTable& t, const std::string& dir,
                                           double time_limit = 0.0);

// ------------------------------------------------------------ the sweep
struct SweepParams {
  std::vector<std::string> models;   // .onnx files or directories (their *.onnx)
  std::string dataset;
  long index = 0;
  double eps = -1;
  std::vector<std::string> methods;  // specs, see parseMethodSpec
  int starts = 0;                    // 0: 1 for nlp/mpec, 16 for auto
  bool early_stop = false;
  int threads = 0;                   // multi-start workers (0: all cores)
  double time_limit = 600;
  std::string out_dir;
  bool resume = false;
  std::vector<double> mean, stdv;  // --mean/--std: empty, 1 value or one per channel
  std::optional<int> label;
  std::string target = "runner-up";  // or a class index
  // Method "exact": the portfolio from this many ReLUs unstable under CROWN
  // over the box, else CBC (unset: attack::ExactPolicy's default).
  std::optional<int> portfolio_min_unstable;
  // Optional (Ctrl-C in Python): once true the run in flight stops as on its
  // time limit and is not recorded, no further run starts, and runSweep
  // returns without writing the tables; results.jsonl keeps only whole
  // records of finished runs, so --resume goes on from there.
  const std::atomic<bool>* cancel = nullptr;
};

struct SweepHooks {
  std::function<nn::Network(const std::string& path)> load_network;
  // Runs the margin attack of one method on one (already normalised) network;
  // fills the result fields of the record (method_result, verdict, margin,
  // bound, solver_objective, status, time_s, timed_out, proven, sizes,
  // multi-start fields, linf_distance). The sweep fills the rest.
  std::function<SweepRecord(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                            int true_label, int target_label, const MethodSpec& m,
                            int starts, const SweepParams& p)>
      run;
  // How the runs are spread (core/jobs.h): serial by default. A process that
  // is not the writer takes no lock, reads and writes no file in --out and
  // returns an empty outcome.
  JobRunner runner;
};

struct SweepProgress {
  int done = 0;         // runs finished in this invocation
  int to_run = 0;       // runs this invocation has to do
  int skipped = 0;      // pairs already in results.jsonl (--resume)
  double elapsed_s = 0; // since the first run started
  double eta_s = 0;     // estimate for the remaining runs
  const SweepRecord* record = nullptr;  // the run just finished (null: start notice)
};
using SweepProgressFn = std::function<void(const SweepProgress&)>;

struct SweepOutcome {
  SweepTable table;
  int ran = 0, skipped = 0;
  bool dropped_partial_line = false;
  std::vector<std::string> files;    // outputs written
};

// Expands directories to their *.onnx files (sorted); Error when none.
std::vector<std::string> expandModelPaths(const std::vector<std::string>& models);

// The sweep with the ONNX loader and the attack engine.
SweepOutcome runSweep(const SweepParams& p, const SweepProgressFn& progress = {},
                      const JobRunner& runner = {});
// The sweep with injected loader/runner (tests).
SweepOutcome runSweepWith(const SweepParams& p, const SweepHooks& hooks,
                          const SweepProgressFn& progress = {});

}  // namespace nnopt::report
