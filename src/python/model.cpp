#include "python/model.h"

#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "bounds/lp_tighten.h"
#include "core/error.h"
#include "formulate/embed.h"
#include "model/math_model.h"
#include "nn/network.h"
#include "python/interruptible.h"
#include "solve/model_file.h"
#include "solve/solver.h"

namespace py = pybind11;

namespace nnopt::pymodel {

namespace {

using IntArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using DblArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

struct EmbeddedNetwork {
  nn::Network net;
  formulate::Embedding e;
  formulate::ComplForm form = formulate::ComplForm::kNone;
  bool complementarity = false;
  bool continuation = false;  // Scholtes / FB / CM: solved along a parameter schedule
};

struct ModelCore {
  model::MathModel m;
  std::vector<EmbeddedNetwork> nets;
};

std::string indexName(const std::string& base, int64_t flat, const std::vector<int64_t>& shape) {
  if (shape.empty()) return base;
  std::vector<int64_t> idx(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    idx[k] = flat % shape[k];
    flat /= shape[k];
  }
  std::string s = base;
  for (int64_t i : idx) s += "_" + std::to_string(i);
  return s;
}

int addVars(ModelCore& c, const DblArray& lb, const DblArray& ub, bool integer,
            const std::string& name, const std::vector<int64_t>& shape, const DblArray& start) {
  const auto n = lb.size();
  require(ub.size() == n && start.size() == n, "add_vars: bound arrays of different sizes");
  const int first = c.m.numVars();
  const double* l = lb.data();
  const double* u = ub.data();
  const double* s = start.data();
  for (py::ssize_t i = 0; i < n; ++i) {
    require(!std::isnan(l[i]) && !std::isnan(u[i]), "add_vars: NaN bound");
    require(l[i] <= u[i], "add_vars: lower bound " + std::to_string(l[i]) + " > upper bound " +
                              std::to_string(u[i]) + " (entry " + std::to_string(i) + ")");
    const int v = c.m.addVar(l[i], u[i], integer, indexName(name, i, shape));
    c.m.vars()[v].start = std::clamp(s[i], l[i], u[i]);
  }
  return first;
}

// Rows r = 0..len(lo)-1: lo[r] <= sum_{k in [indptr[r], indptr[r+1])} vals[k] x[cols[k]] <= hi[r].
int addRows(ModelCore& c, const IntArray& indptr, const IntArray& cols, const DblArray& vals,
            const DblArray& lo, const DblArray& hi, const std::string& name) {
  const auto nr = lo.size();
  require(hi.size() == nr && indptr.size() == nr + 1 && cols.size() == vals.size(),
          "add_rows: inconsistent row arrays");
  const int64_t* p = indptr.data();
  const int64_t* j = cols.data();
  const double* a = vals.data();
  require(p[0] == 0 && p[nr] == cols.size(), "add_rows: bad row pointers");
  const int first = c.m.numRows();
  const int nv = c.m.numVars();
  for (py::ssize_t r = 0; r < nr; ++r) {
    require(p[r] <= p[r + 1], "add_rows: bad row pointers");
    std::vector<model::LinTerm> terms;
    terms.reserve(p[r + 1] - p[r]);
    for (int64_t k = p[r]; k < p[r + 1]; ++k) {
      require(j[k] >= 0 && j[k] < nv, "add_rows: variable index out of range");
      require(std::isfinite(a[k]), "add_rows: non-finite coefficient");
      terms.push_back({static_cast<int>(j[k]), a[k]});
    }
    const double l = lo.data()[r], h = hi.data()[r];
    require(!std::isnan(l) && !std::isnan(h), "add_rows: NaN right-hand side");
    c.m.addRow(std::move(terms), l, h, nr == 1 ? name : name + "_" + std::to_string(r));
  }
  return first;
}

void setObjective(ModelCore& c, const IntArray& cols, const DblArray& vals, double offset,
                  bool maximize) {
  require(cols.size() == vals.size(), "objective: inconsistent arrays");
  require(std::isfinite(offset), "objective: non-finite constant");
  auto& obj = c.m.objLinear();
  obj.clear();
  c.m.objQuadratic().clear();
  for (py::ssize_t k = 0; k < cols.size(); ++k) {
    require(cols.data()[k] >= 0 && cols.data()[k] < c.m.numVars(),
            "objective: variable index out of range");
    require(std::isfinite(vals.data()[k]), "objective: non-finite coefficient");
    obj.push_back({static_cast<int>(cols.data()[k]), vals.data()[k]});
  }
  c.m.setObjOffset(offset);
  c.m.setSense(maximize ? model::Sense::kMaximize : model::Sense::kMinimize);
}

formulate::ComplForm parseForm(const std::string& s) {
  using formulate::ComplForm;
  if (s == "product") return ComplForm::kProduct;
  if (s == "inequality") return ComplForm::kInequality;
  if (s == "scholtes") return ComplForm::kRelaxed;
  if (s == "fb") return ComplForm::kFischerBurmeister;
  if (s == "cm") return ComplForm::kChenMangasarian;
  throw Error("add_network: unknown complementarity form '" + s +
              "' (product, inequality, scholtes, fb, cm)");
}

py::dict addNetwork(ModelCore& c, const nn::Network& net, const IntArray& inputs,
                    const std::string& relu, const std::string& form, const std::string& bounds,
                    double lp_time_limit, const std::string& prefix) {
  require(inputs.size() == net.inputSize(),
          "add_network: " + std::to_string(inputs.size()) + " input values given, the network has " +
              std::to_string(net.inputSize()) + " inputs");
  require(relu == "bigm" || relu == "complementarity",
          "add_network: unknown relu encoding '" + relu + "'");
  const bounds::BoundsLevel level = bounds::parseBoundsLevel(bounds);
  formulate::EmbedOptions opt;
  opt.name_prefix = prefix;
  opt.relu = relu == "bigm" ? formulate::ReluEncoding::kBigM
                            : formulate::ReluEncoding::kComplementarity;
  EmbeddedNetwork en;
  en.net = net;
  if (opt.relu == formulate::ReluEncoding::kComplementarity) {
    en.complementarity = true;
    en.form = parseForm(form);
    en.continuation = en.form == formulate::ComplForm::kRelaxed ||
                      en.form == formulate::ComplForm::kFischerBurmeister ||
                      en.form == formulate::ComplForm::kChenMangasarian;
    opt.compl_form = en.form;
    opt.compl_param = 1.0;
  }
  spec::Box box;
  box.lo.resize(net.inputSize());
  box.hi.resize(net.inputSize());
  for (int64_t i = 0; i < net.inputSize(); ++i) {
    const int64_t v = inputs.data()[i];
    require(v >= 0 && v < c.m.numVars(), "add_network: input variable index out of range");
    opt.input_vars.push_back(static_cast<int>(v));
    box.lo[i] = c.m.vars()[v].lb;
    box.hi[i] = c.m.vars()[v].ub;
    require(std::isfinite(box.lo[i]) && std::isfinite(box.hi[i]),
            "add_network: input " + std::to_string(i) + " ('" + c.m.vars()[v].name +
                "') has an infinite bound; the network's inputs must be bounded (big-M and "
                "complementarity bounds come from them)");
  }
  bounds::BoundTable bt;
  {
    py::gil_scoped_release nogil;
    bt = bounds::tightestBounds(net, box, level, lp_time_limit);
    en.e = formulate::embedNetwork(c.m, net, bt, opt);
  }
  py::dict d;
  std::vector<int64_t> outs(en.e.output_vars.begin(), en.e.output_vars.end());
  d["outputs"] = outs;
  d["binaries"] = en.e.binaries;
  d["unstable_relus"] = en.e.unstable_relus;
  d["stable_relus"] = en.e.stable_relus;
  d["output_lo"] = bt.lo.empty() ? box.lo : bt.lo.back();
  d["output_hi"] = bt.hi.empty() ? box.hi : bt.hi.back();
  d["bounds"] = bt.method;
  c.nets.push_back(std::move(en));
  return d;
}

// Variable::start of every embedded network's variables from a forward pass
// of its inputs' starts (so an NLP starts at a consistent point).
void setNetworkStarts(ModelCore& c) {
  for (const auto& en : c.nets) {
    Eigen::VectorXd x0(en.e.input_vars.size());
    for (size_t i = 0; i < en.e.input_vars.size(); ++i)
      x0[i] = c.m.vars()[en.e.input_vars[i]].start;
    formulate::setStartFromInput(c.m, en.net, en.e, x0);
  }
}

struct Progress {
  std::mutex mu;
  bool changed = false;
  double incumbent = std::numeric_limits<double>::quiet_NaN();
  double bound = -std::numeric_limits<double>::infinity();
  int step = 0, steps = 0;
};

py::dict solve(ModelCore& c, const std::string& solver, double time_limit, int threads,
               bool verbose, const std::function<void(py::dict)>& callback) {
  require(solver == "cbc" || solver == "clp" || solver == "ipopt",
          "solve: unknown solver '" + solver + "' (cbc, clp, ipopt)");
  require(time_limit > 0, "solve: time_limit must be > 0");
  require(threads >= 1, "solve: threads must be >= 1");
  for (size_t k = 0; k < c.nets.size(); ++k) {
    if (solver != "ipopt" && c.nets[k].complementarity)
      throw Error("solve: network " + std::to_string(k) +
                  " uses relu='complementarity' (a nonlinear model); solve it with "
                  "solver='ipopt', or embed it with relu='bigm' for cbc");
  }
  if (solver == "ipopt")
    require(c.m.numIntegers() == 0,
            "solve: the model has " + std::to_string(c.m.numIntegers()) +
                " integer variables (relu='bigm' binaries or integer=True); Ipopt cannot "
                "handle them: use solver='cbc' or relu='complementarity'");
  if (solver == "cbc" || solver == "clp")
    require(!c.m.hasNonlinear(), "solve: the model is nonlinear; use solver='ipopt'");
  setNetworkStarts(c);

  std::atomic<bool> cancel{false};
  Progress prog;
  solve::SolveParams sp;
  sp.time_limit = time_limit;
  sp.threads = threads;
  sp.verbose = verbose;
  sp.cancel = &cancel;
  if (callback)
    sp.mip_progress = [&prog, &c](const double* x, double bound) {
      // x: a new incumbent in model columns (its objective in model terms)
      const double obj = x ? c.m.evalObjective(std::vector<double>(x, x + c.m.numVars()))
                           : std::numeric_limits<double>::quiet_NaN();
      std::lock_guard<std::mutex> lock(prog.mu);
      if (x) prog.incumbent = obj;
      prog.bound = bound;
      prog.changed = true;
    };
  solve::Solution sol;
  double compl_param = 0;
  auto job = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    if (solver == "cbc") {
      sol = solve::solveMip(c.m, sp);
      return;
    }
    if (solver == "clp") {
      sol = solve::solveLp(c.m, sp);
      return;
    }
    // Ipopt; a Scholtes / smoothing parameter 1, 1e-2, ..., 1e-8, each solve
    // started from the previous primal-dual point (as the attack's NLP).
    bool continuation = false;
    for (const auto& en : c.nets) continuation |= en.continuation;
    std::vector<double> params = {0.0};
    if (continuation) params = {1.0, 1e-2, 1e-4, 1e-6, 1e-8};
    {
      std::lock_guard<std::mutex> lock(prog.mu);
      prog.steps = static_cast<int>(params.size());
    }
    sp.start.clear();
    for (const auto& v : c.m.vars()) sp.start.push_back(v.start);
    long iterations = 0;
    for (size_t k = 0; k < params.size(); ++k) {
      for (const auto& en : c.nets)
        if (en.continuation) formulate::setComplementarityParam(c.m, en.e, en.form, params[k]);
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      sp.time_limit = time_limit - elapsed;
      if (sp.time_limit <= 0 || cancel.load()) break;
      solve::Solution s = solve::solveNlp(c.m, sp);
      iterations += s.iterations;
      compl_param = params[k];
      const bool usable = s.hasPoint();
      if (usable || k == 0) sol = std::move(s);
      {
        std::lock_guard<std::mutex> lock(prog.mu);
        prog.step = static_cast<int>(k + 1);
        prog.incumbent = sol.objective;
        prog.changed = true;
      }
      if (!usable) break;
      sp.start = sol.x;
      sp.warm_z_l = sol.z_l;
      sp.warm_z_u = sol.z_u;
      sp.warm_lambda = sol.lambda;
    }
    sol.iterations = iterations;
    sol.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto poll = [&] {
    if (!callback) return;
    py::dict d;
    {
      std::lock_guard<std::mutex> lock(prog.mu);
      if (!prog.changed) return;
      prog.changed = false;
      d["bound"] = prog.bound;
      d["objective"] = prog.incumbent;
      d["step"] = prog.step;
      d["steps"] = prog.steps;
    }
    callback(d);
  };
  pyjobs::runInterruptible(job, cancel, poll);

  py::dict d;
  d["status"] = solve::statusName(sol.status);
  d["message"] = sol.message;
  d["objective"] = sol.objective;
  d["bound"] = sol.bound;
  d["time_s"] = sol.time_s;
  d["iterations"] = sol.iterations;
  d["x"] = Eigen::VectorXd(
      Eigen::Map<const Eigen::VectorXd>(sol.x.data(), static_cast<Eigen::Index>(sol.x.size())));
  double viol = 0;
  if (sol.hasPoint())
    for (const auto& en : c.nets) viol = std::max(viol, formulate::complementarityViolation(en.e, sol.x));
  d["complementarity_violation"] = viol;
  d["complementarity_param"] = compl_param;
  d["max_violation"] = sol.hasPoint() ? c.m.maxViolation(sol.x) : std::nan("");
  return d;
}

}  // namespace

void bind(py::module_& m) {
  py::class_<ModelCore>(m, "ModelCore")
      .def(py::init<>())
      .def_property_readonly("num_vars", [](const ModelCore& c) { return c.m.numVars(); })
      .def_property_readonly("num_rows", [](const ModelCore& c) { return c.m.numRows(); })
      .def_property_readonly("num_integers", [](const ModelCore& c) { return c.m.numIntegers(); })
      .def_property_readonly("nonlinear", [](const ModelCore& c) { return c.m.hasNonlinear(); })
      .def("add_vars", &addVars)
      .def("add_rows", &addRows)
      .def("set_objective", &setObjective)
      .def("add_network", &addNetwork)
      .def("var_bounds",
           [](const ModelCore& c, const IntArray& idx) {
             Eigen::VectorXd lo(idx.size()), hi(idx.size());
             for (py::ssize_t k = 0; k < idx.size(); ++k) {
               const int64_t v = idx.data()[k];
               require(v >= 0 && v < c.m.numVars(), "variable index out of range");
               lo[k] = c.m.vars()[v].lb;
               hi[k] = c.m.vars()[v].ub;
             }
             return py::make_tuple(lo, hi);
           })
      .def("solve", &solve, py::arg("solver"), py::arg("time_limit"), py::arg("threads"),
           py::arg("verbose"), py::arg("callback"))
      .def("write",
           [](const ModelCore& c, const std::string& path) {
             py::gil_scoped_release nogil;
             solve::writeModelFile(c.m, path);
           })
      .def_static("read", [](const std::string& path) {
        ModelCore c;
        {
          py::gil_scoped_release nogil;
          c.m = solve::readModelFile(path);
        }
        return c;
      });
}

}  // namespace nnopt::pymodel
