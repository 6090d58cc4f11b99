#pragma once
// Solver-neutral optimisation model: variables with bounds and integrality,
// rows = linear part + at most one nonlinear term, objective = linear +
// quadratic terms. Formulations build it; backends (solve/) translate it.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace nnopt::model {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Variable {
  double lb = -kInf;
  double ub = kInf;
  bool integer = false;
  double start = 0.0;  // initial point for NLP solvers
  std::string name;
};

struct LinTerm {
  int var;
  double coef;
};

// Nonlinear term that may be added to a row (coef * f(x_a, x_b; param)).
enum class NlKind {
  kNone,
  kProduct,   // x_a * x_b
  kTanh,      // tanh(x_a)
  kSigmoid,   // 1 / (1 + exp(-x_a))
  kFischerBurmeister,  // sqrt(x_a^2 + x_b^2 + 2*param) - x_a - x_b
  kChenMangasarian,    // x_a + x_b - sqrt((x_a - x_b)^2 + 4*param^2)   (= 2 * smoothed min)
};

struct NlTerm {
  NlKind kind = NlKind::kNone;
  int a = -1;
  int b = -1;
  double coef = 1.0;
  double param = 0.0;
};

// lo <= sum(terms) + nl <= hi
struct Row {
  std::vector<LinTerm> terms;
  NlTerm nl;
  double lo = -kInf;
  double hi = kInf;
  std::string name;
};

struct QuadTerm {  // coef * x_i * x_j (i may equal j)
  int i;
  int j;
  double coef;
};

enum class Sense { kMinimize, kMaximize };

class MathModel {
 public:
  int addVar(double lb, double ub, bool integer = false, std::string name = {});
  int addRow(std::vector<LinTerm> terms, double lo, double hi, std::string name = {});
  int addRow(Row row);

  std::vector<Variable>& vars() { return vars_; }
  const std::vector<Variable>& vars() const { return vars_; }
  std::vector<Row>& rows() { return rows_; }
  const std::vector<Row>& rows() const { return rows_; }

  // Objective: sense * (offset + sum c_j x_j + sum q x_i x_j).
  std::vector<LinTerm>& objLinear() { return obj_lin_; }
  const std::vector<LinTerm>& objLinear() const { return obj_lin_; }
  std::vector<QuadTerm>& objQuadratic() { return obj_quad_; }
  const std::vector<QuadTerm>& objQuadratic() const { return obj_quad_; }
  double objOffset() const { return obj_offset_; }
  void setObjOffset(double v) { obj_offset_ = v; }
  Sense sense() const { return sense_; }
  void setSense(Sense s) { sense_ = s; }

  int numVars() const { return static_cast<int>(vars_.size()); }
  int numRows() const { return static_cast<int>(rows_.size()); }
  int numIntegers() const;
  bool hasNonlinear() const;  // any nonlinear row term or quadratic objective

  double evalObjective(const std::vector<double>& x) const;
  double evalRow(int r, const std::vector<double>& x) const;
  // Largest violation of rows and variable bounds at x (0 when feasible).
  double maxViolation(const std::vector<double>& x) const;

 private:
  std::vector<Variable> vars_;
  std::vector<Row> rows_;
  std::vector<LinTerm> obj_lin_;
  std::vector<QuadTerm> obj_quad_;
  double obj_offset_ = 0.0;
  Sense sense_ = Sense::kMinimize;
};

double evalNl(const NlTerm& t, const std::vector<double>& x);

}  // namespace nnopt::model
