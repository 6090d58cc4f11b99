#include "verify/falsify.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "attack/pgd.h"
#include "core/log.h"
#include "verify/disjunct_model.h"

namespace nnopt::verify {

namespace {

using Eigen::VectorXd;

// Among m uniform points of the box, the one with the smallest margin of s.
VectorXd bestUniform(const nn::Network& net, const spec::Box& box, const spec::OutputSpec& s,
                     int m, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  VectorXd x(box.size()), best;
  double best_v = std::numeric_limits<double>::infinity();
  for (int k = 0; k < std::max(1, m); ++k) {
    for (Eigen::Index i = 0; i < x.size(); ++i)
      x[i] = box.lo[i] + u(rng) * (box.hi[i] - box.lo[i]);
    const double v = spec::specMargin(s, net.forward(x));
    if (best.size() == 0 || v < best_v) best_v = v, best = x;
  }
  return best;
}

// Start k of a round: uniform in the box (the best of `uniform_pool` uniform
// points by the target's margin), a random corner, or (when there is one) the
// target's best point moved by up to a quarter of the box width.
VectorXd drawStart(const nn::Network& net, const spec::Box& box, const spec::OutputSpec& s,
                   const VectorXd& best, int k, int uniform_pool, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  VectorXd x(box.size());
  const int kind = best.size() ? k % 3 : k % 2;
  if (kind == 0 && uniform_pool > 1) return bestUniform(net, box, s, uniform_pool, rng);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double w = box.hi[i] - box.lo[i];
    if (kind == 0)
      x[i] = box.lo[i] + u(rng) * w;
    else if (kind == 1)
      x[i] = (rng() & 1) ? box.hi[i] : box.lo[i];
    else
      x[i] = std::clamp(best[i] + (u(rng) - 0.5) * 0.5 * w, box.lo[i], box.hi[i]);
  }
  return x;
}

// Sleeps so that the work so far is `duty` of the elapsed time.
void pace(double duty, double worked_s, const Timer& t, const Deadline& d) {
  if (!(duty < 1.0) || duty <= 0.0) return;
  const double until = worked_s / duty;
  while (t.seconds() < until && !d.expired())  // small naps: a cancel is seen within 20 ms
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::clamp(static_cast<int>(1000 * (until - t.seconds())), 1, 20)));
}

}  // namespace

std::vector<VectorXd> sampledStarts(const nn::Network& net, const spec::Box& box,
                                    const spec::OutputSpec& spec, int samples, int keep,
                                    uint64_t seed, const Deadline* deadline) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::pair<double, VectorXd>> top;  // the best `keep`, unsorted
  VectorXd x(box.size());
  for (int k = 0; k < samples && keep > 0; ++k) {
    if (deadline && (k & 63) == 63 && deadline->expired()) break;
    for (Eigen::Index i = 0; i < x.size(); ++i)
      x[i] = box.lo[i] + u(rng) * (box.hi[i] - box.lo[i]);
    const double v = spec::specMargin(spec, net.forward(x));
    if (std::isnan(v)) continue;
    if (static_cast<int>(top.size()) < keep) {
      top.push_back({v, x});
      continue;
    }
    auto worst = std::max_element(top.begin(), top.end(),
                                  [](const auto& a, const auto& b) { return a.first < b.first; });
    if (v < worst->first) *worst = {v, x};
  }
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<VectorXd> out;
  for (auto& [v, p] : top) out.push_back(std::move(p));
  return out;
}

FalsifyResult falsifyCase(const nn::Network& net, const spec::Box& box,
                          const spec::OutputSpec& unsafe, const std::vector<int>& open,
                          const bounds::BoundTable& bt, const VectorXd& x_best,
                          const FalsifyParams& p, const AcceptFn& accept) {
  Timer timer;
  Deadline deadline(p.time_limit, p.cancel);
  FalsifyResult res;
  if (open.empty()) return res;
  std::mt19937_64 rng(p.seed * 0x9E3779B97F4A7C15ull + 1);
  // Target 0: the open disjunction; target 1 + i: disjunct open[i] alone.
  const int n_targets = static_cast<int>(open.size()) + (open.size() > 1 ? 1 : 0);
  std::vector<spec::OutputSpec> specs;
  if (open.size() > 1) {
    spec::OutputSpec all;
    for (int d : open) all.disjuncts.push_back(unsafe.disjuncts[d]);
    specs.push_back(std::move(all));
  }
  for (int d : open) specs.push_back({{unsafe.disjuncts[d]}});
  // Best point and margin per open disjunct (for the starts and the walk).
  std::vector<VectorXd> best(open.size(), x_best);
  std::vector<double> best_v(open.size(), std::numeric_limits<double>::infinity());
  auto note = [&](const VectorXd& x) {
    const VectorXd y = net.forward(x);
    for (size_t i = 0; i < open.size(); ++i) {
      const double v = conjunctionMargin(unsafe.disjuncts[open[i]], y);
      if (v < best_v[i]) best_v[i] = v, best[i] = x;
      res.best_margin = std::min(res.best_margin, v);
    }
  };
  if (x_best.size()) note(x_best);
  double worked = 0.0;
  for (int r = 0; r < p.max_rounds && !deadline.expired(); ++r) {
    Timer work;
    const int target = r % n_targets;
    const int di = open.size() > 1 ? target - 1 : 0;  // -1: the whole disjunction
    attack::PgdParams pp;
    pp.restarts = std::max(1, p.restarts);
    pp.steps = p.steps;
    pp.seed = p.seed + static_cast<uint64_t>(r);
    pp.cancel = p.cancel;
    pp.time_limit = deadline.remaining();
    const VectorXd& from = di >= 0 ? best[di] : x_best;
    for (int k = 0; k < pp.restarts; ++k)
      pp.starts.push_back(drawStart(net, box, specs[target], from, k, p.uniform_pool, rng));
    const auto pr = attack::pgdMinimize(net, box, specs[target], pp);
    ++res.rounds;
    res.pgd_starts += pr.restarts_run;
    if (pr.x.size()) {
      note(pr.x);
      if (pr.reached && accept(pr.x, di >= 0 ? "pgd-targeted" : "pgd")) {
        res.found = true;
        res.by = di >= 0 ? "pgd-targeted" : "pgd";
        break;
      }
    }
    if (p.local_every > 0 && (r + 1) % p.local_every == 0 && !deadline.expired()) {
      // The walk on the most promising disjunct, from its best point.
      const size_t i = static_cast<size_t>(
          std::min_element(best_v.begin(), best_v.end()) - best_v.begin());
      if (best[i].size()) {
        NlpFalsifyParams np;
        np.cancel = p.cancel;
        np.time_limit = std::min(p.local_time_max_s, deadline.remaining());
        const auto nr = nlpFalsify(net, box, bt, unsafe.disjuncts[open[i]], best[i], np);
        ++res.local_runs;
        if (nr.x.size()) {
          note(nr.x);
          if (nr.margin <= 0.0 && accept(nr.x, "local")) {
            res.found = true;
            res.by = "local";
            break;
          }
        }
      }
    }
    worked += work.seconds();
    pace(p.duty, worked, timer, deadline);
  }
  res.time_s = timer.seconds();
  return res;
}

std::function<Eigen::VectorXd(const spec::Box&, const spec::OutputSpec&)> pgdNodeAttack(
    const nn::Network& net, int steps) {
  return [&net, steps](const spec::Box& box, const spec::OutputSpec& live) {
    attack::PgdParams pp;
    pp.restarts = 1;
    pp.steps = std::max(0, steps);
    pp.step_init = 0.25;
    pp.step_final = 0.01;
    pp.starts = {0.5 * (box.lo + box.hi)};
    return attack::pgdMinimize(net, box, live, pp).x;
  };
}

}  // namespace nnopt::verify
