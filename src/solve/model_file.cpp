#include "solve/model_file.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "CoinError.hpp"
#include "CoinLpIO.hpp"
#include "CoinMpsIO.hpp"
#include "OsiClpSolverInterface.hpp"
#include "core/error.h"
#include "core/message.h"

namespace nnopt::solve {

namespace detail {
// cbc_backend.cpp: loads m as a minimisation (sign * objective), returns sign.
double loadLinearModel(const model::MathModel& m, OsiClpSolverInterface& solver, const char* who);
}  // namespace detail

namespace {

bool endsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Names for the file: the model's where present and not seen before, else
// <prefix><index>. The strings own the storage `ptrs` points into.
struct Names {
  std::vector<std::string> strings;
  std::vector<const char*> ptrs;
};

template <class Item>
Names uniqueNames(const std::vector<Item>& items, const char* prefix) {
  Names n;
  std::unordered_set<std::string> seen;
  n.strings.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::string s = items[i].name;
    const bool ok = !s.empty() && s.find_first_of(" \t\r\n:<>=+-*^") == std::string::npos &&
                    s.size() <= 100 && !seen.count(s);
    if (!ok) s = prefix + std::to_string(i);
    while (seen.count(s)) s += "_";
    seen.insert(s);
    n.strings.push_back(std::move(s));
  }
  for (const auto& s : n.strings) n.ptrs.push_back(s.c_str());
  return n;
}

}  // namespace

void writeModelFile(const model::MathModel& m, const std::string& path) {
  const bool mps = endsWith(path, ".mps");
  const bool lp = endsWith(path, ".lp");
  require(mps || lp, "write: '" + oneLine(path) + "': the file name must end in .mps or .lp");
  require(!m.hasNonlinear(),
          "write: the model has nonlinear rows (complementarity, tanh/sigmoid) or a quadratic "
          "objective; MPS/LP files hold linear (mixed-integer) models: use relu='bigm'");
  {
    std::ofstream probe(path, std::ios::app);
    require(probe.good(), "write: cannot open '" + oneLine(path) + "' for writing");
  }
  OsiClpSolverInterface solver;
  const double sign = detail::loadLinearModel(m, solver, "write");
  for (int j = 0; j < m.numVars(); ++j)
    if (m.vars()[j].integer) solver.setInteger(j);
  Names cols = uniqueNames(m.vars(), "C");
  Names rows = uniqueNames(m.rows(), "R");
  const double offset = sign * m.objOffset();  // of the minimised objective
  try {
    if (mps) {
      CoinMpsIO w;
      w.setMpsData(*solver.getMatrixByCol(), COIN_DBL_MAX, solver.getColLower(),
                   solver.getColUpper(), solver.getObjCoefficients(),
                   solver.getColType(true), solver.getRowLower(), solver.getRowUpper(),
                   cols.ptrs.data(), rows.ptrs.data());
      // CoinMpsIO writes its offset as the objective row's RHS, which MPS
      // readers (CoinMpsIO, CPLEX, Gurobi) take as minus the constant term.
      w.setObjectiveOffset(-offset);
      require(w.writeMps(path.c_str(), 0, /*formatType=extra accuracy*/ 1, 1) == 0,
              "write: cannot write '" + oneLine(path) + "'");
    } else {
      CoinLpIO w;
      w.setLpDataWithoutRowAndColNames(*solver.getMatrixByRow(), solver.getColLower(),
                                       solver.getColUpper(), solver.getObjCoefficients(),
                                       solver.getColType(true), solver.getRowLower(),
                                       solver.getRowUpper());
      rows.strings.push_back("obj");
      rows.ptrs.clear();
      for (const auto& s : rows.strings) rows.ptrs.push_back(s.c_str());
      w.setLpDataRowAndColNames(rows.ptrs.data(), cols.ptrs.data());
      w.setObjectiveOffset(offset);  // CoinLpIO: written as "+ offset"
      w.setDecimals(17);
      w.setEpsilon(0.0);
      require(w.writeLp(path.c_str(), true) == 0, "write: cannot write '" + oneLine(path) + "'");
    }
  } catch (const CoinError& e) {
    throw Error("write: '" + oneLine(path) + "': " + e.message());
  }
}

model::MathModel readModelFile(const std::string& path) {
  const bool lp = endsWith(path, ".lp");
  require(lp || endsWith(path, ".mps") || endsWith(path, ".mps.gz"),
          "read: '" + oneLine(path) + "': the file name must end in .mps, .mps.gz or .lp");
  require(std::ifstream(path).good(), "read: cannot open '" + oneLine(path) + "'");
  model::MathModel m;
  try {
    const CoinPackedMatrix* matrix = nullptr;
    const double *clo, *cup, *obj, *rlo, *rup;
    const char* integer;
    double offset = 0.0;
    CoinMpsIO mpsr;
    CoinLpIO lpr;
    int nc = 0, nr = 0;
    auto colName = [&](int j) -> std::string {
      return lp ? lpr.columnName(j) : mpsr.columnName(j);
    };
    auto rowName = [&](int i) -> std::string { return lp ? lpr.rowName(i) : mpsr.rowName(i); };
    if (lp) {
      lpr.messageHandler()->setLogLevel(0);
      lpr.readLp(path.c_str());
      matrix = lpr.getMatrixByRow();
      nc = lpr.getNumCols();
      nr = lpr.getNumRows();
      clo = lpr.getColLower();
      cup = lpr.getColUpper();
      obj = lpr.getObjCoefficients();
      rlo = lpr.getRowLower();
      rup = lpr.getRowUpper();
      integer = lpr.integerColumns();
      offset = -lpr.objectiveOffset();  // the constant term (see writeModelFile)
    } else {
      mpsr.messageHandler()->setLogLevel(0);
      const int errors = mpsr.readMps(path.c_str(), "");
      require(errors == 0, "read: '" + oneLine(path) + "': " + std::to_string(errors) +
                               " errors in the MPS file");
      matrix = mpsr.getMatrixByRow();
      nc = mpsr.getNumCols();
      nr = mpsr.getNumRows();
      clo = mpsr.getColLower();
      cup = mpsr.getColUpper();
      obj = mpsr.getObjCoefficients();
      rlo = mpsr.getRowLower();
      rup = mpsr.getRowUpper();
      integer = mpsr.integerColumns();
      offset = mpsr.objectiveOffset();
    }
    auto fromCoin = [](double v) {
      return v >= COIN_DBL_MAX ? model::kInf : v <= -COIN_DBL_MAX ? -model::kInf : v;
    };
    for (int j = 0; j < nc; ++j) {
      const bool is_int = integer != nullptr && integer[j] != 0;
      m.addVar(fromCoin(clo[j]), fromCoin(cup[j]), is_int, colName(j));
      if (obj[j] != 0.0) m.objLinear().push_back({j, obj[j]});
    }
    for (int i = 0; i < nr; ++i) {
      const CoinShallowPackedVector r = matrix->getVector(i);
      std::vector<model::LinTerm> terms;
      terms.reserve(r.getNumElements());
      for (int k = 0; k < r.getNumElements(); ++k)
        terms.push_back({r.getIndices()[k], r.getElements()[k]});
      m.addRow(std::move(terms), fromCoin(rlo[i]), fromCoin(rup[i]), rowName(i));
    }
    // `offset` as CoinMpsIO keeps it: the objective row's RHS, minus the constant.
    m.setObjOffset(-offset);
  } catch (const CoinError& e) {
    throw Error("read: '" + oneLine(path) + "': " + e.message());
  }
  return m;
}

}  // namespace nnopt::solve
