// The sweep study's bookkeeping: method specs, results.jsonl append/resume
// (partial last line, skipped pairs), table/summary from synthetic records,
// the charts, and runSweepWith() end to end with an injected loader/runner
// (no ONNX files, no solvers).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "report/plot.h"
#include "report/sweep.h"
#include "temp_dir.h"

using namespace nnopt;
using namespace nnopt::report;
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("nnopt_test_sweep") {}
};

std::string readFile(const std::string& p) {
  std::ifstream is(p, std::ios::binary);
  std::stringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string l;
  while (std::getline(ss, l)) out.push_back(l);
  return out;
}

SweepRecord rec(const std::string& net, int L, int N, const std::string& method, double margin,
                double time_s, bool proven = true, bool timed_out = false) {
  SweepRecord r;
  r.network = net;
  r.network_path = "models/" + net;
  r.hidden_layers = L;
  r.neurons = N;
  r.widths.assign(L, N);
  r.method = method;
  r.method_result = method;
  r.margin = margin;
  r.verdict = margin < 0 ? "attack_found" : (proven ? "robust" : "no_attack_found");
  if (timed_out && !(margin < 0)) r.verdict = "timeout";
  r.time_s = time_s;
  r.proven = proven;
  r.timed_out = timed_out;
  r.status = method == "mip" ? (proven ? "optimal" : "feasible") : "optimal";
  r.variables = 100 * L + N;
  r.eps = 0.1;
  r.time_limit = 100;
  r.dataset = "digits.csv";
  r.index = 0;
  r.target_mode = "runner-up";
  r.true_label = 7;
  r.target_label = 3;
  return r;
}

nn::Network mlp(int in, const std::vector<int>& hidden, int out, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<int> widths{in};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(out);
  std::vector<nn::Layer> layers;
  for (size_t i = 1; i < widths.size(); ++i) {
    nn::Dense d;
    d.W = Eigen::MatrixXd(widths[i], widths[i - 1]);
    d.b.resize(widths[i]);
    for (int r = 0; r < d.W.rows(); ++r) {
      d.b[r] = 0.1 * g(rng);
      for (int c = 0; c < d.W.cols(); ++c) d.W(r, c) = g(rng);
    }
    layers.push_back({"fc" + std::to_string(i), d, {widths[i]}});
    if (i + 1 < widths.size())
      layers.push_back({"relu" + std::to_string(i), nn::Activation{nn::ActKind::kRelu}, {widths[i]}});
  }
  return nn::Network({in}, layers);
}

}  // namespace

// ------------------------------------------------------------ specs, names
TEST(SweepMethodSpec, CanonicalNames) {
  EXPECT_EQ(parseMethodSpec("mip").name, "mip");
  EXPECT_EQ(parseMethodSpec("nlp").name, "nlp:pwl");
  EXPECT_EQ(parseMethodSpec("nlp:pwl").name, "nlp:pwl");
  EXPECT_EQ(parseMethodSpec("nlp:scholtes").name, "nlp:scholtes");
  EXPECT_THROW(parseMethodSpec("mpec:pwl"), Error);
  EXPECT_EQ(parseMethodSpec("NLP:product").name, "nlp:product");
  EXPECT_EQ(parseMethodSpec("nlp:product-ineq").name, "nlp:inequality");
  EXPECT_EQ(parseMethodSpec("mpec").name, "mpec:fb");
  EXPECT_EQ(parseMethodSpec("mpec:cm").name, "mpec:cm");
  EXPECT_EQ(parseMethodSpec("auto").kind, SweepMethodKind::kAuto);
  EXPECT_TRUE(parseMethodSpec("mpec:fb").nlpType());
  EXPECT_FALSE(parseMethodSpec("auto").nlpType());
  EXPECT_THROW(parseMethodSpec("lp"), Error);
  EXPECT_THROW(parseMethodSpec("nlp:bogus"), Error);
  EXPECT_THROW(parseMethodSpec("mip:fb"), Error);
  EXPECT_THROW(parseMethodSpec("nlp:"), Error);
  EXPECT_EQ(parseMethodSpec("portfolio").kind, SweepMethodKind::kPortfolio);
  EXPECT_EQ(parseMethodSpec("Exact").name, "exact");
  EXPECT_EQ(parseMethodSpec("exact").kind, SweepMethodKind::kExact);
  for (const char* m : {"mip", "portfolio", "exact"}) EXPECT_TRUE(parseMethodSpec(m).exactType());
  for (const char* m : {"auto", "nlp", "mpec"}) EXPECT_FALSE(parseMethodSpec(m).exactType());
  EXPECT_THROW(parseMethodSpec("exact:fb"), Error);
  EXPECT_THROW(parseMethodSpec("portfolio:pwl"), Error);
}

// Without a mip column, `exact` (else `portfolio`) is the reference the other
// methods are compared with, labelled as such; the per-network choice is a
// column of its own.
TEST(SweepTable, ExactColumnIsTheReferenceWithoutMip) {
  std::vector<SweepRecord> v;
  for (auto [net, L, N, m_exact, chosen] :
       {std::tuple{"mlp_1x10.onnx", 1, 10, -1.0, "mip"}, {"mlp_5x20.onnx", 5, 20, 0.5, "portfolio"}}) {
    SweepRecord e = rec(net, L, N, "exact", m_exact, 2.0);
    e.decided_by = chosen;
    e.method_result = std::string("exact(") + chosen + ")";
    v.push_back(e);
    v.push_back(rec(net, L, N, "nlp:pwl", 0.7, 0.1));  // misses the 1x10 attack
    v.push_back(rec(net, L, N, "portfolio", m_exact, 3.0));
  }
  SweepTable t = buildTable(v, {"exact", "nlp", "portfolio"});
  EXPECT_EQ(t.mip, "exact");
  ASSERT_EQ(t.vs_mip.size(), 2u);
  EXPECT_EQ(t.vs_mip[0].method, "nlp:pwl");
  EXPECT_EQ(t.vs_mip[0].false_robust, 1);
  EXPECT_EQ(t.vs_mip[1].method, "portfolio");
  EXPECT_EQ(t.vs_mip[1].exact_agree, 2);
  EXPECT_EQ(t.vs_mip[1].slower_than_mip, 2);
  const std::string md = tableMarkdown(t);
  EXPECT_NE(md.find("Exact Objective"), std::string::npos) << md;
  EXPECT_EQ(md.find("MIP Objective"), std::string::npos) << md;
  EXPECT_NE(md.find("Exact Method"), std::string::npos) << md;
  EXPECT_NE(md.find("| portfolio |"), std::string::npos) << md;
  EXPECT_NE(md.find("NLP vs Exact"), std::string::npos) << md;
  EXPECT_NE(md.find("while the Exact margin < 0"), std::string::npos) << md;
  // With a mip column, mip stays the reference and exact is compared with it.
  v.push_back(rec("mlp_1x10.onnx", 1, 10, "mip", -1.0, 1.0));
  t = buildTable(v, {"mip", "exact"});
  EXPECT_EQ(t.mip, "mip");
  EXPECT_NE(tableMarkdown(t).find("exact Method"), std::string::npos);
}

TEST(SweepArchitecture, FromNetworkAndName) {
  Architecture a = architectureOf(mlp(4, {5, 5, 5}, 3, 1));
  EXPECT_EQ(a.hidden_layers, 3);
  EXPECT_EQ(a.neurons, 5);
  EXPECT_EQ(a.total_neurons, 15);
  Architecture b = architectureOf(mlp(4, {8, 2}, 3, 1));
  EXPECT_EQ(archLabel(b.hidden_layers, b.neurons, b.widths), "2x[8,2]");
  auto n = architectureFromName("models/sweep/mlp_3x40.onnx");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->hidden_layers, 3);
  EXPECT_EQ(n->neurons, 40);
  EXPECT_FALSE(architectureFromName("convnet.onnx").has_value());
  EXPECT_EQ(archLabel(3, 40), "3x40");
}

// ------------------------------------------------------------ results.jsonl
TEST(SweepResults, AppendRoundTripAndPartialTail) {
  TempDir d;
  const std::string f = d / "results.jsonl";
  EXPECT_TRUE(loadResults(f).records.empty());  // missing file: empty
  SweepRecord a = rec("mlp_1x10.onnx", 1, 10, "mip", -0.5, 0.2);
  a.bound = -0.5;
  SweepRecord b = rec("mlp_1x10.onnx", 1, 10, "nlp:scholtes", kNaN, 0.1, false);
  b.decided_by = "";
  appendResult(f, a);
  appendResult(f, b);
  const long full = static_cast<long>(fs::file_size(f));
  {
    std::ofstream os(f, std::ios::app);
    os << R"({"network":"mlp_2x10.onnx","method":"mi)";  // killed mid-write
  }
  LoadedResults lr = loadResults(f);
  ASSERT_EQ(lr.records.size(), 2u);
  EXPECT_TRUE(lr.partial_tail);
  EXPECT_EQ(lr.valid_bytes, full);
  EXPECT_DOUBLE_EQ(lr.records[0].margin, -0.5);
  EXPECT_DOUBLE_EQ(lr.records[0].bound, -0.5);
  EXPECT_TRUE(std::isnan(lr.records[1].margin));
  EXPECT_TRUE(std::isinf(lr.records[1].bound));  // null bound -> -inf
  EXPECT_EQ(lr.records[1].method, "nlp:scholtes");
  truncateResults(f, lr.valid_bytes);
  EXPECT_EQ(static_cast<long>(fs::file_size(f)), full);
  EXPECT_FALSE(loadResults(f).partial_tail);

  // Every line is a standalone JSON object ending in '\n'.
  for (const auto& l : lines(readFile(f))) EXPECT_TRUE(nlohmann::json::accept(l)) << l;

  // A corrupt complete line is an error naming the line.
  {
    std::ofstream os(f, std::ios::app);
    os << "{not json\n";
  }
  try {
    loadResults(f);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
  }
}

TEST(SweepResults, DonePairsSkipErrorsAndKeepLast) {
  std::vector<SweepRecord> v{rec("a.onnx", 1, 10, "mip", 1.0, 1), rec("a.onnx", 1, 10, "mip", 2.0, 1),
                             rec("b.onnx", 1, 20, "mip", 1.0, 1)};
  v.back().verdict = "error";
  auto done = donePairs(v);
  EXPECT_EQ(done.size(), 1u);
  EXPECT_DOUBLE_EQ(done.at({"a.onnx", "mip"}).margin, 2.0);
}

// ------------------------------------------------------------ table & summary
TEST(SweepTable, FalseRobustAgreementMedians) {
  std::vector<SweepRecord> v;
  // Given out of order: the table orders by layers, then neurons.
  v.push_back(rec("mlp_2x10.onnx", 2, 10, "mip", -3.0, 4.0));
  v.push_back(rec("mlp_2x10.onnx", 2, 10, "nlp:scholtes", -3.0, 0.2));       // exact agreement
  v.push_back(rec("mlp_1x10.onnx", 1, 10, "mip", 3.88899, 0.13));
  v.push_back(rec("mlp_1x10.onnx", 1, 10, "nlp:scholtes", 5.092, 0.16));      // same sign, NLP slower
  v.push_back(rec("mlp_4x40.onnx", 4, 40, "mip", -1.96277, 100, false, true));  // MIP attack at limit
  v.push_back(rec("mlp_4x40.onnx", 4, 40, "nlp:scholtes", 5.48993, 0.342));   // false robust
  v.push_back(rec("mlp_4x60.onnx", 4, 60, "mip", 7.55647, 100, false, true)); // MIP unproven, positive
  v.push_back(rec("mlp_4x60.onnx", 4, 60, "nlp:scholtes", -1.81861, 1.23));   // NLP stronger
  v.push_back(rec("mlp_5x60.onnx", 5, 60, "mip", kNaN, 100, false, true));    // no incumbent
  v.push_back(rec("mlp_5x60.onnx", 5, 60, "nlp:scholtes", -3.79, 1.6));
  v.push_back(rec("mlp_1x10.onnx", 1, 10, "mpec:fb", 5.0, 0.3));
  SweepRecord err = rec("mlp_2x10.onnx", 2, 10, "mpec:fb", kNaN, 0);
  err.verdict = "error";
  v.push_back(err);

  SweepTable t = buildTable(v, {"mip", "nlp:scholtes", "mpec:fb"});
  EXPECT_EQ(t.mip, "mip");
  EXPECT_EQ(t.nlp, "nlp:scholtes");
  ASSERT_EQ(t.rows.size(), 5u);
  EXPECT_EQ(t.rows[0].network, "mlp_1x10.onnx");
  EXPECT_EQ(t.rows[1].network, "mlp_2x10.onnx");
  EXPECT_EQ(t.rows[4].network, "mlp_5x60.onnx");
  int fr = 0;
  for (const auto& r : t.rows) fr += r.false_robust;
  EXPECT_EQ(fr, 1);
  EXPECT_TRUE(t.rows[2].false_robust);  // 4x40

  ASSERT_EQ(t.stats.size(), 3u);
  EXPECT_EQ(t.stats[0].method, "mip");
  EXPECT_EQ(t.stats[0].runs, 5);
  EXPECT_EQ(t.stats[0].timeouts, 3);
  EXPECT_DOUBLE_EQ(t.stats[0].median_time_s, 100.0);
  EXPECT_NEAR(t.stats[0].mean_time_s, (4.0 + 0.13 + 300) / 5, 1e-12);
  EXPECT_DOUBLE_EQ(t.stats[1].median_time_s, 0.342);
  EXPECT_EQ(t.stats[2].runs, 1);
  EXPECT_EQ(t.stats[2].errors, 1);
  EXPECT_EQ(t.mip_unproven, 3);
  EXPECT_EQ(t.mip_no_incumbent, 1);

  ASSERT_EQ(t.vs_mip.size(), 2u);
  const Comparison& c = t.vs_mip[0];
  EXPECT_EQ(c.method, "nlp:scholtes");
  EXPECT_EQ(c.networks, 5);
  EXPECT_EQ(c.comparable, 4);
  EXPECT_EQ(c.sign_agree, 2);
  EXPECT_EQ(c.sign_agree_mip_unproven, 0);
  EXPECT_EQ(c.sign_disagree, 2);
  EXPECT_EQ(c.sign_disagree_mip_unproven, 2);
  EXPECT_EQ(c.exact_agree, 1);
  EXPECT_EQ(c.false_robust, 1);
  ASSERT_EQ(c.false_robust_networks.size(), 1u);
  EXPECT_EQ(c.false_robust_networks[0], "4x40");
  EXPECT_EQ(c.stronger_than_mip, 1);
  EXPECT_EQ(c.slower_than_mip, 1);

  const std::string md = tableMarkdown(t);
  for (const char* h : {"Hidden Layers", "Neurons/Layer", "MIP Objective", "MIP Time (s)",
                        "MIP Variables", "NLP Objective", "NLP Time (s)", "NLP Variables",
                        "False Robustness", "MIP Bound", "MIP Status", "mpec:fb Objective",
                        "mpec:fb Time (s)"})
    EXPECT_NE(md.find(h), std::string::npos) << h;
  EXPECT_NE(md.find("| 4 | 40 | -1.96277 | 100.000* |"), std::string::npos) << md;
  EXPECT_NE(md.find("| Yes |"), std::string::npos);
  EXPECT_NE(md.find("same sign 2/4"), std::string::npos) << md;
  EXPECT_NE(md.find("false robust 1/5 (4x40)"), std::string::npos) << md;
  EXPECT_NE(md.find("3 unproven"), std::string::npos) << md;

  const auto csv = lines(tableCsv(t));
  ASSERT_EQ(csv.size(), 6u);
  EXPECT_EQ(csv[0].rfind("Network,Hidden Layers,Neurons/Layer,MIP Objective", 0), 0u) << csv[0];

  nlohmann::json s = summaryJson(t);
  EXPECT_EQ(s["vs_mip"]["nlp:scholtes"]["false_robust"], 1);
  EXPECT_EQ(s["per_method"]["mip"]["timeouts"], 3);
  EXPECT_EQ(s["networks"], 5);
}

TEST(SweepTable, MultiStartColumnsAndNoMip) {
  std::vector<SweepRecord> v;
  SweepRecord a = rec("mlp_1x10.onnx", 1, 10, "nlp:scholtes", -1.0, 0.5);
  a.starts = 8;
  a.starts_run = 3;
  a.first_attack_start = 2;
  v.push_back(a);
  SweepRecord b = rec("mlp_1x10.onnx", 1, 10, "auto", -1.0, 0.6);
  b.starts = 16;
  b.decided_by = "nlp-screen";
  v.push_back(b);
  SweepTable t = buildTable(v, {"nlp:scholtes", "auto"});
  EXPECT_TRUE(t.mip.empty());
  EXPECT_TRUE(t.vs_mip.empty());
  const std::string md = tableMarkdown(t);
  EXPECT_EQ(md.find("MIP Objective"), std::string::npos);
  EXPECT_EQ(md.find("False Robustness"), std::string::npos);
  EXPECT_NE(md.find("NLP Starts Run"), std::string::npos);
  EXPECT_NE(md.find("| 3/8 | 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("auto Decided By"), std::string::npos);
  EXPECT_NE(md.find("nlp-screen"), std::string::npos);
}

// ------------------------------------------------------------ charts
TEST(SweepPlot, SvgAndPngAreWritten) {
  TempDir d;
  PairedChart c;
  c.title = "MIP vs NLP solve times";
  c.x_label = "architecture";
  c.y_label = "time (s)";
  for (int l = 1; l <= 5; ++l)
    for (int n = 10; n <= 60; n += 10) c.categories.push_back(std::to_string(l) + "x" + std::to_string(n));
  ChartSeries a{"MIP", {}, {}}, b{"NLP", {}, {}};
  for (size_t i = 0; i < c.categories.size(); ++i) {
    a.y.push_back(0.1 * std::pow(1.35, double(i)));
    a.hollow.push_back(i > 25);
    b.y.push_back(i == 3 ? kNaN : 0.05 + 0.02 * i);
  }
  b.y[0] = 0.0;  // clamped on the log axis, not an error
  c.series = {a, b};
  c.ref_line = 4000;
  c.ref_label = "time limit";
  c.hollow_note = "hit the time limit";
  writeChart(c, d / "t.svg");
  writeChart(c, d / "t.png");
  const std::string svg = readFile(d / "t.svg");
  const std::string png = readFile(d / "t.png");
  EXPECT_GT(svg.size(), 1000u);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_THROW(writeChart(c, d / "t.jpg"), Error);
  EXPECT_THROW(writeChart(c, d / "no/such/dir/t.png"), Error);
  // Linear axis and an empty chart draw too.
  c.log_y = false;
  EXPECT_NO_THROW(writeChart(c, d / "lin.png"));
  PairedChart empty;
  EXPECT_NO_THROW(writeChart(empty, d / "empty.svg"));
}

// ------------------------------------------------------------ the sweep, injected
namespace {

struct FakeWorld {
  int runs = 0;
  std::vector<std::string> order;  // "net method" in run order
  std::string fail_method;         // runner throws for this method

  SweepHooks hooks() {
    SweepHooks h;
    h.load_network = [](const std::string& path) {
      auto a = architectureFromName(path);
      if (!a) throw Error(path + ": not a test network");
      return mlp(4, a->widths, 3, static_cast<unsigned>(a->total_neurons));
    };
    h.run = [this](const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                   int true_label, int target_label, const MethodSpec& m, int starts,
                   const SweepParams&) {
      ++runs;
      EXPECT_EQ(box.size(), 4);
      EXPECT_EQ(x0.size(), 4);
      EXPECT_NE(true_label, target_label);
      Architecture a = architectureOf(net);
      order.push_back(archLabel(a.hidden_layers, a.neurons) + " " + m.name);
      if (m.name == fail_method) throw Error("solver exploded");
      SweepRecord r;
      r.margin = m.kind == SweepMethodKind::kMip ? -0.5 * a.hidden_layers : 0.25;
      r.verdict = r.margin < 0 ? "attack_found" : "no_attack_found";
      r.time_s = m.kind == SweepMethodKind::kMip ? 0.5 * a.total_neurons : 0.01;
      r.status = "optimal";
      r.proven = m.kind == SweepMethodKind::kMip;
      r.variables = static_cast<int>(a.total_neurons) * 2 + 4;
      r.starts = starts;
      r.starts_run = starts;
      return r;
    };
    return h;
  }
};

void writeDataset(const std::string& path) {
  std::ofstream os(path);
  os << "label,p0,p1,p2,p3\n";
  os << "1,0,128,255,64\n";
  os << "2,10,20,30,40\n";
}

}  // namespace

TEST(SweepRun, RunsOrdersAppendsAndResumes) {
  TempDir d;
  fs::create_directories(d.path / "models");
  for (const char* f : {"mlp_2x3.onnx", "mlp_1x4.onnx", "mlp_1x2.onnx", "notes.txt"})
    std::ofstream(d.path / "models" / f) << "x";
  writeDataset(d / "data.csv");

  SweepParams p;
  p.models = {d / "models"};
  p.dataset = d / "data.csv";
  p.index = 0;
  p.eps = 0.1;
  p.methods = {"mip", "nlp"};
  p.time_limit = 5;
  p.out_dir = d / "out";

  FakeWorld w;
  std::vector<SweepProgress> progress;
  SweepOutcome o = runSweepWith(p, w.hooks(), [&](const SweepProgress& pr) { progress.push_back(pr); });
  EXPECT_EQ(o.ran, 6);
  EXPECT_EQ(o.skipped, 0);
  ASSERT_EQ(w.order.size(), 6u);
  EXPECT_EQ(w.order[0], "1x2 mip");
  EXPECT_EQ(w.order[1], "1x2 nlp:pwl");
  EXPECT_EQ(w.order[2], "1x4 mip");
  EXPECT_EQ(w.order[5], "2x3 nlp:pwl");
  ASSERT_EQ(progress.size(), 7u);  // start notice + one per run
  EXPECT_EQ(progress[0].record, nullptr);
  EXPECT_EQ(progress[0].to_run, 6);
  EXPECT_EQ(progress.back().done, 6);
  EXPECT_DOUBLE_EQ(progress.back().eta_s, 0.0);

  const std::string results = d / "out/results.jsonl";
  auto recs = loadResults(results).records;
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(recs[0].network, "mlp_1x2.onnx");
  EXPECT_EQ(recs[0].hidden_layers, 1);
  EXPECT_EQ(recs[0].neurons, 2);
  EXPECT_EQ(recs[0].true_label, 1);  // from the dataset
  EXPECT_EQ(recs[0].eps, 0.1);
  EXPECT_EQ(recs[0].dataset, "data.csv");
  EXPECT_FALSE(recs[0].timestamp.empty());
  for (const char* f : {"table.md", "table.csv", "summary.json", "times.svg", "times.png"})
    EXPECT_TRUE(fs::exists(d.path / "out" / f)) << f;
  EXPECT_EQ(o.table.rows.size(), 3u);

  // Without --resume an existing results.jsonl is an error.
  try {
    runSweepWith(p, w.hooks());
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("use --resume or another --out"), std::string::npos);
  }

  // Killed mid-write, then resumed with one more method (whose runs fail).
  {
    std::ofstream os(results, std::ios::app);
    os << R"({"network":"mlp_2x3.onnx","meth)";
  }
  p.resume = true;
  p.methods = {"mip", "nlp", "mpec:fb"};
  w.order.clear();
  w.fail_method = "mpec:fb";
  o = runSweepWith(p, w.hooks());
  EXPECT_TRUE(o.dropped_partial_line);
  EXPECT_EQ(o.skipped, 6);
  EXPECT_EQ(o.ran, 3);
  ASSERT_EQ(w.order.size(), 3u);
  for (const auto& s : w.order) EXPECT_NE(s.find("mpec:fb"), std::string::npos) << s;
  auto lr = loadResults(results);
  EXPECT_FALSE(lr.partial_tail);
  ASSERT_EQ(lr.records.size(), 9u);
  EXPECT_EQ(lr.records[6].verdict, "error");
  EXPECT_EQ(lr.records[6].error, "solver exploded");
  for (const auto& l : lines(readFile(results))) EXPECT_TRUE(nlohmann::json::accept(l)) << l;

  // Error runs are retried; everything else is skipped; nothing repeated.
  w.order.clear();
  w.fail_method.clear();
  o = runSweepWith(p, w.hooks());
  EXPECT_EQ(o.ran, 3);
  EXPECT_EQ(o.skipped, 6);
  EXPECT_EQ(loadResults(results).records.size(), 12u);
  EXPECT_EQ(o.table.stats.size(), 3u);
  EXPECT_EQ(o.table.stats[2].runs, 3);
  EXPECT_EQ(o.table.stats[2].errors, 0);

  // All done: nothing runs, outputs are rewritten.
  fs::remove(d.path / "out" / "table.md");
  w.order.clear();
  o = runSweepWith(p, w.hooks());
  EXPECT_EQ(o.ran, 0);
  EXPECT_TRUE(w.order.empty());
  EXPECT_TRUE(fs::exists(d.path / "out" / "table.md"));
  const std::string md = readFile(d / "out/table.md");
  EXPECT_NE(md.find("| 1 | 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("False Robustness"), std::string::npos);

  // A resume with a different budget is refused.
  p.eps = 0.2;
  EXPECT_THROW(runSweepWith(p, w.hooks()), Error);
}

// A cancel set during a run: that run is not recorded, no further run starts,
// no table is written; resume then runs the rest.
TEST(SweepRun, CancelKeepsOnlyFinishedRunsAndResumes) {
  TempDir d;
  fs::create_directories(d.path / "models");
  for (const char* f : {"mlp_1x2.onnx", "mlp_1x4.onnx"}) std::ofstream(d.path / "models" / f) << "x";
  writeDataset(d / "data.csv");
  SweepParams p;
  p.models = {d / "models"};
  p.dataset = d / "data.csv";
  p.eps = 0.1;
  p.methods = {"mip", "nlp"};
  p.out_dir = d / "out";
  std::atomic<bool> cancel{false};
  p.cancel = &cancel;
  FakeWorld w;
  SweepHooks h = w.hooks();
  auto inner = h.run;
  h.run = [&](const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0, int t,
              int g, const MethodSpec& m, int starts, const SweepParams& sp) {
    EXPECT_EQ(sp.cancel, &cancel);  // what runMethod hands to the attack
    if (w.runs == 1) cancel = true;  // Ctrl-C during the second run
    return inner(net, box, x0, t, g, m, starts, sp);
  };
  SweepOutcome o = runSweepWith(p, h);
  EXPECT_EQ(w.runs, 2);
  EXPECT_EQ(o.ran, 1);
  EXPECT_TRUE(o.files.empty());
  auto recs = loadResults(d / "out/results.jsonl").records;
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].network, "mlp_1x2.onnx");
  EXPECT_EQ(recs[0].method, "mip");
  EXPECT_FALSE(fs::exists(d.path / "out/table.md"));
  p.cancel = nullptr;
  p.resume = true;
  FakeWorld w2;
  SweepOutcome again = runSweepWith(p, w2.hooks());
  EXPECT_EQ(again.skipped, 1);
  EXPECT_EQ(again.ran, 3);
  EXPECT_EQ(loadResults(d / "out/results.jsonl").records.size(), 4u);
}

TEST(SweepRun, BadInputsAreErrors) {
  TempDir d;
  std::ofstream(d / "mlp_1x2.onnx") << "x";
  writeDataset(d / "data.csv");
  FakeWorld w;
  SweepParams p;
  p.models = {d / "mlp_1x2.onnx"};
  p.dataset = d / "data.csv";
  p.eps = 0.1;
  p.methods = {"mip"};
  p.out_dir = d / "out";
  p.target = "1";  // equals the label
  EXPECT_THROW(runSweepWith(p, w.hooks()), Error);
  p.target = "runner-up";
  p.methods = {"simplex"};
  EXPECT_THROW(runSweepWith(p, w.hooks()), Error);
  p.methods = {"mip"};
  p.models = {d / "missing.onnx"};
  EXPECT_THROW(runSweepWith(p, w.hooks()), Error);
  p.models = {d.path.string()};  // a directory: finds mlp_1x2.onnx
  p.eps = -1;
  EXPECT_THROW(runSweepWith(p, w.hooks()), Error);
  p.eps = 0.1;
  p.mean = {0.5};  // without --std
  EXPECT_THROW(runSweepWith(p, w.hooks()), Error);
  p.stdv = {0.25};
  p.label = 2;
  p.target = "0";
  {
    // Another sweep holding the output directory.
    fs::create_directories(d.path / "out");
    int fd = ::open((d / "out/.sweep.lock").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    EXPECT_THROW(runSweepWith(p, w.hooks()), Error);
    ::close(fd);
  }
  SweepOutcome o = runSweepWith(p, w.hooks());
  EXPECT_EQ(o.ran, 1);
  EXPECT_EQ(w.runs, 1);
  auto r = loadResults(d / "out/results.jsonl").records;
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].true_label, 2);
  EXPECT_EQ(r[0].target_label, 0);
}
