// Core engine benchmark: prints figures for the speed/memory targets.
//   nnopt_bench [--repo DIR] [--onnx FILE]... [--skip-forms]
//     DIR  = project root holding models/, data/ and tests/fixtures/
//     FILE = extra ONNX files (e.g. a torch-exported 784-256x6-10 MLP) whose
//            load and forward times are measured as well
// Sections: forward pass vs the torch reference logits in
// tests/fixtures/reference_logits.json, ONNX load time (784-256x6-10, written
// by this program, plus every --onnx FILE), forward pass time, default NLP
// form and MIP on the bundled 1x20 net at eps 0.1, MIP optimum vs every NLP
// form on 1x20 and 2x20 at eps 0.05 and 0.1 (unless --skip-forms), and peak
// memory.
#include <onnx/onnx_pb.h>
#include <sys/resource.h>

#include <algorithm>
#include <fmt/core.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "attack/attack.h"
#include "core/error.h"
#include "core/log.h"
#include "io/images.h"
#include "io/onnx.h"

using namespace nnopt;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

long peakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

// A random 784-256x6-10 ReLU MLP as an ONNX file (Gemm + Relu, float32).
void writeBigMlp(const std::string& path) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(13);
  auto* g = model.mutable_graph();
  g->set_name("mlp256x6");
  auto* in = g->add_input();
  in->set_name("input");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(1);
  tt->mutable_shape()->add_dim()->set_dim_value(784);
  std::mt19937 rng(1);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::vector<int> w = {784, 256, 256, 256, 256, 256, 256, 10};
  std::string cur = "input";
  for (size_t i = 1; i < w.size(); ++i) {
    auto* W = g->add_initializer();
    W->set_name("W" + std::to_string(i));
    W->set_data_type(onnx::TensorProto::FLOAT);
    W->add_dims(w[i]);
    W->add_dims(w[i - 1]);
    for (int k = 0; k < w[i] * w[i - 1]; ++k) W->add_float_data(gauss(rng) / std::sqrt(float(w[i - 1])));
    auto* B = g->add_initializer();
    B->set_name("B" + std::to_string(i));
    B->set_data_type(onnx::TensorProto::FLOAT);
    B->add_dims(w[i]);
    for (int k = 0; k < w[i]; ++k) B->add_float_data(0.01f * gauss(rng));
    auto* n = g->add_node();
    n->set_op_type("Gemm");
    n->set_name("gemm" + std::to_string(i));
    n->add_input(cur);
    n->add_input(W->name());
    n->add_input(B->name());
    auto* a = n->add_attribute();
    a->set_name("transB");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(1);
    cur = "h" + std::to_string(i);
    n->add_output(cur);
    if (i + 1 < w.size()) {
      auto* r = g->add_node();
      r->set_op_type("Relu");
      r->set_name("relu" + std::to_string(i));
      r->add_input(cur);
      cur = "r" + std::to_string(i);
      r->add_output(cur);
    }
  }
  auto* out = g->add_output();
  out->set_name(cur);
  auto* ot = out->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(onnx::TensorProto::FLOAT);
  std::ofstream os(path, std::ios::binary);
  model.SerializeToOstream(&os);
}

struct Case {
  nn::Network net;
  Eigen::VectorXd x;
  int label;
  int target;
};

Case loadCase(const std::string& repo, const std::string& model) {
  Case c;
  c.net = io::loadOnnx(repo + "/" + model).withInputNormalization(0.1307, 0.3081);
  c.x = io::loadImage(repo + "/data/mnist_test_0.pgm").pixels;
  c.label = 7;
  c.target = attack::runnerUp(c.net.forward(c.x), c.label);
  return c;
}

}  // namespace

// Forward pass of every reference case against the torch float64 logits.
void referenceLogits(const std::string& repo) {
  std::ifstream is(repo + "/tests/fixtures/reference_logits.json");
  if (!is) throw Error(repo + "/tests/fixtures/reference_logits.json: cannot open");
  nlohmann::json ref = nlohmann::json::parse(is);
  const double mean = ref["mean"], stdv = ref["std"];
  std::map<std::string, std::vector<const nlohmann::json*>> by_model;
  for (const auto& c : ref["cases"]) by_model[c["model"].get<std::string>()].push_back(&c);
  double worst = 0;
  int n_cases = 0, n_agree = 0;
  fmt::print("forward pass vs torch reference logits ({}):\n", "tests/fixtures/reference_logits.json");
  for (const auto& [model, cases] : by_model) {
    nn::Network net;
    try {
      net = io::loadOnnx(repo + "/" + model).withInputNormalization(mean, stdv);
    } catch (const std::exception& e) {
      fmt::print("  {:<34} cases {:>2}  NOT LOADED: {}\n", model, cases.size(), e.what());
      continue;
    }
    double diff = 0;
    int agree = 0;
    for (const auto* c : cases) {
      std::vector<double> px = (*c)["pixels"], lg = (*c)["logits"];
      Eigen::VectorXd x = Eigen::Map<Eigen::VectorXd>(px.data(), px.size());
      Eigen::VectorXd y = net.forward(x);
      Eigen::VectorXd t = Eigen::Map<Eigen::VectorXd>(lg.data(), lg.size());
      diff = std::max(diff, (y - t).cwiseAbs().maxCoeff());
      Eigen::Index a = 0, b = 0;
      y.maxCoeff(&a);
      t.maxCoeff(&b);
      agree += a == b;
    }
    worst = std::max(worst, diff);
    n_cases += cases.size();
    n_agree += agree;
    fmt::print("  {:<34} cases {:>2}  max|nnopt - torch| {:.3e}  argmax agree {}/{}\n", model,
               cases.size(), diff, agree, cases.size());
  }
  fmt::print("  all loaded models: {} cases, max abs error {:.3e}, argmax agree {}/{}\n\n", n_cases,
             worst, n_agree, n_cases);
}

// Median load and forward time of an ONNX file.
nn::Network timeLoad(const std::string& path, const std::string& what) {
  std::vector<double> t_load;
  nn::Network net;
  for (int k = 0; k < 10; ++k) {
    Timer t;
    net = io::loadOnnx(path);
    t_load.push_back(t.seconds());
  }
  fmt::print("load {:<26} median {:8.2f} ms  min {:8.2f} ms  max {:8.2f} ms  (10 loads; target < 100 ms)\n",
             what + ":", 1e3 * median(t_load), 1e3 * *std::min_element(t_load.begin(), t_load.end()),
             1e3 * *std::max_element(t_load.begin(), t_load.end()));
  return net;
}

void timeForward(const nn::Network& net, const std::string& what) {
  Eigen::VectorXd x = Eigen::VectorXd::Constant(net.inputSize(), 0.5);
  std::vector<double> t_fwd;
  double sink = 0;
  for (int k = 0; k < 200; ++k) {
    Timer t;
    sink += net.forward(x)[0];
    t_fwd.push_back(t.seconds());
  }
  fmt::print("forward {:<23} median {:8.3f} ms  max {:8.3f} ms  (200 passes; target < 1 ms) [{:.3g}]\n",
             what + ":", 1e3 * median(t_fwd), 1e3 * *std::max_element(t_fwd.begin(), t_fwd.end()),
             sink);
}

int main(int argc, char** argv) {
  std::string repo = ".";
  std::vector<std::string> extra;
  bool skip_forms = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--repo" && i + 1 < argc) repo = argv[++i];
    else if (a == "--onnx" && i + 1 < argc) extra.push_back(argv[++i]);
    else if (a == "--skip-forms") skip_forms = true;
    else {
      fmt::print(stderr, "nnopt_bench: error: unknown argument '{}'\n", a);
      return 2;
    }
  }
  try {
    referenceLogits(repo);
    // 1. ONNX load time, 2. forward pass.
    const std::string big = "/tmp/nnopt_bench_mlp256x6.onnx";
    writeBigMlp(big);
    nn::Network bignet = timeLoad(big, "784-256x6-10 (bench-made)");
    timeForward(bignet, "784-256x6-10 (bench-made)");
    for (const auto& f : extra) {
      nn::Network n = timeLoad(f, f.substr(f.find_last_of('/') + 1));
      timeForward(n, f.substr(f.find_last_of('/') + 1));
    }
    fmt::print("\n");

    // 3. Default NLP and MIP on the bundled 1x20 net, eps 0.1.
    Case c = loadCase(repo, "models/mnist_mlp_1x20.onnx");
    auto box = spec::linfBall(c.x, 0.1);
    attack::MarginAttackParams nlp;
    nlp.method = attack::Method::kNlp;
    std::vector<double> t_nlp;
    attack::MarginAttackResult rn;
    for (int k = 0; k < 5; ++k) {
      rn = attack::marginAttack(c.net, box, c.x, c.label, c.target, nlp);
      t_nlp.push_back(rn.time_s);
    }
    fmt::print("NLP scholtes 1x20 eps 0.1:     median {:8.3f} s   min {:.3f} max {:.3f} (5 runs)  margin {:.5f} ({} Ipopt solves, {:.3f} s per solve)  (target <= 0.25 s)\n",
               median(t_nlp), *std::min_element(t_nlp.begin(), t_nlp.end()),
               *std::max_element(t_nlp.begin(), t_nlp.end()), rn.margin, rn.solves,
               median(t_nlp) / std::max(1, rn.solves));
    attack::MarginAttackParams mip;
    mip.method = attack::Method::kMip;
    std::vector<double> t_mip;
    attack::MarginAttackResult rm;
    for (int k = 0; k < 5; ++k) {
      rm = attack::marginAttack(c.net, box, c.x, c.label, c.target, mip);
      t_mip.push_back(rm.time_s);
    }
    fmt::print("MIP 1x20 eps 0.1:              median {:8.3f} s   min {:.3f} max {:.3f} (5 runs)  margin {:.5f} status {}  (target <= 1.9 s = 10x CPLEX 0.19 s)\n",
               median(t_mip), *std::min_element(t_mip.begin(), t_mip.end()),
               *std::max_element(t_mip.begin(), t_mip.end()), rm.margin, rm.status);

    // 4. MIP optimum vs every NLP form.
    if (skip_forms) {
      fmt::print("\npeak RSS: {} MB  (target < 300 MB)\n", peakRssMb());
      return 0;
    }
    fmt::print("\n{:<22} {:>5} {:>11} {:>8} {:<16} {:>11} {:>8} {:>10} {:>6}\n", "network", "eps",
               "MIP margin", "MIP s", "form", "NLP margin", "NLP s", "compl.viol", "check");
    const attack::NlpForm forms[] = {attack::NlpForm::kScholtes, attack::NlpForm::kProduct,
                                     attack::NlpForm::kInequality, attack::NlpForm::kFischerBurmeister,
                                     attack::NlpForm::kChenMangasarian, attack::NlpForm::kPenalty};
    bool all_ok = true;
    for (const char* model : {"models/mnist_mlp_1x20.onnx", "models/mnist_mlp_2x20.onnx"}) {
      Case cc = loadCase(repo, model);
      for (double eps : {0.05, 0.1}) {
        auto b = spec::linfBall(cc.x, eps);
        auto m = attack::marginAttack(cc.net, b, cc.x, cc.label, cc.target, mip);
        for (auto f : forms) {
          attack::MarginAttackParams p = nlp;
          p.nlp_form = f;
          auto r = attack::marginAttack(cc.net, b, cc.x, cc.label, cc.target, p);
          bool ok = m.status == "optimal" && m.margin <= r.margin + 1e-6;
          all_ok &= ok;
          fmt::print("{:<22} {:>5} {:>11.5f} {:>8.3f} {:<16} {:>11.5f} {:>8.3f} {:>10.2e} {:>6}\n",
                     std::string(model).substr(7), eps, m.margin, m.time_s, r.method, r.margin,
                     r.time_s, r.compl_violation, ok ? "ok" : "FAIL");
        }
      }
    }
    fmt::print("MIP optimum <= NLP margin + 1e-6 for every form: {}\n", all_ok ? "yes" : "NO");
    fmt::print("\npeak RSS: {} MB  (target < 300 MB)\n", peakRssMb());
  } catch (const std::exception& e) {
    fmt::print(stderr, "nnopt_bench: error: {}\n", e.what());
    return 2;
  }
  return 0;
}
