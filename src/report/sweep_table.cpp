// The sweep table: the records arranged by network (ordered by size) and
// method, per-method time statistics and every method compared with MIP.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "core/error.h"
#include "report/sweep.h"
#include "report/sweep_internal.h"

namespace nnopt::report {

using sweep_detail::kNaN;

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

// ============================================================ table & summary
SweepTable buildTable(const std::vector<SweepRecord>& records,
                      const std::vector<std::string>& method_order, double exact_tol) {
  SweepTable t;
  t.exact_tol = exact_tol;
  std::vector<std::string> methods;
  auto addMethod = [&](const std::string& m) {
    if (std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
  };
  for (const auto& m : method_order) {
    try {
      addMethod(parseMethodSpec(m).name);
    } catch (const Error&) {
      addMethod(m);
    }
  }
  for (const auto& r : records) addMethod(r.method);
  t.methods = methods;
  // The reference exact column: CBC alone when it ran, else the per-network
  // choice, else the portfolio.
  for (const char* ref : {"mip", "exact", "portfolio"})
    if (std::find(methods.begin(), methods.end(), ref) != methods.end()) {
      t.mip = ref;
      break;
    }
  for (const auto& m : methods)
    if (m.rfind("nlp:", 0) == 0) {
      t.nlp = m;
      break;
    }
  if (t.nlp.empty())
    for (const auto& m : methods)
      if (m.rfind("mpec:", 0) == 0) {
        t.nlp = m;
        break;
      }

  // Rows: the last successful record per pair; errors only where nothing else.
  std::map<std::string, SweepTable::Row> rows;
  std::set<std::pair<std::string, std::string>> errored;
  for (const auto& r : records) {
    auto& row = rows[r.network];
    if (row.network.empty() || r.verdict != "error") {
      row.network = r.network;
      row.hidden_layers = r.hidden_layers;
      row.neurons = r.neurons;
      row.widths = r.widths;
    }
    if (r.verdict == "error")
      errored.insert({r.network, r.method});
    else
      row.by_method[r.method] = r;
  }
  for (auto& [name, row] : rows) t.rows.push_back(std::move(row));
  auto total = [](const SweepTable::Row& r) {
    return std::accumulate(r.widths.begin(), r.widths.end(), 0L);
  };
  std::sort(t.rows.begin(), t.rows.end(), [&](const auto& a, const auto& b) {
    if (a.hidden_layers != b.hidden_layers) return a.hidden_layers < b.hidden_layers;
    if (a.neurons != b.neurons) return a.neurons < b.neurons;
    if (total(a) != total(b)) return total(a) < total(b);
    return a.network < b.network;
  });

  auto get = [](const SweepTable::Row& row, const std::string& m) -> const SweepRecord* {
    auto it = row.by_method.find(m);
    return it == row.by_method.end() ? nullptr : &it->second;
  };
  for (auto& row : t.rows) {
    const SweepRecord* mip = t.mip.empty() ? nullptr : get(row, t.mip);
    const SweepRecord* nlp = t.nlp.empty() ? nullptr : get(row, t.nlp);
    row.false_robust = mip && nlp && mip->margin < 0 && !(nlp->margin < 0);
  }

  for (const auto& m : methods) {
    MethodStats s;
    s.method = m;
    std::vector<double> times;
    for (const auto& row : t.rows) {
      const SweepRecord* r = get(row, m);
      if (!r) {
        if (errored.count({row.network, m})) ++s.errors;
        continue;
      }
      ++s.runs;
      if (std::isfinite(r->time_s)) times.push_back(r->time_s);
      s.timeouts += r->timed_out;
      s.attacks += r->verdict == "attack_found";
    }
    if (!times.empty()) {
      s.median_time_s = median(times);
      s.mean_time_s = std::accumulate(times.begin(), times.end(), 0.0) / times.size();
      s.max_time_s = *std::max_element(times.begin(), times.end());
    }
    t.stats.push_back(s);
  }

  if (!t.mip.empty()) {
    for (const auto& row : t.rows)
      if (const SweepRecord* mip = get(row, t.mip)) {
        t.mip_unproven += !mip->proven;
        t.mip_no_incumbent += std::isnan(mip->margin);
      }
    for (const auto& m : methods) {
      if (m == t.mip) continue;
      Comparison c;
      c.method = m;
      for (const auto& row : t.rows) {
        const SweepRecord* a = get(row, t.mip);
        const SweepRecord* b = get(row, m);
        if (!a || !b) continue;
        ++c.networks;
        const std::string label = archLabel(row.hidden_layers, row.neurons, row.widths);
        const double ma = a->margin, mb = b->margin;
        const bool unproven = !a->proven;
        if (std::isfinite(ma) && std::isfinite(mb)) {
          ++c.comparable;
          if ((ma < 0) == (mb < 0)) {
            ++c.sign_agree;
            c.sign_agree_mip_unproven += unproven;
          } else {
            ++c.sign_disagree;
            c.sign_disagree_mip_unproven += unproven;
            c.disagree_networks.push_back(label);
          }
          if (std::abs(ma - mb) <= exact_tol) ++c.exact_agree;
          if (mb < ma - exact_tol) ++c.stronger_than_mip;
        }
        if (ma < 0 && !(mb < 0)) {
          ++c.false_robust;
          c.false_robust_networks.push_back(label);
        }
        if (b->time_s > a->time_s) ++c.slower_than_mip;
      }
      t.vs_mip.push_back(c);
    }
  }
  return t;
}

}  // namespace nnopt::report
