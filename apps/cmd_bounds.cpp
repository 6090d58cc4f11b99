// nnopt bounds: how tight are interval, CROWN and LP-tightened bounds on one
// input region? A table per ReLU layer and method (stable-active,
// stable-inactive, unstable counts, mean pre-activation width), the time each
// method took, and a total line; optionally the same as JSON.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "bounds/lp_tighten.h"
#include "commands.h"
#include "core/error.h"
#include "core/log.h"
#include "io/images.h"
#include "io/normalization.h"
#include "io/onnx.h"
#include "io/vnnlib.h"
#include "report/json.h"

namespace nnopt::cli {
namespace {

struct LayerStats {
  size_t layer = 0;  // index in the network
  std::string name;
  bounds::ReluCounts counts;
  double mean_width = 0;
};

struct MethodResult {
  std::string method;
  double time_s = 0;  // lp: including the CROWN table it starts from
  std::vector<LayerStats> layers;
  bounds::ReluCounts total;
  double mean_width = 0;  // over all ReLU neurons
  std::optional<bounds::LpTightenStats> lp;
};

bool isRelu(const nn::Layer& l) {
  return l.isActivation() && (l.activation().kind == nn::ActKind::kRelu ||
                              l.activation().kind == nn::ActKind::kLeakyRelu);
}

MethodResult summarise(const nn::Network& net, const bounds::BoundTable& t, double time_s) {
  MethodResult r;
  r.method = t.method;
  r.time_s = time_s;
  double width_sum = 0;
  long n = 0;
  for (size_t i = 0; i < net.numLayers(); ++i) {
    if (!isRelu(net.layers()[i])) continue;
    LayerStats s;
    s.layer = i;
    s.name = net.layers()[i].name;
    const auto& lo = t.preLo(i);
    const auto& hi = t.preHi(i);
    for (Eigen::Index j = 0; j < lo.size(); ++j) {
      if (lo[j] >= 0)
        ++s.counts.active;
      else if (hi[j] <= 0)
        ++s.counts.inactive;
      else
        ++s.counts.unstable;
    }
    const double w = (hi - lo).sum();
    s.mean_width = lo.size() ? w / lo.size() : 0.0;
    width_sum += w;
    n += lo.size();
    r.total.active += s.counts.active;
    r.total.inactive += s.counts.inactive;
    r.total.unstable += s.counts.unstable;
    r.layers.push_back(std::move(s));
  }
  r.mean_width = n ? width_sum / n : 0.0;
  return r;
}

std::vector<MethodResult> runMethods(const nn::Network& net, const spec::Box& box,
                                     const std::vector<std::string>& methods, double lp_limit) {
  std::vector<MethodResult> out;
  for (const auto& mt : bounds::boundsForMethods(net, box, methods, lp_limit)) {
    MethodResult r = summarise(net, mt.table, mt.time_s);
    r.lp = mt.lp;
    out.push_back(std::move(r));
  }
  return out;
}

std::string countsCells(const bounds::ReluCounts& c, double width) {
  return fmt::format("{:>8} {:>9} {:>9} {:>11.5f}", c.active, c.inactive, c.unstable, width);
}

void printTable(const nn::Network& net, const std::vector<MethodResult>& rs) {
  const std::string head =
      fmt::format("  {:<26} {:<9} {:>8} {:>9} {:>9} {:>11} {:>10}", "ReLU layer", "method",
                  "active", "inactive", "unstable", "mean width", "time");
  std::cout << head << "\n";
  const size_t n_layers = rs.empty() ? 0 : rs.front().layers.size();
  if (n_layers == 0) std::cout << "  (no ReLU/LeakyReLU layers)\n";
  for (size_t k = 0; k < n_layers; ++k) {
    const auto& l0 = rs.front().layers[k];
    // Source names are long (ONNX paths); they go to the JSON only.
    const auto& layer = net.layers()[l0.layer];
    const std::string label = fmt::format("layer {} {} ({})", l0.layer,
                                          nn::actName(layer.activation().kind), layer.outSize());
    for (size_t m = 0; m < rs.size(); ++m) {
      const auto& s = rs[m].layers[k];
      std::cout << fmt::format("  {:<26} {:<9} {}\n", m == 0 ? label : "", rs[m].method,
                               countsCells(s.counts, s.mean_width));
    }
  }
  for (size_t m = 0; m < rs.size(); ++m) {
    const auto& r = rs[m];
    std::cout << fmt::format("  {:<26} {:<9} {} {:>8.3f} s\n",
                             m == 0 ? fmt::format("total ({})", net.numReluNeurons()) : "",
                             r.method, countsCells(r.total, r.mean_width), r.time_s);
  }
  for (const auto& r : rs)
    if (r.lp)
      std::cout << fmt::format(
          "  lp: {} LPs ({} unusable), {} simplex iterations, {} neurons optimised, {} made "
          "stable, {:.3f} s after CROWN (the lp time includes CROWN){}\n",
          r.lp->lps, r.lp->lps_failed, r.lp->iterations, r.lp->neurons, r.lp->stabilised,
          r.lp->time_s,
          r.lp->timed_out ? "; TIME LIMIT reached (bounds are sound, less tight)" : "");
}

nlohmann::json toJson(const std::vector<MethodResult>& rs) {
  auto arr = nlohmann::json::array();
  auto counts = [](const bounds::ReluCounts& c) {
    return nlohmann::json{{"active", c.active}, {"inactive", c.inactive}, {"unstable", c.unstable}};
  };
  for (const auto& r : rs) {
    nlohmann::json j;
    j["method"] = r.method;
    j["time_s"] = r.time_s;
    j["total"] = counts(r.total);
    j["total"]["mean_width"] = report::num(r.mean_width);
    auto layers = nlohmann::json::array();
    for (const auto& s : r.layers) {
      nlohmann::json l = counts(s.counts);
      l["layer"] = s.layer;
      l["name"] = s.name;
      l["mean_width"] = report::num(s.mean_width);
      layers.push_back(l);
    }
    j["layers"] = layers;
    if (r.lp)
      j["lp"] = {{"lps", r.lp->lps},
                 {"lps_failed", r.lp->lps_failed},
                 {"iterations", r.lp->iterations},
                 {"neurons", r.lp->neurons},
                 {"stabilised", r.lp->stabilised},
                 {"timed_out", r.lp->timed_out},
                 {"time_s", r.lp->time_s}};
    arr.push_back(j);
  }
  return arr;
}

}  // namespace

CLI::App* addBoundsCommand(CLI::App& app, BoundsCli& o) {
  auto* cmd = app.add_subcommand(
      "bounds", "ReLU stability and bound widths for interval, CROWN and LP-tightened bounds");
  cmd->add_option("--model,--onnx", o.model, "ONNX network")->required();
  cmd->add_option("--vnnlib", o.vnnlib, "VNN-LIB property: its input box(es)");
  cmd->add_option("--dataset", o.dataset, kDatasetHelp);
  cmd->add_option("--index", o.index, "0-based item of --dataset");
  cmd->add_option("--image", o.image, "PNG or PGM image (pixels scaled to [0,1])");
  cmd->add_option("--eps", o.eps, "L-inf radius around the image, box clipped to [0,1]");
  addNormalizationOptions(cmd, o.mean, o.stdv);
  cmd->add_option("--methods", o.methods,
                  "comma-separated: interval, crown, lp (default all three)")
      ->delimiter(',');
  cmd->add_option("--lp-time-limit", o.lp_time_limit,
                  "seconds of LP tightening per box (default 60; then the bounds so far)");
  cmd->add_option("--json", o.json_out, "write the results as JSON");
  return cmd;
}

int runBoundsCommand(const BoundsCli& o) {
  const int sources = !o.vnnlib.empty() + !o.dataset.empty() + !o.image.empty();
  if (sources != 1)
    throw Error(
        "bounds needs exactly one input: --vnnlib FILE, --dataset FILE --index K --eps E, "
        "or --image FILE --eps E");
  if (!o.vnnlib.empty() && o.eps)
    throw Error("--eps does not apply to --vnnlib (the file gives the box)");
  if (o.dataset.empty() && o.index >= 0) throw Error("--index needs --dataset");
  if (!o.dataset.empty() && o.index < 0) throw Error("--dataset needs --index K (0-based)");
  if (o.vnnlib.empty() && !o.eps) throw Error("--eps E is required with --dataset or --image");
  if (o.eps && !(std::isfinite(*o.eps) && *o.eps >= 0))
    throw Error(fmt::format("--eps must be a finite number >= 0 (got {})", *o.eps));
  if (!(o.lp_time_limit > 0)) throw Error("--lp-time-limit must be > 0");
  io::checkNormalization(o.mean, o.stdv);
  std::vector<std::string> methods;
  for (const auto& m : o.methods) {
    bounds::parseBoundsLevel(m);  // throws on an unknown name
    if (std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
  }
  if (methods.empty()) throw Error("--methods is empty (use interval, crown and/or lp)");

  nn::Network net = io::loadOnnx(o.model);
  net = io::withNormalization(net, o.mean, o.stdv);

  std::vector<spec::Box> boxes;
  std::string input;
  if (!o.vnnlib.empty()) {
    spec::Property prop = io::loadVnnlib(o.vnnlib, net.inputSize(), net.outputSize());
    boxes = prop.input_boxes;
    input = o.vnnlib;
  } else {
    io::Image img =
        o.image.empty() ? io::loadDatasetItem(o.dataset, o.index)
                        : io::loadImageFor(o.image, net.inputShape());
    input = o.image.empty() ? fmt::format("{} #{}", o.dataset, o.index) : o.image;
    if (img.pixels.size() != net.inputSize())
      throw Error(fmt::format("{}: image has {} pixels but {} expects {} inputs", input,
                              img.pixels.size(), o.model, net.inputSize()));
    boxes.push_back(spec::linfBall(img.pixels, *o.eps));
  }
  if (boxes.empty()) throw Error(input + ": no input box");

  std::cout << fmt::format("nnopt bounds: {} ({}, {} ReLU neurons) on {}{}\n", o.model,
                           net.summary(), net.numReluNeurons(), input,
                           o.eps ? fmt::format(", eps {} (L-inf, clipped to [0,1])", *o.eps) : "");
  if (boxes.size() > 1)
    std::cout << fmt::format("  {} has {} input boxes; each is processed in turn\n", input,
                             boxes.size());
  nlohmann::json jboxes = nlohmann::json::array();
  for (size_t b = 0; b < boxes.size(); ++b) {
    const auto& box = boxes[b];
    if (boxes.size() > 1) std::cout << fmt::format("box {} of {}\n", b + 1, boxes.size());
    auto rs = runMethods(net, box, methods, o.lp_time_limit);
    printTable(net, rs);
    jboxes.push_back(
        {{"box", b}, {"input_width_mean", (box.hi - box.lo).mean()}, {"methods", toJson(rs)}});
  }
  if (!o.json_out.empty()) {
    nlohmann::json j;
    j["model"] = o.model;
    j["network"] = net.summary();
    j["relu_neurons"] = net.numReluNeurons();
    j["input"] = input;
    if (o.eps) j["eps"] = *o.eps;
    if (!o.mean.empty()) {
      j["mean"] = report::numbers(o.mean);
      j["std"] = report::numbers(o.stdv);
    }
    j["lp_time_limit_s"] = o.lp_time_limit;
    j["boxes"] = jboxes;
    report::writeJsonFile(o.json_out, j);
    std::cout << "  wrote " << o.json_out << "\n";
  }
  return 0;
}

}  // namespace nnopt::cli
