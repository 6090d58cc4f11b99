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

nlohmann::json summaryJson(const std::vector<EpsSummary>& s) {
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
  return j;
}

std::string summaryCsv(const std::vector<EpsSummary>& s) {
  std::string out =
      "eps,images,misclassified,certified,attacked,unknown,clean_accuracy,certified_accuracy,"
      "attacked_upper,solved,inferred,upgraded,median_time_s,mean_time_s,max_time_s\n";
  for (const auto& e : s)
    out += fmt::format("{},{},{},{},{},{},{:.6g},{:.6g},{:.6g},{},{},{},{},{},{}\n", epsKey(e.eps),
                       e.images, e.misclassified, e.certified, e.attacked, e.unknown,
                       e.clean_accuracy, e.certified_accuracy, e.attacked_upper, e.solved,
                       e.inferred, e.upgraded, csvNumber(e.median_time_s),
                       csvNumber(e.mean_time_s), csvNumber(e.max_time_s));
  return out;
}

}  // namespace nnopt::robust
