#include "python/jobs.h"

#include <fmt/core.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/log.h"
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
  if (job.time_limit <= 0) throw Error("--time-limit must be > 0");
  p.time_limit = job.time_limit;
  p.bounds = bounds::parseBoundsLevel(job.bounds);
  if (!(job.lp_time_limit >= 0)) throw Error("--lp-time-limit must be >= 0");
  p.lp_time_limit = job.lp_time_limit;
  p.threads = 1;
  bool warm = m == "portfolio";
  if (job.warm_start) {
    if (*job.warm_start != "nlp" && *job.warm_start != "none")
      throw Error("--warm-start must be nlp or none (got '" + *job.warm_start + "')");
    warm = *job.warm_start == "nlp";
  }
  p.mip_warm_start = warm;
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

}  // namespace

MarginJobResult runMarginJob(const nn::Network& net_in, const MarginJob& job) {
  if (job.mean.has_value() != job.stdv.has_value())
    throw Error("--mean and --std must be given together");
  nn::Network net = net_in;
  if (job.mean) {
    if (!(*job.stdv > 0)) throw Error("--std must be > 0");
    net = net.withInputNormalization(*job.mean, *job.stdv);
  }
  if (job.image.size() != net.inputSize())
    throw Error(fmt::format("{}: image has {} pixels but {} expects {} inputs", job.input_name,
                            job.image.size(), job.model_name, net.inputSize()));
  if (!(job.eps >= 0) || !std::isfinite(job.eps))
    throw Error(fmt::format("--eps must be a finite number >= 0 (got {})", job.eps));
  if (!job.image.allFinite() || job.image.minCoeff() < 0 || job.image.maxCoeff() > 1)
    throw Error(job.input_name + ": pixels must be finite numbers in [0, 1]");
  MarginJobResult out;
  out.logits_clean = net.forward(job.image);
  out.predicted_clean = argmaxOf(out.logits_clean);
  const int n_out = static_cast<int>(net.outputSize());
  out.label = job.label ? *job.label : out.predicted_clean;
  if (out.label < 0 || out.label >= n_out)
    throw Error(fmt::format("label {} out of range: {} has {} outputs", out.label, job.model_name,
                            n_out));
  const std::vector<int> targets = parseTargets(job.target, out.logits_clean, out.label);
  const attack::MarginAttackParams p = paramsFor(job);
  const spec::Box box = spec::linfBall(job.image, job.eps, 0.0, 1.0);

  Timer total;
  std::vector<attack::MarginAttackResult> results;
  for (int t : targets) results.push_back(attack::marginAttack(net, box, job.image, out.label, t, p));
  out.result = combine(results);
  out.result.time_s = total.seconds();

  nlohmann::json j = report::toJson(out.result);
  j["model"] = job.model_name;
  j["input"] = job.input_name;
  j["eps"] = job.eps;
  j["norm"] = "linf";
  j["target_mode"] = job.target;
  j["predicted_label_clean"] = out.predicted_clean;
  j["logits_clean"] = report::vec(out.logits_clean);
  if (job.mean) {
    j["mean"] = *job.mean;
    j["std"] = *job.stdv;
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
  out.json = std::move(j);
  return out;
}

}  // namespace nnopt::pyjobs
