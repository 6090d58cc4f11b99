// nnopt._nnopt: numpy <-> Eigen, result structs, the GIL released around every
// solve, nnopt::Error -> nnopt.Error (python/nnopt/__init__.py wraps this module).
#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>

#include "core/error.h"
#include "io/images.h"
#include "io/normalization.h"
#include "io/onnx.h"
#include "io/vnnlib.h"
#include "nn/network.h"
#include "python/jobs.h"
#include "python/api.h"
#include "python/robust_bind.h"
#include "python/interruptible.h"
#include "python/model.h"
#include "report/panel.h"
#include "verify/verify.h"
#include "verify/vnncomp.h"

namespace py = pybind11;
using namespace nnopt;

namespace {

// Forward pass of one input (1-D) or a batch (rows = inputs).
Eigen::MatrixXd forwardBatch(const nn::Network& net, const Eigen::MatrixXd& xs) {
  if (xs.cols() != net.inputSize())
    throw Error("forward: input has " + std::to_string(xs.cols()) + " values per row but the "
                "network expects " + std::to_string(net.inputSize()));
  Eigen::MatrixXd out(xs.rows(), net.outputSize());
  for (Eigen::Index i = 0; i < xs.rows(); ++i) out.row(i) = net.forward(xs.row(i).transpose());
  return out;
}

py::dict imageDict(const io::Image& img) {
  py::dict d;
  d["pixels"] = img.pixels;
  d["label"] = img.label;
  d["rows"] = img.rows;
  d["cols"] = img.cols;
  d["channels"] = img.channels;
  return d;
}

py::dict marginDict(const pyjobs::MarginJobResult& jr) {
  const auto& r = jr.result;
  py::dict d;
  d["verdict"] = attack::verdictName(r.verdict);
  d["method"] = r.method;
  d["status"] = r.status;
  d["true_label"] = r.true_label;
  d["target_label"] = r.target_label;
  d["margin"] = r.margin;
  d["bound"] = r.bound;
  d["adversarial"] = r.adversarial;
  d["logits_adv"] = r.logits_adv;
  d["predicted_label_adv"] = r.predicted_label_adv;
  d["linf_distance"] = r.linf_distance;
  d["time_s"] = r.time_s;
  d["predicted_label_clean"] = jr.predicted_clean;
  d["logits_clean"] = jr.logits_clean;
  d["json"] = jr.json.dump(2);
  return d;
}

py::dict minDistDict(const pyjobs::MinDistJobResult& jr) {
  const auto& r = jr.result;
  py::dict d;
  d["verdict"] = attack::minDistVerdictName(r.verdict);
  d["method"] = r.method;
  d["status"] = r.status;
  d["norm"] = attack::normName(r.norm);
  d["gap"] = r.gap;
  d["true_label"] = r.true_label;
  d["target_label"] = r.target_label;
  d["distance"] = r.distance;
  d["l1_distance"] = r.l1;
  d["l2_distance"] = r.l2;
  d["linf_distance"] = r.linf;
  d["lower_bound"] = r.lower_bound;
  d["optimal"] = r.optimal;
  d["achieved_gap"] = r.achieved_gap;
  d["adversarial"] = r.adversarial;
  d["logits_adv"] = r.logits_adv;
  d["predicted_label_adv"] = r.predicted_label_adv;
  d["time_s"] = r.time_s;
  d["predicted_label_clean"] = jr.predicted_clean;
  d["logits_clean"] = jr.logits_clean;
  d["json"] = jr.json.dump(2);
  return d;
}

}  // namespace

PYBIND11_MODULE(_nnopt, m) {
  m.doc() = "nnopt's C++ core (use the nnopt package, not this module)";
  static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::set_error(error, e.what());
    } catch (const std::bad_alloc&) {
      py::set_error(PyExc_MemoryError, "out of memory");
    }
  });

  py::class_<nn::Network>(m, "Network")
      .def_property_readonly("input_size", &nn::Network::inputSize)
      .def_property_readonly("output_size", &nn::Network::outputSize)
      .def_property_readonly("input_shape", &nn::Network::inputShape)
      .def_property_readonly("num_layers", &nn::Network::numLayers)
      .def_property_readonly("relu_neurons", &nn::Network::numReluNeurons)
      .def_property_readonly("piecewise_linear", &nn::Network::isPiecewiseLinear)
      .def("summary", &nn::Network::summary)
      .def("layers", [](const nn::Network& net) {
        py::list out;
        for (size_t i = 0; i < net.numLayers(); ++i) {
          const auto& l = net.layers()[i];
          py::dict d;
          d["kind"] = l.isDense() ? "Dense" : l.isMaxPool() ? "MaxPool"
                                                            : nn::actName(l.activation().kind);
          d["in_size"] = net.layerInSize(i);
          d["out_size"] = l.outSize();
          d["out_shape"] = l.out_shape;
          d["name"] = l.name;
          out.append(d);
        }
        return out;
      })
      .def("forward", &forwardBatch)
      .def("with_input_normalization",
           [](const nn::Network& n, const std::vector<double>& mean,
              const std::vector<double>& stdv) { return io::withNormalization(n, mean, stdv); });

  m.def(
      "load_onnx", [](const std::string& path) { return io::loadOnnx(path); },
      py::call_guard<py::gil_scoped_release>());
  m.def("load_onnx_bytes",
        [](py::bytes b, const std::string& name) {
          std::string s = b;
          py::gil_scoped_release nogil;
          return io::loadOnnxFromBytes(s, name);
        });
  m.def("load_image", [](const std::string& path, bool gray) {
    return imageDict(io::loadImage(path, gray));
  }, py::arg("path"), py::arg("gray") = true);
  m.def("load_dataset_item", [](const std::string& path, long index) {
    return imageDict(io::loadDatasetItem(path, index));
  });

  m.def("margin_attack",
        [](const nn::Network& net, pyjobs::MarginJob job) {
          pyjobs::MarginJobResult r;
          std::atomic<bool> cancel{false};
          pyjobs::runInterruptible([&] { r = pyjobs::runMarginJob(net, job, &cancel); }, cancel);
          return marginDict(r);
        });
  py::class_<pyjobs::MarginJob>(m, "MarginJob")
      .def(py::init<>())
      .def_readwrite("model_name", &pyjobs::MarginJob::model_name)
      .def_readwrite("input_name", &pyjobs::MarginJob::input_name)
      .def_readwrite("image", &pyjobs::MarginJob::image)
      .def_readwrite("label", &pyjobs::MarginJob::label)
      .def_readwrite("eps", &pyjobs::MarginJob::eps)
      .def_readwrite("target", &pyjobs::MarginJob::target)
      .def_readwrite("method", &pyjobs::MarginJob::method)
      .def_readwrite("nlp_form", &pyjobs::MarginJob::nlp_form)
      .def_readwrite("mpec_form", &pyjobs::MarginJob::mpec_form)
      .def_readwrite("bounds", &pyjobs::MarginJob::bounds)
      .def_readwrite("time_limit", &pyjobs::MarginJob::time_limit)
      .def_readwrite("lp_time_limit", &pyjobs::MarginJob::lp_time_limit)
      .def_readwrite("mip_cuts", &pyjobs::MarginJob::mip_cuts)
      .def_readwrite("early_stop", &pyjobs::MarginJob::early_stop)
      .def_readwrite("warm_start", &pyjobs::MarginJob::warm_start)
      .def_readwrite("mean", &pyjobs::MarginJob::mean)
      .def_readwrite("std", &pyjobs::MarginJob::stdv);

  m.def("min_distortion_attack", [](const nn::Network& net, pyjobs::MinDistJob job) {
    pyjobs::MinDistJobResult r;
    std::atomic<bool> cancel{false};
    pyjobs::runInterruptible([&] { r = pyjobs::runMinDistJob(net, job, &cancel); }, cancel);
    return minDistDict(r);
  });
  py::class_<pyjobs::MinDistJob>(m, "MinDistJob")
      .def(py::init<>())
      .def_readwrite("model_name", &pyjobs::MinDistJob::model_name)
      .def_readwrite("input_name", &pyjobs::MinDistJob::input_name)
      .def_readwrite("image", &pyjobs::MinDistJob::image)
      .def_readwrite("label", &pyjobs::MinDistJob::label)
      .def_readwrite("target", &pyjobs::MinDistJob::target)
      .def_readwrite("method", &pyjobs::MinDistJob::method)
      .def_readwrite("norm", &pyjobs::MinDistJob::norm)
      .def_readwrite("gap", &pyjobs::MinDistJob::gap)
      .def_readwrite("max_eps", &pyjobs::MinDistJob::max_eps)
      .def_readwrite("bounds", &pyjobs::MinDistJob::bounds)
      .def_readwrite("time_limit", &pyjobs::MinDistJob::time_limit)
      .def_readwrite("lp_time_limit", &pyjobs::MinDistJob::lp_time_limit)
      .def_readwrite("mip_cuts", &pyjobs::MinDistJob::mip_cuts)
      .def_readwrite("warm_start", &pyjobs::MinDistJob::warm_start)
      .def_readwrite("mean", &pyjobs::MinDistJob::mean)
      .def_readwrite("std", &pyjobs::MinDistJob::stdv);

  m.def("verify", [](const nn::Network& net, const std::string& vnnlib, double timeout,
                     const std::string& prover, int threads, int root_alpha, int exact_unstable,
                     uint64_t seed) {
    if (!(timeout > 0)) throw Error("--timeout must be > 0");
    if (threads < 0) throw Error("--threads must be >= 0 (got " + std::to_string(threads) + ")");
    if (root_alpha < 0)
      throw Error("--root-alpha must be >= 0 (got " + std::to_string(root_alpha) + ")");
    if (exact_unstable < -1)
      throw Error("--exact-unstable must be >= -1 (got " + std::to_string(exact_unstable) + ")");
    const verify::Prover pv = verify::parseProver(prover);
    verify::VerifyResult r;
    std::atomic<bool> cancel{false};
    // Ctrl-C: every stage stops within about a second and KeyboardInterrupt
    // is raised (the cancelled result is dropped).
    pyjobs::runInterruptible(
        [&] {
          const spec::Property prop = io::loadVnnlib(vnnlib, net.inputSize(), net.outputSize());
          verify::VerifyParams p;
          p.timeout_s = timeout;
          p.prover = pv;
          p.cancel = &cancel;
          p.threads = threads;
          p.root_alpha_iters = root_alpha;
          p.bab_exact_unstable_max = exact_unstable;
          p.seed = seed;
          r = verify::verifyProperty(net, prop, p);
        },
        cancel);
    py::dict d;
    d["answer"] = verify::answerName(r.answer);
    d["x"] = r.x;
    d["y"] = r.y;
    d["decided_by"] = r.decided_by;
    d["reason"] = r.reason;
    d["time_s"] = r.time_s;
    d["result_file"] = verify::formatResultFile(r.answer, r.x, r.y);
    d["nodes"] = r.nodes;
    d["closed_fraction"] = r.bab_closed_fraction;
    return d;
  }, py::arg("net"), py::arg("vnnlib"), py::arg("timeout"), py::arg("prover") = "auto",
     py::arg("threads") = 0, py::arg("root_alpha") = verify::VerifyParams{}.root_alpha_iters,
     py::arg("exact_unstable") = verify::VerifyParams{}.bab_exact_unstable_max,
     py::arg("seed") = 0);

  pymodel::bind(m);
  pyapi::bind(m);
  pyrobust::bind(m);

  m.def("write_panel",
        [](const std::string& path, const Eigen::VectorXd& original,
           const Eigen::VectorXd& adversarial, int channels, int rows, int cols,
           const Eigen::VectorXd& logits_original, const Eigen::VectorXd& logits_adversarial,
           const std::string& title, const std::string& subtitle, const std::string& caption) {
          report::AttackPanel p;
          p.original = original;
          p.adversarial = adversarial;
          p.channels = channels;
          p.rows = rows;
          p.cols = cols;
          p.logits_original = logits_original;
          p.logits_adversarial = logits_adversarial;
          p.title = title;
          p.subtitle = subtitle;
          p.adversarial_caption = caption;
          py::gil_scoped_release nogil;
          report::writeAttackPanel(p, path);
        });
}
