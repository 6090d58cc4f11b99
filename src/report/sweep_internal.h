#pragma once
// What the pieces of the sweep (sweep*.cpp) share and nothing else: the JSON
// number rule, the width test, the table's method names and its first record.
// Not part of the report API (that is sweep.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/json.h"
#include "report/sweep.h"

namespace nnopt::report::sweep_detail {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();


inline bool isUniform(const std::vector<int>& w) {
  return std::all_of(w.begin(), w.end(), [&](int x) { return x == w.front(); });
}

// "MIP" (or "Exact" / "Portfolio" when that is the reference column) / "NLP"
// for the table's reference exact and nlp columns, else the method spec.
inline std::string displayName(const SweepTable& t, const std::string& m) {
  if (m == t.mip) return m == "mip" ? "MIP" : m == "exact" ? "Exact" : "Portfolio";
  if (m == t.nlp) return "NLP";
  return m;
}

// The first record of the table (the image, eps, target and time limit are
// the same in all of them); null for an empty table.
inline const SweepRecord* anyRecord(const SweepTable& t) {
  for (const auto& row : t.rows)
    if (!row.by_method.empty()) return &row.by_method.begin()->second;
  return nullptr;
}

}  // namespace nnopt::report::sweep_detail
