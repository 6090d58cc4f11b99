#include "attack/multistart.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <boost/random/sobol.hpp>
#include <boost/random/uniform_01.hpp>
#include <cmath>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

#include "attack/exact_policy.h"
#include "attack/local_pwl.h"
#include "core/error.h"
#include "core/log.h"

namespace nnopt::attack {

struct SobolStream::Impl {
  spec::Box box;
  boost::random::sobol gen;
  Eigen::VectorXd shift;
  double scale = 0.0;
  std::mutex mu;
  explicit Impl(const spec::Box& b) : box(b), gen(static_cast<unsigned>(b.size())) {}
};

SobolStream::SobolStream(const spec::Box& box, bool scramble, uint64_t seed) {
  const int d = static_cast<int>(box.size());
  require(d > 0, "sobol: empty box");
  require(d <= 3667, "sobol: at most 3667 dimensions are supported (got " + std::to_string(d) + ")");
  impl_ = std::make_unique<Impl>(box);
  // The first Sobol point is the origin (a box corner); skip it.
  impl_->gen.discard(static_cast<uintmax_t>(d));
  impl_->shift = Eigen::VectorXd::Zero(d);
  if (scramble) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int i = 0; i < d; ++i) impl_->shift[i] = u(rng);
  }
  impl_->scale = 1.0 / (static_cast<double>(impl_->gen.max()) + 1.0);
}

SobolStream::~SobolStream() = default;

Eigen::VectorXd SobolStream::next() {
  auto& I = *impl_;
  std::lock_guard<std::mutex> lock(I.mu);
  const Eigen::Index d = I.box.size();
  Eigen::VectorXd p(d);
  for (Eigen::Index i = 0; i < d; ++i) {
    double u = static_cast<double>(I.gen()) * I.scale + I.shift[i];
    u -= std::floor(u);
    p[i] = I.box.lo[i] + u * (I.box.hi[i] - I.box.lo[i]);
  }
  return p;
}

std::vector<Eigen::VectorXd> sobolPoints(const spec::Box& box, int n, bool scramble,
                                         uint64_t seed, int skip) {
  SobolStream stream(box, scramble, seed);
  for (int k = 0; k < skip; ++k) stream.next();
  std::vector<Eigen::VectorXd> pts;
  pts.reserve(n);
  for (int k = 0; k < n; ++k) pts.push_back(stream.next());
  return pts;
}

namespace {

// One worker's local solver: the native one is built once per thread and
// reused for every start it takes; the Ipopt path builds its model per start.
class StartSolver {
 public:
  StartSolver(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
              int true_label, int target_label, const MarginAttackParams& p)
      : net_(net), box_(box), x0_(x0), t_(true_label), g_(target_label), p_(p) {
    p_.method = Method::kNlp;
    if (resolveLocal(p.local, net) == LocalSolver::kPwl && !p.label_mpec)
      pwl_ = std::make_unique<PwlMarginLocal>(net, box, x0, true_label, target_label, p_);
  }
  MarginAttackResult solve(const Eigen::VectorXd& start, double time_limit,
                           const std::atomic<bool>* cancel, int explore) {
    if (pwl_) return pwl_->solveFrom(start, time_limit, cancel, explore);
    MarginAttackParams sp = p_;
    sp.nlp_start = start;
    sp.time_limit = time_limit;
    return marginAttack(net_, box_, x0_, t_, g_, sp);
  }

 private:
  const nn::Network& net_;
  const spec::Box& box_;
  const Eigen::VectorXd& x0_;
  int t_, g_;
  MarginAttackParams p_;
  std::unique_ptr<PwlMarginLocal> pwl_;
};

}  // namespace

MultiStartResult multiStartAttack(const nn::Network& net, const spec::Box& box,
                                  const Eigen::VectorXd& x0, int true_label, int target_label,
                                  const MultiStartParams& p) {
  require(p.starts >= 1, "--starts must be >= 1");
  require(!(p.time_budget <= 0), "the multi-start time budget must be > 0");
  Timer timer;
  Deadline deadline(p.nlp.time_limit, p.nlp.cancel);
  Deadline budget(p.time_budget);
  MultiStartResult res;
  res.margins.assign(p.starts, std::numeric_limits<double>::quiet_NaN());

  // Start 0 is the clean image (when asked), then the Sobol points in order,
  // generated as the workers take them.
  SobolStream sobol(box, p.scramble, p.seed);
  int next = 0;  // guarded by mu
  std::mutex mu;
  auto take = [&](Eigen::VectorXd& pt) {
    std::lock_guard<std::mutex> lock(mu);
    if (next >= p.starts) return -1;
    const int k = next++;
    pt = (k == 0 && p.first_start_is_clean) ? x0 : sobol.next();
    return k;
  };

  int threads = p.threads > 0 ? p.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, p.starts);

  std::atomic<bool> stop{false};
  bool have_best = false;
  int best_k = -1;
  std::exception_ptr failure;

  auto worker = [&]() {
    try {
      StartSolver solver(net, box, x0, true_label, target_label, p.nlp);
      Eigen::VectorXd pt;
      while (!stop.load() && !deadline.expired() && !budget.expired()) {
        const int k = take(pt);
        if (k < 0) break;
        const bool clean = k == 0 && p.first_start_is_clean;
        MarginAttackResult r =
            solver.solve(pt, deadline.remaining(), &stop, clean ? -1 : p.sobol_explore);
        std::lock_guard<std::mutex> lock(mu);
        ++res.starts_run;
        res.margins[k] = r.margin;
        if (r.verdict == Verdict::kAttackFound &&
            (res.first_attack_start < 0 || k < res.first_attack_start))
          res.first_attack_start = k;
        // The best start: smallest replayed margin, the lowest index on ties.
        const bool better =
            !have_best || (!std::isnan(r.margin) &&
                           (std::isnan(res.best.margin) || r.margin < res.best.margin ||
                            (r.margin == res.best.margin && k < best_k)));
        if (better) {
          res.best = std::move(r);
          best_k = k;
          have_best = true;
        }
        if (p.early_stop && res.first_attack_start >= 0) stop = true;
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
  };
  // The caller's cancel (Ctrl-C in Python) reaches the native walks through
  // `stop`: a watcher copies it over every 20 ms while the starts run.
  std::atomic<bool> workers_done{false};
  std::thread watcher;
  if (p.nlp.cancel != nullptr)
    watcher = std::thread([&] {
      while (!workers_done.load()) {
        if (p.nlp.cancel->load()) {
          stop = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  workers_done = true;
  if (watcher.joinable()) watcher.join();
  if (failure) std::rethrow_exception(failure);
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
    const ExactChoice choice =
        p.exact == Method::kMip || p.exact == Method::kPortfolio
            ? ExactChoice{p.exact, -1, std::string(methodName(p.exact)) + ": asked for"}
            : chooseExactMethod(net, box, p.policy);
    mp.method = choice.method;
    // The screen's best replayed point starts CBC and the BaB (an incumbent
    // below the clean image's margin from the first node).
    if (a.screen.best.adversarial.size() == x0.size()) {
      mp.mip_start = a.screen.best.adversarial;
      mp.nlp_start = a.screen.best.adversarial;
    }
    a.result = marginAttack(net, box, x0, true_label, target_label, mp);
    a.mip_ran = true;
    a.exact_method = methodName(choice.method);
    a.exact_why = choice.why;
    a.decided_by = a.exact_method;
    a.reason = "no attack in " + std::to_string(a.screen.starts_run) +
               " NLP starts (best margin " + std::to_string(a.screen.best.margin) +
               "); escalated to the exact " + a.exact_method + " (" + choice.why + ")";
  }
  a.result.time_s = timer.seconds();
  a.result.method = "auto(" + a.decided_by + ")";
  return a;
}

}  // namespace nnopt::attack
