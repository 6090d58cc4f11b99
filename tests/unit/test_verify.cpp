#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bounds/crown.h"
#include "core/error.h"
#include "io/images.h"
#include "io/onnx.h"
#include "io/vnnlib.h"
#include "nn/network.h"
#include "spec/property.h"
#include "attack/pgd.h"
#include "verify/falsify.h"
#include "verify/disjunct_model.h"
#include "verify/verify.h"
#include "verify/vnncomp.h"
#include "random_net.h"

using namespace nnopt;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using test::actLayer;
using test::denseLayer;
using test::randomNet;
using test::sumDiffNet;
using verify::VerifyAnswer;

namespace {



std::string header(int n_in, int n_out) {
  std::string s;
  for (int i = 0; i < n_in; ++i) s += "(declare-const X_" + std::to_string(i) + " Real)\n";
  for (int j = 0; j < n_out; ++j) s += "(declare-const Y_" + std::to_string(j) + " Real)\n";
  return s;
}

std::string boxText(const VectorXd& lo, const VectorXd& hi) {
  std::string s;
  char buf[200];
  for (Eigen::Index i = 0; i < lo.size(); ++i) {
    std::snprintf(buf, sizeof buf, "(assert (>= X_%ld %.17g))\n(assert (<= X_%ld %.17g))\n",
                  long(i), lo[i], long(i), hi[i]);
    s += buf;
  }
  return s;
}

spec::Property parse(const std::string& text, const nn::Network& net) {
  return io::parseVnnlib(text, "test.vnnlib", net.inputSize(), net.outputSize());
}

verify::VerifyParams fast(double timeout = 20.0) {
  verify::VerifyParams p;
  p.timeout_s = timeout;
  p.threads = 2;
  return p;
}

// Every sat answer must carry a replayable counterexample.
void expectValidSat(const nn::Network& net, const spec::Property& prop,
                    const verify::VerifyResult& r) {
  ASSERT_EQ(r.answer, VerifyAnswer::kSat) << r.reason;
  ASSERT_EQ(r.x.size(), net.inputSize());
  ASSERT_EQ(r.y.size(), net.outputSize());
  EXPECT_LT((net.forward(r.x) - r.y).norm(), 1e-12);
  EXPECT_TRUE(prop.isUnsafe(r.x, r.y, 0.0));
  auto cases = verify::propertyCases(prop);
  ASSERT_GE(r.case_index, 0);
  EXPECT_TRUE(cases[r.case_index].input.contains(r.x, 0.0));
}

std::string tempPath(const std::string& name) {
  return ::testing::TempDir() + "/nnopt_test_verify_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

TEST(Verify, SatWithAKnownCounterexample) {
  nn::Network net = sumDiffNet();
  // y0 = relu(x0 + x1) reaches 2 at (1, 1): unsafe y0 >= 1.5.
  auto prop = parse(
      header(2, 2) + boxText(VectorXd::Zero(2), VectorXd::Ones(2)) + "(assert (>= Y_0 1.5))\n",
      net);
  auto r = verify::verifyProperty(net, prop, fast());
  expectValidSat(net, prop, r);
  EXPECT_GE(r.y[0], 1.5);
}

TEST(Verify, UnsatWhenTheBoundIsOutOfReach) {
  nn::Network net = sumDiffNet();
  auto prop = parse(
      header(2, 2) + boxText(VectorXd::Zero(2), VectorXd::Ones(2)) + "(assert (>= Y_0 2.5))\n",
      net);
  for (auto prover : {verify::Prover::kAuto, verify::Prover::kInputBab, verify::Prover::kMip,
                      verify::Prover::kReluBab}) {
    auto p = fast();
    p.prover = prover;
    auto r = verify::verifyProperty(net, prop, p);
    EXPECT_EQ(r.answer, VerifyAnswer::kUnsat) << verify::proverName(prover) << ": " << r.reason;
    EXPECT_EQ(r.disjuncts_refuted, 1);
  }
}

TEST(Verify, FalsifyOnlyNeverSaysUnsat) {
  nn::Network net = sumDiffNet();
  auto prop = parse(
      header(2, 2) + boxText(VectorXd::Zero(2), VectorXd::Ones(2)) + "(assert (>= Y_0 2.5))\n",
      net);
  auto p = fast();
  p.prover = verify::Prover::kNone;
  auto r = verify::verifyProperty(net, prop, p);
  EXPECT_EQ(r.answer, VerifyAnswer::kUnknown);
}

TEST(Verify, DisjunctionOfInputBoxes) {
  nn::Network net = sumDiffNet();
  // Box A = [0,0.5]^2: y0 <= 1 there; box B = [0.9,1]x[0,1]: y0 up to 2.
  std::string text = header(2, 2) +
                     "(assert (or (and (>= X_0 0) (<= X_0 0.5) (>= X_1 0) (<= X_1 0.5))\n"
                     "            (and (>= X_0 0.9) (<= X_0 1) (>= X_1 0) (<= X_1 1))))\n"
                     "(assert (>= Y_0 1.8))\n";
  auto prop = parse(text, net);
  ASSERT_EQ(prop.cases.size(), 2u);
  auto r = verify::verifyProperty(net, prop, fast());
  expectValidSat(net, prop, r);
  EXPECT_EQ(r.case_index, 1);
  // Only box A: unsat.
  std::string text_a = header(2, 2) +
                       "(assert (or (and (>= X_0 0) (<= X_0 0.5) (>= X_1 0) (<= X_1 0.5))\n"
                       "            (and (>= X_0 0) (<= X_0 0.4) (>= X_1 0.1) (<= X_1 0.2))))\n"
                       "(assert (>= Y_0 1.8))\n";
  auto prop_a = parse(text_a, net);
  EXPECT_EQ(verify::verifyProperty(net, prop_a, fast()).answer, VerifyAnswer::kUnsat);
}

TEST(Verify, SeveralOutputDisjuncts) {
  nn::Network net = sumDiffNet();
  const std::string box = boxText(VectorXd::Zero(2), VectorXd::Ones(2));
  // (y0 >= 2.5) or (y1 >= 0.9 and y0 <= 1.2): the second holds at (1, 0).
  auto sat = parse(
      header(2, 2) + box + "(assert (or (>= Y_0 2.5) (and (>= Y_1 0.9) (<= Y_0 1.2))))\n", net);
  auto r = verify::verifyProperty(net, sat, fast());
  expectValidSat(net, sat, r);
  EXPECT_EQ(r.disjunct_index, 1);
  // (y0 >= 2.5) or (y1 >= 1.1) or (y0 <= -0.1): all impossible.
  auto unsat =
      parse(header(2, 2) + box + "(assert (or (>= Y_0 2.5) (>= Y_1 1.1) (<= Y_0 -0.1)))\n", net);
  for (auto prover : {verify::Prover::kInputBab, verify::Prover::kMip, verify::Prover::kReluBab}) {
    auto p = fast();
    p.prover = prover;
    auto u = verify::verifyProperty(net, unsat, p);
    EXPECT_EQ(u.answer, VerifyAnswer::kUnsat) << verify::proverName(prover) << ": " << u.reason;
    EXPECT_EQ(u.disjuncts_refuted, 3);
  }
}

TEST(Verify, ProductViewWithoutCases) {
  nn::Network net = sumDiffNet();
  spec::Property prop;
  prop.input_boxes = {{VectorXd::Zero(2), VectorXd::Ones(2)}};
  spec::OutputConstraint c;
  c.coefs = {{0, -1.0}};
  c.rhs = -1.5;  // y0 >= 1.5
  prop.unsafe.disjuncts = {{c}};
  auto r = verify::verifyProperty(net, prop, fast());
  expectValidSat(net, prop, r);
}

// Random networks: the threshold is set from a dense sample so a
// counterexample is known to exist; the verifier must never say unsat, and
// must find one (the nets are tiny). With the threshold above a sound upper
// bound it must never say sat.
TEST(Verify, NeverUnsatWithAKnownCounterexample) {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 12; ++trial) {
    const int n_in = 2 + trial % 3;
    nn::Network net = randomNet(rng, n_in, {8, 8, 3});
    spec::Box box{VectorXd::Constant(n_in, -1.0), VectorXd::Constant(n_in, 1.0)};
    // objective y0 - y1, sampled on a grid
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    double best = -1e300;
    for (int s = 0; s < 4000; ++s) {
      VectorXd x(n_in);
      for (int i = 0; i < n_in; ++i) x[i] = u(rng);
      VectorXd y = net.forward(x);
      best = std::max(best, y[0] - y[1]);
    }
    // Unsafe: y0 - y1 >= best - 1e-3 (the best sample satisfies it).
    char buf[200];
    std::snprintf(buf, sizeof buf, "(assert (>= (- Y_0 Y_1) %.17g))\n", best - 1e-3);
    auto prop = parse(header(n_in, 3) + boxText(box.lo, box.hi) + buf, net);
    for (auto prover :
         {verify::Prover::kInputBab, verify::Prover::kMip, verify::Prover::kReluBab}) {
      for (bool falsifiers : {true, false}) {
        auto p = fast();
        p.prover = prover;
        p.seed = trial;
        if (!falsifiers) {  // the prover alone must find the counterexample
          p.nlp = false;
          p.pgd_restarts = 1;
          p.pgd_steps = 0;
          p.bab_pgd_steps = 0;
        }
        auto r = verify::verifyProperty(net, prop, p);
        EXPECT_NE(r.answer, VerifyAnswer::kUnsat) << "trial " << trial;
        if (r.answer == VerifyAnswer::kSat) expectValidSat(net, prop, r);
        EXPECT_EQ(r.answer, VerifyAnswer::kSat) << "trial " << trial << ": " << r.reason;
      }
    }
    // Threshold above a sound upper bound of y0 - y1: unsat, never sat.
    auto t = bounds::crownBounds(net, box);
    VectorXd c = VectorXd::Zero(3);
    c[0] = -1.0;
    c[1] = 1.0;
    const double ub = -bounds::crownLowerBound(net, box, t, c);
    std::snprintf(buf, sizeof buf, "(assert (>= (- Y_0 Y_1) %.17g))\n", ub + 0.05);
    auto safe = parse(header(n_in, 3) + boxText(box.lo, box.hi) + buf, net);
    auto r = verify::verifyProperty(net, safe, fast());
    EXPECT_EQ(r.answer, VerifyAnswer::kUnsat) << "trial " << trial << ": " << r.reason;
  }
}

// Both provers agree on random properties near the true maximum.
TEST(Verify, ProversAgreeOnRandomProperties) {
  std::mt19937 rng(99);
  int decided = 0;
  for (int trial = 0; trial < 10; ++trial) {
    nn::Network net = randomNet(rng, 3, {10, 10, 2});
    spec::Box box{VectorXd::Constant(3, -1.0), VectorXd::Constant(3, 1.0)};
    auto t = bounds::crownBounds(net, box);
    VectorXd c = VectorXd::Zero(2);
    c[0] = -1.0;
    const double ub = -bounds::crownLowerBound(net, box, t, c);  // >= max y0
    const double thr = ub - 0.15 * (t.hi.back()[0] - t.lo.back()[0]);
    char buf[200];
    std::snprintf(buf, sizeof buf, "(assert (>= Y_0 %.17g))\n", thr);
    auto prop = parse(header(3, 2) + boxText(box.lo, box.hi) + buf, net);
    auto p = fast();
    p.nlp = false;
    p.pgd_restarts = 1;
    p.pgd_steps = 0;
    std::vector<verify::VerifyResult> rs;
    for (auto prover :
         {verify::Prover::kInputBab, verify::Prover::kMip, verify::Prover::kReluBab}) {
      p.prover = prover;
      rs.push_back(verify::verifyProperty(net, prop, p));
      ASSERT_NE(rs.back().answer, VerifyAnswer::kTimeout) << verify::proverName(prover);
      if (rs.back().answer == VerifyAnswer::kSat) expectValidSat(net, prop, rs.back());
    }
    for (size_t i = 1; i < rs.size(); ++i)
      EXPECT_EQ(rs[0].answer, rs[i].answer)
          << "trial " << trial << ": " << rs[0].reason << " / " << rs[i].reason;
    decided += rs[0].answer == VerifyAnswer::kSat || rs[0].answer == VerifyAnswer::kUnsat;
  }
  EXPECT_EQ(decided, 10);
}

TEST(Verify, HighDimensionalInputsUseTheExactRoute) {
  std::mt19937 rng(8);
  nn::Network net = randomNet(rng, 16, {12, 3});
  spec::Box box{VectorXd::Constant(16, 0.0), VectorXd::Constant(16, 0.1)};
  auto t = bounds::crownBounds(net, box);
  VectorXd c = VectorXd::Zero(3);
  c[2] = -1.0;
  const double ub = -bounds::crownLowerBound(net, box, t, c);
  char buf[200];
  std::snprintf(buf, sizeof buf, "(assert (>= Y_2 %.17g))\n", ub + 1e-3);
  auto prop = parse(header(16, 3) + boxText(box.lo, box.hi) + buf, net);
  auto r = verify::verifyProperty(net, prop, fast());
  EXPECT_EQ(r.answer, VerifyAnswer::kUnsat) << r.reason;
  EXPECT_NE(r.decided_by.find("crown"), std::string::npos);
  // The CROWN screen runs before the falsifier's rounds: none for a property
  // it proves.
  EXPECT_EQ(r.falsify_rounds, 0);
  // Reachable: the value at the box centre.
  VectorXd y = net.forward(VectorXd::Constant(16, 0.05));
  std::snprintf(buf, sizeof buf, "(assert (>= Y_2 %.17g))\n", y[2]);
  auto sat = parse(header(16, 3) + boxText(box.lo, box.hi) + buf, net);
  expectValidSat(net, sat, verify::verifyProperty(net, sat, fast()));
}

TEST(Verify, SmoothActivationsGoThroughTheInputBab) {
  std::mt19937 rng(4);
  nn::Network net = randomNet(rng, 2, {6, 2}, nn::ActKind::kTanh);
  spec::Box box{VectorXd::Constant(2, -1.0), VectorXd::Constant(2, 1.0)};
  auto t = bounds::crownBounds(net, box);
  char buf[200];
  std::snprintf(buf, sizeof buf, "(assert (>= Y_0 %.17g))\n", t.hi.back()[0] + 0.01);
  auto prop = parse(header(2, 2) + boxText(box.lo, box.hi) + buf, net);
  EXPECT_EQ(verify::verifyProperty(net, prop, fast()).answer, VerifyAnswer::kUnsat);
}

TEST(Verify, TimeoutIsReported) {
  std::mt19937 rng(12);
  nn::Network net = randomNet(rng, 5, {40, 40, 40, 2});
  spec::Box box{VectorXd::Constant(5, -1.0), VectorXd::Constant(5, 1.0)};
  // A threshold just below the sampled maximum: hard to decide quickly.
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  double best = -1e300;
  for (int s = 0; s < 2000; ++s) {
    VectorXd x(5);
    for (int i = 0; i < 5; ++i) x[i] = u(rng);
    best = std::max(best, net.forward(x)[0]);
  }
  char buf[200];
  std::snprintf(buf, sizeof buf, "(assert (>= Y_0 %.17g))\n", best + 1e-4);
  auto prop = parse(header(5, 2) + boxText(box.lo, box.hi) + buf, net);
  auto p = fast(0.3);
  auto r = verify::verifyProperty(net, prop, p);
  EXPECT_LT(r.time_s, 2.0);
  EXPECT_TRUE(r.answer == VerifyAnswer::kTimeout || r.answer == VerifyAnswer::kSat ||
              r.answer == VerifyAnswer::kUnsat);
  if (r.answer == VerifyAnswer::kSat) expectValidSat(net, prop, r);
}

// A property that takes verify minutes (the committed 5x60 MLP, digit 7 of
// mnist_test_0 in an L-inf box of 0.034, any other class as the unsafe
// output, just below where PGD finds a counterexample: at 40 s, two threads,
// it still times out with 5 of 9 disjuncts refuted; at 0.03 the race of node
// LPs and beta-CROWN nodes proves it in ~1 s). Cancelled from
// another thread after delay_s, verify must return within a second with
// neither sat nor unsat.
struct CancelCase {
  const char* name;
  verify::Prover prover;
  double delay_s;
  int short_stages;  // 1: PGD cut (the delay lands in LP tightening); 2: PGD, NLP, LP cut
                     // (it lands in the exact stage)
};

class VerifyCancel : public ::testing::TestWithParam<CancelCase> {};

TEST_P(VerifyCancel, StopsWithinASecondWithoutAVerdict) {
  const CancelCase& cc = GetParam();
  const std::string root = std::string(NNOPT_FIXTURES_DIR) + "/../..";
  const nn::Network net =
      io::loadOnnx(root + "/models/sweep/mlp_5x60.onnx").withInputNormalization(0.1307, 0.3081);
  const VectorXd x0 = io::loadImage(root + "/data/mnist_test_0.pgm").pixels;
  ASSERT_EQ(x0.size(), net.inputSize());
  const double eps = 0.034;
  std::string text = header(784, 10) +
                     boxText((x0.array() - eps).max(0.0).matrix(), (x0.array() + eps).min(1.0).matrix());
  text += "(assert (or\n";
  for (int j = 0; j < 10; ++j)
    if (j != 7) text += "  (and (>= Y_" + std::to_string(j) + " Y_7))\n";
  text += "))\n";
  const auto prop = parse(text, net);

  verify::VerifyParams p;
  p.timeout_s = 600;
  p.threads = 2;
  p.prover = cc.prover;
  if (cc.short_stages >= 1) p.pgd_time_max_s = 0.2;
  if (cc.short_stages >= 2) {
    p.nlp_time_max_s = 0.3;
    p.lp_tighten_max_s = 1.0;
  }
  std::atomic<bool> cancel{false};
  p.cancel = &cancel;
  std::chrono::steady_clock::time_point sent;
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::duration<double>(cc.delay_s));
    sent = std::chrono::steady_clock::now();
    cancel = true;
  });
  const auto r = verify::verifyProperty(net, prop, p);
  const auto back = std::chrono::steady_clock::now();
  killer.join();
  ASSERT_GE(r.time_s, cc.delay_s) << "verify finished before the cancel: " << r.reason;
  const double waited = std::chrono::duration<double>(back - sent).count();
  EXPECT_LT(waited, 1.0) << cc.name;
  EXPECT_EQ(r.answer, VerifyAnswer::kUnknown) << verify::answerName(r.answer) << ": " << r.reason;
  EXPECT_NE(r.reason.find("cancelled"), std::string::npos) << r.reason;
  EXPECT_LT(r.disjuncts_refuted, r.disjuncts);
}

INSTANTIATE_TEST_SUITE_P(
    Stages, VerifyCancel,
    ::testing::Values(CancelCase{"pgd", verify::Prover::kReluBab, 1.0, 0},
                      CancelCase{"lp_tighten", verify::Prover::kReluBab, 1.5, 1},
                      CancelCase{"relu_bab", verify::Prover::kReluBab, 3.0, 2},
                      CancelCase{"mip", verify::Prover::kMip, 3.0, 2},
                      CancelCase{"input_bab", verify::Prover::kInputBab, 1.5, 2}),
    [](const ::testing::TestParamInfo<CancelCase>& i) { return std::string(i.param.name); });

TEST(Verify, RejectsMismatchedProperties) {
  nn::Network net = sumDiffNet();
  spec::Property prop;
  prop.input_boxes = {{VectorXd::Zero(3), VectorXd::Ones(3)}};
  spec::OutputConstraint c;
  c.coefs = {{0, 1.0}};
  prop.unsafe.disjuncts = {{c}};
  EXPECT_THROW(verify::verifyProperty(net, prop, fast()), Error);
  prop.input_boxes = {{VectorXd::Zero(2), VectorXd::Ones(2)}};
  prop.unsafe.disjuncts = {{spec::OutputConstraint{{{7, 1.0}}, 0.0}}};
  EXPECT_THROW(verify::verifyProperty(net, prop, fast()), Error);
  prop.unsafe.disjuncts = {{c}};
  auto p = fast();
  p.timeout_s = 0;
  EXPECT_THROW(verify::verifyProperty(net, prop, p), Error);
}

TEST(Verify, ReplayRejectsPointsOutsideTheBox) {
  nn::Network net = sumDiffNet();
  auto prop = parse(
      header(2, 2) + boxText(VectorXd::Zero(2), VectorXd::Ones(2)) + "(assert (>= Y_0 1.5))\n",
      net);
  const auto& box = prop.cases[0].input;
  VectorXd xo, yo;
  VectorXd x(2);
  x << 1.0, 1.0;
  EXPECT_TRUE(verify::replayCounterexample(net, prop, box, x, xo, yo));
  x << 1.0 + 1e-12, 1.0;  // within tolerance: clamped
  EXPECT_TRUE(verify::replayCounterexample(net, prop, box, x, xo, yo));
  EXPECT_EQ(xo[0], 1.0);
  x << 1.1, 1.0;
  EXPECT_FALSE(verify::replayCounterexample(net, prop, box, x, xo, yo));
  x << 0.5, 0.5;  // inside, but y0 = 1 < 1.5
  EXPECT_FALSE(verify::replayCounterexample(net, prop, box, x, xo, yo));
  x << NAN, 1.0;
  EXPECT_FALSE(verify::replayCounterexample(net, prop, box, x, xo, yo));
}

// Refined bounds of sub-boxes contain every sampled activation and are never
// looser than the parent's.
TEST(Falsify, SampledStartsAreTheBestSamplesInTheBox) {
  std::mt19937 rng(5);
  nn::Network net = randomNet(rng, 3, {8, 2});
  spec::Box box{VectorXd::Constant(3, -1.0), VectorXd::Constant(3, 2.0)};
  spec::OutputConstraint c;
  c.coefs = {{0, 1.0}, {1, -1.0}};
  c.rhs = -100.0;  // never met: only the ordering matters
  spec::OutputSpec s;
  s.disjuncts = {{c}};
  auto pts = verify::sampledStarts(net, box, s, 500, 7, 3);
  ASSERT_EQ(pts.size(), 7u);
  double prev = -1e300;
  for (const auto& x : pts) {
    EXPECT_TRUE(box.contains(x, 0.0));
    const double v = spec::specMargin(s, net.forward(x));
    EXPECT_GE(v, prev);
    prev = v;
  }
  // The best of 500 samples beats most fresh uniform points.
  std::uniform_real_distribution<double> u(-1.0, 2.0);
  const double best = spec::specMargin(s, net.forward(pts[0]));
  int worse = 0;
  for (int k = 0; k < 200; ++k) {
    VectorXd x(3);
    for (int i = 0; i < 3; ++i) x[i] = u(rng);
    worse += spec::specMargin(s, net.forward(x)) >= best;
  }
  EXPECT_GE(worse, 190);
  EXPECT_EQ(verify::sampledStarts(net, box, s, 3, 7, 3).size(), 3u);
  EXPECT_TRUE(verify::sampledStarts(net, box, s, 100, 0, 3).empty());
}

// ---------------------------------------------------------------- VNN-COMP files

TEST(VnnComp, ResultFileFormat) {
  EXPECT_EQ(verify::formatResultFile(VerifyAnswer::kUnsat), "unsat\n");
  EXPECT_EQ(verify::formatResultFile(VerifyAnswer::kTimeout), "timeout\n");
  EXPECT_EQ(verify::formatResultFile(VerifyAnswer::kUnknown), "unknown\n");
  EXPECT_EQ(verify::formatErrorResult(), "error\n");
  VectorXd x(2), y(1);
  x << 0.1, -2.0;
  y << 1.0 / 3.0;
  EXPECT_EQ(verify::formatResultFile(VerifyAnswer::kSat, x, y),
            "sat\n"
            "((X_0 0.10000000000000001)\n"
            " (X_1 -2)\n"
            " (Y_0 0.33333333333333331))\n");
  // Values round-trip exactly.
  EXPECT_EQ(std::stod("0.33333333333333331"), 1.0 / 3.0);
}

TEST(VnnComp, ResultsCsvAppendAndRead) {
  const std::string path = tempPath("results.csv");
  std::remove(path.c_str());
  EXPECT_TRUE(verify::readResultsCsv(path).empty());
  verify::appendResultRow(path, {"a.onnx", "p1.vnnlib", "sat", 1.5});
  verify::appendResultRow(path, {"a.onnx", "p2.vnnlib", "unsat", 0.25});
  {
    std::ofstream torn(path, std::ios::app);
    torn << "a.onnx,p3.vnnlib,uns";  // a row cut by a crash
  }
  auto rows = verify::readResultsCsv(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].network, "a.onnx");
  EXPECT_EQ(rows[0].result, "sat");
  EXPECT_DOUBLE_EQ(rows[0].time_s, 1.5);
  EXPECT_EQ(rows[1].property, "p2.vnnlib");
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, verify::kResultsHeader);
  EXPECT_THROW(verify::appendResultRow(path, {"a,b", "p", "sat", 1.0}), Error);
  std::remove(path.c_str());
}

TEST(VnnComp, InstanceListsAndScore) {
  const std::string inst = tempPath("instances.csv");
  {
    std::ofstream f(inst);
    f << "onnx/a.onnx,vnnlib/p1.vnnlib,116\nonnx/a.onnx,vnnlib/p2.vnnlib,60.5\n";
  }
  auto list = verify::readInstancesCsv(inst);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].vnnlib, "vnnlib/p2.vnnlib");
  EXPECT_DOUBLE_EQ(list[1].timeout_s, 60.5);
  {
    std::ofstream f(inst);
    f << "onnx/a.onnx,vnnlib/p1.vnnlib,abc\nx,y,1\n";
  }
  EXPECT_NO_THROW(verify::readInstancesCsv(inst));  // first line taken as a header
  {
    std::ofstream f(inst);
    f << "a,b,1\nonnx/a.onnx,vnnlib/p1.vnnlib,abc\n";
  }
  EXPECT_THROW(verify::readInstancesCsv(inst), Error);

  const std::string ref = tempPath("reference.csv");
  {
    std::ofstream f(ref);
    f << "network,property,verdict,best_tool,best_time_s,num_tools_agree,timeout_s\n"
         "a.onnx,p1.vnnlib,sat,t,1.0,3,116\n"
         "a.onnx,p2.vnnlib,unsat,t,1.0,3,116\n"
         "a.onnx,p3.vnnlib,unsat,t,1.0,3,116\n"
         "a.onnx,p4.vnnlib,sat,t,1.0,3,116\n"
         "a.onnx,p5.vnnlib,unknown,t,1.0,0,116\n";
  }
  auto from_ref = verify::instancesFromReference(ref);
  ASSERT_EQ(from_ref.size(), 5u);
  EXPECT_DOUBLE_EQ(from_ref[0].timeout_s, 116.0);
  std::vector<verify::ResultRow> res = {{"a.onnx", "p1.vnnlib", "sat", 2.0},
                                        {"dir/a.onnx", "p2.vnnlib", "sat", 4.0},
                                        {"a.onnx", "p3.vnnlib", "timeout", 116.0},
                                        {"a.onnx", "p5.vnnlib", "unsat", 1.0}};
  auto s = verify::scoreResults(res, verify::readReferenceCsv(ref));
  EXPECT_EQ(s.total, 5);
  EXPECT_EQ(s.correct_sat, 1);
  EXPECT_EQ(s.correct_unsat, 0);
  EXPECT_EQ(s.wrong, 1);
  ASSERT_EQ(s.wrong_list.size(), 1u);
  EXPECT_NE(s.wrong_list[0].find("p2.vnnlib"), std::string::npos);
  EXPECT_EQ(s.unsolved, 2);  // p3 timeout, p4 missing
  EXPECT_EQ(s.missing, 1);
  EXPECT_EQ(s.unchecked, 1);
  EXPECT_DOUBLE_EQ(s.median_solved_time_s, 2.0);
  EXPECT_DOUBLE_EQ(s.total_time_s, 123.0);
  std::remove(inst.c_str());
  std::remove(ref.c_str());
}
