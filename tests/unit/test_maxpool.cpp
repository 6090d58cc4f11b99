// MaxPool layers end to end, import side: ONNX import (MaxPool over kernel /
// stride / pads / dilations / auto_pad combinations and GlobalMaxPool) against
// a naive pooling loop written independently of the loader (padding cells are
// -inf, so they are never the maximum); soundness and tightness of interval,
// CROWN (with and without alpha) and LP-tightened bounds on small conv +
// max-pool networks; the embedding's start point (big-M and every
// complementarity form); the PGD subgradient; and the committed trained
// MaxPool fixture against torch's logits. The attacks on the same networks:
// test_maxpool_attack.cpp; the shared networks and references:
// maxpool_fixtures.h.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "attack/attack.h"
#include "attack/pgd.h"
#include "attack_params.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "bounds/lp_tighten.h"
#include "core/error.h"
#include "formulate/embed.h"
#include "io/onnx.h"
#include "model/math_model.h"
#include "maxpool_fixtures.h"
#include "nn/gradient.h"
#include "nn/network.h"
#include "onnx_builder.h"
#include "solve/solver.h"
#include "spec/property.h"

using namespace nnopt;
using namespace nnopt::test::maxpool;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// ====================================================================== (a) import

TEST(MaxPoolImport, MatchesNaivePoolingOverAttributeSweep) {
  std::vector<PoolSpec> specs;
  {
    PoolSpec s;  // 2x2 stride 2: disjoint windows, two channels
    s.C = 2; s.H = 6; s.W = 6; s.sh = s.sw = 2;
    specs.push_back(s);
  }
  {
    PoolSpec s;  // 3x3 stride 1: overlapping windows
    s.H = 5; s.W = 6; s.kh = s.kw = 3;
    specs.push_back(s);
  }
  {
    PoolSpec s;  // 3x3 stride 2, pad 1: overlapping, border windows clipped
    s.C = 2; s.H = 7; s.W = 7; s.kh = s.kw = 3; s.sh = s.sw = 2;
    s.pt = s.pl = s.pb = s.pr = 1;
    specs.push_back(s);
  }
  {
    PoolSpec s;  // 2x3 kernel, strides (1, 2), asymmetric pads
    s.H = 5; s.W = 7; s.kh = 2; s.kw = 3; s.sh = 1; s.sw = 2;
    s.pt = 1; s.pl = 0; s.pb = 0; s.pr = 2;
    specs.push_back(s);
  }
  {
    PoolSpec s;  // dilation 2, stride 1
    s.H = 6; s.W = 6; s.dh = s.dw = 2;
    specs.push_back(s);
  }
  {
    PoolSpec s;  // 3x2 kernel, dilations (2, 1), strides (2, 1), pads on three sides
    s.C = 3; s.H = 7; s.W = 5; s.kh = 3; s.kw = 2; s.dh = 2; s.sh = 2;
    s.pt = 2; s.pl = 0; s.pb = 1; s.pr = 1;
    specs.push_back(s);
  }
  {
    PoolSpec s;  // kernel covers the whole padded image: one output per channel
    s.C = 2; s.H = 3; s.W = 3; s.kh = s.kw = 5; s.pt = s.pl = s.pb = s.pr = 1;
    specs.push_back(s);
  }
  {
    PoolSpec s;  // pad 2 with a 3x3 kernel: corner windows hold a single image cell
    s.H = 4; s.W = 4; s.kh = s.kw = 3; s.sh = s.sw = 2;
    s.pt = s.pl = s.pb = s.pr = 2;
    specs.push_back(s);
  }
  {
    PoolSpec s;  // 1x1 kernel stride 2: subsampling
    s.C = 2; s.H = 5; s.W = 4; s.kh = s.kw = 1; s.sh = s.sw = 2;
    specs.push_back(s);
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE("spec " + std::to_string(i));
    checkPool(specs[i], static_cast<int>(i) + 1);
  }
}

TEST(MaxPoolImport, AutoPadModes) {
  PoolSpec base;  // 5x6 input, 3x2 kernel, stride 2
  base.C = 2; base.H = 5; base.W = 6; base.kh = 3; base.kw = 2; base.sh = base.sw = 2;
  checkPool(base, 31, "VALID");
  // SAME: out = ceil(in / stride) = 3 x 3; total pad H: (3-1)*2 + 3 - 5 = 2 -> 1/1,
  // W: (3-1)*2 + 2 - 6 = 0.
  PoolSpec same = base;
  same.pt = same.pb = 1;
  checkPool(base, 32, "SAME_UPPER", &same);
  checkPool(base, 33, "SAME_LOWER", &same);
  // Odd total pad: 4x4, kernel 2, stride 2 -> out 2, total 0; kernel 3, stride 1 ->
  // out 4, total 2 -> 1/1; kernel 2, stride 1 -> total 1: SAME_UPPER pads at the
  // end, SAME_LOWER at the beginning.
  PoolSpec odd;
  odd.H = 4; odd.W = 5;
  PoolSpec upper = odd, lower = odd;
  upper.pb = upper.pr = 1;
  lower.pt = lower.pl = 1;
  checkPool(odd, 34, "SAME_UPPER", &upper);
  checkPool(odd, 35, "SAME_LOWER", &lower);
}

TEST(MaxPoolImport, GlobalMaxPool) {
  Builder b;
  b.input("x", {1, 3, 4, 5});
  b.node("GlobalMaxPool", {"x"}, {"g"}, "gmp");
  b.node("Flatten", {"g"}, {"y"});
  b.output("y");
  const nn::Network net = b.load();
  ASSERT_EQ(net.numLayers(), 1u);
  ASSERT_TRUE(net.layers()[0].isMaxPool());
  EXPECT_EQ(net.outputSize(), 3);
  for (int t = 0; t < 3; ++t) {
    auto xv = vals(60, 40 + t);
    if (t == 1)
      for (auto& v : xv) v -= 3.0;
    VectorXd expect = VectorXd::Constant(3, kNegInf);
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 20; ++i) expect[c] = std::max(expect[c], xv[c * 20 + i]);
    expectNear(net.forward(vec(xv)), expect, 0.0);
  }
}

TEST(MaxPoolImport, BadPoolsGiveClearErrors) {
  {  // pad 2 with a 2x2 kernel, stride 1: the first window is all padding
    Builder b;
    b.input("x", {1, 1, 4, 4});
    PoolSpec s;
    s.pt = s.pl = s.pb = s.pr = 2;
    maxPoolNode(b, "x", "y", s);
    b.output("y");
    expectLoadError(b.bytes(), {"pool_y", "entirely in the padding"});
  }
  {  // the Indices output
    Builder b;
    b.input("x", {1, 1, 4, 4});
    auto* n = b.node("MaxPool", {"x"}, {"y", "idx"}, "poolidx");
    attrInts(n, "kernel_shape", {2, 2});
    b.output("y");
    expectLoadError(b.bytes(), {"poolidx", "Indices"});
  }
  {  // 1-D pooling
    Builder b;
    b.input("x", {1, 1, 8});
    attrInts(b.node("MaxPool", {"x"}, {"y"}, "pool1d"), "kernel_shape", {2});
    b.output("y");
    expectLoadError(b.bytes(), {"pool1d", "MaxPool"});
  }
}

TEST(MaxPoolImport, ConvReluPoolConvReluPoolGemmChain) {
  // Conv(1->3,k3,p1) 8x8 -> Relu -> MaxPool(2,s2) -> Conv(3->4,k3,p1) -> Relu ->
  // MaxPool(2,s2) -> Flatten -> Gemm(16 -> 5): the layout of the trained fixture.
  Builder b;
  b.input("x", {1, 1, 8, 8});
  const auto K1 = vals(27, 51), B1 = vals(3, 52), K2 = vals(108, 53), B2 = vals(4, 54);
  const auto Wf = vals(80, 55), Bf = vals(5, 56);
  b.init("K1", {3, 1, 3, 3}, K1);
  b.init("B1", {3}, B1);
  b.init("K2", {4, 3, 3, 3}, K2);
  b.init("B2", {4}, B2);
  b.init("Wf", {5, 16}, Wf);
  b.init("Bf", {5}, Bf);
  PoolSpec p2;
  p2.sh = p2.sw = 2;
  attrInts(b.node("Conv", {"x", "K1", "B1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"});
  maxPoolNode(b, "r1", "p1", p2);
  attrInts(b.node("Conv", {"p1", "K2", "B2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c2"}, {"r2"});
  maxPoolNode(b, "r2", "p2", p2);
  b.node("Flatten", {"p2"}, {"f"});
  attrI(b.node("Gemm", {"f", "Wf", "Bf"}, {"y"}, "fc"), "transB", 1);
  b.output("y");
  const nn::Network net = b.load();
  ASSERT_EQ(net.numLayers(), 7u);
  EXPECT_EQ(net.summary(), "64 -> Dense 192 -> Relu -> MaxPool 48 -> Dense 64 -> Relu -> "
                           "MaxPool 16 -> Dense 5");
  EXPECT_EQ(net.layers()[2].out_shape, (nn::Shape{3, 4, 4}));
  EXPECT_EQ(net.layers()[5].out_shape, (nn::Shape{4, 2, 2}));
  EXPECT_TRUE(net.isPiecewiseLinear());
  EXPECT_TRUE(net.hasMaxPool());
  EXPECT_NO_THROW(net.validate());
  PoolSpec ref = p2;
  ref.C = 3;
  for (int t = 0; t < 4; ++t) {
    Image x{1, 8, 8, vals(64, 57 + t)};
    Image h = naiveMaxPool(relu(naiveConv(x, 3, 3, 1, 1, K1, B1)), ref);
    h = naiveMaxPool(relu(naiveConv(h, 4, 3, 1, 1, K2, B2)), ref);
    expectNear(net.forward(vec(x.v)), gemm(Wf, Bf, vec(h.v)), 1e-9);
  }
}

TEST(MaxPoolImport, ConvPoolWithoutReluThenGemm) {
  // Conv -> MaxPool (negative window inputs) -> Relu -> Flatten -> Gemm, and the
  // small test networks below against their own naive references.
  const int seed = 3;
  const nn::Network a = netPoolNoRelu(seed);
  EXPECT_EQ(a.summary(), "36 -> Dense 72 -> MaxPool 18 -> Relu -> Dense 6 -> Relu -> Dense 4");
  const nn::Network r = netReluPool(seed);
  EXPECT_EQ(r.summary(), "36 -> Dense 72 -> Relu -> MaxPool 18 -> Dense 4");
  const nn::Network f = netPoolFirst(seed);
  EXPECT_EQ(f.summary(), "25 -> MaxPool 16 -> Dense 6 -> Relu -> Dense 3");
  const auto K = small(18, seed), B = small(2, seed + 1);
  PoolSpec p2;
  p2.C = 2; p2.sh = p2.sw = 2;
  PoolSpec p3;
  p3.C = 2; p3.kh = p3.kw = 3; p3.sh = p3.sw = 2; p3.pt = p3.pl = p3.pb = p3.pr = 1;
  int negative_windows = 0;
  for (int t = 0; t < 5; ++t) {
    const VectorXd x = randomPoint(36, 60 + t, 0.0, 1.0);
    Image xi{1, 6, 6, std::vector<double>(x.data(), x.data() + 36)};
    {
      const Image c = naiveConv(xi, 2, 3, 1, 1, K, B);
      const Image p = naiveMaxPool(c, p2);
      for (double v : p.v) negative_windows += v < 0;
      const VectorXd h = gemm(small(108, seed + 2), small(6, seed + 3), vec(relu(p).v));
      const VectorXd y = gemm(small(24, seed + 4), small(4, seed + 5), h.cwiseMax(0.0));
      expectNear(a.forward(x), y, 1e-9);
    }
    {  // netReluPool(seed) shares the conv weights
      const Image p = naiveMaxPool(relu(naiveConv(xi, 2, 3, 1, 1, K, B)), p3);
      expectNear(r.forward(x), gemm(small(72, seed + 2), small(4, seed + 3), vec(p.v)), 1e-9);
    }
    {  // netPoolFirst(seed): 2x2 stride-1 pool of the 5x5 input
      const VectorXd x5 = x.head(25);
      const Image p = naiveMaxPool(Image{1, 5, 5, std::vector<double>(x5.data(), x5.data() + 25)},
                                   PoolSpec{});
      const VectorXd h = gemm(small(96, seed), small(6, seed + 1), vec(p.v)).cwiseMax(0.0);
      expectNear(f.forward(x5), gemm(small(18, seed + 2), small(3, seed + 3), h), 1e-9);
    }
  }
  EXPECT_GT(negative_windows, 0);  // the pool really sees negative maxima
}

// ====================================================================== (b) bounds

// interval, CROWN (adaptive / CROWN slopes / alpha) and LP-tightened bounds
// contain every layer value of thousands of sampled points; CROWN and LP are
// never looser than interval arithmetic, LP never looser than its CROWN start.
TEST(MaxPoolBounds, SoundAndOrderedOnConvPoolNets) {
  std::mt19937 rng(7);
  double worst = 0.0, crown_gain = 0.0, lp_gain = 0.0;
  int configs = 0;
  for (auto& nc : netCases(100)) {
    const nn::Network& net = nc.net;
    const int64_t n = net.inputSize();
    for (int k = 0; k < 3; ++k) {
      const double eps = std::vector<double>{0.03, 0.1, 0.3}[k];
      SCOPED_TRACE(nc.name + " eps " + std::to_string(eps));
      const spec::Box box = spec::linfBall(randomPoint(n, 200 + k), eps);
      const auto pts = samplePoints(rng, box, 2000);
      const auto ib = bounds::intervalBounds(net, box);
      std::vector<std::pair<std::string, bounds::BoundTable>> tables;
      tables.emplace_back("interval", ib);
      bounds::CrownParams adaptive, crown_slope, alpha;
      crown_slope.relu_lower = bounds::ReluLowerSlope::kCrown;
      alpha.alpha_iters = 20;
      const auto cb = bounds::crownBounds(net, box, adaptive);
      tables.emplace_back("crown", cb);
      tables.emplace_back("crown-slope", bounds::crownBounds(net, box, crown_slope));
      tables.emplace_back("alpha-crown", bounds::crownBounds(net, box, alpha));
      bounds::LpTightenParams lp1, lp2;
      lp2.only_unstable = false;
      lp2.tighten_output = true;
      bounds::LpTightenStats st;
      const auto lb1 = bounds::lpTightenBounds(net, box, cb, lp1, &st);
      EXPECT_FALSE(st.timed_out);
      EXPECT_EQ(st.lps_failed, 0);
      const auto lb2 = bounds::lpTightenBounds(net, box, cb, lp2, &st);
      EXPECT_EQ(st.lps_failed, 0);
      tables.emplace_back("lp", lb1);
      tables.emplace_back("lp-all", lb2);
      tables.emplace_back("tightest-lp", bounds::tightestBounds(net, box, bounds::BoundsLevel::kLp));
      for (const auto& [name, t] : tables) {
        SCOPED_TRACE(name);
        ASSERT_EQ(t.lo.size(), net.numLayers());
        const double v = worstViolation(net, t, pts);
        EXPECT_LE(v, 1e-9);
        worst = std::max(worst, v);
        EXPECT_LE(looserThan(t, ib), 1e-9);  // never looser than interval, every layer
        for (size_t l = 0; l < net.numLayers(); ++l)
          EXPECT_TRUE((t.lo[l].array() <= t.hi[l].array()).all()) << "layer " << l;
      }
      EXPECT_LE(looserThan(lb1, cb), 1e-9);
      EXPECT_LE(looserThan(lb2, cb), 1e-9);
      EXPECT_LE(looserThan(lb2, lb1), 1e-9);
      const size_t L = net.numLayers() - 1;
      crown_gain += (ib.hi[L] - ib.lo[L]).sum() - (cb.hi[L] - cb.lo[L]).sum();
      lp_gain += (cb.hi[L] - cb.lo[L]).sum() - (lb2.hi[L] - lb2.lo[L]).sum();
      ++configs;
    }
  }
  EXPECT_EQ(configs, 9);
  // Not vacuous: CROWN beats interval and LP beats CROWN on the outputs somewhere.
  EXPECT_GT(crown_gain, 1e-3);
  EXPECT_GT(lp_gain, 1e-3);
  std::printf("[maxpool bounds] worst excess %.3g, output width gain crown %.3g, lp %.3g\n", worst,
              crown_gain, lp_gain);
}

// Every table's output bounds contain the exact range of each output, the
// minimum and maximum found by the MIP (big-M over interval bounds); CROWN and
// LP are at least as tight as interval arithmetic there too.
TEST(MaxPoolBounds, OutputBoundsContainTheExactMipRange) {
  int mips = 0;
  for (auto& nc : netCases(100)) {
    const nn::Network& net = nc.net;
    SCOPED_TRACE(nc.name);
    // (Minimising an output of relu-pool is the hard direction of the big-M max:
    // thousands of nodes at eps 0.05, so a smaller box there.)
    const double eps = nc.name == "relu-pool" ? 0.025 : 0.1;
    const spec::Box box = spec::linfBall(randomPoint(net.inputSize(), 201), eps);
    const auto ib = bounds::intervalBounds(net, box);
    const auto cb = bounds::crownBounds(net, box);
    bounds::CrownParams alpha;
    alpha.alpha_iters = 20;
    const auto ab = bounds::crownBounds(net, box, alpha);
    bounds::LpTightenParams lpp;
    lpp.only_unstable = false;
    lpp.tighten_output = true;
    const auto lb = bounds::lpTightenBounds(net, box, cb, lpp);
    model::MathModel m;
    const auto e = formulate::embedNetwork(m, net, lb, {});
    const size_t L = net.numLayers() - 1;
    for (int64_t j = 0; j < net.outputSize(); ++j) {
      double range[2];
      for (int side = 0; side < 2; ++side) {
        m.objLinear() = {{e.output_vars[j], 1.0}};
        m.setSense(side == 0 ? model::Sense::kMinimize : model::Sense::kMaximize);
        const auto sol = solve::solveMip(m, {});
        ASSERT_EQ(sol.status, solve::SolveStatus::kOptimal) << sol.message;
        ++mips;
        // The optimum is attained: replay its input.
        VectorXd x(net.inputSize());
        for (int64_t i = 0; i < net.inputSize(); ++i)
          x[i] = std::clamp(sol.x[e.input_vars[i]], box.lo[i], box.hi[i]);
        EXPECT_NEAR(net.forward(x)[j], sol.objective, 1e-6) << "output " << j;
        range[side] = sol.objective;
      }
      for (const auto* t : {&ib, &cb, &ab, &lb}) {
        SCOPED_TRACE(t->method + " output " + std::to_string(j));
        EXPECT_LE(t->lo[L][j], range[0] + 1e-6);
        EXPECT_GE(t->hi[L][j], range[1] - 1e-6);
        EXPECT_GE(t->lo[L][j], ib.lo[L][j] - 1e-9);
        EXPECT_LE(t->hi[L][j], ib.hi[L][j] + 1e-9);
      }
    }
  }
  EXPECT_EQ(mips, 2 * (4 + 4 + 3));
}

// crownLowerBound of margin objectives (and random ones), with and without
// alpha, never exceeds a sampled value, and is never below the table's bound.
TEST(MaxPoolBounds, CrownObjectiveBoundsAreSound) {
  std::mt19937 rng(11);
  std::normal_distribution<double> nd;
  for (auto& nc : netCases(300)) {
    const nn::Network& net = nc.net;
    for (double eps : {0.05, 0.25}) {
      SCOPED_TRACE(nc.name + " eps " + std::to_string(eps));
      const spec::Box box = spec::linfBall(randomPoint(net.inputSize(), 400), eps);
      const auto t = bounds::crownBounds(net, box);
      const auto pts = samplePoints(rng, box, 1500);
      std::vector<VectorXd> outs;
      for (const auto& x : pts) outs.push_back(net.forward(x));
      for (int k = 0; k < 4; ++k) {
        VectorXd c(net.outputSize());
        if (k < 2) {
          c.setZero();
          c[k] = 1.0;
          c[k + 1] = -1.0;
        } else {
          for (auto& v : c) v = nd(rng);
        }
        bounds::CrownParams p, pa;
        pa.alpha_iters = 30;
        const double lb = bounds::crownLowerBound(net, box, t, c, p);
        const double lba = bounds::crownLowerBound(net, box, t, c, pa);
        const double tb = c.cwiseMax(0).dot(t.lo.back()) + c.cwiseMin(0).dot(t.hi.back());
        EXPECT_GE(lb, tb);
        EXPECT_GE(lba, lb - 1e-12);  // alpha never loosens
        double vmin = std::numeric_limits<double>::infinity();
        for (const auto& y : outs) vmin = std::min(vmin, c.dot(y));
        EXPECT_LE(lba, vmin + 1e-9);
      }
    }
  }
}

// ====================================================================== embedding

// The start point from setStartFromInput satisfies every row of the big-M model
// and of every complementarity form (the MIP start and the NLP start are
// consistent), and the layer variables start at the forward pass values.
TEST(MaxPoolEmbed, StartFromInputIsFeasibleForEveryEncoding) {
  using formulate::ComplForm;
  using formulate::ReluEncoding;
  struct Enc {
    std::string name;
    ReluEncoding relu;
    ComplForm form;
    double param;
  };
  const std::vector<Enc> encs = {
      {"bigm", ReluEncoding::kBigM, ComplForm::kRelaxed, 0.0},
      {"product", ReluEncoding::kComplementarity, ComplForm::kProduct, 0.0},
      {"inequality", ReluEncoding::kComplementarity, ComplForm::kInequality, 0.0},
      {"scholtes", ReluEncoding::kComplementarity, ComplForm::kRelaxed, 0.0},
      {"fb", ReluEncoding::kComplementarity, ComplForm::kFischerBurmeister, 0.0},
      {"cm", ReluEncoding::kComplementarity, ComplForm::kChenMangasarian, 0.0},
      {"none", ReluEncoding::kComplementarity, ComplForm::kNone, 0.0},
  };
  int pool_aux = 0, binaries = 0, cascade_steps = 0;
  for (auto& nc : netCases(500)) {
    const nn::Network& net = nc.net;
    for (double eps : {0.05, 0.3}) {
      const VectorXd x0 = randomPoint(net.inputSize(), 600);
      const spec::Box box = spec::linfBall(x0, eps);
      const auto bt = bounds::crownBounds(net, box);
      std::mt19937 rng(13);
      const auto pts = samplePoints(rng, box, 30);
      for (const auto& enc : encs) {
        SCOPED_TRACE(nc.name + " eps " + std::to_string(eps) + " " + enc.name);
        model::MathModel m;
        formulate::EmbedOptions opt;
        opt.relu = enc.relu;
        opt.compl_form = enc.form;
        opt.compl_param = enc.param;
        const auto e = formulate::embedNetwork(m, net, bt, opt);
        if (enc.relu == ReluEncoding::kBigM) {
          binaries += e.binaries;
          for (const auto& a : e.pool_aux) {
            EXPECT_EQ(a.z.size(), a.cands.size());
            EXPECT_GE(a.cands.size(), 2u);
          }
        } else {
          for (const auto& a : e.pool_aux)
            for (size_t k = 1; k < a.t.size(); ++k) cascade_steps += a.t[k] >= 0;
        }
        pool_aux += static_cast<int>(e.pool_aux.size());
        for (const auto& x : pts) {
          formulate::setStartFromInput(m, net, e, x);
          std::vector<double> s(m.numVars());
          for (int j = 0; j < m.numVars(); ++j) s[j] = m.vars()[j].start;
          EXPECT_LE(m.maxViolation(s), 1e-9);
          const auto outs = net.forwardAll(x);
          for (size_t l = 0; l < outs.size(); ++l) {
            for (size_t j = 0; j < e.layer_vars[l].size(); ++j) {
              const int v = e.layer_vars[l][j];
              if (v < 0) continue;
              ASSERT_NEAR(s[v], outs[l][j], 1e-12) << "layer " << l << " " << j;
            }
          }
          if (enc.relu != ReluEncoding::kBigM) {
            EXPECT_LE(formulate::complementarityViolation(e, s), 1e-12);
          }
        }
      }
    }
  }
  EXPECT_GT(pool_aux, 0);
  EXPECT_GT(binaries, 0);
  EXPECT_GT(cascade_steps, 0);
}

// ====================================================================== PGD subgradient

TEST(MaxPoolPgd, OutputGradientMatchesFiniteDifferences) {
  std::mt19937 rng(17);
  std::normal_distribution<double> nd;
  for (auto& nc : netCases(700)) {
    const nn::Network& net = nc.net;
    SCOPED_TRACE(nc.name);
    for (int t = 0; t < 20; ++t) {
      const VectorXd x = randomPoint(net.inputSize(), 800 + t, 0.0, 1.0);
      VectorXd c(net.outputSize());
      for (auto& v : c) v = nd(rng);
      VectorXd y;
      const VectorXd g = nn::outputGradient(net, x, c, &y);
      EXPECT_NEAR((y - net.forward(x)).norm(), 0.0, 1e-15);
      const double h = 1e-7;
      for (Eigen::Index i = 0; i < x.size(); ++i) {
        VectorXd xp = x, xm = x;
        xp[i] += h;
        xm[i] -= h;
        const double fd = (c.dot(net.forward(xp)) - c.dot(net.forward(xm))) / (2 * h);
        EXPECT_NEAR(g[i], fd, 1e-6 * (1.0 + std::abs(fd))) << "input " << i;
      }
    }
  }
}

// ====================================================================== trained fixture

TEST(MaxPoolFixture, ConvPoolNetMatchesTorchReferenceLogits) {
  const std::string path = NNOPT_FIXTURES_DIR "/../../models/mnist_convpool.onnx";
  const auto ref = nlohmann::json::parse(readFile(NNOPT_FIXTURES_DIR "/reference_logits.json"));
  const double mean = ref["mean"].get<double>(), stdv = ref["std"].get<double>();
  const nn::Network net = io::loadOnnx(path).withInputNormalization(mean, stdv);
  EXPECT_EQ(net.inputShape(), (nn::Shape{1, 28, 28}));
  // Conv(1,4,k3,p1) -> 4x28x28, pool -> 4x14x14, Conv(4,8,k3,p1) -> 8x14x14,
  // pool -> 8x7x7, Linear(392, 10).
  ASSERT_EQ(net.numLayers(), 7u);
  EXPECT_EQ(net.summary(),
            "784 -> Dense 3136 -> Relu -> MaxPool 784 -> Dense 1568 -> Relu -> MaxPool 392 -> "
            "Dense 10");
  EXPECT_EQ(net.layers()[2].out_shape, (nn::Shape{4, 14, 14}));
  EXPECT_EQ(net.layers()[5].out_shape, (nn::Shape{8, 7, 7}));
  int cases = 0;
  for (const auto& c : ref["cases"]) {
    if (c["model"].get<std::string>() != "models/mnist_convpool.onnx") continue;
    ++cases;
    const auto px = c["pixels"].get<std::vector<double>>();
    const auto logits = c["logits"].get<std::vector<double>>();
    const VectorXd y = net.forward(vec(px));
    expectNear(y, vec(logits), 1e-5);
    EXPECT_EQ(argmax(y), c["label"].get<int>());
  }
  EXPECT_EQ(cases, 5);
  // Interval bounds over a small box contain sampled points (cheap on 784 inputs).
  const auto px = ref["cases"][0]["pixels"].get<std::vector<double>>();
  const spec::Box box = spec::linfBall(vec(px), 0.02);
  const auto t = bounds::intervalBounds(net, box);
  std::mt19937 rng(29);
  EXPECT_LE(worstViolation(net, t, samplePoints(rng, box, 60)), 1e-9);
}
