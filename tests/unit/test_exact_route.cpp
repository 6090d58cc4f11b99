// Issue 13: the exact stage of `auto` (CBC or the portfolio, chosen per
// network), the sweep's exact columns (mip, portfolio, exact = the same rule),
// verify's portfolio prover, and the falsifier of verify (many cheap starts,
// each disjunct targeted on its own, beside the search).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "attack/exact_policy.h"
#include "attack/multistart.h"
#include "attack/pgd.h"
#include "bounds/crown.h"
#include "io/images.h"
#include "io/onnx.h"
#include "report/sweep.h"
#include "core/error.h"
#include "nn/network.h"
#include "spec/property.h"
#include "verify/falsify.h"
#include "verify/verify.h"
#include "attack_params.h"
#include "random_net.h"
#include "temp_dir.h"

using namespace nnopt;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// A robust box around x0 for `net` (the clean margin stays positive): the
// largest of a few radii whose MIP proves robustness, so auto escalates.
double robustEps(const nn::Network& net, const VectorXd& x0, int label, int target) {
  double best = 0.0;
  for (double eps : {0.002, 0.005, 0.01, 0.02}) {
    auto r = attack::marginAttack(net, spec::linfBall(x0, eps), x0, label, target,
                                  test::mipParams());
    if (r.verdict == attack::Verdict::kRobust) best = eps;
  }
  return best;
}

TEST(ExactRoute, AutoReportsTheExactMethodItUsedAndAgreesWithTheMip) {
  for (int seed : {31, 32}) {
    auto net = test::randomNet({24, 16, 16, 16, 5}, seed);
    VectorXd x0 = test::randomPoint(24, seed + 7);
    VectorXd clean = net.forward(x0);
    const int label = test::argmax(clean), target = attack::runnerUp(clean, label);
    const double eps = robustEps(net, x0, label, target);
    ASSERT_GT(eps, 0.0) << "seed " << seed;
    for (double e : {eps, 0.1}) {  // robust (auto escalates) and wide (attack or escalate)
      SCOPED_TRACE("seed " + std::to_string(seed) + " eps " + std::to_string(e));
      const auto box = spec::linfBall(x0, e);
      const auto mip = attack::marginAttack(net, box, x0, label, target, test::mipParams());
      ASSERT_EQ(mip.status, "optimal");
      const int unstable =
          static_cast<int>(bounds::countRelus(net, bounds::crownBounds(net, box)).unstable);
      // Threshold 0: the portfolio; above the count: CBC alone.
      for (int threshold : {0, unstable + 1}) {
        attack::AutoParams ap;
        ap.screen.nlp.method = attack::Method::kNlp;
        ap.screen.starts = 2;
        ap.screen.threads = 1;
        ap.mip = test::mipParams();
        ap.policy.portfolio_min_unstable = threshold;
        const auto a = attack::autoAttack(net, box, x0, label, target, ap);
        if (!a.mip_ran) {  // the screen found a replayed attack: the MIP agrees
          EXPECT_EQ(a.decided_by, "nlp-screen");
          EXPECT_EQ(mip.verdict, attack::Verdict::kAttackFound);
          continue;
        }
        const std::string want = threshold == 0 ? "portfolio" : "mip";
        EXPECT_EQ(a.exact_method, want);
        EXPECT_EQ(a.decided_by, want);
        EXPECT_EQ(a.result.method, "auto(" + want + ")");
        EXPECT_NE(a.reason.find("exact " + want), std::string::npos) << a.reason;
        EXPECT_EQ(a.result.verdict, mip.verdict);
        EXPECT_EQ(a.result.status.rfind("optimal", 0), 0u) << a.result.status;
        const double tol = 2e-4 * std::max(1.0, std::abs(mip.margin));
        EXPECT_NEAR(a.result.margin, mip.margin, tol);
        EXPECT_LE(a.result.bound, a.result.margin + 1e-9);
      }
    }
  }
}

TEST(ExactRoute, PolicyPicksByUnstableCount) {
  auto net = test::randomNet({10, 12, 12, 3}, 5);
  const VectorXd x0 = test::randomPoint(10, 6);
  const auto box = spec::linfBall(x0, 0.2);
  const int unstable =
      static_cast<int>(bounds::countRelus(net, bounds::crownBounds(net, box)).unstable);
  ASSERT_GT(unstable, 0);
  attack::ExactPolicy pol;
  pol.portfolio_min_unstable = unstable;
  auto c = attack::chooseExactMethod(net, box, pol);
  EXPECT_EQ(c.method, attack::Method::kPortfolio);
  EXPECT_EQ(c.unstable, unstable);
  pol.portfolio_min_unstable = unstable + 1;
  c = attack::chooseExactMethod(net, box, pol);
  EXPECT_EQ(c.method, attack::Method::kMip);
  EXPECT_NE(c.why.find(std::to_string(unstable)), std::string::npos) << c.why;
  auto tanh_net = test::randomNet({4, 3, 2}, 1, nn::ActKind::kTanh);
  EXPECT_THROW(attack::chooseExactMethod(tanh_net, spec::linfBall(VectorXd::Zero(4), 0.1)),
               Error);
}

// The default rule (ExactPolicy{}) on the sweep networks of its measurement,
// the first MNIST test digit at eps 0.1: CBC below 60 unstable ReLUs (2x20: 31,
// 3x20: 54), the portfolio from there (2x40: 69, 5x20: 89). The counts are
// those of the earlier exact study (docs/results/exact-eps0.1/table.md,
// "unstable"): a regression table, a CROWN change that moves them must say so.
TEST(ExactRoute, DefaultRuleOnTheMeasuredSweepNetworks) {
  const io::Image img = io::loadImage(NNOPT_FIXTURES_DIR "/../../data/mnist_test_0.pgm");
  const auto box = spec::linfBall(img.pixels, 0.1, 0.0, 1.0);
  EXPECT_EQ(attack::ExactPolicy{}.portfolio_min_unstable, 60);
  for (auto [name, unstable, method] :
       {std::tuple{"mlp_2x20", 31, attack::Method::kMip}, {"mlp_3x20", 54, attack::Method::kMip},
        {"mlp_2x40", 69, attack::Method::kPortfolio}, {"mlp_5x20", 89, attack::Method::kPortfolio}}) {
    SCOPED_TRACE(name);
    const nn::Network net =
        io::loadOnnx(std::string(NNOPT_FIXTURES_DIR "/../../models/sweep/") + name + ".onnx")
            .withInputNormalization(0.1307, 0.3081);
    const auto c = attack::chooseExactMethod(net, box);
    EXPECT_EQ(c.unstable, unstable);
    EXPECT_EQ(c.method, method) << c.why;
  }
}

nn::Layer denseLayer(const MatrixXd& W, const VectorXd& b, const std::string& name) {
  nn::Dense d;
  d.W = W;
  d.b = b;
  return nn::Layer{name, d, {W.rows()}};
}

// A planted counterexample far from the box centre: inputs in [0, 1]^n,
// y0 = 10 * sum_i relu(x_i - 0.95) - 4, y1 = 0. Unsafe: y0 >= y1, i.e. at
// least 8 inputs above 0.95 + ... (near a corner with >= 9 ones). At the
// centre every ReLU is dead: a single PGD start there has no gradient.
nn::Network plantedNet(int n) {
  MatrixXd W1 = MatrixXd::Identity(n, n);
  VectorXd b1 = VectorXd::Constant(n, -0.95);
  MatrixXd W2 = MatrixXd::Zero(2, n);
  W2.row(0).setConstant(10.0);
  VectorXd b2(2);
  b2 << -4.0, 0.0;
  std::vector<nn::Layer> layers = {denseLayer(W1, b1, "fc1"),
                                   {"relu1", nn::Activation{nn::ActKind::kRelu}, {n}},
                                   denseLayer(W2, b2, "fc2")};
  return nn::Network({n}, layers);
}

spec::OutputSpec plantedUnsafe() {
  // Disjunct 0: y1 - y0 <= 0 (the planted one); disjunct 1: y0 <= -100 (never).
  spec::OutputConstraint k0{{{1, 1.0}, {0, -1.0}}, 0.0};
  spec::OutputConstraint k1{{{0, 1.0}}, -100.0};
  spec::OutputSpec s;
  s.disjuncts = {{k0}, {k1}};
  return s;
}

TEST(ExactRoute, FalsifierFindsAPlantedCounterexampleASingleStartMisses) {
  const int n = 20;
  const auto net = plantedNet(n);
  spec::Box box{VectorXd::Zero(n), VectorXd::Ones(n)};
  const auto unsafe = plantedUnsafe();
  // The plain single start (the box centre) stays where it began.
  attack::PgdParams one;
  one.restarts = 1;
  const auto single = attack::pgdMinimize(net, box, unsafe, one);
  EXPECT_FALSE(single.reached);
  EXPECT_NEAR(single.value, 4.0, 1e-9);
  // The falsifier's rounds (random corners among the starts) find it; the
  // accepted point is replayed here.
  verify::FalsifyParams fp;
  fp.max_rounds = 6;
  fp.local_every = 0;
  int accepted = 0;
  VectorXd found;
  const auto fr = verify::falsifyCase(
      net, box, unsafe, {0, 1}, bounds::BoundTable(), VectorXd(), fp,
      [&](const VectorXd& x, const std::string&) {
        ++accepted;
        const VectorXd y = net.forward(x);
        if (!(box.contains(x, 0.0) && y[1] - y[0] <= 0.0)) return false;
        found = x;
        return true;
      });
  EXPECT_TRUE(fr.found);
  EXPECT_EQ(accepted, 1);
  ASSERT_EQ(found.size(), n);
  EXPECT_LE(fr.best_margin, 0.0);
  EXPECT_GE(fr.rounds, 1);
  EXPECT_LE(fr.rounds, 6);
  // Nothing to attack: nothing happens.
  const auto none = verify::falsifyCase(net, box, unsafe, {}, bounds::BoundTable(), VectorXd(),
                                        fp, [](const VectorXd&, const std::string&) { return true; });
  EXPECT_FALSE(none.found);
  EXPECT_EQ(none.rounds, 0);
}

spec::Property plantedProperty(int n) {
  spec::Property prop;
  prop.input_boxes = {spec::Box{VectorXd::Zero(n), VectorXd::Ones(n)}};
  prop.unsafe = plantedUnsafe();
  return prop;
}

TEST(ExactRoute, VerifyFindsThePlantedCounterexampleOnlyWithTheFalsifier) {
  const int n = 20;
  const auto net = plantedNet(n);
  const auto prop = plantedProperty(n);
  verify::VerifyParams vp;
  vp.timeout_s = 20;
  vp.prover = verify::Prover::kNone;  // falsification only
  vp.pgd_restarts = 1;                // stage 1's PGD: the centre alone
  vp.nlp = false;
  vp.falsify_rounds = 0;
  auto r = verify::verifyProperty(net, prop, vp);
  EXPECT_NE(r.answer, verify::VerifyAnswer::kSat) << r.reason;
  vp.falsify_rounds = 2;
  r = verify::verifyProperty(net, prop, vp);
  ASSERT_EQ(r.answer, verify::VerifyAnswer::kSat) << r.reason;
  EXPECT_EQ(r.decided_by.rfind("falsify:", 0), 0u) << r.decided_by;
  EXPECT_GT(r.falsify_starts, 0);
  const VectorXd y = net.forward(r.x);
  EXPECT_LE(y[1] - y[0], 0.0);
}

TEST(ExactRoute, PortfolioProverAgreesWithReluBabAndMip) {
  // Random nets and L-inf boxes, some safe, some not: the portfolio's answer
  // is the ReLU B&B's and the MIP's; its sat points replay.
  int decided = 0;
  for (int seed : {41, 42, 43}) {
    auto net = test::randomNet({30, 20, 20, 4}, seed);
    const VectorXd x0 = test::randomPoint(30, seed + 3);
    const VectorXd y0 = net.forward(x0);
    const int label = test::argmax(y0);
    for (double eps : {0.01, 0.05, 0.2}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " eps " + std::to_string(eps));
      spec::Property prop;
      prop.input_boxes = {spec::linfBall(x0, eps)};
      for (int j = 0; j < 4; ++j)
        if (j != label) prop.unsafe.disjuncts.push_back({{{{label, 1.0}, {j, -1.0}}, 0.0}});
      std::vector<verify::VerifyAnswer> answers;
      for (auto pr : {verify::Prover::kReluBab, verify::Prover::kMip, verify::Prover::kPortfolio}) {
        verify::VerifyParams vp;
        vp.timeout_s = 60;
        vp.threads = 2;
        vp.prover = pr;
        vp.input_split_max_dims = 0;
        vp.falsify_beside = pr != verify::Prover::kReluBab;
        const auto r = verify::verifyProperty(net, prop, vp);
        answers.push_back(r.answer);
        if (r.answer == verify::VerifyAnswer::kSat) {
          const VectorXd y = net.forward(r.x);
          EXPECT_TRUE(prop.isUnsafe(r.x, y, 0.0));
        }
      }
      EXPECT_EQ(answers[2], answers[0]);
      EXPECT_EQ(answers[2], answers[1]);
      decided += answers[2] == verify::VerifyAnswer::kSat || answers[2] == verify::VerifyAnswer::kUnsat;
    }
  }
  EXPECT_EQ(decided, 9);
}

// The sweep's `exact` column runs the portfolio above the size rule and CBC
// below it (decided_by and method_result name the one chosen), `portfolio`
// always races; both give the MIP's verdicts and, where proven, its optimum.
// Two fixture networks (1x10: 7-ish, 2x20: more unstable ReLUs at eps 0.05).
TEST(ExactRoute, SweepExactColumnFollowsTheRuleAndAgreesWithTheMip) {
  test::TempDir d("nnopt_sweep_exact");
  const std::string models = NNOPT_FIXTURES_DIR "/../../models/";
  for (int threshold : {0, 1 << 30}) {
    SCOPED_TRACE("threshold " + std::to_string(threshold));
    report::SweepParams p;
    p.models = {models + "mnist_mlp_1x10.onnx", models + "mnist_mlp_2x20.onnx"};
    p.dataset = NNOPT_FIXTURES_DIR "/digits.csv";
    p.index = 0;
    p.eps = 0.05;
    p.mean = {0.1307};
    p.stdv = {0.3081};
    p.methods = {"mip", "exact", "portfolio"};
    p.time_limit = 60;
    p.threads = 1;
    p.portfolio_min_unstable = threshold;
    p.out_dir = d / ("out" + std::to_string(threshold));
    const auto o = report::runSweep(p);
    ASSERT_EQ(o.ran, 6);
    EXPECT_EQ(o.table.mip, "mip");
    const std::string want = threshold == 0 ? "portfolio" : "mip";
    for (const auto& row : o.table.rows) {
      SCOPED_TRACE(row.network);
      const auto& mip = row.by_method.at("mip");
      const auto& ex = row.by_method.at("exact");
      const auto& pf = row.by_method.at("portfolio");
      ASSERT_TRUE(mip.proven) << mip.status;
      EXPECT_EQ(ex.decided_by, want);
      EXPECT_EQ(ex.method_result, "exact(" + want + ")");
      EXPECT_EQ(pf.method_result, "portfolio");
      EXPECT_TRUE(pf.decided_by.empty());
      for (const auto* r : {&ex, &pf}) {
        EXPECT_EQ(r->verdict, mip.verdict) << r->method;
        EXPECT_TRUE(r->proven) << r->method << ": " << r->status;
        EXPECT_EQ(r->starts_run, 1);
        const double tol = 2e-4 * std::max(1.0, std::abs(mip.margin));
        EXPECT_NEAR(r->margin, mip.margin, tol) << r->method;
        EXPECT_LE(r->bound, r->margin + 1e-9) << r->method;
      }
    }
    ASSERT_EQ(o.table.vs_mip.size(), 2u);
    for (const auto& c : o.table.vs_mip) {
      EXPECT_EQ(c.sign_disagree, 0) << c.method;
      EXPECT_EQ(c.false_robust, 0) << c.method;
      EXPECT_EQ(c.exact_agree, 2) << c.method;
    }
    // The records say which method decided (results.jsonl, the resume source).
    for (const auto& r : report::loadResults(p.out_dir + "/results.jsonl").records) {
      if (r.method == "exact") {
        EXPECT_EQ(r.decided_by, want);
      }
    }
  }
}

}  // namespace
