#include "attack/pgd.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "attack/multistart.h"
#include "core/error.h"
#include "nn/gradient.h"

namespace nnopt::attack {

namespace {

constexpr double kPi = 3.14159265358979323846;

void checkSpec(const nn::Network& net, const spec::OutputSpec& s) {
  require(!s.disjuncts.empty(), "pgd: the output condition has no disjuncts");
  for (const auto& conj : s.disjuncts)
    for (const auto& c : conj)
      for (const auto& [j, v] : c.coefs)
        require(j >= 0 && j < net.outputSize(), "pgd: output constraint refers to Y_" +
                                                    std::to_string(j) + " but the network has " +
                                                    std::to_string(net.outputSize()) + " outputs");
}

// Start point number r: the given starts first, then Sobol points and random
// corners alternately.
class StartGenerator {
 public:
  StartGenerator(const spec::Box& box, const PgdParams& p) : box_(box), p_(p), rng_(p.seed) {
    if (p.starts.empty()) given_.push_back(0.5 * (box.lo + box.hi));
    for (const auto& s : p.starts) {
      require(s.size() == box.size(), "pgd: a start point has " + std::to_string(s.size()) +
                                          " values, the box " + std::to_string(box.size()));
      given_.push_back(s.cwiseMax(box.lo).cwiseMin(box.hi));
    }
  }
  Eigen::VectorXd next() {
    if (used_ < given_.size()) return given_[used_++];
    const bool corner = (k_++ % 2) == 1;
    if (corner) {
      Eigen::VectorXd x(box_.size());
      for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = (rng_() & 1) ? box_.hi[i] : box_.lo[i];
      return x;
    }
    if (box_.size() <= 3667) {
      auto pts = sobolPoints(box_, 1, true, p_.seed, sobol_++);
      return pts.front();
    }
    std::uniform_real_distribution<double> u(0.0, 1.0);
    Eigen::VectorXd x(box_.size());
    for (Eigen::Index i = 0; i < x.size(); ++i)
      x[i] = box_.lo[i] + u(rng_) * (box_.hi[i] - box_.lo[i]);
    return x;
  }

 private:
  const spec::Box& box_;
  const PgdParams& p_;
  std::mt19937_64 rng_;
  std::vector<Eigen::VectorXd> given_;
  size_t used_ = 0;
  int k_ = 0;
  int sobol_ = 0;
};

}  // namespace

PgdResult pgdMinimize(const nn::Network& net, const spec::Box& box, const spec::OutputSpec& spec,
                      const PgdParams& p) {
  require(box.size() == net.inputSize(), "pgd: box has " + std::to_string(box.size()) +
                                             " dimensions, network input has " +
                                             std::to_string(net.inputSize()));
  require(!box.empty(), "pgd: the input box is empty (some lower bound > upper bound)");
  require(box.lo.allFinite() && box.hi.allFinite(), "pgd: the input box must be finite");
  require(p.restarts >= 1 && p.steps >= 0, "pgd: restarts must be >= 1 and steps >= 0");
  checkSpec(net, spec);
  Timer timer;
  Deadline deadline(p.time_limit, p.cancel);
  const int64_t n_out = net.outputSize();
  const Eigen::VectorXd width = box.hi - box.lo;
  const bool sign = p.step == PgdStep::kSign || (p.step == PgdStep::kAuto && box.size() > 16);
  // Output-space direction for conjunction conj at y (g_K = v): soft-max
  // weighted sum of the constraint coefficient vectors.
  auto direction = [&](const std::vector<spec::OutputConstraint>& conj, const Eigen::VectorXd& y,
                       double v) {
    Eigen::VectorXd c = Eigen::VectorXd::Zero(n_out);
    const double temp = p.smooth_max * std::abs(v);
    double wsum = 0.0;
    std::vector<double> w(conj.size());
    for (size_t k = 0; k < conj.size(); ++k) {
      const double e = conj[k].eval(y) - v;  // <= 0
      w[k] = temp > 0 ? std::exp(e / temp) : (e == 0.0 ? 1.0 : 0.0);
      wsum += w[k];
    }
    for (size_t k = 0; k < conj.size(); ++k)
      for (const auto& [j, a] : conj[k].coefs) c[j] += a * w[k] / wsum;
    return c;
  };
  PgdResult res;
  StartGenerator gen(box, p);

  auto consider = [&](const Eigen::VectorXd& x, const Eigen::VectorXd& y, double v, int d) {
    if (res.x.size() == 0 || v < res.value) {
      res.x = x;
      res.y = y;
      res.value = v;
      res.disjunct = d;
      res.reached = v <= p.target;
    }
  };

  for (int r = 0; r < p.restarts && !res.reached; ++r) {
    if (r > 0 && deadline.expired()) break;
    Eigen::VectorXd x = gen.next();
    ++res.restarts_run;
    for (int s = 0; s <= p.steps; ++s) {
      auto acts = net.forwardAll(x);
      const Eigen::VectorXd& y = acts.empty() ? x : acts.back();
      int d = -1, k = -1;
      double v = spec::specMargin(spec, y, &d, &k);
      consider(x, y, v, d);
      if (res.reached || s == p.steps || deadline.expired()) break;
      if (k < 0) break;  // a disjunct without constraints: nothing to descend
      Eigen::VectorXd g = nn::outputGradient(net, x, acts, direction(spec.disjuncts[d], y, v));
      const double t = p.steps > 1 ? static_cast<double>(s) / (p.steps - 1) : 0.0;
      const double alpha =
          p.step_final + 0.5 * (p.step_init - p.step_final) * (1.0 + std::cos(kPi * t));
      if (sign) {
        for (Eigen::Index i = 0; i < x.size(); ++i) {
          const double sg = g[i] > 0 ? 1.0 : (g[i] < 0 ? -1.0 : 0.0);
          x[i] = std::clamp(x[i] - alpha * width[i] * sg, box.lo[i], box.hi[i]);
        }
      } else {
        const Eigen::VectorXd wg = width.cwiseProduct(g);
        const double m = wg.cwiseAbs().maxCoeff();
        if (!(m > 0)) break;  // flat: no direction
        x = (x - (alpha / m) * width.cwiseProduct(wg)).cwiseMax(box.lo).cwiseMin(box.hi);
      }
      ++res.steps;
    }
  }
  res.time_s = timer.seconds();
  return res;
}

}  // namespace nnopt::attack
