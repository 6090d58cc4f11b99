// nnopt command-line tool. The library never prints; this file owns stdout
// (human summaries), stderr (progress and one-line errors) and exit codes:
// 0 success (any verdict), 2 bad input or failure.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fmt/core.h>
#include <iostream>
#include <optional>
#include <string>

#include "attack/attack.h"
#include "bab/relu_bab.h"
#include "attack/min_distortion.h"
#include "attack/multistart.h"
#include "commands.h"
#include "format.h"
#include "core/error.h"
#include "core/log.h"
#include "core/message.h"
#include "io/images.h"
#include "io/normalization.h"
#include "io/onnx.h"
#include "report/json.h"
#include "report/panel.h"
#include "spec/property.h"

using namespace nnopt;

namespace {

struct InputOptions {
  std::string model;
  std::string image;
  std::string dataset;
  long index = -1;
  std::optional<int> label;
  std::vector<double> mean, stdv;  // empty: none; 1 value or one per channel
};

void addInputOptions(CLI::App* cmd, InputOptions& o) {
  cmd->add_option("--model,--onnx", o.model, "ONNX network")->required();
  auto* img = cmd->add_option("--image", o.image,
                              "PNG or PGM/PPM image (pixels scaled to [0,1]; colour kept when "
                              "the network takes 3 channels)");
  auto* ds = cmd->add_option("--dataset", o.dataset, cli::kDatasetHelp);
  img->excludes(ds);
  cmd->add_option("--index", o.index, "0-based item of --dataset");
  cmd->add_option("--label", o.label, "true label (default: the dataset's, or the clean prediction)");
  cli::addNormalizationOptions(cmd, o.mean, o.stdv);
}

nn::Network loadNetwork(const InputOptions& o) {
  nn::Network net = io::loadOnnx(o.model);
  return io::withNormalization(net, o.mean, o.stdv);
}

io::Image loadInput(const InputOptions& o, const nn::Network& net) {
  if (!o.image.empty()) return io::loadImageFor(o.image, net.inputShape());
  if (!o.dataset.empty()) {
    if (o.index < 0) throw Error("--dataset needs --index K (0-based)");
    return io::loadDatasetItem(o.dataset, o.index);
  }
  throw Error("give an input: --image FILE or --dataset FILE --index K");
}

std::string inputName(const InputOptions& o) {
  return o.image.empty() ? fmt::format("{} #{}", o.dataset, o.index) : o.image;
}

int argmax(const Eigen::VectorXd& v) {
  Eigen::Index a = 0;
  v.maxCoeff(&a);
  return static_cast<int>(a);
}

bool stderrIsTerminal() { return isatty(fileno(stderr)) != 0; }

// --save-panel: original | adversarial | signed perturbation, with predictions.
void saveAttackPanel(const std::string& path, const nn::Network& net, const io::Image& img,
                     const Eigen::VectorXd& adversarial, const std::string& title,
                     const std::string& subtitle, const std::string& caption, bool quiet) {
  if (path.empty()) return;
  if (adversarial.size() == 0) {
    if (!quiet) std::cout << "  no solver point to draw; --save-panel skipped\n";
    return;
  }
  const int side = static_cast<int>(std::lround(std::sqrt(double(img.pixels.size()))));
  const int rows = img.rows > 0 ? img.rows : side, cols = img.cols > 0 ? img.cols : side;
  if ((img.channels != 1 && img.channels != 3) ||
      static_cast<Eigen::Index>(rows) * cols * img.channels != adversarial.size()) {
    if (!quiet) std::cout << "  (input is not a gray or RGB image; --save-panel skipped)\n";
    return;
  }
  report::AttackPanel p;
  p.original = img.pixels;
  p.adversarial = adversarial;
  p.channels = img.channels;
  p.rows = rows;
  p.cols = cols;
  p.logits_original = net.forward(img.pixels);
  p.logits_adversarial = net.forward(adversarial);
  p.title = title;
  p.subtitle = subtitle;
  p.adversarial_caption = caption;
  report::writeAttackPanel(p, path);
  if (!quiet) std::cout << "  panel written to " << path << "\n";
}

// --save-image: the adversarial point as PNG, each pixel a 10x10 block (gray or RGB).
void saveAdversarialImage(const std::string& path, const io::Image& img,
                          const Eigen::VectorXd& adversarial, bool quiet) {
  if (path.empty()) return;
  const int side = static_cast<int>(std::lround(std::sqrt(double(adversarial.size()))));
  const int rows = img.rows > 0 ? img.rows : side, cols = img.cols > 0 ? img.cols : side;
  const Eigen::Index plane = Eigen::Index(rows) * cols;
  constexpr int kScale = 10;
  if (adversarial.size() == 0) {
    if (!quiet) std::cout << "  no adversarial input to save\n";
    return;
  }
  if (img.channels == 1 && plane == adversarial.size()) {
    io::writePngGray(path, adversarial, rows, cols, kScale);
  } else if (img.channels == 3 && 3 * plane == adversarial.size()) {
    std::vector<unsigned char> rgb(static_cast<std::size_t>(plane) * 3 * kScale * kScale);
    for (int i = 0; i < rows * kScale; ++i)
      for (int j = 0; j < cols * kScale; ++j)
        for (int c = 0; c < 3; ++c) {
          const double v = adversarial[c * plane + (i / kScale) * cols + j / kScale];
          rgb[(std::size_t(i) * cols * kScale + j) * 3 + c] = static_cast<unsigned char>(
              std::lround(255.0 * (std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0)));
        }
    io::writePngRgb(path, rgb, rows * kScale, cols * kScale);
  } else {
    if (!quiet) std::cout << "  (input is not a gray or RGB image; --save-image skipped)\n";
    return;
  }
  if (!quiet) std::cout << "  adversarial image written to " << path << "\n";
}

std::string baseName(const std::string& path) {
  const auto k = path.find_last_of('/');
  return k == std::string::npos ? path : path.substr(k + 1);
}

// ---------------------------------------------------------------- attack
struct AttackOptions {
  InputOptions in;
  double eps = -1;
  bool eps_given = false;  // set from the parser: a negative --eps is an error, not "absent"
  std::string target = "runner-up";
  std::string method = "mip";
  std::string exact = "auto";  // --method auto: its exact stage (auto, mip, portfolio)
  int portfolio_min_unstable = attack::ExactPolicy{}.portfolio_min_unstable;
  std::string nlp_form = "scholtes";
  bool nlp_form_given = false;
  std::string local = "auto";
  std::string mpec_form = "fb";
  double start_budget = 0;  // seconds, 0 = none
  double time_limit = 600;
  int threads = 0;
  int starts = 0;  // 0 = method default: 1 for nlp/mpec, 16 for auto
  bool early_stop = false;
  bool scramble = false;
  uint64_t seed = 0;
  std::string json_out;
  std::string save_image;
  std::string save_panel;
  bool solver_log = false;
  int input_chunk = 0;
  bool cold_continuation = false;
  bool quiet = false;
  std::string bounds = "crown";
  double lp_time_limit = 30.0;
  // --objective min-distortion
  std::string objective = "margin";
  std::string norm = "l1";
  double gap = 0.1;
  std::optional<double> max_eps;
  std::optional<std::string> warm_start;  // default: nlp for min-distortion, none for margin
  bool mip_cuts = false;
  bool bab_node_lp = false;
  int bab_fresh = 0;
  int bab_beta = -1;
  int bab_batch = 0;
  bool target_given = false;
};

int runMinDistortion(const AttackOptions& o);

// --warm-start nlp|none, or the default when it is not given.
bool warmStartIsNlp(const std::optional<std::string>& w, bool dflt) {
  if (!w) return dflt;
  if (*w != "nlp" && *w != "none") throw Error("--warm-start must be nlp or none (got '" + *w + "')");
  return *w == "nlp";
}

void printSummary(const attack::MarginAttackResult& r) {
  std::cout << fmt::format("  {:<14} verdict {:<16} margin {:>10.5f}", r.method,
                           attack::verdictName(r.verdict), r.margin);
  if (std::isfinite(r.bound)) std::cout << fmt::format("  bound {:>10.5f}", r.bound);
  std::cout << fmt::format("  target {}  time {:.3f} s  status {}\n", r.target_label, r.time_s,
                           r.status);
  std::cout << fmt::format("  {:<14} model: {} variables, {} binaries, {} constraints ({} unstable / {} stable ReLUs, {} bounds {:.3f} s)\n",
                           "", r.variables, r.binaries, r.constraints, r.unstable_relus,
                           r.stable_relus, r.bounds_method, r.bounds_time_s);
  if (r.verdict == attack::Verdict::kAttackFound)
    std::cout << fmt::format("  {:<14} adversarial input: predicted {}, L-inf distance {:.6f}\n", "",
                             r.predicted_label_adv, r.linf_distance);
}

int runAttack(const AttackOptions& o) {
  if (o.objective == "min-distortion") return runMinDistortion(o);
  if (o.objective != "margin")
    throw Error("--objective must be margin or min-distortion (got '" + o.objective + "')");
  if (!o.eps_given) throw Error("--eps is required for the margin objective");
  nn::Network net = loadNetwork(o.in);
  io::Image img = loadInput(o.in, net);
  if (img.pixels.size() != net.inputSize())
    throw Error(fmt::format("{}: image has {} pixels but {} expects {} inputs", inputName(o.in),
                            img.pixels.size(), o.in.model, net.inputSize()));
  if (!(o.eps >= 0) || !std::isfinite(o.eps))
    throw Error(fmt::format("--eps must be a finite number >= 0 (got {})", o.eps));
  const int n_out = static_cast<int>(net.outputSize());
  Eigen::VectorXd clean = net.forward(img.pixels);
  const int predicted = argmax(clean);
  int label = o.in.label ? *o.in.label : (img.label >= 0 ? img.label : predicted);
  if (label < 0 || label >= n_out)
    throw Error(fmt::format("label {} out of range: {} has {} outputs", label, o.in.model, n_out));

  std::vector<int> targets;
  if (o.target == "runner-up") {
    targets.push_back(attack::runnerUp(clean, label));
  } else if (o.target == "all") {
    for (int k = 0; k < n_out; ++k)
      if (k != label) targets.push_back(k);
  } else {
    int k = -1;
    try {
      size_t pos = 0;
      k = std::stoi(o.target, &pos);
      if (pos != o.target.size()) k = -1;
    } catch (...) {
      k = -1;
    }
    if (k < 0 || k >= n_out || k == label)
      throw Error(fmt::format("--target must be runner-up, all or a class in [0,{}] other than the label {} (got '{}')",
                              n_out - 1, label, o.target));
    targets.push_back(k);
  }

  attack::MarginAttackParams p;
  p.nlp_form = attack::parseNlpForm(o.nlp_form);
  p.local = attack::parseLocalSolver(o.local);
  // A form names an Ipopt formulation: asking for one selects Ipopt.
  if (o.nlp_form_given && p.local == attack::LocalSolver::kAuto) p.local = attack::LocalSolver::kIpopt;
  if (p.local == attack::LocalSolver::kPwl && !net.isPiecewiseLinear())
    throw Error("--local pwl needs a ReLU/LeakyReLU/MaxPool network (this one has Tanh/Sigmoid); "
                "use --local ipopt");
  if (o.method == "mip") {
    p.method = attack::Method::kMip;
  } else if (o.method == "nlp" || o.method == "auto") {
    p.method = attack::Method::kNlp;
  } else if (o.method == "mpec") {
    p.method = attack::Method::kNlp;
    p.nlp_form = attack::parseNlpForm(o.mpec_form);
    p.label_mpec = true;
  } else if (o.method == "bab") {
    p.method = attack::Method::kBab;
    p.bab_decide = o.early_stop;
  } else if (o.method == "portfolio") {
    p.method = attack::Method::kPortfolio;
  } else {
    throw Error("--method must be mip, nlp, mpec, bab, portfolio or auto (got '" + o.method + "')");
  }
  // --method auto's exact stage: chosen per network (exact_policy.h) or forced.
  attack::Method exact_stage = attack::Method::kNlp;
  if (o.exact == "mip")
    exact_stage = attack::Method::kMip;
  else if (o.exact == "portfolio")
    exact_stage = attack::Method::kPortfolio;
  else if (o.exact != "auto")
    throw Error("--exact must be auto, mip or portfolio (got '" + o.exact + "')");
  if (o.portfolio_min_unstable < 0) throw Error("--portfolio-min-unstable must be >= 0");
  if (o.starts < 0) throw Error("--starts must be >= 1");
  const int n_starts = o.starts > 0 ? o.starts : (o.method == "auto" ? 16 : 1);
  if (o.time_limit <= 0) throw Error("--time-limit must be > 0");
  p.time_limit = o.time_limit;
  p.bounds = bounds::parseBoundsLevel(o.bounds);
  if (!(o.lp_time_limit >= 0)) throw Error("--lp-time-limit must be >= 0");
  p.lp_time_limit = o.lp_time_limit;
  p.threads = 1;
  p.solver_log = o.solver_log;
  p.warm_duals = !o.cold_continuation;
  if (o.input_chunk < 0) throw Error("--nlp-input-chunk must be >= 0");
  p.input_chunk = o.input_chunk;
  p.warm_duals = !o.cold_continuation;
  p.mip_warm_start = warmStartIsNlp(o.warm_start, o.method == "portfolio");
  p.mip_ideal_cuts = o.mip_cuts;
  p.bab_node_lp = o.bab_node_lp;
  if (o.bab_fresh < 0) throw Error("--bab-fresh must be >= 0 (got " + std::to_string(o.bab_fresh) + ")");
  p.bab_fresh = o.bab_fresh;
  p.bab_beta_steps = o.bab_beta;
  p.bab_batch = o.bab_batch;
  attack::MultiStartParams msp;
  msp.nlp = p;
  msp.starts = n_starts;
  if (o.start_budget < 0) throw Error("--start-budget must be >= 0");
  if (o.start_budget > 0) msp.time_budget = o.start_budget;
  msp.early_stop = o.early_stop;
  msp.threads = o.threads;
  msp.scramble = o.scramble;
  msp.seed = o.seed;

  spec::Box box = spec::linfBall(img.pixels, o.eps, 0.0, 1.0);
  if (!o.quiet) {
    std::cout << fmt::format("nnopt attack: {} ({}) on {}, eps {} (L-inf, pixels in [0,1])\n",
                             o.in.model, net.summary(), inputName(o.in), o.eps);
    std::cout << fmt::format("  clean: label {}, predicted {}, logit[label] {:.5f}, runner-up {} ({:.5f})\n",
                             label, predicted, clean[label], attack::runnerUp(clean, label),
                             clean[attack::runnerUp(clean, label)]);
    if (predicted != label)
      std::cout << "  note: the clean image is already misclassified\n";
  }

  Timer total;
  std::vector<attack::MarginAttackResult> results;
  std::vector<nlohmann::json> extras;  // per-target stage/multi-start info
  for (size_t t = 0; t < targets.size(); ++t) {
    nlohmann::json extra;
    if (o.method == "auto") {
      attack::AutoParams ap;
      ap.screen = msp;
      ap.mip = p;
      ap.mip.method = attack::Method::kMip;
      ap.mip.threads = 1;
      ap.exact = exact_stage;
      ap.policy.portfolio_min_unstable = o.portfolio_min_unstable;
      auto a = attack::autoAttack(net, box, img.pixels, label, targets[t], ap);
      extra["decided_by"] = a.decided_by;
      extra["reason"] = a.reason;
      if (a.mip_ran) {
        extra["exact_method"] = a.exact_method;
        extra["exact_why"] = a.exact_why;
      }
      extra["screen_starts_run"] = a.screen.starts_run;
      extra["screen_first_attack_start"] = a.screen.first_attack_start;
      extra["screen_best_margin"] = report::num(a.screen.best.margin);
      extra["screen_time_s"] = a.screen.time_s;
      results.push_back(a.result);
    } else if (p.method == attack::Method::kNlp && n_starts > 1) {
      auto ms = attack::multiStartAttack(net, box, img.pixels, label, targets[t], msp);
      extra["starts"] = n_starts;
      extra["starts_run"] = ms.starts_run;
      extra["first_attack_start"] = ms.first_attack_start;
      extra["starts_per_s"] = ms.starts_per_s;
      results.push_back(ms.best);
    } else {
      results.push_back(attack::marginAttack(net, box, img.pixels, label, targets[t], p));
    }
    extras.push_back(extra);
    if (targets.size() > 1 && stderrIsTerminal() && !o.quiet)
      std::cerr << fmt::format("[{}/{}] target {}: {} margin {:.5f} ({:.2f} s, elapsed {:.1f} s)\n",
                               t + 1, targets.size(), targets[t],
                               attack::verdictName(results.back().verdict), results.back().margin,
                               results.back().time_s, total.seconds());
  }
  // Best = the smallest replayed margin; verdict over all targets.
  size_t best = 0;
  for (size_t t = 1; t < results.size(); ++t) {
    double mb = results[best].margin, mt = results[t].margin;
    if (std::isnan(mb) || (!std::isnan(mt) && mt < mb)) best = t;
  }
  attack::MarginAttackResult r = results[best];
  nlohmann::json extra = extras[best];
  bool any_attack = false, all_robust = true, any_timeout = false;
  for (const auto& x : results) {
    any_attack |= x.verdict == attack::Verdict::kAttackFound;
    all_robust &= x.verdict == attack::Verdict::kRobust;
    any_timeout |= x.verdict == attack::Verdict::kTimeout;
  }
  if (any_attack) {
    for (size_t t = 0; t < results.size(); ++t)
      if (results[t].verdict == attack::Verdict::kAttackFound &&
          (r.verdict != attack::Verdict::kAttackFound || results[t].margin < r.margin)) {
        r = results[t];
        extra = extras[t];
      }
  } else if (all_robust) {
    r.verdict = attack::Verdict::kRobust;
    for (const auto& x : results) r.bound = std::min(r.bound, x.bound);
  } else {
    r.verdict = any_timeout ? attack::Verdict::kTimeout : attack::Verdict::kNoAttackFound;
  }
  r.time_s = total.seconds();

  if (!o.quiet) {
    printSummary(r);
    if (extra.contains("decided_by"))
      std::cout << fmt::format("  {:<14} decided by {}: {}\n", "", extra["decided_by"].get<std::string>(),
                               extra["reason"].get<std::string>());
    if (extra.contains("starts_run"))
      std::cout << fmt::format("  {:<14} multi-start: {} of {} starts run, first attack at start {}, {:.1f} starts/s\n",
                               "", extra["starts_run"].get<int>(), n_starts,
                               extra["first_attack_start"].get<int>(), extra["starts_per_s"].get<double>());
  }

  nlohmann::json j = report::toJson(r);
  j["model"] = o.in.model;
  j["input"] = inputName(o.in);
  j["eps"] = o.eps;
  j["norm"] = "linf";
  j["target_mode"] = o.target;
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  j["predicted_label_clean"] = predicted;
  j["logits_clean"] = report::vec(clean);
  if (!o.in.mean.empty()) {
    j["mean"] = report::numbers(o.in.mean);
    j["std"] = report::numbers(o.in.stdv);
  }
  if (results.size() > 1) {
    auto arr = nlohmann::json::array();
    for (const auto& x : results)
      arr.push_back({{"target_label", x.target_label},
                     {"verdict", attack::verdictName(x.verdict)},
                     {"margin", report::num(x.margin)},
                     {"bound", report::num(x.bound)},
                     {"time_s", x.time_s},
                     {"status", x.status}});
    j["per_target"] = arr;
  }
  if (!o.json_out.empty()) report::writeJsonFile(o.json_out, j);
  saveAttackPanel(
      o.save_panel, net, img, r.adversarial,
      fmt::format("{}: {} margin attack, L-inf eps {}", baseName(o.in.model), r.method, o.eps),
      fmt::format("label {} vs target {}: margin {:.4f} ({}), {:.2f} s", label, r.target_label,
                  r.margin, attack::verdictName(r.verdict), r.time_s),
      r.verdict == attack::Verdict::kAttackFound ? "adversarial" : "best point (no attack)",
      o.quiet);
  saveAdversarialImage(o.save_image, img, r.adversarial, o.quiet);
  return 0;
}

// ---------------------------------------------------------------- min-distortion
int runMinDistortion(const AttackOptions& o) {
  if (o.eps_given)
    throw Error("--eps is not used by --objective min-distortion (bound the pixel changes with "
                "--max-eps)");
  if (!o.target_given)
    throw Error("--objective min-distortion needs --target K (a class index other than the "
                "true label)");
  nn::Network net = loadNetwork(o.in);
  io::Image img = loadInput(o.in, net);
  if (img.pixels.size() != net.inputSize())
    throw Error(fmt::format("{}: image has {} pixels but {} expects {} inputs", inputName(o.in),
                            img.pixels.size(), o.in.model, net.inputSize()));
  const int n_out = static_cast<int>(net.outputSize());
  Eigen::VectorXd clean = net.forward(img.pixels);
  const int predicted = argmax(clean);
  const int label = o.in.label ? *o.in.label : (img.label >= 0 ? img.label : predicted);
  if (label < 0 || label >= n_out)
    throw Error(fmt::format("label {} out of range: {} has {} outputs", label, o.in.model, n_out));
  int target = -1;
  try {
    size_t pos = 0;
    target = std::stoi(o.target, &pos);
    if (pos != o.target.size()) target = -1;
  } catch (...) {
    target = -1;
  }
  if (target < 0 || target >= n_out || target == label)
    throw Error(fmt::format("--target must be a class in [0,{}] other than the label {} for "
                            "min-distortion (got '{}')",
                            n_out - 1, label, o.target));

  attack::MinDistortionParams p;
  p.method = attack::parseMinDistortionMethod(o.method);
  if (p.method == attack::Method::kNlp && o.nlp_form != "scholtes")
    throw Error("--objective min-distortion supports only --nlp-form scholtes");
  p.norm = attack::parseNorm(o.norm);
  p.local = attack::parseLocalSolver(o.local);
  if (o.nlp_form_given && p.local == attack::LocalSolver::kAuto) p.local = attack::LocalSolver::kIpopt;
  if (!std::isfinite(o.gap)) throw Error("--gap must be a finite number");
  p.gap = o.gap;
  if (o.max_eps) {
    if (!(*o.max_eps >= 0)) throw Error("--max-eps must be >= 0");
    p.max_eps = *o.max_eps;
  }
  if (o.time_limit <= 0) throw Error("--time-limit must be > 0");
  p.time_limit = o.time_limit;
  p.bounds = bounds::parseBoundsLevel(o.bounds);
  if (!(o.lp_time_limit >= 0)) throw Error("--lp-time-limit must be >= 0");
  p.lp_time_limit = o.lp_time_limit;
  p.threads = 1;
  p.solver_log = o.solver_log;
  p.warm_duals = !o.cold_continuation;
  p.nlp_warm_start = warmStartIsNlp(o.warm_start, true);
  p.mip_ideal_cuts = o.mip_cuts;

  if (!o.quiet) {
    std::cout << fmt::format(
        "nnopt attack: {} ({}) on {}, min-distortion {}: logit[{}] >= logit[{}] + {}, pixels in "
        "[0,1]{}\n",
        o.in.model, net.summary(), inputName(o.in), attack::normName(p.norm), target, label, p.gap,
        std::isfinite(p.max_eps) ? fmt::format(", |x_i - x0_i| <= {}", p.max_eps) : "");
    std::cout << fmt::format("  clean: label {}, predicted {}, logit[label] {:.5f}, logit[target] {:.5f}\n",
                             label, predicted, clean[label], clean[target]);
  }
  auto r = attack::minDistortionAttack(net, img.pixels, label, target, p);
  if (!o.quiet) {
    std::cout << fmt::format("  {:<14} verdict {:<16} time {:.3f} s  status {}\n", r.method,
                             attack::minDistVerdictName(r.verdict), r.time_s, r.status);
    std::cout << fmt::format("  {:<14} model: {} variables, {} binaries, {} constraints ({} unstable / {} stable ReLUs, {} bounds {:.3f} s)\n",
                             "", r.variables, r.binaries, r.constraints, r.unstable_relus,
                             r.stable_relus, r.bounds_method, r.bounds_time_s);
    if ((p.method == attack::Method::kMip && p.nlp_warm_start) || p.method == attack::Method::kBab)
      std::cout << fmt::format("  {:<14} NLP warm start: distance {:.6f} in {:.3f} s{}\n", "",
                               r.warm_start_distance, r.warm_start_time_s,
                               std::isfinite(r.mip_box_eps)
                                   ? fmt::format("; MIP box |d_i| <= {:.6f}", r.mip_box_eps)
                                   : "");
    if (r.verdict == attack::MinDistVerdict::kAttackFound) {
      std::cout << fmt::format("  {:<14} distance {:.6f} ({}); L1 {:.6f}, L2 {:.6f}, Linf {:.6f}{}\n",
                               "", r.distance, attack::normName(r.norm), r.l1, r.l2, r.linf,
                               r.repaired ? " (point repaired by a gradient nudge)" : "");
      if (std::isfinite(r.lower_bound))
        std::cout << fmt::format("  {:<14} proven lower bound {:.6f}{}\n", "", r.lower_bound,
                                 r.optimal ? " (optimal)" : " (not optimal: stopped early)");
      std::string logits;
      for (Eigen::Index k = 0; k < r.logits_adv.size(); ++k)
        logits += fmt::format("{}{:.5f}", k ? " " : "", r.logits_adv[k]);
      std::cout << fmt::format("  {:<14} adversarial input: predicted {}, logit[{}] - logit[{}] = {:.6f}\n",
                               "", r.predicted_label_adv, target, label, r.achieved_gap);
      std::cout << fmt::format("  {:<14} logits [{}]\n", "", logits);
      if (r.predicted_label_adv != target)
        std::cout << fmt::format("  {:<14} note: the network now predicts {}, not the target {} "
                                 "(the constraint only ranks {} above {})\n",
                                 "", r.predicted_label_adv, target, target, label);
    } else if (r.verdict == attack::MinDistVerdict::kInfeasible) {
      std::cout << fmt::format("  {:<14} no input in the box reaches the gap ({} proof)\n", "",
                               r.method);
    }
  }
  nlohmann::json j = report::toJson(r);
  j["model"] = o.in.model;
  j["input"] = inputName(o.in);
  j["predicted_label_clean"] = predicted;
  j["logits_clean"] = report::vec(clean);
  if (!o.in.mean.empty()) {
    j["mean"] = report::numbers(o.in.mean);
    j["std"] = report::numbers(o.in.stdv);
  }
  if (!o.json_out.empty()) report::writeJsonFile(o.json_out, j);
  saveAttackPanel(
      o.save_panel, net, img, r.adversarial,
      fmt::format("{}: {} min-{} attack, logit[{}] >= logit[{}] + {}", baseName(o.in.model),
                  r.method, attack::normName(r.norm), target, label, r.gap),
      fmt::format("{} distance {:.4f}{}, {:.2f} s", attack::normName(r.norm), r.distance,
                  r.optimal ? " (optimal)"
                  : std::isfinite(r.lower_bound)
                      ? fmt::format(" (lower bound {:.4f})", r.lower_bound)
                      : "",
                  r.time_s),
      "adversarial", o.quiet);
  saveAdversarialImage(o.save_image, img, r.adversarial, o.quiet);
  return 0;
}

// ---------------------------------------------------------------- classify
int runClassify(const InputOptions& in, long limit) {
  nn::Network net = loadNetwork(in);
  if (in.dataset.empty()) throw Error("classify needs --dataset FILE");
  long n = io::datasetSize(in.dataset);
  if (limit > 0) n = std::min(n, limit);
  long correct = 0, labelled = 0;
  for (long i = 0; i < n; ++i) {
    io::Image img = io::loadDatasetItem(in.dataset, i);
    if (img.pixels.size() != net.inputSize())
      throw Error(fmt::format("{}: item {} has {} pixels but {} expects {} inputs", in.dataset, i,
                              img.pixels.size(), in.model, net.inputSize()));
    int pred = argmax(net.forward(img.pixels));
    if (img.label >= 0) {
      ++labelled;
      correct += pred == img.label;
    }
  }
  std::cout << fmt::format("{}: {} images, {} labelled, accuracy {:.2f}% ({} / {})\n", in.model, n,
                           labelled, labelled ? 100.0 * correct / labelled : 0.0, correct,
                           labelled);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nnopt: find adversarial inputs of neural networks or prove none exist"};
  app.require_subcommand(1);
  setLogCallback([](LogLevel lvl, const std::string& msg) {
    if (lvl >= LogLevel::kWarn || stderrIsTerminal()) std::cerr << msg << "\n";
  });

  AttackOptions ao;
  auto* attack = app.add_subcommand("attack", "L-inf margin attack: minimise logit[true] - logit[target]");
  addInputOptions(attack, ao.in);
  auto* eps_opt =
      attack->add_option("--eps", ao.eps, "L-inf budget in pixel space (margin objective; required)");
  auto* target_opt = attack->add_option(
      "--target", ao.target,
      "runner-up (default), all, or a class index (min-distortion: a class index, required)");
  attack->add_option("--objective", ao.objective,
                     "margin (default: minimise logit[true] - logit[target] in an L-inf ball) or "
                     "min-distortion (minimise the perturbation norm subject to logit[target] >= "
                     "logit[true] + gap)");
  attack->add_option("--norm", ao.norm, "min-distortion: l1 (default), linf or l2 (l2: nlp only)");
  attack->add_option("--gap", ao.gap, "min-distortion: required logit[target] - logit[true] (default 0.1)");
  attack->add_option("--max-eps", ao.max_eps,
                     "min-distortion: also bound every pixel change |x_i - x0_i| <= E");
  attack->add_option("--warm-start", ao.warm_start,
                     "MIP: nlp (run the NLP first and give its point to CBC as incumbent; "
                     "min-distortion also shrinks the box to its distance; the default there) or "
                     "none (the default for the margin objective)");
  attack->add_flag("--mip-cuts", ao.mip_cuts,
                   "MIP: CBC separates cuts of the ideal ReLU formulation (Anderson et al. 2020) "
                   "at the root, those with at most 64 terms (docs/results/ideal-cuts)");
  attack->add_option("--bab-beta", ao.bab_beta,
                     "bab / portfolio on fully-connected networks: beta-CROWN steps per node "
                     "(default 5, 0 = plain CROWN)")
      ->check(CLI::Range(0, 100000));
  attack->add_option("--bab-batch", ao.bab_batch,
                     "bab / portfolio with beta-CROWN nodes: open nodes bounded at once, their "
                     "children in one batch of matrix products (default 0: " +
                         std::to_string(bab::kDefaultBatch) + "; 1 = one at a time)")
      ->check(CLI::Range(0, 4096));
  attack->add_option("--bab-fresh", ao.bab_fresh,
                     "bab / portfolio: before a node branches, fresh CROWN bounds of its N "
                     "best-scored candidates on nodes bounded without an LP (one-signed ones are "
                     "fixed instead of split; default 0 = off)");
  attack->add_flag("--bab-node-lp", ao.bab_node_lp,
                   "bab / portfolio: bound every node of the ReLU B&B by its LP (the former "
                   "default; else fully-connected networks get beta-CROWN node bounds, LPs only "
                   "at leaves)");
  attack->add_option("--method", ao.method,
                     "mip (exact, CBC), bab (exact, branch and bound over ReLU splits), "
                     "portfolio (mip and bab in parallel on two threads, sharing incumbents and "
                     "bounds), nlp (local solve, see --local), mpec (--mpec-form, Ipopt) or auto "
                     "(multi-start local screen, then the exact stage of --exact); "
                     "--objective min-distortion: mip, nlp or bab (linf: the local point, then "
                     "a proven lower bound by bisection over the radius with the ReLU B&B)");
  attack->add_option("--exact", ao.exact,
                     "--method auto's exact stage: auto (default: the portfolio from "
                     "--portfolio-min-unstable ReLUs unstable under CROWN over the box, else CBC "
                     "alone, whose proofs on smaller nets are faster than the race's fixed "
                     "costs), mip or portfolio");
  attack->add_option("--portfolio-min-unstable", ao.portfolio_min_unstable,
                     "--exact auto: the portfolio from N unstable ReLUs (default " +
                         std::to_string(ao.portfolio_min_unstable) + ")");
  attack->add_option("--local", ao.local,
                     "local solver of nlp/auto/warm starts: auto (default: pwl on ReLU/LeakyReLU/"
                     "MaxPool networks, ipopt otherwise), pwl (native active-set walk over linear "
                     "regions, certified stationary) or ipopt (complementarity NLP, --nlp-form)");
  attack->add_option("--nlp-form", ao.nlp_form,
                     "Ipopt complementarity form: scholtes (default), product or inequality "
                     "(giving it selects --local ipopt)")
      ->each([&ao](const std::string&) { ao.nlp_form_given = true; });
  attack->add_option("--start-budget", ao.start_budget,
                     "multi-start: stop launching starts after this many seconds (0 = none)");
  attack->add_option("--mpec-form", ao.mpec_form,
                     "product, product-ineq, scholtes, fb (default), cm or penalty");
  attack->add_option("--time-limit", ao.time_limit, "seconds per target (default 600)");
  attack->add_option("--starts", ao.starts, "NLP starts: the clean image, then Sobol points in the box");
  attack->add_flag("--early-stop", ao.early_stop,
                   "stop at the first replayed attack (bab: decide margin > 0 instead of "
                   "proving the minimum)");
  attack->add_option("--threads", ao.threads, "multi-start workers (default: all cores)");
  attack->add_flag("--scramble", ao.scramble, "randomly shifted Sobol sequence (see --seed)");
  attack->add_option("--seed", ao.seed, "seed for --scramble");
  attack->add_option("--json", ao.json_out, "write the result as JSON");
  attack->add_option("--save-image", ao.save_image, "write the adversarial image as PNG");
  attack->add_option("--save-panel", ao.save_panel,
                     "write a PNG panel: original, adversarial and signed perturbation, with "
                     "predicted labels and softmax confidences");
  attack->add_option("--bounds", ao.bounds,
                     "neuron bounds behind the model: interval, crown (default) or lp (crown + "
                     "LP tightening with Clp)");
  attack->add_option("--lp-time-limit", ao.lp_time_limit,
                     "seconds for LP tightening (default 30, at most 1/5 of --time-limit)");
  attack->add_flag("--solver-log", ao.solver_log, "show the solver's own log");
  attack->add_option("--nlp-input-chunk", ao.input_chunk,
                     "NLP: write the first layer through partial sums over blocks of N inputs "
                     "(smaller KKT fronts for MUMPS; 0 = off, the default)");
  attack->add_flag("--nlp-cold-continuation", ao.cold_continuation,
                   "NLP continuation: restart each step from the previous point only (default: "
                   "also from its multipliers)");
  attack->add_flag("--quiet,-q", ao.quiet, "no human summary on stdout");

  InputOptions co;
  long limit = 0;
  auto* classify = app.add_subcommand("classify", "classify a dataset and print the accuracy");
  addInputOptions(classify, co);
  classify->add_option("--limit", limit, "only the first N items");

  InputOptions io_;
  auto* info = app.add_subcommand("info", "load a network and print its layers");
  info->add_option("--model,--onnx", io_.model, "ONNX network")->required();

  cli::SweepCli sweep_opts;
  auto* sweep = cli::addSweepCommand(app, sweep_opts);
  cli::VerifyCli verify_opts;
  auto* verify = cli::addVerifyCommand(app, verify_opts);
  cli::VerifyBatchCli batch_opts;
  auto* verify_batch = cli::addVerifyBatchCommand(app, batch_opts);
  cli::ScoreCli score_opts;
  auto* score = cli::addScoreCommand(app, score_opts);
  cli::BoundsCli bounds_opts;
  auto* bounds_cmd = cli::addBoundsCommand(app, bounds_opts);
  cli::RobustnessCli robust_opts;
  robust_opts.params.command = cli::commandLine(argc, argv);
  auto* robustness = cli::addRobustnessCommand(app, robust_opts);

  try {
    app.parse(argc, argv);
    ao.eps_given = eps_opt->count() > 0;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "nnopt: error: " << oneLine(e.what()) << " (see --help)\n";
    return 2;
  }
  try {
    ao.target_given = target_opt->count() > 0;
    if (*attack) return runAttack(ao);
    if (*classify) return runClassify(co, limit);
    if (*sweep) return cli::runSweepCommand(sweep_opts);
    if (*verify) return cli::runVerifyCommand(verify_opts);
    if (*verify_batch) return cli::runVerifyBatchCommand(batch_opts);
    if (*score) return cli::runScoreCommand(score_opts);
    if (*bounds_cmd) return cli::runBoundsCommand(bounds_opts);
    if (*robustness) return cli::runRobustnessCommand(robust_opts);
    if (*info) {
      nn::Network net = io::loadOnnx(io_.model);
      std::cout << io_.model << ": input " << nn::shapeToString(net.inputShape()) << ", "
                << net.summary() << ", " << net.numReluNeurons() << " ReLU neurons\n";
      return 0;
    }
  } catch (const Error& e) {
    std::cerr << "nnopt: error: " << oneLine(e.what()) << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "nnopt: error: out of memory\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "nnopt: error: " << oneLine(e.what()) << "\n";
    return 2;
  }
  return 0;
}
