#include "model/math_model.h"

#include <algorithm>
#include <cmath>

namespace nnopt::model {

int MathModel::addVar(double lb, double ub, bool integer, std::string name) {
  Variable v;
  v.lb = lb;
  v.ub = ub;
  v.integer = integer;
  v.start = std::clamp(0.0, lb, ub);
  v.name = std::move(name);
  vars_.push_back(std::move(v));
  return static_cast<int>(vars_.size()) - 1;
}

int MathModel::addRow(std::vector<LinTerm> terms, double lo, double hi, std::string name) {
  Row r;
  r.terms = std::move(terms);
  r.lo = lo;
  r.hi = hi;
  r.name = std::move(name);
  return addRow(std::move(r));
}

int MathModel::addRow(Row row) {
  rows_.push_back(std::move(row));
  return static_cast<int>(rows_.size()) - 1;
}

int MathModel::numIntegers() const {
  return static_cast<int>(std::count_if(vars_.begin(), vars_.end(),
                                        [](const Variable& v) { return v.integer; }));
}

bool MathModel::hasNonlinear() const {
  if (!obj_quad_.empty()) return true;
  return std::any_of(rows_.begin(), rows_.end(),
                     [](const Row& r) { return r.nl.kind != NlKind::kNone; });
}

double evalNl(const NlTerm& t, const std::vector<double>& x) {
  switch (t.kind) {
    case NlKind::kNone: return 0.0;
    case NlKind::kProduct: return t.coef * x[t.a] * x[t.b];
    case NlKind::kTanh: return t.coef * std::tanh(x[t.a]);
    case NlKind::kSigmoid: return t.coef / (1.0 + std::exp(-x[t.a]));
    case NlKind::kFischerBurmeister: {
      double a = x[t.a], b = x[t.b];
      return t.coef * (std::sqrt(a * a + b * b + 2 * t.param) - a - b);
    }
    case NlKind::kChenMangasarian: {
      double a = x[t.a], b = x[t.b];
      return t.coef * (a + b - std::sqrt((a - b) * (a - b) + 4 * t.param * t.param));
    }
  }
  return 0.0;
}

double MathModel::evalRow(int r, const std::vector<double>& x) const {
  const Row& row = rows_[r];
  double v = 0;
  for (const auto& t : row.terms) v += t.coef * x[t.var];
  return v + evalNl(row.nl, x);
}

double MathModel::evalObjective(const std::vector<double>& x) const {
  double v = obj_offset_;
  for (const auto& t : obj_lin_) v += t.coef * x[t.var];
  for (const auto& q : obj_quad_) v += q.coef * x[q.i] * x[q.j];
  return v;
}

double MathModel::maxViolation(const std::vector<double>& x) const {
  double viol = 0;
  for (size_t j = 0; j < vars_.size(); ++j) {
    viol = std::max(viol, vars_[j].lb - x[j]);
    viol = std::max(viol, x[j] - vars_[j].ub);
  }
  for (int r = 0; r < numRows(); ++r) {
    double v = evalRow(r, x);
    viol = std::max(viol, rows_[r].lo - v);
    viol = std::max(viol, v - rows_[r].hi);
  }
  return viol;
}

}  // namespace nnopt::model
