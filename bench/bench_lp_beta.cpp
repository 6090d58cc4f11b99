// LP vs beta-CROWN along a dive (issue 13, item 2): on one VNN-LIB property
// (one disjunct), from the alpha-CROWN-tightened root table as `verify` builds
// it, dive D levels (BaBSR branching on the CROWN coefficients, into the child
// with the lower LP bound) and print at each node the lower bound of the
// disjunct's margin by
//   lp      the node LP (bab::NodeLp on the parent table with the splits clipped,
//           what the decision-mode B&B solves),
//   warmK   beta-CROWN warm-started from the parent's state, K steps (the chain
//           a B&B without LP would run),
//   coldN   beta-CROWN from scratch with N steps, for each N of --cold,
// with their times: how far beta-CROWN is from the LP optimum it converges to
// in theory (same relaxation), and at what cost. With --refine S, first each
// unstable pre-activation of the second and later activation layers is
// decided (is it one-signed?) by the ReLU B&B over the sub-network below it
// within S seconds per side, then alpha-CROWN again (a-b-CROWN's "bab-refine"
// on MNIST-FC uses MIPs for this): how many neurons exact intermediate
// bounds would stabilise.
//
//   nnopt_bench_lp_beta --onnx F --vnnlib F [--disjunct D] [--depth D]
//                       [--warm K] [--cold 20,200,2000] [--lr-alpha A] [--lr-beta B]
//                       [--refine S]
#include <Eigen/Dense>
#include <chrono>
#include <cmath>
#include <fmt/core.h>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bab/branching.h"
#include "bab/node_lp.h"
#include "bab/relu_bab.h"
#include "bounds/beta_crown.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "io/onnx.h"
#include "io/vnnlib.h"

using namespace nnopt;
using Eigen::VectorXd;

namespace {

template <class F>
double timed(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) try {
  std::string onnx, vnn;
  int disjunct = 0, depth = 12, warm = 5;
  double lr_a = 0.1, lr_b = 0.05, refine = 0;
  std::vector<int> cold = {20, 200, 2000};
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      require(i + 1 < argc, "missing value after " + k);
      return argv[++i];
    };
    if (k == "--onnx") onnx = next();
    else if (k == "--vnnlib") vnn = next();
    else if (k == "--disjunct") disjunct = std::stoi(next());
    else if (k == "--depth") depth = std::stoi(next());
    else if (k == "--warm") warm = std::stoi(next());
    else if (k == "--lr-alpha") lr_a = std::stod(next());
    else if (k == "--lr-beta") lr_b = std::stod(next());
    else if (k == "--refine") refine = std::stod(next());
    else if (k == "--cold") {
      cold.clear();
      std::stringstream ss(next());
      for (std::string x; std::getline(ss, x, ',');) cold.push_back(std::stoi(x));
    } else throw Error("unknown option " + k);
  }
  const nn::Network net = io::loadOnnx(onnx);
  const spec::Property prop = io::loadVnnlib(vnn, net.inputSize(), net.outputSize());
  const spec::Box box = prop.input_boxes.front();
  const auto& conj = prop.unsafe.disjuncts.at(static_cast<size_t>(disjunct));
  require(conj.size() == 1, "one constraint per disjunct expected");
  VectorXd c = VectorXd::Zero(net.outputSize());
  for (const auto& [j, w] : conj.front().coefs) c[j] += w;
  const double rhs = conj.front().rhs;

  bounds::BoundTable root = bounds::crownBounds(net, box);
  const double t_alpha = timed([&] { bounds::alphaTightenTable(net, box, root, 20, 60.0); });
  fmt::print("{} / {} disjunct {}: root alpha table in {:.1f} s, {} unstable\n", onnx, vnn,
             disjunct, t_alpha, bounds::countRelus(net, root).unstable);
  auto perLayer = [&](const bounds::BoundTable& t) {
    std::string s;
    for (size_t i = 0; i < net.numLayers(); ++i) {
      if (!net.layers()[i].isActivation()) continue;
      int u = 0;
      for (Eigen::Index j = 0; j < t.preLo(i).size(); ++j) u += t.preLo(i)[j] < 0 && t.preHi(i)[j] > 0;
      s += fmt::format(" {}", u);
    }
    return s;
  };
  fmt::print("unstable per layer:{}\n", perLayer(root));
  if (refine > 0) {
    // Each unstable pre-activation of layers 2.. by the ReLU B&B in
    // optimisation mode over the sub-network below it (refine s each bound).
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t k = 1; k < net.numLayers(); ++k) {
      if (!net.layers()[k].isActivation() || !net.layers()[k - 1].isDense() || k < 3) continue;
      const nn::Network sub(net.inputShape(), std::vector<nn::Layer>(net.layers().begin(), net.layers().begin() + k));
      bounds::BoundTable ts;
      ts.in_lo = root.in_lo, ts.in_hi = root.in_hi, ts.method = root.method;
      ts.lo.assign(root.lo.begin(), root.lo.begin() + k);
      ts.hi.assign(root.hi.begin(), root.hi.begin() + k);
      int changed = 0;
      for (Eigen::Index j = 0; j < root.lo[k - 1].size(); ++j) {
        double& l = root.lo[k - 1][j];
        double& u = root.hi[k - 1][j];
        if (!(l < 0 && u > 0)) continue;
        for (double sign : {1.0, -1.0}) {
          if (!(l < 0 && u > 0)) break;
          VectorXd e = VectorXd::Zero(sub.outputSize());
          e[j] = sign;
          bab::BabParams bp;
          bp.root_table = &ts;
          bp.time_limit = refine;
          bp.rel_gap = 1e-2, bp.abs_gap = 1e-3;
          bp.mode = bab::BabMode::kDecide;  // is sign * z_j > 0 everywhere?
          bp.threshold = 0.0;
          bp.order = bab::BabOrder::kBestFirst;
          bp.strong_branching = 0;
          bp.cut_rounds_root = 0;
          bp.branching = bab::BabBranching::kBabsr;
          bp.log_interval_s = 1e300;
          const auto r = bab::reluBranchAndBound(sub, box, e, bp);
          if (r.status == bab::BabStatus::kViolated) break;  // unstable on this side; no bound
          const double lb = r.lower_bound;
          if (sign > 0) l = std::max(l, lb); else u = std::min(u, -lb);
        }
        ts.lo[k - 1][j] = l, ts.hi[k - 1][j] = u;
        changed += !(l < 0 && u > 0);
      }
      // Later layers: alpha-CROWN again over the refined table (intersected).
      bounds::alphaTightenTable(net, box, root, 20, 60.0);
      for (size_t i = 0; i < k; ++i) ts.lo[i] = root.lo[i], ts.hi[i] = root.hi[i];
      fmt::print("refined layer {}: {} stabilised; unstable per layer:{} ({:.1f} s)\n", k, changed, perLayer(root),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  bab::NodeLp lp(net, box, root, conj);

  std::vector<bounds::ReluSplit> splits;
  bounds::BetaCrownState warm_state;
  bool have_warm = false;
  fmt::print("{:>5} {:>10} {:>10}", "depth", "lp", fmt::format("warm{}", warm));
  for (int n : cold) fmt::print(" {:>10}", fmt::format("cold{}", n));
  fmt::print(" | {:>7} {:>7}", "t_lp", "t_warm");
  for (int n : cold) fmt::print(" {:>7}", fmt::format("t_c{}", n));
  fmt::print("\n");
  for (int d = 0; d <= depth; ++d) {
    auto t = bab::withSplits(net, root, splits);
    if (!t) {
      fmt::print("empty\n");
      break;
    }
    bab::NodeLpResult lr;
    const double tl = timed([&] { lr = lp.solve(*t, splits, 60.0); });
    bounds::BetaCrownParams bp;
    bp.lr_alpha = lr_a, bp.lr_beta = lr_b, bp.time_limit_s = 120;
    bp.iters = d == 0 ? 3 * warm : warm;
    bounds::BetaCrownResult rw;
    const double tw = timed([&] {
      rw = bounds::betaCrownLowerBound(net, box, *t, splits, c, bp, have_warm ? &warm_state : nullptr);
    });
    warm_state = rw.state;
    have_warm = true;
    std::vector<double> cv, ct;
    for (int n : cold) {
      bounds::BetaCrownParams cp = bp;
      cp.iters = n;
      bounds::BetaCrownResult r;
      ct.push_back(timed([&] { r = bounds::betaCrownLowerBound(net, box, *t, splits, c, cp); }));
      cv.push_back(r.bound - rhs);
    }
    fmt::print("{:>5} {:>+10.4f} {:>+10.4f}", d, lr.solved ? lr.bound - rhs : NAN, rw.bound - rhs);
    for (double v : cv) fmt::print(" {:>+10.4f}", v);
    fmt::print(" | {:>7.3f} {:>7.3f}", tl, tw);
    for (double v : ct) fmt::print(" {:>7.3f}", v);
    fmt::print("\n");
    // Branch: BaBSR on the CROWN coefficients of the node; child with the lower LP bound.
    const auto det = bounds::crownLowerBoundDetail(net, box, *t, c);
    auto cands = bab::candidates(net, *t, det.act_coef);
    if (cands.empty()) break;
    std::sort(cands.begin(), cands.end(),
              [](const bab::Candidate& a, const bab::Candidate& b) { return a.score > b.score; });
    bounds::ReluSplit s = cands.front().split;
    double best = INFINITY;
    bool pick = false;
    for (bool a : {false, true}) {
      s.active = a;
      auto kids = splits;
      kids.push_back(s);
      auto tk = bab::withSplits(net, root, kids);
      if (!tk) continue;
      const auto r = lp.solve(*tk, kids, 60.0);
      const double v = r.solved ? r.bound : (r.infeasible ? INFINITY : -INFINITY);
      if (v < best) best = v, pick = a;
    }
    s.active = pick;
    splits.push_back(s);
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "error: {}\n", e.what());
  return 2;
}
