// nnopt robustness: verdicts against independent answers (closed-form minima
// of linear networks, dense grids over 2-D boxes of small ReLU networks),
// replay of every attack, monotonicity across eps and the inference counts,
// the records file (round trip, torn lines, bad lines), the summary, the HTML
// report, and runRobustness end to end on the committed fixture network and
// digits (resume, lock, bad input).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/append.h"
#include "core/error.h"
#include "io/images.h"
#include "io/onnx.h"
#include "random_net.h"
#include "robust/robustness.h"
#include "temp_dir.h"

using namespace nnopt;
using namespace nnopt::robust;
namespace fs = std::filesystem;

namespace {

const std::string kRepo = NNOPT_FIXTURES_DIR "/../..";
const std::string kModel = kRepo + "/models/mnist_mlp_1x10.onnx";
const std::string kDigits = NNOPT_FIXTURES_DIR "/digits.csv";

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("nnopt_test_robust") {}
};

std::string readAll(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
}

// y = W x + b (no activation): the minimum untargeted margin over a box is
// min_j [ (b_0 - b_j) + sum_i min(d_ji lo_i, d_ji hi_i) ], d_j = W_0 - W_j.
nn::Network linearNet(const Eigen::MatrixXd& W, const Eigen::VectorXd& b) {
  nn::Dense d{W, b};
  return nn::Network({W.cols()}, {{"fc", d, {W.rows()}}});
}
double linearMinMargin(const Eigen::MatrixXd& W, const Eigen::VectorXd& b, int label,
                       const spec::Box& box) {
  double best = std::numeric_limits<double>::infinity();
  for (int j = 0; j < W.rows(); ++j) {
    if (j == label) continue;
    double m = b[label] - b[j];
    for (int i = 0; i < W.cols(); ++i) {
      const double d = W(label, i) - W(j, i);
      m += std::min(d * box.lo[i], d * box.hi[i]);
    }
    best = std::min(best, m);
  }
  return best;
}

// Smallest untargeted margin on a (n+1)^2 grid over a 2-D box (an upper
// bound of the true minimum).
double gridMinMargin(const nn::Network& net, const spec::Box& box, int label, int n = 120) {
  double best = std::numeric_limits<double>::infinity();
  Eigen::VectorXd x(2);
  for (int a = 0; a <= n; ++a)
    for (int c = 0; c <= n; ++c) {
      x[0] = box.lo[0] + (box.hi[0] - box.lo[0]) * a / n;
      x[1] = box.lo[1] + (box.hi[1] - box.lo[1]) * c / n;
      best = std::min(best, untargetedMargin(net.forward(x), label));
    }
  return best;
}

int predictedClass(const nn::Network& net, const Eigen::VectorXd& x) {
  Eigen::Index k = 0;
  net.forward(x).maxCoeff(&k);
  return static_cast<int>(k);
}

// Rows must be monotone in eps: certified ... unknown ... attacked.
void expectMonotone(const ImageResult& r) {
  int last_certified = -1, first_attacked = static_cast<int>(r.rows.size());
  for (int i = 0; i < static_cast<int>(r.rows.size()); ++i) {
    if (r.rows[i].verdict == "certified") last_certified = i;
    if (r.rows[i].verdict == "attacked") first_attacked = std::min(first_attacked, i);
  }
  EXPECT_LT(last_certified, first_attacked) << "a certificate above an attack";
}

// Every attacked row that carries its point replays; inferred ones do so with
// the point of the row they name.
void expectAttacksReplay(const nn::Network& net, const Eigen::VectorXd& x0, int label,
                         const ImageResult& r) {
  for (const auto& row : r.rows) {
    if (row.verdict != "attacked" || row.adversarial.size() == 0) continue;
    const spec::Box box = spec::linfBall(x0, row.eps, 0.0, 1.0);
    double m = 0;
    int cls = -1;
    EXPECT_TRUE(replayUntargeted(net, box, label, row.adversarial, &m, &cls)) << row.eps;
    EXPECT_LT(m, 0.0);
    EXPECT_EQ(cls, row.adv_class);
    EXPECT_LE((row.adversarial - x0).cwiseAbs().maxCoeff(), row.eps + 1e-12);
  }
}

}  // namespace

TEST(Robustness, ReplayNeedsAPointInsideTheBoxThatFlipsTheLabel) {
  Eigen::MatrixXd W(2, 1);
  W << 1.0, -1.0;
  const nn::Network net = linearNet(W, Eigen::Vector2d(0.0, 0.5));  // margin 2x - 0.5
  const Eigen::VectorXd x0 = Eigen::VectorXd::Constant(1, 0.5);
  const spec::Box box = spec::linfBall(x0, 0.3, 0.0, 1.0);
  double m = 0;
  int cls = -1;
  EXPECT_TRUE(replayUntargeted(net, box, 0, Eigen::VectorXd::Constant(1, 0.2), &m, &cls));
  EXPECT_NEAR(m, -0.1, 1e-12);
  EXPECT_EQ(cls, 1);
  EXPECT_FALSE(replayUntargeted(net, box, 0, Eigen::VectorXd::Constant(1, 0.3), &m));
  EXPECT_NEAR(m, 0.1, 1e-12);
  // x = 0.1 flips the label but lies outside [0.2, 0.8].
  EXPECT_FALSE(replayUntargeted(net, box, 0, Eigen::VectorXd::Constant(1, 0.1)));
  EXPECT_FALSE(replayUntargeted(net, box, 0, Eigen::VectorXd::Constant(1, NAN)));
}

TEST(Robustness, EpsListsAreCheckedSortedAndDeduplicated) {
  EXPECT_EQ(normalizeEps({0.03, 0.01, 0.03}), (std::vector<double>{0.01, 0.03}));
  EXPECT_THROW(normalizeEps({}), Error);
  EXPECT_THROW(normalizeEps({0.01, -0.1}), Error);
  EXPECT_THROW(normalizeEps({NAN}), Error);
  EXPECT_EQ(parseExactMethod("portfolio"), ExactMethod::kPortfolio);
  EXPECT_THROW(parseExactMethod("gurobi"), Error);
}

// Linear networks: the exact minimum is known in closed form, so every eps
// must come out certified (minimum > 0) or attacked (minimum < 0).
TEST(Robustness, LinearNetworksMatchTheClosedFormMinimum) {
  std::mt19937 rng(7);
  std::normal_distribution<double> g(0.0, 1.0);
  const std::vector<double> eps = {0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4};
  int certified = 0, attacked = 0;
  for (int trial = 0; trial < 6; ++trial) {
    Eigen::MatrixXd W(4, 6);
    Eigen::VectorXd b(4);
    for (int r = 0; r < 4; ++r) {
      b[r] = 0.3 * g(rng);
      for (int c = 0; c < 6; ++c) W(r, c) = g(rng);
    }
    const nn::Network net = linearNet(W, b);
    const Eigen::VectorXd x0 = test::randomPoint(6, 100 + trial);
    const int label = predictedClass(net, x0);
    RobustParams p;
    p.eps = eps;
    p.time_limit = 10;
    const ImageResult r = evaluateImage(net, x0, label, p);
    ASSERT_EQ(r.rows.size(), eps.size());
    for (const auto& row : r.rows) {
      const double m = linearMinMargin(W, b, label,
                                       spec::linfBall(x0, row.eps, 0.0, 1.0));
      if (std::abs(m) < 1e-6) continue;  // on the boundary: either answer is right
      EXPECT_EQ(row.verdict, m > 0 ? "certified" : "attacked")
          << "trial " << trial << " eps " << row.eps << " min margin " << m;
      if (m > 0) {
        EXPECT_LE(row.margin_lower, m + 1e-9);  // a lower bound
        ++certified;
      } else {
        ++attacked;
      }
    }
    expectMonotone(r);
    expectAttacksReplay(net, x0, label, r);
  }
  EXPECT_GT(certified, 5);
  EXPECT_GT(attacked, 5);
}

// Small ReLU networks over 2-D boxes: a dense grid gives an upper bound of the
// minimum margin. A certificate where the grid finds a negative margin would
// be a wrong answer; the exact stage must decide every row in time.
TEST(Robustness, ReluNetworksAgreeWithADenseGrid) {
  const std::vector<double> eps = {0.02, 0.05, 0.1, 0.15, 0.25};
  int exact_rows = 0, rows = 0;
  for (ExactMethod m : {ExactMethod::kAuto, ExactMethod::kBab, ExactMethod::kMip}) {
    for (unsigned seed = 1; seed <= 6; ++seed) {
      const nn::Network net = test::randomNet({2, 12, 12, 3}, seed);
      const Eigen::VectorXd x0 = test::randomPoint(2, 50 + seed);
      const int label = predictedClass(net, x0);
      RobustParams p;
      p.eps = eps;
      p.time_limit = 20;
      p.method = m;
      p.alpha_iters = 0;  // leave more to the exact stage
      const ImageResult r = evaluateImage(net, x0, label, p);
      for (const auto& row : r.rows) {
        ++rows;
        const double grid = gridMinMargin(net, spec::linfBall(x0, row.eps, 0.0, 1.0),
                                          label);
        EXPECT_NE(row.verdict, "unknown") << exactMethodName(m) << " seed " << seed;
        if (row.verdict == "certified") {
          EXPECT_GT(grid, 0.0) << "wrong certificate: " << exactMethodName(m) << " seed " << seed
                               << " eps " << row.eps;
          EXPECT_LE(row.margin_lower, grid + 1e-9);
        }
        if (grid < -1e-6) EXPECT_EQ(row.verdict, "attacked") << "seed " << seed << " eps " << row.eps;
        if (row.decided_by.rfind("exact:", 0) == 0) ++exact_rows;
      }
      expectMonotone(r);
      expectAttacksReplay(net, x0, label, r);
    }
  }
  EXPECT_GT(exact_rows, 0) << "the exact stage never decided a row of " << rows;
}

// Inference never changes a verdict (same answers as solving every eps on
// its own) and saves solves; the rows it decides say where from.
TEST(Robustness, InferenceAgreesWithSolvingEveryEpsAndSavesSolves) {
  const nn::Network net = io::loadOnnx(kModel).withInputNormalization(0.1307, 0.3081);
  RobustParams p;
  p.eps = {0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1};
  p.time_limit = 20;
  int inferred = 0, solved_with = 0, solved_without = 0;
  for (long k = 0; k < 6; ++k) {
    const io::Image img = io::loadDatasetItem(kDigits, k);
    p.infer = true;
    const ImageResult a = evaluateImage(net, img.pixels, img.label, p);
    p.infer = false;
    const ImageResult b = evaluateImage(net, img.pixels, img.label, p);
    for (size_t i = 0; i < p.eps.size(); ++i) {
      const EpsRow &ra = a.rows[i], &rb = b.rows[i];
      if (ra.verdict != "unknown" && rb.verdict != "unknown")
        EXPECT_EQ(ra.verdict, rb.verdict) << "image " << k << " eps " << p.eps[i];
      EXPECT_FALSE(rb.inferred);
      solved_with += ra.solved;
      solved_without += rb.solved;
      if (ra.inferred) {
        ++inferred;
        EXPECT_FALSE(ra.solved && !ra.upgraded);
        EXPECT_EQ(ra.decided_by, "inferred");
        EXPECT_TRUE(std::isfinite(ra.from_eps));
        if (ra.verdict == "attacked") EXPECT_LE(ra.from_eps, ra.eps);
        if (ra.verdict == "certified") EXPECT_GE(ra.from_eps, ra.eps);
      }
    }
    expectMonotone(a);
    expectMonotone(b);
    expectAttacksReplay(net, img.pixels, img.label, a);
    expectAttacksReplay(net, img.pixels, img.label, b);
  }
  EXPECT_GT(inferred, 0);
  EXPECT_LT(solved_with, solved_without);
}

TEST(Robustness, MisclassifiedImagesAreNotAttacked) {
  Eigen::MatrixXd W(2, 1);
  W << 1.0, -1.0;
  const nn::Network net = linearNet(W, Eigen::Vector2d(0.0, 0.5));
  RobustParams p;
  p.eps = {0.0, 0.1};
  // margin 2x - 0.5 at x = 0.1 is negative: the clean image is class 1.
  const ImageResult r = evaluateImage(net, Eigen::VectorXd::Constant(1, 0.1), 0, p);
  EXPECT_EQ(r.predicted, 1);
  for (const auto& row : r.rows) {
    EXPECT_EQ(row.verdict, "misclassified");
    EXPECT_FALSE(row.solved);
  }
  EXPECT_THROW(evaluateImage(net, Eigen::VectorXd::Constant(1, 0.1), 2, p), Error);
  EXPECT_THROW(evaluateImage(net, Eigen::VectorXd::Constant(2, 0.1), 0, p), Error);
}

// A 2-input ReLU net with a closed-form L-inf radius: y0 = relu(x_a - x_b),
// y1 = c. At x0 = (0.6, 0.2) the margin is 0.4 - c; moving x_a down and x_b
// up by r gives 0.4 - 2r - c, so with c = 0.2 the radius is exactly 0.1 (the
// box stays inside [0,1]^2 up to r = 0.2).
nn::Network reluRadiusNet() {
  Eigen::MatrixXd W1(1, 2);
  W1 << 1.0, -1.0;
  Eigen::MatrixXd W2(2, 1);
  W2 << 1.0, 0.0;
  return nn::Network({2}, {{"fc1", nn::Dense{W1, Eigen::VectorXd::Zero(1)}, {1}},
                           {"relu", nn::Activation{nn::ActKind::kRelu}, {1}},
                           {"fc2", nn::Dense{W2, Eigen::Vector2d(0.0, 0.2)}, {2}}});
}

void expectRadiusBrackets(const nn::Network& net, const Eigen::VectorXd& x0, int label,
                          const RadiusResult& r, double truth, double tol) {
  EXPECT_LE(r.certified_lo, truth + 1e-9) << r.status;
  EXPECT_GE(r.attacked_hi, truth - 1e-9) << r.status;
  EXPECT_LE(r.attacked_hi - r.certified_lo, tol + 1e-12) << r.status;
  EXPECT_TRUE(r.closed) << r.status;
  // attacked_hi is the distance of a replayed counterexample in [0,1]^n.
  ASSERT_EQ(r.adversarial.size(), x0.size());
  EXPECT_NEAR((r.adversarial - x0).cwiseAbs().maxCoeff(), r.attacked_hi, 1e-15);
  EXPECT_GE(r.adversarial.minCoeff(), 0.0);
  EXPECT_LE(r.adversarial.maxCoeff(), 1.0);
  int cls = -1;
  EXPECT_LT(untargetedMargin(net.forward(r.adversarial), label, &cls), 0.0);
  EXPECT_EQ(cls, r.adv_class);
}

// --radius: the interval contains the closed-form radius and is at most the
// tolerance wide, for a linear net (radius 0.3) and a ReLU net (radius 0.1);
// the exact methods all agree; a misclassified image gets [0, 0].
TEST(Robustness, RadiusBracketsTheClosedFormRadius) {
  Eigen::MatrixXd W(2, 1);
  W << 1.0, 0.0;
  const nn::Network lin = linearNet(W, Eigen::Vector2d(0.0, 0.5));  // margin x - 0.5
  const Eigen::VectorXd x1 = Eigen::VectorXd::Constant(1, 0.8);     // radius 0.3
  const nn::Network relu = reluRadiusNet();
  const Eigen::VectorXd x2 = Eigen::Vector2d(0.6, 0.2);             // radius 0.1
  for (ExactMethod m : {ExactMethod::kAuto, ExactMethod::kMip, ExactMethod::kBab}) {
    RobustParams p;
    p.eps = {0.02, 0.05, 0.2, 0.5};
    p.time_limit = 20;
    p.method = m;
    p.radius = true;
    p.radius_tol = 1e-3;
    const ImageResult a = evaluateImage(lin, x1, 0, p);
    ASSERT_TRUE(a.radius.has_value());
    expectRadiusBrackets(lin, x1, 0, *a.radius, 0.3, p.radius_tol);
    EXPECT_GE(a.radius->certified_lo, 0.2);  // at least the grid's certificate
    EXPECT_GT(a.radius->probes, 0);
    EXPECT_LE(a.radius->probes, p.radius_probes);
    const ImageResult b = evaluateImage(relu, x2, 0, p);
    ASSERT_TRUE(b.radius.has_value());
    expectRadiusBrackets(relu, x2, 0, *b.radius, 0.1, p.radius_tol);
    // The same from the grid rows alone (a resumed run): as tight.
    const RadiusResult c = radiusFromRows(relu, x2, 0, p, b.rows);
    expectRadiusBrackets(relu, x2, 0, c, 0.1, p.radius_tol);
    // A tighter tolerance needs more probes; the probe cap stops it open.
    p.radius_tol = 1e-6;
    p.radius_probes = 2;
    const RadiusResult d = radiusFromRows(relu, x2, 0, p, b.rows);
    EXPECT_EQ(d.probes, 2);
    EXPECT_FALSE(d.closed);
    EXPECT_LE(d.certified_lo, 0.1);
    EXPECT_GE(d.attacked_hi, 0.1);
  }
  RobustParams p;
  p.eps = {0.1};
  p.radius = true;
  const ImageResult mis = evaluateImage(lin, Eigen::VectorXd::Constant(1, 0.3), 0, p);
  ASSERT_TRUE(mis.radius.has_value());
  EXPECT_EQ(mis.radius->certified_lo, 0.0);
  EXPECT_EQ(mis.radius->attacked_hi, 0.0);
  EXPECT_EQ(mis.radius->probes, 0);
  // No attack on the grid: the bisection first doubles upwards.
  p.eps = {0.01};
  p.time_limit = 20;
  const ImageResult up = evaluateImage(relu, x2, 0, p);
  expectRadiusBrackets(relu, x2, 0, *up.radius, 0.1, p.radius_tol);
}

// A cancel flag set before or during a run: the image in flight is dropped,
// nothing else is written, and resume completes the run with every image once.
TEST(Robustness, CancelStopsTheRunAndResumeCompletesIt) {
  TempDir dir;
  RunParams p;
  p.model = kModel;
  p.dataset = kDigits;
  p.limit = 4;
  p.mean = {0.1307};
  p.stdv = {0.3081};
  p.robust.eps = {0.01, 0.05};
  p.robust.time_limit = 20;
  p.robust.radius = true;
  p.out_dir = dir.path.string();
  std::atomic<bool> cancel{false};
  p.robust.cancel = &cancel;
  // Cancelled after the second image: two images on disk, no summary.
  const RunOutcome a = runRobustness(p, [&](const RunProgress& pr) {
    if (pr.images_done == 2) cancel.store(true);
  });
  EXPECT_TRUE(a.cancelled);
  EXPECT_EQ(a.images_run, 2);
  const ResultsFile f = loadResults(dir / "results.jsonl");
  EXPECT_EQ(f.rows.size(), 4u);
  EXPECT_EQ(f.radii.size(), 2u);
  EXPECT_FALSE(fs::exists(dir / "summary.json"));
  // Resume: the other two images, each line once.
  cancel.store(false);
  p.resume = true;
  const RunOutcome b = runRobustness(p);
  EXPECT_FALSE(b.cancelled);
  EXPECT_EQ(b.images_run, 2);
  EXPECT_EQ(b.images_skipped, 2);
  const ResultsFile g = loadResults(dir / "results.jsonl");
  EXPECT_EQ(g.rows.size(), 8u);
  EXPECT_EQ(g.radii.size(), 4u);
  ASSERT_TRUE(b.radius.has_value());
  const auto sj = nlohmann::json::parse(readAll(dir / "summary.json"));
  EXPECT_EQ(sj["radius"]["images"].get<int>(), b.radius->images);
  EXPECT_NE(readAll(dir / "report.html").find("id=\"radius-chart\""), std::string::npos);
  EXPECT_NE(readAll(dir / "summary.csv").find("radius_median_certified_lo"), std::string::npos);
  // A cancel already set: nothing runs, nothing is written.
  cancel.store(true);
  p.limit = 6;
  const RunOutcome c = runRobustness(p);
  EXPECT_TRUE(c.cancelled);
  EXPECT_EQ(c.images_run, 0);
  EXPECT_EQ(loadResults(dir / "results.jsonl").rows.size(), 8u);
}

// A run without --radius resumed with it: only the radius lines are added,
// bisected from the rows on disk (no eps row solved again); resuming again
// redoes nothing.
TEST(Robustness, RadiusOnResumeStartsFromTheRowsOnDisk) {
  TempDir dir;
  RunParams p;
  p.model = kModel;
  p.dataset = kDigits;
  p.limit = 3;
  p.mean = {0.1307};
  p.stdv = {0.3081};
  p.robust.eps = {0.01, 0.05};
  p.robust.time_limit = 20;
  p.out_dir = dir.path.string();
  runRobustness(p);
  const std::string before = readAll(dir / "results.jsonl");
  p.resume = true;
  p.robust.radius = true;
  const RunOutcome a = runRobustness(p);
  EXPECT_EQ(a.images_run, 3);
  const std::string after = readAll(dir / "results.jsonl");
  ASSERT_EQ(after.substr(0, before.size()), before);  // appended only
  const ResultsFile f = loadResults(dir / "results.jsonl");
  EXPECT_EQ(f.rows.size(), 6u);
  ASSERT_EQ(f.radii.size(), 3u);
  for (const auto& r : f.radii) {
    EXPECT_LE(r.radius.certified_lo, r.radius.attacked_hi);
    EXPECT_EQ(r.tol, p.robust.radius_tol);
  }
  const RunOutcome b = runRobustness(p);
  EXPECT_EQ(b.images_run, 0);
  EXPECT_EQ(b.images_skipped, 3);
  EXPECT_EQ(readAll(dir / "results.jsonl"), after);
  // The radius line round-trips.
  const RadiusRecord back = radiusRecordFromJson(toJson(f.radii[0]));
  EXPECT_EQ(toJson(back).dump(), toJson(f.radii[0]).dump());
}

TEST(Robustness, RecordsRoundTripAndTornLinesAreIgnored) {
  RobustRecord r;
  r.model = "m.onnx";
  r.dataset = "d.csv";
  r.index = 4;
  r.label = 3;
  r.predicted = 3;
  r.clean_margin = 1.25;
  r.method = "auto";
  r.time_limit = 60;
  r.row.eps = 0.03;
  r.row.verdict = "attacked";
  r.row.decided_by = "pgd";
  r.row.solved = true;
  r.row.time_s = 0.5;
  r.row.margin_upper = -0.25;
  r.row.adv_class = 5;
  r.row.linf = 0.03;
  r.row.adversarial = Eigen::Vector3d(0.1, 1.0 / 3.0, 0.7);
  r.timestamp = "2026-01-01T00:00:00Z";
  const RobustRecord back = recordFromJson(nlohmann::json::parse(toJson(r).dump()));
  EXPECT_EQ(back.index, 4);
  EXPECT_EQ(back.row.verdict, "attacked");
  EXPECT_EQ(back.row.adversarial, r.row.adversarial);  // exact: replayable
  EXPECT_TRUE(std::isinf(back.row.margin_lower) && back.row.margin_lower < 0);
  EXPECT_TRUE(std::isnan(back.row.from_eps));
  EXPECT_EQ(back.row.margin_upper, -0.25);

  TempDir dir;
  const std::string f = dir / "results.jsonl";
  appendLines(f, toJson(r).dump() + "\n");
  {
    std::ofstream os(f, std::ios::app);
    os << R"({"model":"m.onnx","ind)";  // a kill mid-write
  }
  EXPECT_EQ(loadRecords(f).size(), 1u);
  EXPECT_GT(dropPartialLastLine(f), 0);
  appendLines(f, "{\"model\": 1}\n");
  try {
    loadRecords(f);
    FAIL() << "a bad line was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(loadRecords(dir / "missing.jsonl").empty());
}

TEST(Robustness, SummaryCountsAndAccuracies) {
  std::vector<RobustRecord> recs;
  auto add = [&](long idx, double eps, const std::string& v, bool solved, double t,
                 bool inferred = false) {
    RobustRecord r;
    r.index = idx;
    r.row.eps = eps;
    r.row.verdict = v;
    r.row.solved = solved;
    r.row.inferred = inferred;
    r.row.time_s = t;
    recs.push_back(r);
  };
  add(0, 0.1, "certified", true, 1.0);
  add(1, 0.1, "attacked", true, 3.0);
  add(2, 0.1, "unknown", true, 8.0);
  add(3, 0.1, "misclassified", false, 0.0);
  add(0, 0.2, "attacked", false, 0.0, true);
  const auto s = summarize(recs, {0.1, 0.2});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].images, 4);
  EXPECT_DOUBLE_EQ(s[0].clean_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(s[0].certified_accuracy, 0.25);
  EXPECT_DOUBLE_EQ(s[0].attacked_upper, 0.5);  // images 0 and 2 may be robust
  EXPECT_EQ(s[0].unknown, 1);
  EXPECT_DOUBLE_EQ(s[0].median_time_s, 3.0);
  EXPECT_DOUBLE_EQ(s[0].mean_time_s, 4.0);
  EXPECT_DOUBLE_EQ(s[0].max_time_s, 8.0);
  EXPECT_EQ(s[1].images, 1);
  EXPECT_EQ(s[1].inferred, 1);
  EXPECT_TRUE(std::isnan(s[1].median_time_s));
  const std::string csv = summaryCsv(s);
  EXPECT_NE(csv.find("\n0.1,4,1,1,1,1,0.75,0.25,0.5,3,0,0,3,4,8\n"), std::string::npos) << csv;
  EXPECT_EQ(summaryJson(s)["per_eps"][1]["inferred"], 1);
}

TEST(Robustness, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\x10", 3)), "/wAQ");
}

// End to end on the fixture network: outputs, resume, refusals.
TEST(Robustness, RunWritesResultsSummaryAndReportAndResumes) {
  TempDir dir;
  RunParams p;
  p.model = kModel;
  p.dataset = kDigits;
  p.limit = 4;
  p.mean = {0.1307};
  p.stdv = {0.3081};
  p.robust.eps = {0.1, 0.01, 0.05};  // unsorted on purpose
  p.robust.time_limit = 20;
  p.out_dir = dir.path.string();
  p.command = "nnopt robustness <test> & \"quotes\"";
  int notices = 0;
  const RunOutcome a = runRobustness(p, [&](const RunProgress&) { ++notices; });
  EXPECT_EQ(a.images_run, 4);
  EXPECT_EQ(notices, 5);  // start + one per image
  const auto recs = loadRecords(dir / "results.jsonl");
  EXPECT_EQ(recs.size(), 12u);
  ASSERT_EQ(a.summary.size(), 3u);
  EXPECT_EQ(a.summary[0].eps, 0.01);
  for (const auto& s : a.summary) {
    EXPECT_EQ(s.images, 4);
    EXPECT_EQ(s.certified + s.attacked + s.unknown + s.misclassified, 4);
  }
  const std::string html = readAll(dir / "report.html");
  EXPECT_NE(html.find("id=\"accuracy-chart\""), std::string::npos);
  EXPECT_NE(html.find("id=\"summary-table\""), std::string::npos);
  EXPECT_NE(html.find("&lt;test&gt; &amp; &quot;quotes&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("id=\"margin-histogram\""), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);  // nothing fetched from elsewhere
  int attacked_images = 0;
  for (const auto& r : recs) attacked_images += r.row.verdict == "attacked" && r.row.adversarial.size();
  if (attacked_images > 0) EXPECT_NE(html.find("data:image/png;base64,iVBOR"), std::string::npos);
  const auto sj = nlohmann::json::parse(readAll(dir / "summary.json"));
  EXPECT_EQ(sj["per_eps"].size(), 3u);

  // Without --resume the existing results are not touched.
  EXPECT_THROW(runRobustness(p), Error);
  // --resume with more images runs only the new ones.
  p.resume = true;
  p.limit = 6;
  const RunOutcome b = runRobustness(p);
  EXPECT_EQ(b.images_run, 2);
  EXPECT_EQ(b.images_skipped, 4);
  EXPECT_EQ(loadRecords(dir / "results.jsonl").size(), 18u);
  // One writer per directory.
  {
    FileLock held((dir.path / ".robustness.lock").string(), "held");
    try {
      runRobustness(p);
      FAIL() << "a second writer was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("another nnopt robustness"), std::string::npos);
    }
  }
  // Another time limit on the same results is refused.
  p.robust.time_limit = 5;
  EXPECT_THROW(runRobustness(p), Error);
}

TEST(Robustness, BadInputIsAnErrorNamingTheCause) {
  TempDir dir;
  RunParams p;
  p.model = kModel;
  p.dataset = kDigits;
  p.robust.eps = {0.01};
  p.out_dir = dir.path.string();
  auto message = [&](RunParams q) {
    try {
      runRobustness(q);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  RunParams q = p;
  q.robust.eps = {-0.1};
  EXPECT_NE(message(q).find(">= 0"), std::string::npos);
  q = p;
  q.indices = {3, 20};
  EXPECT_NE(message(q).find("20 out of range"), std::string::npos);
  q = p;
  q.model = dir / "missing.onnx";
  EXPECT_NE(message(q).find("missing.onnx"), std::string::npos);
  q = p;
  q.dataset = dir / "missing.csv";
  EXPECT_NE(message(q).find("missing.csv"), std::string::npos);
  q = p;
  q.robust.time_limit = 0;
  EXPECT_NE(message(q).find("--time-limit"), std::string::npos);
  q = p;
  q.mean = {0.5};
  EXPECT_NE(message(q).find("--mean and --std"), std::string::npos);
  // A label the network does not have.
  {
    std::ofstream os(dir / "bad_label.csv");
    os << "12";
    for (int i = 0; i < 784; ++i) os << ",0";
    os << "\n";
  }
  q = p;
  q.dataset = dir / "bad_label.csv";
  EXPECT_NE(message(q).find("label 12 out of range"), std::string::npos) << message(q);
  EXPECT_FALSE(fs::exists(dir / "results.jsonl"));
}
