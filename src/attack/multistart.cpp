#include "attack/multistart.h"

#include <algorithm>
#include <atomic>
#include <boost/random/sobol.hpp>
#include <boost/random/uniform_01.hpp>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace nnopt::attack {

std::vector<Eigen::VectorXd> sobolPoints(const spec::Box& box, int n, bool scramble,
                                         uint64_t seed, int skip) {
  const int d = static_cast<int>(box.size());
  require(d > 0, "sobol: empty box");
  require(d <= 3667, "sobol: at most 3667 dimensions are supported (got " + std::to_string(d) + ")");
  boost::random::sobol gen(d);
  // The first Sobol point is the origin (a box corner); skip it.
  gen.discard(static_cast<uintmax_t>(d) * (1 + static_cast<uintmax_t>(skip)));
  Eigen::VectorXd shift = Eigen::VectorXd::Zero(d);
  if (scramble) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int i = 0; i < d; ++i) shift[i] = u(rng);
  }
  const double scale = 1.0 / (static_cast<double>(gen.max()) + 1.0);
  std::vector<Eigen::VectorXd> pts;
  pts.reserve(n);
  for (int k = 0; k < n; ++k) {
    Eigen::VectorXd p(d);
    for (int i = 0; i < d; ++i) {
      double u = static_cast<double>(gen()) * scale + shift[i];
      u -= std::floor(u);
      p[i] = box.lo[i] + u * (box.hi[i] - box.lo[i]);
    }
    pts.push_back(std::move(p));
  }
  return pts;
}

MultiStartResult multiStartAttack(const nn::Network& net, const spec::Box& box,
                                  const Eigen::VectorXd& x0, int true_label, int target_label,
                                  const MultiStartParams& p) {
  require(p.starts >= 1, "--starts must be >= 1");
  Timer timer;
  Deadline deadline(p.nlp.time_limit);
  MultiStartResult res;
  res.margins.assign(p.starts, std::numeric_limits<double>::quiet_NaN());

  std::vector<Eigen::VectorXd> starts;
  if (p.first_start_is_clean) starts.push_back(x0);
  auto sob = sobolPoints(box, p.starts - static_cast<int>(starts.size()), p.scramble, p.seed);
  starts.insert(starts.end(), sob.begin(), sob.end());

  int threads = p.threads > 0 ? p.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, p.starts);

  std::atomic<int> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  bool have_best = false;
  std::vector<MarginAttackResult> per_start(p.starts);
  std::vector<char> ran(p.starts, 0);

  auto worker = [&]() {
    while (!stop.load()) {
      int k = next.fetch_add(1);
      if (k >= p.starts || deadline.expired()) break;
      MarginAttackParams sp = p.nlp;
      sp.method = Method::kNlp;
      sp.nlp_start = starts[k];
      sp.time_limit = deadline.remaining();
      MarginAttackResult r = marginAttack(net, box, x0, true_label, target_label, sp);
      std::lock_guard<std::mutex> lock(mu);
      ran[k] = 1;
      res.margins[k] = r.margin;
      per_start[k] = std::move(r);
      if (p.early_stop && per_start[k].verdict == Verdict::kAttackFound) stop = true;
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  // Deterministic summary: by start index.
  for (int k = 0; k < p.starts; ++k) {
    if (!ran[k]) continue;
    ++res.starts_run;
    const auto& r = per_start[k];
    if (r.verdict == Verdict::kAttackFound && res.first_attack_start < 0) res.first_attack_start = k;
    bool better = !have_best ||
                  (!std::isnan(r.margin) && (std::isnan(res.best.margin) || r.margin < res.best.margin));
    if (better) {
      res.best = r;
      have_best = true;
    }
  }
  if (!have_best) {
    res.best.true_label = true_label;
    res.best.target_label = target_label;
    res.best.verdict = Verdict::kTimeout;
    res.best.status = "no start finished";
  }
  res.time_s = timer.seconds();
  res.starts_per_s = res.time_s > 0 ? res.starts_run / res.time_s : 0.0;
  res.best.time_s = res.time_s;
  return res;
}

AutoResult autoAttack(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                      int true_label, int target_label, const AutoParams& p) {
  Timer timer;
  AutoResult a;
  // The screen exists to find an attack fast: it always stops at the first
  // replayed one (the seed's "stop at the first confirmed attack").
  MultiStartParams screen = p.screen;
  screen.early_stop = true;
  a.screen = multiStartAttack(net, box, x0, true_label, target_label, screen);
  if (a.screen.best.verdict == Verdict::kAttackFound) {
    a.result = a.screen.best;
    a.decided_by = "nlp-screen";
    a.reason = "start " + std::to_string(a.screen.first_attack_start) +
               " of the multi-start NLP found a replayed attack";
  } else if (!net.isPiecewiseLinear()) {
    a.result = a.screen.best;
    a.decided_by = "nlp-screen";
    a.reason = "no attack in " + std::to_string(a.screen.starts_run) +
               " NLP starts; the network has smooth activations, so no exact MIP exists";
  } else {
    MarginAttackParams mp = p.mip;
    mp.method = Method::kMip;
    a.result = marginAttack(net, box, x0, true_label, target_label, mp);
    a.mip_ran = true;
    a.decided_by = "mip";
    a.reason = "no attack in " + std::to_string(a.screen.starts_run) +
               " NLP starts (best margin " + std::to_string(a.screen.best.margin) +
               "); escalated to the exact MIP";
  }
  a.result.time_s = timer.seconds();
  a.result.method = "auto(" + a.decided_by + ")";
  return a;
}

}  // namespace nnopt::attack
