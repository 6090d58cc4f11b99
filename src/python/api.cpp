#include "python/api.h"

#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "bounds/lp_tighten.h"
#include "io/vnnlib.h"
#include "core/append.h"
#include "core/error.h"
#include "core/log.h"
#include "python/interruptible.h"
#include "report/sweep.h"
#include "spec/property.h"
#include "verify/vnncomp.h"

namespace py = pybind11;

namespace nnopt::pyapi {

namespace {

py::dict tableDict(const bounds::BoundTable& t, double time_s) {
  py::dict d;
  d["method"] = t.method;
  d["time_s"] = time_s;
  d["lo"] = t.lo;
  d["hi"] = t.hi;
  d["in_lo"] = t.in_lo;
  d["in_hi"] = t.in_hi;
  return d;
}

// The tables of `methods` (interval, crown, lp) over one box, as `nnopt
// bounds` computes them: lp starts from the CROWN table and its time
// includes CROWN's.
py::list boundTables(const nn::Network& net, const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                     const std::vector<std::string>& methods, double lp_time_limit) {
  require(lo.size() == net.inputSize() && hi.size() == net.inputSize(),
          "bounds: the box has " + std::to_string(lo.size()) + " values, the network " +
              std::to_string(net.inputSize()) + " inputs");
  const spec::Box box{lo, hi};
  std::vector<bounds::MethodTable> outs;
  std::atomic<bool> cancel{false};
  pyjobs::runInterruptible(
      [&] { outs = bounds::boundsForMethods(net, box, methods, lp_time_limit, &cancel); }, cancel);
  py::list res;
  for (const auto& o : outs) {
    py::dict d = tableDict(o.table, o.time_s);
    if (o.lp) {
      py::dict l;
      l["lps"] = o.lp->lps;
      l["lps_failed"] = o.lp->lps_failed;
      l["iterations"] = o.lp->iterations;
      l["neurons"] = o.lp->neurons;
      l["stabilised"] = o.lp->stabilised;
      l["timed_out"] = o.lp->timed_out;
      l["time_s"] = o.lp->time_s;
      d["lp"] = l;
    } else {
      d["lp"] = py::none();
    }
    res.append(d);
  }
  return res;
}

py::dict sweep(report::SweepParams p, const std::function<void(py::dict)>& progress) {
  report::SweepProgressFn fn;
  if (progress)
    fn = [&progress](const report::SweepProgress& pr) {
      py::gil_scoped_acquire gil;
      py::dict d;
      d["done"] = pr.done;
      d["to_run"] = pr.to_run;
      d["skipped"] = pr.skipped;
      d["elapsed_s"] = pr.elapsed_s;
      d["eta_s"] = pr.eta_s;
      d["record"] = pr.record ? py::cast(report::toJson(*pr.record).dump()) : py::none();
      progress(d);
    };
  report::SweepOutcome out;
  // The sweep runs on a worker thread (progress takes the GIL there); Ctrl-C
  // cancels the run in flight, which is then not recorded (SweepParams::cancel).
  std::atomic<bool> cancel{false};
  p.cancel = &cancel;
  pyjobs::runInterruptible([&] { out = report::runSweep(p, fn); }, cancel);
  py::dict d;
  py::list recs;
  for (const auto& row : out.table.rows)  // networks by size, then the methods' column order
    for (const auto& m : out.table.methods)
      if (auto it = row.by_method.find(m); it != row.by_method.end())
        recs.append(report::toJson(it->second).dump());
  d["records"] = recs;
  d["ran"] = out.ran;
  d["skipped"] = out.skipped;
  d["dropped_partial_line"] = out.dropped_partial_line;
  d["files"] = out.files;
  d["summary"] = report::summaryLines(out.table);
  return d;
}

py::list instances(const std::string& instances_csv, const std::string& reference_csv) {
  const auto list = instances_csv.empty() ? verify::instancesFromReference(reference_csv)
                                          : verify::readInstancesCsv(instances_csv);
  py::list out;
  for (const auto& i : list) out.append(py::make_tuple(i.onnx, i.vnnlib, i.timeout_s));
  return out;
}

}  // namespace

void bind(py::module_& m) {
  m.def("bound_tables", &boundTables);
  py::class_<report::SweepParams>(m, "SweepParams")
      .def(py::init<>())
      .def_readwrite("models", &report::SweepParams::models)
      .def_readwrite("dataset", &report::SweepParams::dataset)
      .def_readwrite("index", &report::SweepParams::index)
      .def_readwrite("eps", &report::SweepParams::eps)
      .def_readwrite("methods", &report::SweepParams::methods)
      .def_readwrite("starts", &report::SweepParams::starts)
      .def_readwrite("early_stop", &report::SweepParams::early_stop)
      .def_readwrite("threads", &report::SweepParams::threads)
      .def_readwrite("time_limit", &report::SweepParams::time_limit)
      .def_readwrite("out_dir", &report::SweepParams::out_dir)
      .def_readwrite("resume", &report::SweepParams::resume)
      .def_readwrite("mean", &report::SweepParams::mean)
      .def_readwrite("std", &report::SweepParams::stdv)
      .def_readwrite("label", &report::SweepParams::label)
      .def_readwrite("target", &report::SweepParams::target);
  m.def("sweep", &sweep);
  m.def("read_instances", &instances);
  m.def("read_results_csv", [](const std::string& path) {
    py::list out;
    for (const auto& r : verify::readResultsCsv(path))
      out.append(py::make_tuple(r.network, r.property, r.result, r.time_s));
    return out;
  });
  m.def("append_result_row", [](const std::string& path, const std::string& network,
                                const std::string& property, const std::string& result,
                                double time_s) {
    verify::appendResultRow(path, verify::ResultRow{network, property, result, time_s});
  });
  m.def("score", [](const std::string& results, const std::string& reference) {
    const auto s = verify::scoreResults(verify::readResultsCsv(results),
                                        verify::readReferenceCsv(reference));
    py::dict d;
    d["total"] = s.total;
    d["correct_sat"] = s.correct_sat;
    d["correct_unsat"] = s.correct_unsat;
    d["wrong"] = s.wrong;
    d["unsolved"] = s.unsolved;
    d["missing"] = s.missing;
    d["unchecked"] = s.unchecked;
    d["wrong_list"] = s.wrong_list;
    d["total_time_s"] = s.total_time_s;
    d["median_time_s"] = s.median_time_s;
    d["median_solved_time_s"] = s.median_solved_time_s;
    return d;
  });
  m.def("base_name", &verify::baseName);
  m.def("drop_partial_last_line", &dropPartialLastLine);
  m.def("vnnlib_boxes", [](const std::string& path, int64_t nin, int64_t nout) {
    const spec::Property prop = io::loadVnnlib(path, nin, nout);
    py::list out;
    for (const auto& b : prop.input_boxes) out.append(py::make_tuple(b.lo, b.hi));
    return out;
  });
}

}  // namespace nnopt::pyapi
