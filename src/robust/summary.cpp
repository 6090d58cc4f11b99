// Per-eps summary of robustness records: accuracies, counts, solve times.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "report/json.h"
#include "robust/robustness.h"

namespace nnopt::robust {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string csvNumber(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : ""; }

double medianOf(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::vector<EpsSummary> summarize(const std::vector<RobustRecord>& records,
                                  const std::vector<double>& eps) {
  // The last record of every (image, eps) counts.
  std::map<std::string, std::map<long, const RobustRecord*>> by_eps;
  for (const auto& r : records) by_eps[epsKey(r.row.eps)][r.index] = &r;
  std::vector<EpsSummary> out;
  for (double e : eps) {
    EpsSummary s;
    s.eps = e;
    std::vector<double> times;
    for (const auto& [index, rp] : by_eps[epsKey(e)]) {
      const EpsRow& w = rp->row;
      ++s.images;
      if (w.verdict == "misclassified") ++s.misclassified;
      if (w.verdict == "attacked") ++s.attacked;
      if (w.verdict == "certified") ++s.certified;
      if (w.verdict == "unknown") ++s.unknown;
      if (w.inferred && !w.upgraded) ++s.inferred;
      if (w.upgraded) ++s.upgraded;
      if (w.solved) {
        ++s.solved;
        times.push_back(w.time_s);
      }
    }
    if (s.images > 0) {
      const double n = s.images;
      s.clean_accuracy = (n - s.misclassified) / n;
      s.certified_accuracy = s.certified / n;
      s.attacked_upper = 1.0 - (s.attacked + s.misclassified) / n;
    }
    if (!times.empty()) {
      s.median_time_s = medianOf(times);
      s.mean_time_s = std::accumulate(times.begin(), times.end(), 0.0) / double(times.size());
      s.max_time_s = *std::max_element(times.begin(), times.end());
    }
    out.push_back(s);
  }
  return out;
}

RadiusSummary summarizeRadii(const std::vector<RadiusRecord>& radii) {
  std::map<long, const RadiusRecord*> last;  // the last line of every image counts
  for (const auto& r : radii) last[r.index] = &r;
  RadiusSummary s;
  std::vector<double> lo, hi;
  for (const auto& [index, rp] : last) {
    if (rp->predicted != rp->label) continue;  // misclassified: radius 0, not counted
    const RadiusResult& w = rp->radius;
    ++s.images;
    s.closed += w.closed;
    s.probes += w.probes;
    lo.push_back(w.certified_lo);
    if (std::isfinite(w.attacked_hi)) hi.push_back(w.attacked_hi);
  }
  s.attacked = static_cast<int>(hi.size());
  auto mean = [](const std::vector<double>& v) {
    return v.empty() ? kNaN : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  };
  s.median_lo = medianOf(lo);
  s.mean_lo = mean(lo);
  s.median_hi = medianOf(hi);
  s.mean_hi = mean(hi);
  return s;
}

nlohmann::json summaryJson(const std::vector<EpsSummary>& s,
                           const std::optional<RadiusSummary>& radius) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& e : s)
    rows.push_back({{"eps", e.eps},
                    {"images", e.images},
                    {"misclassified", e.misclassified},
                    {"certified", e.certified},
                    {"attacked", e.attacked},
                    {"unknown", e.unknown},
                    {"clean_accuracy", e.clean_accuracy},
                    {"certified_accuracy", e.certified_accuracy},
                    {"attacked_upper", e.attacked_upper},
                    {"solved", e.solved},
                    {"inferred", e.inferred},
                    {"upgraded", e.upgraded},
                    {"median_time_s", report::num(e.median_time_s)},
                    {"mean_time_s", report::num(e.mean_time_s)},
                    {"max_time_s", report::num(e.max_time_s)}});
  nlohmann::json j;
  j["per_eps"] = rows;
  j["notes"] = {
      {"certified_accuracy", "certified / images: a lower bound of the robust accuracy"},
      {"attacked_upper",
       "1 - (attacked + misclassified) / images: an upper bound of the robust accuracy"},
      {"inferred", "rows decided from another eps without a solve (monotonicity)"},
      {"upgraded", "rows solved to unknown, then decided by another eps"},
      {"times", "solve time of the rows solved at this eps"}};
  if (radius && radius->images > 0) {
    const RadiusSummary& r = *radius;
    j["radius"] = {{"images", r.images},
                   {"closed", r.closed},
                   {"attacked", r.attacked},
                   {"median_certified_lo", report::num(r.median_lo)},
                   {"mean_certified_lo", report::num(r.mean_lo)},
                   {"median_attacked_hi", report::num(r.median_hi)},
                   {"mean_attacked_hi", report::num(r.mean_hi)},
                   {"probes", r.probes}};
    j["notes"]["radius"] =
        "per correctly classified image: certified_lo <= minimal adversarial L-inf distance <= "
        "attacked_hi (a replayed counterexample); closed: width <= the tolerance; attacked_hi "
        "statistics over the images with a counterexample";
  }
  return j;
}

std::string summaryCsv(const std::vector<EpsSummary>& s,
                       const std::optional<RadiusSummary>& radius) {
  // The radius columns (one value for the whole run, repeated on every row)
  // only when a radius was computed, so runs without --radius keep their shape.
  const bool rad = radius && radius->images > 0;
  std::string out =
      "eps,images,misclassified,certified,attacked,unknown,clean_accuracy,certified_accuracy,"
      "attacked_upper,solved,inferred,upgraded,median_time_s,mean_time_s,max_time_s";
  std::string rad_cells;
  if (rad) {
    out += ",radius_images,radius_closed,radius_median_certified_lo,radius_mean_certified_lo,"
           "radius_median_attacked_hi,radius_mean_attacked_hi";
    rad_cells = fmt::format(",{},{},{},{},{},{}", radius->images, radius->closed,
                            csvNumber(radius->median_lo), csvNumber(radius->mean_lo),
                            csvNumber(radius->median_hi), csvNumber(radius->mean_hi));
  }
  out += "\n";
  for (const auto& e : s)
    out += fmt::format("{},{},{},{},{},{},{:.6g},{:.6g},{:.6g},{},{},{},{},{},{}{}\n", epsKey(e.eps),
                       e.images, e.misclassified, e.certified, e.attacked, e.unknown,
                       e.clean_accuracy, e.certified_accuracy, e.attacked_upper, e.solved,
                       e.inferred, e.upgraded, csvNumber(e.median_time_s),
                       csvNumber(e.mean_time_s), csvNumber(e.max_time_s), rad_cells);
  return out;
}

}  // namespace nnopt::robust
