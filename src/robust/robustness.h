#pragma once
// "How robust is my model?": certified and attacked robust accuracy of a
// network over a test set at several L-inf budgets (nnopt robustness).
//
// Per image: the clean prediction (a misclassified image is not attacked);
// per eps, cheapest first: PGD on every wrong class at once, CROWN and
// alpha-CROWN lower bounds per wrong class, a local NLP on the most promising
// class, then one exact solve (attack::marginAttack: bab / mip / portfolio)
// per wrong class whose bound is not yet proven, hardest class first.
// Untargeted: `certified` needs a proven lower bound > robust_tol on
// logit[label] - logit[j] for EVERY j != label; `attacked` needs one point of
// the box, replayed by Network::forward in double, with some logit[j] >
// logit[label].
//
// Monotonicity across eps (the boxes are nested: linfBall(x0, e) ∩ [0,1]):
// a replayed attack point is re-checked in every larger box it lies in; a
// class proven at eps is proven at every smaller eps. The eps are solved in
// bisection order (the middle undecided one first), so one decision settles
// half of the rest; rows decided this way are `inferred` (no solve), rows
// solved to `unknown` and then decided by another eps are `upgraded`.
#include <Eigen/Dense>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/jobs.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::robust {

// The exact route per wrong class (attack::marginAttack).
enum class ExactMethod {
  kAuto,       // verify (below); mip per class for MaxPool networks
  // verify::verifyProperty on "some pending class beats the label" (one
  // disjunct per class): one LP bound tightening for all classes, then ReLU
  // BaB per disjunct; decides the whole eps (no per-class proofs carried).
  kVerify,
  kPortfolio,  // CBC and the BaB racing (minimum margin)
  kMip,        // CBC on CROWN big-M bounds
  kBab,        // ReLU branch and bound per class, decision mode
  kNone,       // screens and CROWN only (tests, quick looks)
};
const char* exactMethodName(ExactMethod m);
// auto, verify, portfolio, mip, bab, none; throws Error listing them.
ExactMethod parseExactMethod(const std::string& s);

struct RobustParams {
  std::vector<double> eps;     // the budgets (sorted ascending and de-duplicated by the run)
  double time_limit = 60.0;    // seconds per (image, eps) instance
  ExactMethod method = ExactMethod::kAuto;
  int pgd_restarts = 8;
  int pgd_steps = 100;
  double pgd_time_frac = 0.05;  // of time_limit, at most 2 s
  bool nlp_screen = true;       // local NLP on the class with the smallest PGD margin
  double nlp_time_frac = 0.1;   // of time_limit, at most 5 s
  int alpha_iters = 20;         // alpha-CROWN iterations for classes plain CROWN misses
  double robust_tol = 1e-6;     // a class is proven when its lower bound exceeds this
  uint64_t seed = 0;            // PGD
  bool infer = true;            // monotonicity inference (false: every eps solved)
  // --radius: per correctly classified image, bisect between the largest
  // certified and the smallest attacked eps of the grid (see RadiusResult)
  // until the interval is at most radius_tol wide, radius_probes probes ran,
  // or a probe ends unknown. Each probe is one more (image, eps) instance.
  bool radius = false;
  double radius_tol = 1e-3;     // absolute, pixel scale
  int radius_probes = 12;
  // Optional (Ctrl-C in Python): once true the instance in flight stops as on
  // its time limit and evaluateImage returns with ImageResult::cancelled set;
  // the run writes nothing of that image and starts no further one.
  const std::atomic<bool>* cancel = nullptr;
};

// One (image, eps) result.
struct EpsRow {
  double eps = 0.0;
  std::string verdict;     // attacked | certified | unknown | misclassified
  // pgd, nlp, crown, alpha-crown, exact:<method> (the stage that decided),
  // inferred, clean (misclassified), or empty (unknown)
  std::string decided_by;
  bool solved = false;     // a solve ran at this eps
  bool inferred = false;   // the verdict comes from another eps (see from_eps)
  bool upgraded = false;   // solved to unknown, then decided by another eps
  double from_eps = std::numeric_limits<double>::quiet_NaN();
  double time_s = 0.0;     // solve time at this eps (0 when not solved)
  // Smallest untargeted margin logit[label] - max_{j != label} logit[j]
  // replayed at a point of this box (< 0: attacked), and a proven lower bound
  // of it over the box (min over classes; > robust_tol for every class:
  // certified).
  double margin_upper = std::numeric_limits<double>::quiet_NaN();
  double margin_lower = -std::numeric_limits<double>::infinity();
  int adv_class = -1;      // attacked: the class that wins at the point
  double linf = std::numeric_limits<double>::quiet_NaN();  // attacked: ||x - x0||_inf
  Eigen::VectorXd adversarial;  // attacked and found at this eps (empty when inferred)
  int classes_bound = 0;     // classes proven by CROWN / alpha-CROWN at this eps
  int classes_exact = 0;     // classes proven by the exact method at this eps
  int classes_inferred = 0;  // classes proven at a larger eps
  std::string status;        // one line: how it was decided / why unknown
};

// The minimal adversarial L-inf distance r* of one image (the infimum of
// ||x - x0||_inf over points of [0,1]^n some wrong class wins), as a proven
// interval: certified_lo <= r* <= attacked_hi.
struct RadiusResult {
  // Largest eps at which every wrong class is proven (a certified grid row or
  // probe; 0 when none: the clean point itself is correctly classified).
  double certified_lo = 0.0;
  // ||x_adv - x0||_inf of the closest replayed counterexample (+inf: none
  // found; 0 for a misclassified image).
  double attacked_hi = std::numeric_limits<double>::infinity();
  int adv_class = -1;
  Eigen::VectorXd adversarial;  // the counterexample at attacked_hi
  int probes = 0;               // instances solved by the bisection
  bool closed = false;          // attacked_hi - certified_lo <= radius_tol
  double time_s = 0.0;          // of the probes
  std::string status;           // one line: why the bisection stopped
};

struct ImageResult {
  int label = -1;
  int predicted = -1;
  double clean_margin = std::numeric_limits<double>::quiet_NaN();
  std::vector<EpsRow> rows;  // in the order of params.eps
  std::optional<RadiusResult> radius;  // params.radius
  bool cancelled = false;    // params.cancel was set: the rows are incomplete
};

// Untargeted replay: x lies in the box (tolerance 0), is finite, and
// Network::forward(x) has some logit[j] > logit[label], j != label. Fills
// *margin (logit[label] - max other) and *cls (the max other class) whenever
// x is finite and inside the box.
bool replayUntargeted(const nn::Network& net, const spec::Box& box, int label,
                      const Eigen::VectorXd& x, double* margin = nullptr, int* cls = nullptr);

// Untargeted margin logit[label] - max_{j != label} logit[j] of y; *cls
// receives the max other class.
double untargetedMargin(const Eigen::VectorXd& y, int label, int* cls = nullptr);

// Throws Error unless eps is non-empty, finite and >= 0; returns it sorted
// and de-duplicated.
std::vector<double> normalizeEps(std::vector<double> eps);

// All eps of one image. params.eps must be sorted ascending. Throws Error on
// size mismatch or a label out of range.
ImageResult evaluateImage(const nn::Network& net, const Eigen::VectorXd& x0, int label,
                          const RobustParams& params);

// The radius of one image (params.radius_tol / radius_probes) starting from
// its grid rows `rows` (verdicts at params.eps, e.g. read back from
// results.jsonl): the largest certified eps and the closest stored attack
// point (re-replayed) bound the bisection. Misclassified: [0, 0].
RadiusResult radiusFromRows(const nn::Network& net, const Eigen::VectorXd& x0, int label,
                            const RobustParams& params, const std::vector<EpsRow>& rows);

// ------------------------------------------------------------ records
// One line of results.jsonl.
struct RobustRecord {
  std::string model;    // file name
  std::string dataset;  // file name
  long index = -1;
  int label = -1, predicted = -1;
  double clean_margin = std::numeric_limits<double>::quiet_NaN();
  std::string method;
  double time_limit = 0.0;
  EpsRow row;
  std::string timestamp;  // ISO 8601 UTC, set by the writer
};
nlohmann::json toJson(const RobustRecord& r);
// Throws Error on missing or mistyped fields.
RobustRecord recordFromJson(const nlohmann::json& j);
// One radius line of results.jsonl ("kind": "radius"; the eps lines have no
// "kind"), keyed by the image.
struct RadiusRecord {
  std::string model, dataset;
  long index = -1;
  int label = -1, predicted = -1;
  std::string method;
  double time_limit = 0.0;
  double tol = 0.0;
  RadiusResult radius;
  std::string timestamp;
};
nlohmann::json toJson(const RadiusRecord& r);
RadiusRecord radiusRecordFromJson(const nlohmann::json& j);
bool isRadiusLine(const nlohmann::json& j);
struct ResultsFile {
  std::vector<RobustRecord> rows;
  std::vector<RadiusRecord> radii;
};
// results.jsonl: every complete line (a trailing partial line is ignored);
// Error naming the line for a line that is not a record. Missing file: empty.
ResultsFile loadResults(const std::string& path);
// The eps lines of loadResults.
std::vector<RobustRecord> loadRecords(const std::string& path);
// The eps as a resume key ("%.12g").
std::string epsKey(double eps);

// ------------------------------------------------------------ summary
struct EpsSummary {
  double eps = 0.0;
  int images = 0, misclassified = 0, attacked = 0, certified = 0, unknown = 0;
  int inferred = 0;  // decided without a solve at this eps
  int upgraded = 0;  // solved to unknown, then decided by another eps
  int solved = 0;
  double clean_accuracy = 0, certified_accuracy = 0, attacked_upper = 0;
  // Solve times of the rows solved at this eps.
  double median_time_s = std::numeric_limits<double>::quiet_NaN();
  double mean_time_s = std::numeric_limits<double>::quiet_NaN();
  double max_time_s = std::numeric_limits<double>::quiet_NaN();
};
// One summary per eps of `eps` (rows of other eps are ignored).
std::vector<EpsSummary> summarize(const std::vector<RobustRecord>& records,
                                  const std::vector<double>& eps);
// Over the correctly classified images with a radius line (the last one of
// each image counts).
struct RadiusSummary {
  int images = 0;   // correctly classified images with a radius
  int closed = 0;   // interval at most its tolerance wide
  int attacked = 0; // with a finite attacked_hi
  double median_lo = std::numeric_limits<double>::quiet_NaN();
  double mean_lo = std::numeric_limits<double>::quiet_NaN();
  double median_hi = std::numeric_limits<double>::quiet_NaN();  // finite ones
  double mean_hi = std::numeric_limits<double>::quiet_NaN();
  int probes = 0;
};
RadiusSummary summarizeRadii(const std::vector<RadiusRecord>& radii);
// radius: written as the "radius" object (and summary.csv's radius_*
// columns) only when it covers some image.
nlohmann::json summaryJson(const std::vector<EpsSummary>& s,
                           const std::optional<RadiusSummary>& radius = std::nullopt);
std::string summaryCsv(const std::vector<EpsSummary>& s,
                       const std::optional<RadiusSummary>& radius = std::nullopt);

// ------------------------------------------------------------ report.html
struct GalleryItem {
  long index = -1;
  double eps = 0.0;
  int label = -1, adv_class = -1;
  double margin = 0.0, linf = 0.0;
  std::string png;  // the panel's PNG bytes
};
struct ReportInput {
  std::string title;     // e.g. the model file
  std::string command;   // the command line
  std::string version;   // nnopt version (and git revision)
  std::vector<EpsSummary> summary;
  std::vector<RobustRecord> records;
  std::vector<RadiusRecord> radii;  // --radius: the interval chart
  std::vector<GalleryItem> gallery;
  int gallery_total = 0;  // attacked images (the gallery may show fewer)
};
// A self-contained page: inline SVG charts, the table, the panels as data
// URIs, no scripts from elsewhere, no network.
std::string reportHtml(const ReportInput& in);
std::string base64(const std::string& bytes);

// ------------------------------------------------------------ the run
struct RunParams {
  std::string model;    // .onnx
  std::string dataset;  // MNIST IDX or CSV
  long limit = 0;       // first N images (0: all)
  std::vector<long> indices;  // explicit images (instead of limit)
  std::vector<double> mean, stdv;  // --mean/--std: empty, 1 value or one per channel
  RobustParams robust;
  std::string out_dir;
  bool resume = false;
  std::string command;  // for the report
  int gallery_max = 24;
};

struct RunProgress {
  int images_done = 0, images_todo = 0, images_skipped = 0;
  int attacked = 0, certified = 0, unknown = 0, misclassified = 0, inferred = 0;
  double elapsed_s = 0, eta_s = 0;
  long index = -1;  // the image just finished (-1: start notice)
};
using RunProgressFn = std::function<void(const RunProgress&)>;

struct RunOutcome {
  std::vector<EpsSummary> summary;
  std::optional<RadiusSummary> radius;
  bool cancelled = false;  // robust.cancel was set: no summary or report written
  int images_run = 0, images_skipped = 0;
  long dropped_partial_bytes = 0;
  std::vector<std::string> files;
  double wall_s = 0;
};

// Writer (runner.writer): locks OUT, drops a torn last line of
// OUT/results.jsonl, skips (--resume) the images whose every eps (and, with
// --radius, whose radius line) is there, appends each finished image's lines
// (one write + fsync; lines already on disk are not written again; an image
// whose eps rows are all on disk only gets its radius, bisected from those
// rows) and then writes summary.json, summary.csv, panels/*.png and
// report.html. Other processes only run images. With robust.cancel set
// during the run: the image in flight is dropped, no further one starts, and
// nothing but the finished images' lines is written (outcome.cancelled).
RunOutcome runRobustness(const RunParams& p, const RunProgressFn& progress = {},
                         const JobRunner& runner = {});

}  // namespace nnopt::robust
