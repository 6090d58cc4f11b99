// Fault injection: solver failures (tiny time limits, iteration limits of 1,
// infeasible models) must end in timeout / unknown / no_attack_found, never in
// a wrong robust / unsat / attack_found / sat; and the result files of the
// batch commands survive SIGINT / SIGTERM / SIGKILL (core/append.h,
// core/interrupt.h).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "attack/attack.h"
#include "bounds/crown.h"
#include "core/append.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/message.h"
#include "formulate/embed.h"
#include "io/vnnlib.h"
#include "model/math_model.h"
#include "nn/network.h"
#include "solve/solver.h"
#include "spec/property.h"
#include "verify/verify.h"
#include "verify/vnncomp.h"

using namespace nnopt;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using attack::Verdict;
using verify::VerifyAnswer;

namespace {

nn::Network randomNet(std::mt19937& rng, int in, const std::vector<int>& widths) {
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<nn::Layer> layers;
  int prev = in;
  for (size_t i = 0; i < widths.size(); ++i) {
    nn::Dense d;
    d.W = MatrixXd(widths[i], prev);
    d.b = VectorXd(widths[i]);
    for (int r = 0; r < widths[i]; ++r) {
      for (int c = 0; c < prev; ++c) d.W(r, c) = nd(rng) / std::sqrt(double(prev));
      d.b[r] = 0.3 * nd(rng);
    }
    layers.push_back(nn::Layer{"fc", d, {widths[i]}});
    if (i + 1 < widths.size()) {
      nn::Activation a;
      a.kind = nn::ActKind::kRelu;
      layers.push_back(nn::Layer{"relu", a, {widths[i]}});
    }
    prev = widths[i];
  }
  return nn::Network({in}, std::move(layers));
}

// The margin attack's model: e_true - e_target over the box, big-M MIP.
model::MathModel marginMip(const nn::Network& net, const spec::Box& box) {
  model::MathModel m;
  auto bt = bounds::crownBounds(net, box);
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kBigM;
  auto e = formulate::embedNetwork(m, net, bt, opt);
  m.objLinear() = {{e.output_vars[0], 1.0}, {e.output_vars[1], -1.0}};
  m.setSense(model::Sense::kMinimize);
  return m;
}

// A case: random 8-input network, box [-r, r]^8, its exact minimum margin.
struct MarginCase {
  nn::Network net;
  spec::Box box;
  VectorXd x0;
  double optimum;  // min e0 - e1 over the box (CBC, no limit)
};

MarginCase marginCase(std::mt19937& rng, double radius) {
  nn::Network net = randomNet(rng, 8, {16, 16, 2});
  spec::Box box{VectorXd::Constant(8, -radius), VectorXd::Constant(8, radius)};
  attack::MarginAttackParams p;
  p.method = attack::Method::kMip;
  auto r = attack::marginAttack(net, box, VectorXd::Zero(8), 0, 1, p);
  EXPECT_EQ(r.status, "optimal");
  return {net, box, VectorXd::Zero(8), r.solver_objective};
}

// The verdict against the exact optimum: a claim is only allowed when true.
void expectHonest(const MarginCase& c, const attack::MarginAttackResult& r, const std::string& what) {
  switch (r.verdict) {
    case Verdict::kRobust:
      EXPECT_GT(c.optimum, 0.0) << what << ": robust claimed, optimum " << c.optimum;
      EXPECT_LE(r.bound, c.optimum + 1e-6) << what;
      break;
    case Verdict::kAttackFound: {
      ASSERT_EQ(r.adversarial.size(), 8) << what;
      const VectorXd y = c.net.forward(r.adversarial);
      EXPECT_LT(y[0] - y[1], 0.0) << what;
      EXPECT_TRUE(c.box.contains(r.adversarial, 0.0)) << what;
      break;
    }
    case Verdict::kNoAttackFound:
    case Verdict::kTimeout: break;
  }
}

std::string tempPath(const std::string& name) {
  return ::testing::TempDir() + "/nnopt_test_faults_" + std::to_string(::getpid()) + "_" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// ------------------------------------------------------------ solver layer

// CBC stopped by a tiny time limit: never "optimal" with a wrong objective,
// never "infeasible", and any dual bound it reports is a valid one.
TEST(SolverFaults, MipTimeLimitKeepsTheBoundValid) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 4; ++trial) {
    MarginCase c = marginCase(rng, 1.0);
    model::MathModel m = marginMip(c.net, c.box);
    for (double limit : {0.0, 1e-3, 1e-2}) {
      solve::SolveParams sp;
      sp.time_limit = limit;
      auto sol = solve::solveMip(m, sp);
      const std::string what = "trial " + std::to_string(trial) + " limit " + std::to_string(limit);
      EXPECT_NE(sol.status, solve::SolveStatus::kInfeasible) << what << ": " << sol.message;
      EXPECT_NE(sol.status, solve::SolveStatus::kError) << what << ": " << sol.message;
      if (sol.status == solve::SolveStatus::kOptimal)
        EXPECT_NEAR(sol.objective, c.optimum, 1e-6) << what;
      EXPECT_LE(sol.bound, c.optimum + 1e-6) << what << ": " << sol.message;
      if (sol.hasPoint()) {
        EXPECT_LE(m.maxViolation(sol.x), 1e-6) << what;
        EXPECT_GE(sol.objective, c.optimum - 1e-6) << what;
      }
    }
  }
}

// An infeasible MIP: proven infeasible or no answer, never a point.
TEST(SolverFaults, InfeasibleMipHasNoPoint) {
  model::MathModel m;
  const int a = m.addVar(0, 1, true), b = m.addVar(0, 1, true), x = m.addVar(0, 10);
  m.addRow({{a, 1}, {b, 1}}, 1.5, 1.5);  // two binaries cannot sum to 1.5
  m.addRow({{x, 1}, {a, -1}}, 0, model::kInf);
  m.objLinear() = {{x, 1}};
  for (double limit : {1e-3, 10.0}) {
    solve::SolveParams sp;
    sp.time_limit = limit;
    sp.start = {1, 0, 1};  // infeasible start: must not become an incumbent
    auto sol = solve::solveMip(m, sp);
    EXPECT_FALSE(sol.hasPoint()) << sol.message;
    EXPECT_NE(sol.status, solve::SolveStatus::kOptimal);
    EXPECT_NE(sol.status, solve::SolveStatus::kFeasible);
  }
}

// Ipopt with an iteration limit of 1 / a tiny time limit: not "optimal";
// a point called feasible really is.
TEST(SolverFaults, IpoptStoppedEarlyIsNotOptimal) {
  std::mt19937 rng(5);
  MarginCase c = marginCase(rng, 1.0);
  model::MathModel m;
  auto bt = bounds::crownBounds(c.net, c.box);
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kComplementarity;
  opt.compl_form = formulate::ComplForm::kProduct;
  auto e = formulate::embedNetwork(m, c.net, bt, opt);
  m.objLinear() = {{e.output_vars[0], 1.0}, {e.output_vars[1], -1.0}};
  formulate::setStartFromInput(m, c.net, e, VectorXd::Constant(8, 0.3));
  for (int variant = 0; variant < 2; ++variant) {
    solve::SolveParams sp;
    if (variant == 0)
      sp.nlp_max_iter = 1;
    else
      sp.time_limit = 1e-4;
    auto sol = solve::solveNlp(m, sp);
    EXPECT_NE(sol.status, solve::SolveStatus::kOptimal) << sol.message;
    EXPECT_NE(sol.status, solve::SolveStatus::kInfeasible) << sol.message;
    if (sol.status == solve::SolveStatus::kFeasible) {
      EXPECT_LE(m.maxViolation(sol.x), 1e-6);
    }
  }
}

// Ipopt on an infeasible NLP (x*y = 1 with x, y in [0, 0.5]): restoration
// failure or infeasibility, never a solution.
TEST(SolverFaults, InfeasibleNlpIsNotSolved) {
  model::MathModel m;
  const int x = m.addVar(0, 0.5), y = m.addVar(0, 0.5);
  model::Row r;
  r.nl = {model::NlKind::kProduct, x, y, 1.0, 0.0};
  r.lo = r.hi = 1.0;
  m.addRow(r);
  m.objLinear() = {{x, 1.0}};
  auto sol = solve::solveNlp(m, {});
  EXPECT_NE(sol.status, solve::SolveStatus::kOptimal) << sol.message;
  EXPECT_NE(sol.status, solve::SolveStatus::kFeasible) << sol.message;
}

// Clp with no time at all: no optimum claimed unless it is the optimum.
TEST(SolverFaults, LpWithoutTimeClaimsNothingWrong) {
  std::mt19937 rng(3);
  MarginCase c = marginCase(rng, 1.0);
  model::MathModel m = marginMip(c.net, c.box);
  auto full = solve::solveLp(m, {});
  ASSERT_EQ(full.status, solve::SolveStatus::kOptimal);
  solve::SolveParams sp;
  sp.time_limit = 0.0;
  auto sol = solve::solveLp(m, sp);
  EXPECT_NE(sol.status, solve::SolveStatus::kInfeasible) << sol.message;
  if (sol.status == solve::SolveStatus::kOptimal) {
    EXPECT_NEAR(sol.objective, full.objective, 1e-6);
  }
  EXPECT_LE(sol.bound, full.objective + 1e-6);
}

// ------------------------------------------------------------ attack verdicts

// Exact methods cut short (MIP, bab) and local ones (NLP): every verdict they
// give is true, whatever the time limit. Cases with and without attacks.
TEST(AttackFaults, CutShortVerdictsAreHonest) {
  std::mt19937 rng(21);
  int robust_cases = 0, attack_cases = 0;
  for (int trial = 0; trial < 6; ++trial) {
    MarginCase c = marginCase(rng, trial % 2 ? 0.05 : 1.0);
    (c.optimum > 0 ? robust_cases : attack_cases)++;
    for (auto method : {attack::Method::kMip, attack::Method::kBab, attack::Method::kNlp})
      for (double limit : {1e-4, 1e-3, 2e-2}) {
        attack::MarginAttackParams p;
        p.method = method;
        p.time_limit = limit;
        auto r = attack::marginAttack(c.net, c.box, c.x0, 0, 1, p);
        expectHonest(c, r,
                     "trial " + std::to_string(trial) + " " + attack::methodName(method) +
                         " limit " + std::to_string(limit) + " (" + r.status + ")");
        if (method == attack::Method::kNlp) {
          EXPECT_NE(r.verdict, Verdict::kRobust);
        }
      }
  }
  EXPECT_GT(robust_cases, 0);
  EXPECT_GT(attack_cases, 0);
}

// ------------------------------------------------------------ verify answers

// Every prover under timeouts from 1 ms up: unsat only when the property holds,
// sat only with a replayed counterexample and only when it is violated.
TEST(VerifyFaults, CutShortAnswersAreHonest) {
  std::mt19937 rng(77);
  for (int trial = 0; trial < 4; ++trial) {
    const int n_in = trial < 2 ? 3 : 12;  // input B&B route, then the exact route
    nn::Network net = randomNet(rng, n_in, {10, 10, 2});
    spec::Box box{VectorXd::Constant(n_in, -1.0), VectorXd::Constant(n_in, 1.0)};
    model::MathModel m = marginMip(net, box);
    // max y0 - y1 = -(min y1 - y0): the exact optimum by CBC.
    m.objLinear()[0].coef = -1.0;
    m.objLinear()[1].coef = 1.0;
    auto exact = solve::solveMip(m, {});
    ASSERT_EQ(exact.status, solve::SolveStatus::kOptimal);
    const double max_diff = -exact.objective;
    for (double offset : {-0.05, 0.05}) {  // violated, then holding
      const double thr = max_diff + offset;
      std::string text;
      for (int i = 0; i < n_in; ++i) text += "(declare-const X_" + std::to_string(i) + " Real)\n";
      text += "(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n";
      for (int i = 0; i < n_in; ++i)
        text += "(assert (>= X_" + std::to_string(i) + " -1))\n(assert (<= X_" +
                std::to_string(i) + " 1))\n";
      char buf[128];
      std::snprintf(buf, sizeof buf, "(assert (>= (- Y_0 Y_1) %.17g))\n", thr);
      text += buf;
      auto prop = io::parseVnnlib(text, "t.vnnlib", net.inputSize(), net.outputSize());
      const bool violated = offset < 0;
      for (auto prover : {verify::Prover::kAuto, verify::Prover::kMip, verify::Prover::kReluBab,
                          verify::Prover::kInputBab})
        for (double timeout : {1e-3, 1e-2, 0.1}) {
          verify::VerifyParams p;
          p.timeout_s = timeout;
          p.threads = 2;
          p.prover = prover;
          auto r = verify::verifyProperty(net, prop, p);
          const std::string what = "trial " + std::to_string(trial) + " thr offset " +
                                   std::to_string(offset) + " " + verify::proverName(prover) +
                                   " timeout " + std::to_string(timeout) + ": " + r.reason;
          if (r.answer == VerifyAnswer::kUnsat) {
            EXPECT_FALSE(violated) << what;
          }
          if (r.answer == VerifyAnswer::kSat) {
            EXPECT_TRUE(violated) << what;
            ASSERT_EQ(r.x.size(), n_in) << what;
            EXPECT_TRUE(box.contains(r.x, 0.0)) << what;
            const VectorXd y = net.forward(r.x);
            EXPECT_GE(y[0] - y[1], thr) << what;
          }
        }
    }
  }
}

// ------------------------------------------------------------ result files

TEST(ResultFiles, AppendWritesTheHeaderOnceAndWholeLines) {
  const std::string f = tempPath("append.csv");
  std::remove(f.c_str());
  appendLines(f, "a,1\n", "name,value");
  appendLines(f, "b,2\nc,3\n", "name,value");
  EXPECT_EQ(slurp(f), "name,value\na,1\nb,2\nc,3\n");
  EXPECT_THROW(appendLines(f, "no newline", ""), Error);
  std::remove(f.c_str());
}

TEST(ResultFiles, PartialLastLineIsDroppedAndIgnored) {
  const std::string f = tempPath("partial.csv");
  std::remove(f.c_str());
  EXPECT_EQ(dropPartialLastLine(f), 0);  // no file
  verify::appendResultRow(f, {"n.onnx", "p1.vnnlib", "unsat", 1.5});
  // A kill -9 in the middle of the next row: it looks complete but has no '\n'.
  { std::ofstream(f, std::ios::app) << "n.onnx,p2.vnnlib,sat,2"; }
  auto rows = verify::readResultsCsv(f);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].property, "p1.vnnlib");
  EXPECT_EQ(dropPartialLastLine(f), long(std::string("n.onnx,p2.vnnlib,sat,2").size()));
  EXPECT_EQ(dropPartialLastLine(f), 0);
  verify::appendResultRow(f, {"n.onnx", "p2.vnnlib", "sat", 2.0});
  rows = verify::readResultsCsv(f);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].result, "sat");
  EXPECT_EQ(slurp(f), std::string(verify::kResultsHeader) +
                          "\nn.onnx,p1.vnnlib,unsat,1.500\nn.onnx,p2.vnnlib,sat,2.000\n");
  // A file that is only a partial line is emptied.
  { std::ofstream(f, std::ios::trunc) << "network,prop"; }
  EXPECT_EQ(dropPartialLastLine(f), 12);
  EXPECT_EQ(slurp(f), "");
  std::remove(f.c_str());
}

// Waits (at most 10 s) until the interrupt watcher has seen a signal.
void waitForSignal() {
  for (int i = 0; i < 10000 && interruptSignal() == 0; ++i) ::usleep(1000);
}

// In a child process: the handlers exit with 128 + signal; a signal that
// arrives while a line is being appended waits until the line is whole.
// Signals are sent to the process (kill), as from outside.
TEST(ResultFiles, SignalsExitWithTheirCodeAfterTheLine) {
  const std::string f = tempPath("signal.txt");
  for (int sig : {SIGINT, SIGTERM}) {
    std::remove(f.c_str());
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      installInterruptHandlers("");
      {
        ExitGuard g;               // as appendLines does
        ::kill(::getpid(), sig);   // taken by the watcher, the exit deferred
        waitForSignal();
        std::ofstream(f) << "whole line\n";
      }                            // exits here
      ::_exit(0);                  // not reached
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
    EXPECT_EQ(slurp(f), "whole line\n");
  }
  // Outside a guard: at once.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    installInterruptHandlers("");
    ::kill(::getpid(), SIGINT);
    ::sleep(10);  // the watcher exits the process meanwhile
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::remove(f.c_str());
}

// A library that swaps in its own SIGINT handler for a while (Clp's
// ClpSimplex::initialSolve does, for every LP solve: its handler stops the LP
// and the program goes on) must not swallow the interrupt: the run exits 130.
TEST(ResultFiles, InterruptSurvivesALibrarySwappingTheHandler) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    installInterruptHandlers("");
    ::signal(SIGINT, +[](int) {});  // as ClpSimplex::initialSolve(ClpSolve&)
    std::thread([] { ::kill(::getpid(), SIGINT); }).join();
    ::sleep(10);  // the interrupt exits the process meanwhile
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
}

// Error messages quote names and tokens from input files; they must stay one
// printable line of valid UTF-8 (found by fuzz_onnx: a newline in a name).
TEST(OneLine, EscapesControlsAndInvalidUtf8) {
  using nnopt::oneLine;
  EXPECT_EQ(oneLine("plain 'name': ok"), "plain 'name': ok");
  EXPECT_EQ(oneLine("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(oneLine(std::string("x\0y\x1b[31m\x7f", 9)), "x\\x00y\\x1b[31m\\x7f");
  EXPECT_EQ(oneLine("\x89PNG"), "\\x89PNG");                       // binary byte
  EXPECT_EQ(oneLine("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),  // valid UTF-8 kept
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(oneLine("\xc2\x85"), "\\xc2\\x85");                   // C1 control (NEL)
  EXPECT_EQ(oneLine("\xc3"), "\\xc3");                            // cut sequence
  EXPECT_EQ(oneLine("\xe0\x80\x80"), "\\xe0\\x80\\x80");          // overlong
  const std::string big(10000, 'a');
  const std::string cut = oneLine(big + "\n" + big, 2000);
  EXPECT_LE(cut.size(), 2000u);
  EXPECT_NE(cut.find(" ... "), std::string::npos);
  EXPECT_EQ(oneLine(cut, 2000), cut);  // idempotent
  const std::string u = oneLine(std::string(3000, 'a') + std::string(3000, '\xc3') + "\xa9", 2000);
  EXPECT_EQ(oneLine(u, 2000), u);
}
