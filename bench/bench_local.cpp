// Local-solver benchmark (issue 11): the native walk (nlp:pwl) against the
// Ipopt complementarity NLP (Scholtes continuation and the product form) on
// the 30 sweep networks, measured in one run, plus multi-start and `auto`.
//
//   nnopt_bench_local [--repo DIR] [--reference FILE] [--starts N] [--threads T]
//                     [--nets a,b,...] [--skip-ipopt] [--skip-auto-ipopt]
//                     [--json FILE]
//
//   DIR       project root (models/sweep, models/mnist_convnet.onnx, data/)
//   FILE      sweep results.jsonl with proven MIP optima (method "mip",
//             proven true; default DIR/docs/results/sweep-eps0.1/results.jsonl)
//   N         Sobol starts of the multi-start row (default 1024)
//   T         multi-start / auto threads (default 2)
//
// Setting (the sweep study's): eps 0.1, the first MNIST test digit (row 0 of
// ../shared/bench/eran_mnist/mnist_test.csv, falling back to
// data/mnist_test_0.pgm), label 7, runner-up target, mean/std 0.1307/0.3081.
// Per network: single-start margin and time of each local solver, whether it
// reaches the proven optimum (1e-4), the best of N starts, its time and
// starts/s, and `auto` (16-start screen, then the MIP; time limit 600 s) with
// the native screen and with the Ipopt screen. Then the tutorial ConvNet:
// the margin attack and the min-L1 perturbation 7 -> 2 with gap 0.1.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/core.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "attack/attack.h"
#include "attack/min_distortion.h"
#include "attack/multistart.h"
#include "core/error.h"
#include "core/log.h"
#include "io/images.h"
#include "io/onnx.h"

using namespace nnopt;
namespace fs = std::filesystem;

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double maxOf(const std::vector<double>& v) {
  return v.empty() ? NAN : *std::max_element(v.begin(), v.end());
}

struct Args {
  std::string repo = ".";
  std::string reference;
  int starts = 1024;
  int threads = 2;
  std::vector<std::string> nets;
  bool skip_ipopt = false;
  bool skip_auto_ipopt = false;
  std::string json;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto val = [&]() -> std::string {
      require(i + 1 < argc, s + " needs a value");
      return argv[++i];
    };
    if (s == "--repo") a.repo = val();
    else if (s == "--reference") a.reference = val();
    else if (s == "--starts") a.starts = std::stoi(val());
    else if (s == "--threads") a.threads = std::stoi(val());
    else if (s == "--json") a.json = val();
    else if (s == "--skip-ipopt") a.skip_ipopt = true;
    else if (s == "--skip-auto-ipopt") a.skip_auto_ipopt = true;
    else if (s == "--nets") {
      std::stringstream ss(val());
      for (std::string t; std::getline(ss, t, ',');) a.nets.push_back(t);
    } else {
      throw Error("unknown argument " + s);
    }
  }
  if (a.reference.empty()) a.reference = a.repo + "/docs/results/sweep-eps0.1/results.jsonl";
  return a;
}

// network file name -> proven MIP optimum
std::map<std::string, double> provenOptima(const std::string& path) {
  std::map<std::string, double> opt;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.value("method", "") == "mip" && j.value("proven", false) && j["margin"].is_number())
      opt[j.value("network", "")] = j["margin"].get<double>();
  }
  return opt;
}

io::Image firstDigit(const std::string& repo) {
  const std::string csv = repo + "/../shared/bench/eran_mnist/mnist_test.csv";
  if (fs::exists(csv)) return io::loadDatasetItem(csv, 0);
  return io::loadImage(repo + "/data/mnist_test_0.pgm");
}

attack::MarginAttackParams localParams(attack::LocalSolver local, attack::NlpForm form) {
  attack::MarginAttackParams p;
  p.method = attack::Method::kNlp;
  p.local = local;
  p.nlp_form = form;
  p.time_limit = 600;
  p.threads = 1;
  return p;
}

struct Run {
  double margin = NAN, time = NAN;
  bool attack = false;
};
Run single(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0, int label,
           int target, const attack::MarginAttackParams& p) {
  const auto r = attack::marginAttack(net, box, x0, label, target, p);
  return {r.margin, r.time_s, r.verdict == attack::Verdict::kAttackFound};
}

std::string cell(double v, const char* f = "{:.5f}") {
  return std::isnan(v) ? std::string("-") : fmt::format(fmt::runtime(f), v);
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  const auto optima = provenOptima(a.reference);
  const io::Image img = firstDigit(a.repo);
  const Eigen::VectorXd x0 = img.pixels;
  const int label = 7;
  const double eps = 0.1;
  const spec::Box box = spec::linfBall(x0, eps, 0.0, 1.0);
  std::vector<std::string> nets = a.nets;
  if (nets.empty()) {
    for (int l = 1; l <= 5; ++l)
      for (int w = 10; w <= 60; w += 10) nets.push_back(fmt::format("{}x{}", l, w));
  }
  fmt::print("nnopt local-solver benchmark: {} networks, eps {}, {} proven optima from {}, "
             "{} starts on {} threads\n\n",
             nets.size(), eps, optima.size(), a.reference, a.starts, a.threads);
  fmt::print("| net | MIP opt | pwl margin | pwl s | pwl=opt | scholtes margin | scholtes s | "
             "sch=opt | product margin | product s | best of {} | {} starts s | starts/s | "
             "auto pwl s | auto ipopt s |\n",
             a.starts, a.starts);
  fmt::print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<double> t_pwl, t_sch, t_prod, t_ms, t_auto, t_auto_ip;
  int reach_pwl = 0, reach_sch = 0, reach_prod = 0, n_opt = 0;
  int false_pwl = 0, false_sch = 0, ms_worse = 0;
  double worst_rate = INFINITY, rate_5x30 = NAN;
  std::string worst_rate_net;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& n : nets) {
    const std::string file = "mlp_" + n + ".onnx";
    const nn::Network net = io::loadOnnx(a.repo + "/models/sweep/" + file)
                                .withInputNormalization(0.1307, 0.3081);
    const Eigen::VectorXd clean = net.forward(x0);
    const int target = attack::runnerUp(clean, label);
    const auto it = optima.find(file);
    const double opt = it == optima.end() ? NAN : it->second;
    auto reaches = [&](const Run& r) {
      return !std::isnan(opt) && !std::isnan(r.margin) && r.margin <= opt + 1e-4;
    };
    const Run pwl = single(net, box, x0, label, target,
                           localParams(attack::LocalSolver::kPwl, attack::NlpForm::kScholtes));
    Run sch, prod;
    if (!a.skip_ipopt) {
      sch = single(net, box, x0, label, target,
                   localParams(attack::LocalSolver::kIpopt, attack::NlpForm::kScholtes));
      prod = single(net, box, x0, label, target,
                    localParams(attack::LocalSolver::kIpopt, attack::NlpForm::kProduct));
    }
    attack::MultiStartParams msp;
    msp.nlp = localParams(attack::LocalSolver::kPwl, attack::NlpForm::kScholtes);
    msp.starts = a.starts;
    msp.early_stop = false;
    msp.threads = a.threads;
    const auto ms = attack::multiStartAttack(net, box, x0, label, target, msp);
    auto autoRun = [&](attack::LocalSolver local) {
      attack::AutoParams ap;
      ap.screen.nlp = localParams(local, attack::NlpForm::kScholtes);
      ap.screen.starts = 16;
      ap.screen.threads = a.threads;
      ap.mip = localParams(local, attack::NlpForm::kScholtes);
      ap.mip.method = attack::Method::kMip;
      Timer t;
      const auto r = attack::autoAttack(net, box, x0, label, target, ap);
      return Run{r.result.margin, t.seconds(), r.result.verdict == attack::Verdict::kAttackFound};
    };
    const Run au = autoRun(attack::LocalSolver::kPwl);
    Run au_ip;
    if (!a.skip_ipopt && !a.skip_auto_ipopt) au_ip = autoRun(attack::LocalSolver::kIpopt);

    // An attack is known to exist when any run found one (or the MIP optimum is < 0).
    const bool attack_exists = pwl.attack || sch.attack || prod.attack || ms.best.verdict ==
                               attack::Verdict::kAttackFound || au.attack || opt < 0;
    if (!std::isnan(opt)) ++n_opt;
    reach_pwl += reaches(pwl);
    reach_sch += reaches(sch);
    reach_prod += reaches(prod);
    false_pwl += attack_exists && !pwl.attack;
    false_sch += !a.skip_ipopt && attack_exists && !sch.attack;
    if (ms.best.margin > pwl.margin + 1e-9) ++ms_worse;
    t_pwl.push_back(pwl.time);
    if (!a.skip_ipopt) {
      t_sch.push_back(sch.time);
      t_prod.push_back(prod.time);
    }
    t_ms.push_back(ms.time_s);
    t_auto.push_back(au.time);
    if (!std::isnan(au_ip.time)) t_auto_ip.push_back(au_ip.time);
    if (ms.starts_per_s < worst_rate) {
      worst_rate = ms.starts_per_s;
      worst_rate_net = n;
    }
    if (n == "5x30") rate_5x30 = ms.starts_per_s;
    fmt::print("| {} | {} | {} | {:.4f} | {} | {} | {} | {} | {} | {} | {} | {:.2f} | {:.0f} | "
               "{:.3f} | {} |\n",
               n, cell(opt), cell(pwl.margin), pwl.time, reaches(pwl) ? "yes" : "",
               cell(sch.margin), cell(sch.time, "{:.3f}"), reaches(sch) ? "yes" : "",
               cell(prod.margin), cell(prod.time, "{:.3f}"), cell(ms.best.margin), ms.time_s,
               ms.starts_per_s, au.time, cell(au_ip.time, "{:.3f}"));
    std::fflush(stdout);
    rows.push_back({{"net", n}, {"mip_opt", std::isnan(opt) ? nlohmann::json() : nlohmann::json(opt)},
                    {"pwl_margin", pwl.margin}, {"pwl_s", pwl.time},
                    {"scholtes_margin", std::isnan(sch.margin) ? nlohmann::json() : nlohmann::json(sch.margin)},
                    {"scholtes_s", std::isnan(sch.time) ? nlohmann::json() : nlohmann::json(sch.time)},
                    {"product_margin", std::isnan(prod.margin) ? nlohmann::json() : nlohmann::json(prod.margin)},
                    {"product_s", std::isnan(prod.time) ? nlohmann::json() : nlohmann::json(prod.time)},
                    {"multistart_best", ms.best.margin}, {"multistart_s", ms.time_s},
                    {"multistart_starts_per_s", ms.starts_per_s}, {"auto_pwl_s", au.time},
                    {"auto_ipopt_s", std::isnan(au_ip.time) ? nlohmann::json() : nlohmann::json(au_ip.time)}});
  }

  fmt::print("\n## Summary ({} networks, {} with a proven MIP optimum)\n", nets.size(), n_opt);
  fmt::print("- single start, nlp:pwl: median {:.4f} s, max {:.4f} s; reaches the optimum on "
             "{}/{}; false no-attack {}\n",
             median(t_pwl), maxOf(t_pwl), reach_pwl, n_opt, false_pwl);
  if (!a.skip_ipopt) {
    fmt::print("- single start, Ipopt Scholtes: median {:.3f} s, max {:.3f} s; reaches the "
               "optimum on {}/{}; false no-attack {}\n",
               median(t_sch), maxOf(t_sch), reach_sch, n_opt, false_sch);
    fmt::print("- single start, Ipopt product: median {:.3f} s, max {:.3f} s; reaches the "
               "optimum on {}/{}\n",
               median(t_prod), maxOf(t_prod), reach_prod, n_opt);
    fmt::print("- speed-up of the median, Scholtes / pwl: {:.0f}x; seed CONOPT median 0.227 s / "
               "pwl: {:.0f}x\n",
               median(t_sch) / median(t_pwl), 0.227 / median(t_pwl));
  }
  fmt::print("- {} starts on {} threads: median {:.2f} s, max {:.2f} s; 5x30 {:.0f} starts/s, "
             "lowest {:.0f} starts/s ({}); best-of-{} worse than the single start on {} "
             "networks\n",
             a.starts, a.threads, median(t_ms), maxOf(t_ms), rate_5x30, worst_rate,
             worst_rate_net, a.starts, ms_worse);
  fmt::print("- auto (16-start screen, then MIP): native screen median {:.3f} s, max {:.3f} s",
             median(t_auto), maxOf(t_auto));
  if (!t_auto_ip.empty())
    fmt::print("; Ipopt screen median {:.3f} s, max {:.3f} s", median(t_auto_ip),
               maxOf(t_auto_ip));
  fmt::print("\n");

  // The tutorial ConvNet.
  nlohmann::json conv;
  const std::string cnet = a.repo + "/models/mnist_convnet.onnx";
  if (fs::exists(cnet)) {
    const nn::Network net = io::loadOnnx(cnet).withInputNormalization(0.1307, 0.3081);
    const io::Image im = io::loadImage(a.repo + "/data/mnist_test_0.pgm");
    const Eigen::VectorXd c0 = im.pixels;
    const spec::Box cbox = spec::linfBall(c0, eps, 0.0, 1.0);
    const int ct = attack::runnerUp(net.forward(c0), label);
    fmt::print("\n## Tutorial ConvNet ({}), digit 7\n", net.summary());
    for (auto local : {attack::LocalSolver::kPwl, attack::LocalSolver::kIpopt}) {
      if (a.skip_ipopt && local == attack::LocalSolver::kIpopt) continue;
      const Run r = single(net, cbox, c0, label, ct,
                           localParams(local, attack::NlpForm::kScholtes));
      attack::MinDistortionParams mp;
      mp.method = attack::Method::kNlp;
      mp.local = local;
      mp.norm = attack::Norm::kL1;
      mp.gap = 0.1;
      mp.time_limit = 600;
      const auto md = attack::minDistortionAttack(net, c0, label, 2, mp);
      fmt::print("- {:<12} margin attack eps 0.1 (target {}): margin {:.5f} in {:.3f} s; min-L1 "
                 "7 -> 2 gap 0.1: {} L1 {:.5f} in {:.3f} s\n",
                 local == attack::LocalSolver::kPwl ? "nlp:pwl" : "nlp:scholtes", ct, r.margin,
                 r.time, attack::minDistVerdictName(md.verdict), md.distance, md.time_s);
      conv[attack::localSolverName(local)] = {{"margin", r.margin}, {"margin_s", r.time},
                                              {"min_l1", md.distance}, {"min_l1_s", md.time_s}};
    }
  }
  if (!a.json.empty()) {
    std::ofstream(a.json) << nlohmann::json{{"rows", rows}, {"convnet", conv}}.dump(1) << "\n";
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "nnopt_bench_local: {}\n", e.what());
  return 1;
}
