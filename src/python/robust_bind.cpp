#include "python/robust_bind.h"

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "python/interruptible.h"
#include "robust/robustness.h"

namespace py = pybind11;

namespace nnopt::pyrobust {
namespace {

// The CLI's run: the same checks, files and summary. progress(dict) is
// called with the GIL held after every image. The run goes on a worker
// thread (runInterruptible): Ctrl-C sets RobustParams::cancel, the image in
// flight is dropped (results.jsonl keeps the finished images whole, so
// resume=True goes on from there) and KeyboardInterrupt is raised.
py::dict run(const std::string& model, const std::string& dataset, const std::vector<double>& eps,
             long limit, const std::vector<long>& indices, const std::vector<double>& mean,
             const std::vector<double>& stdv, double time_limit, const std::string& method,
             bool infer, const std::string& out_dir, bool resume, const std::string& command,
             bool radius, double radius_tol, int radius_probes,
             const std::function<void(py::dict)>& progress) {
  robust::RunParams p;
  p.model = model;
  p.dataset = dataset;
  p.robust.eps = eps;
  p.limit = limit;
  p.indices = indices;
  p.mean = mean;
  p.stdv = stdv;
  p.robust.time_limit = time_limit;
  p.robust.method = robust::parseExactMethod(method);
  p.robust.infer = infer;
  p.out_dir = out_dir;
  p.resume = resume;
  p.command = command;
  p.robust.radius = radius;
  p.robust.radius_tol = radius_tol;
  p.robust.radius_probes = radius_probes;
  std::atomic<bool> cancel{false};
  p.robust.cancel = &cancel;
  robust::RunProgressFn fn;
  if (progress)
    fn = [&progress](const robust::RunProgress& pr) {
      py::gil_scoped_acquire gil;
      py::dict d;
      d["images_done"] = pr.images_done;
      d["images_todo"] = pr.images_todo;
      d["images_skipped"] = pr.images_skipped;
      d["certified"] = pr.certified;
      d["attacked"] = pr.attacked;
      d["unknown"] = pr.unknown;
      d["misclassified"] = pr.misclassified;
      d["inferred"] = pr.inferred;
      d["elapsed_s"] = pr.elapsed_s;
      d["eta_s"] = pr.eta_s;
      d["index"] = pr.index;
      progress(d);
    };
  robust::RunOutcome out;
  pyjobs::runInterruptible([&] { out = robust::runRobustness(p, fn); }, cancel);
  py::dict d;
  d["summary_json"] = robust::summaryJson(out.summary, out.radius).dump();
  d["images_run"] = out.images_run;
  d["images_skipped"] = out.images_skipped;
  d["dropped_partial_bytes"] = out.dropped_partial_bytes;
  d["files"] = out.files;
  d["wall_s"] = out.wall_s;
  return d;
}

}  // namespace

void bind(py::module_& m) {
  m.def("robustness", &run);
  m.def("robustness_records", [](const std::string& path) {
    py::list out;
    for (const auto& r : robust::loadRecords(path)) out.append(robust::toJson(r).dump());
    return out;
  });
  m.def("robustness_radii", [](const std::string& path) {
    py::list out;
    for (const auto& r : robust::loadResults(path).radii) out.append(robust::toJson(r).dump());
    return out;
  });
}

}  // namespace nnopt::pyrobust
