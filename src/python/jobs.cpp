#include "python/jobs.h"

#include <fmt/core.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "io/normalization.h"
#include "report/json.h"
#include "spec/property.h"

namespace nnopt::pyjobs {
namespace {

int argmaxOf(const Eigen::VectorXd& v) {
  Eigen::Index a = 0;
  v.maxCoeff(&a);
  return static_cast<int>(a);
}

std::vector<int> parseTargets(const std::string& target, const Eigen::VectorXd& clean, int label) {
  const int n_out = static_cast<int>(clean.size());
  std::vector<int> targets;
  if (target == "runner-up") {
    targets.push_back(attack::runnerUp(clean, label));
    return targets;
  }
  if (target == "all") {
    for (int k = 0; k < n_out; ++k)
      if (k != label) targets.push_back(k);
    return targets;
  }
  int k = -1;
  try {
    size_t pos = 0;
    k = std::stoi(target, &pos);
    if (pos != target.size()) k = -1;
  } catch (...) {
    k = -1;
  }
  if (k < 0 || k >= n_out || k == label)
    throw Error(fmt::format(
        "--target must be runner-up, all or a class in [0,{}] other than the label {} (got '{}')",
        n_out - 1, label, target));
  targets.push_back(k);
  return targets;
}

bool warmStartIsNlp(const std::optional<std::string>& w, bool dflt);

// Time limit, bounds level and LP budget, as the CLI checks them; one thread.
template <class Job, class Params>
void setLimits(const Job& job, Params& p) {
  if (job.time_limit <= 0) throw Error("--time-limit must be > 0");
  p.time_limit = job.time_limit;
  p.bounds = bounds::parseBoundsLevel(job.bounds);
  if (!(job.lp_time_limit >= 0)) throw Error("--lp-time-limit must be >= 0");
  p.lp_time_limit = job.lp_time_limit;
  p.mip_ideal_cuts = job.mip_cuts;
  p.threads = 1;
}

attack::MarginAttackParams paramsFor(const MarginJob& job) {
  attack::MarginAttackParams p;
  p.nlp_form = attack::parseNlpForm(job.nlp_form);
  const std::string& m = job.method;
  if (m == "mip") {
    p.method = attack::Method::kMip;
  } else if (m == "nlp") {
    p.method = attack::Method::kNlp;
  } else if (m == "mpec") {
    p.method = attack::Method::kNlp;
    p.nlp_form = attack::parseNlpForm(job.mpec_form);
    p.label_mpec = true;
  } else if (m == "bab") {
    p.method = attack::Method::kBab;
    p.bab_decide = job.early_stop;
  } else if (m == "portfolio") {
    p.method = attack::Method::kPortfolio;
  } else {
    throw Error("--method must be mip, nlp, mpec, bab or portfolio (got '" + m + "')");
  }
  setLimits(job, p);
  p.mip_warm_start = warmStartIsNlp(job.warm_start, m == "portfolio");
  return p;
}

// The verdict over all targets, as the CLI reports it: an attack on any
// target wins (the smallest replayed margin), robust only when every target is.
attack::MarginAttackResult combine(const std::vector<attack::MarginAttackResult>& results) {
  size_t best = 0;
  for (size_t t = 1; t < results.size(); ++t) {
    const double mb = results[best].margin, mt = results[t].margin;
    if (std::isnan(mb) || (!std::isnan(mt) && mt < mb)) best = t;
  }
  attack::MarginAttackResult r = results[best];
  bool any_attack = false, all_robust = true, any_timeout = false;
  for (const auto& x : results) {
    any_attack |= x.verdict == attack::Verdict::kAttackFound;
    all_robust &= x.verdict == attack::Verdict::kRobust;
    any_timeout |= x.verdict == attack::Verdict::kTimeout;
  }
  if (any_attack) {
    for (const auto& x : results)
      if (x.verdict == attack::Verdict::kAttackFound &&
          (r.verdict != attack::Verdict::kAttackFound || x.margin < r.margin))
        r = x;
  } else if (all_robust) {
    r.verdict = attack::Verdict::kRobust;
    for (const auto& x : results) r.bound = std::min(r.bound, x.bound);
  } else {
    r.verdict = any_timeout ? attack::Verdict::kTimeout : attack::Verdict::kNoAttackFound;
  }
  return r;
}

// The network with the normalisation folded in, the clean logits and the label.
struct Prepared {
  nn::Network net;
  Eigen::VectorXd clean;
  int predicted = -1;
  int label = -1;
};

template <class Job>
Prepared prepare(const nn::Network& net_in, const Job& job) {
  Prepared p{io::withNormalization(net_in, job.mean, job.stdv), {}, -1, -1};
  if (job.image.size() != p.net.inputSize())
    throw Error(fmt::format("{}: image has {} pixels but {} expects {} inputs", job.input_name,
                            job.image.size(), job.model_name, p.net.inputSize()));
  if (!job.image.allFinite() || job.image.minCoeff() < 0 || job.image.maxCoeff() > 1)
    throw Error(job.input_name + ": pixels must be finite numbers in [0, 1]");
  p.clean = p.net.forward(job.image);
  p.predicted = argmaxOf(p.clean);
  const int n_out = static_cast<int>(p.net.outputSize());
  p.label = job.label ? *job.label : p.predicted;
  if (p.label < 0 || p.label >= n_out)
    throw Error(fmt::format("label {} out of range: {} has {} outputs", p.label, job.model_name,
                            n_out));
  return p;
}

// The fields every attack JSON of the CLI ends with.
template <class Job>
void addRunFields(nlohmann::json& j, const Job& job, const Prepared& p) {
  j["model"] = job.model_name;
  j["input"] = job.input_name;
  j["predicted_label_clean"] = p.predicted;
  j["logits_clean"] = report::vec(p.clean);
  if (!job.mean.empty()) {
    j["mean"] = report::numbers(job.mean);
    j["std"] = report::numbers(job.stdv);
  }
}

bool warmStartIsNlp(const std::optional<std::string>& w, bool dflt) {
  if (!w) return dflt;
  if (*w != "nlp" && *w != "none") throw Error("--warm-start must be nlp or none (got '" + *w + "')");
  return *w == "nlp";
}

}  // namespace

MarginJobResult runMarginJob(const nn::Network& net_in, const MarginJob& job,
                             const std::atomic<bool>* cancel) {
  const Prepared pr = prepare(net_in, job);  // the CLI checks the image before eps
  if (!(job.eps >= 0) || !std::isfinite(job.eps))
    throw Error(fmt::format("--eps must be a finite number >= 0 (got {})", job.eps));
  const nn::Network& net = pr.net;
  MarginJobResult out;
  out.logits_clean = pr.clean;
  out.predicted_clean = pr.predicted;
  out.label = pr.label;
  const std::vector<int> targets = parseTargets(job.target, out.logits_clean, out.label);
  attack::MarginAttackParams p = paramsFor(job);
  p.cancel = cancel;
  const spec::Box box = spec::linfBall(job.image, job.eps, 0.0, 1.0);

  Timer total;
  std::vector<attack::MarginAttackResult> results;
  for (int t : targets) {
    if (cancel != nullptr && cancel->load() && !results.empty()) break;  // Ctrl-C: the caller raises
    results.push_back(attack::marginAttack(net, box, job.image, out.label, t, p));
  }
  out.result = combine(results);
  out.result.time_s = total.seconds();

  nlohmann::json j = report::toJson(out.result);
  j["eps"] = job.eps;
  j["norm"] = "linf";
  j["target_mode"] = job.target;
  addRunFields(j, job, pr);
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
  out.json = std::move(j);
  return out;
}

MinDistJobResult runMinDistJob(const nn::Network& net_in, const MinDistJob& job,
                               const std::atomic<bool>* cancel) {
  const Prepared pr = prepare(net_in, job);
  const int n_out = static_cast<int>(pr.net.outputSize());
  if (job.target < 0 || job.target >= n_out || job.target == pr.label)
    throw Error(fmt::format("--target must be a class in [0,{}] other than the label {} for "
                            "min-distortion (got '{}')",
                            n_out - 1, pr.label, job.target));
  attack::MinDistortionParams p;
  p.method = attack::parseMinDistortionMethod(job.method);
  p.norm = attack::parseNorm(job.norm);
  if (!std::isfinite(job.gap)) throw Error("--gap must be a finite number");
  p.gap = job.gap;
  if (job.max_eps) {
    if (!(*job.max_eps >= 0)) throw Error("--max-eps must be >= 0");
    p.max_eps = *job.max_eps;
  }
  setLimits(job, p);
  p.nlp_warm_start = warmStartIsNlp(job.warm_start, true);
  p.cancel = cancel;

  MinDistJobResult out;
  out.result = attack::minDistortionAttack(pr.net, job.image, pr.label, job.target, p);
  out.label = pr.label;
  out.predicted_clean = pr.predicted;
  out.logits_clean = pr.clean;
  out.json = report::toJson(out.result);
  addRunFields(out.json, job, pr);
  return out;
}

}  // namespace nnopt::pyjobs
