// nn::Linear, the weights of a Dense layer in dense, sparse (CSR) or conv
// (kernel) form: every operation agrees between the forms (the conv form
// against a Toeplitz matrix built here from the ONNX definition), the ONNX
// loader keeps convolutions in kernel form and pooling sparse, and a network
// gives the same forward pass, interval, CROWN, alpha-CROWN and LP-tightened
// bounds and the same local margins whether its convolutions are stored as
// kernels, sparse or densified (issue 15: the change is structural, not
// numerical).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "attack/attack.h"
#include "bounds/crown.h"
#include "bounds/bound_table.h"
#include "bounds/lp_tighten.h"
#include "core/error.h"
#include "io/images.h"
#include "io/onnx.h"
#include "nn/linear.h"
#include "nn/network.h"
#include "spec/property.h"

using namespace nnopt;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

const std::string kConvNet = NNOPT_FIXTURES_DIR "/../../models/mnist_convnet.onnx";
const std::string kConvPool = NNOPT_FIXTURES_DIR "/../../models/mnist_convpool.onnx";
const std::string kMlp = NNOPT_FIXTURES_DIR "/../../models/mnist_mlp_1x20.onnx";

// Every convolution in kernel form, however small (the default keeps small
// ones as sparse matrices: io::LoadOptions).
nn::Network loadKernels(const std::string& file) {
  io::LoadOptions opt;
  opt.kernel_form_min_taps = 0;
  return io::loadOnnx(file, opt);
}

// |a - b| <= tol * (1 + max |b|), elementwise.
void expectNear(const MatrixXd& a, const MatrixXd& b, double tol, const std::string& what) {
  ASSERT_EQ(a.rows(), b.rows()) << what;
  ASSERT_EQ(a.cols(), b.cols()) << what;
  const double scale = 1.0 + (b.size() ? b.cwiseAbs().maxCoeff() : 0.0);
  EXPECT_LE((a - b).cwiseAbs().maxCoeff(), tol * scale) << what;
}

nn::Linear::Sparse randomSparse(std::mt19937& rng, int rows, int cols, double density) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<Eigen::Triplet<double, int64_t>> trip;
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      if (u(rng) < density) trip.emplace_back(i, j, nd(rng));
  nn::Linear::Sparse S(rows, cols);
  S.setFromTriplets(trip.begin(), trip.end());
  return S;
}

// The same network with every Dense layer's weights stored dense.
nn::Network densified(const nn::Network& net) {
  std::vector<nn::Layer> layers = net.layers();
  for (auto& l : layers)
    if (l.isDense()) std::get<nn::Dense>(l.op).W = std::get<nn::Dense>(l.op).W.toDense();
  return nn::Network(net.inputShape(), std::move(layers));
}

// The same network with every convolution's kernel form stored as its sparse
// Toeplitz matrix.
nn::Network sparsified(const nn::Network& net) {
  std::vector<nn::Layer> layers = net.layers();
  for (auto& l : layers)
    if (l.isDense() && l.dense().W.isConv())
      std::get<nn::Dense>(l.op).W = std::get<nn::Dense>(l.op).W.toSparse();
  return nn::Network(net.inputShape(), std::move(layers));
}

// Dense layers whose weights are not stored dense (conv or sparse form).
int structuredLayers(const nn::Network& net) {
  int n = 0;
  for (const auto& l : net.layers())
    if (l.isDense() && !l.dense().W.isDense()) ++n;
  return n;
}

int convLayers(const nn::Network& net) {
  int n = 0;
  for (const auto& l : net.layers())
    if (l.isDense() && l.dense().W.isConv()) ++n;
  return n;
}

// The Toeplitz matrix of a convolution straight from the ONNX definition:
// y[m, oh, ow] = sum over c in m's group, a, b of
// K[m, c', a, b] x[c, oh*sh - pt + a*dh, ow*sw - pl + b*dw] (zero outside).
MatrixXd toeplitz(const nn::Conv2d& k) {
  MatrixXd D = MatrixXd::Zero(k.M * k.OH * k.OW, k.C * k.H * k.W);
  const int64_t cpg = k.C / k.groups, mpg = k.M / k.groups;
  for (int64_t m = 0; m < k.M; ++m)
    for (int64_t oh = 0; oh < k.OH; ++oh)
      for (int64_t ow = 0; ow < k.OW; ++ow)
        for (int64_t ci = 0; ci < cpg; ++ci)
          for (int64_t a = 0; a < k.kh; ++a)
            for (int64_t b = 0; b < k.kw; ++b) {
              const int64_t ih = oh * k.sh - k.pt + a * k.dh, iw = ow * k.sw - k.pl + b * k.dw;
              if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
              const int64_t c = (m / mpg) * cpg + ci;
              D((m * k.OH + oh) * k.OW + ow, (c * k.H + ih) * k.W + iw) +=
                  k.K[((m * cpg + ci) * k.kh + a) * k.kw + b];
            }
  return D;
}

nn::Conv2d randomConv(std::mt19937& rng, int64_t C, int64_t H, int64_t W, int64_t M, int64_t kh,
                      int64_t kw, int64_t s, int64_t d, int64_t p, int64_t groups) {
  nn::Conv2d k{.C = C, .H = H, .W = W, .M = M,
               .OH = (H + 2 * p - ((kh - 1) * d + 1)) / s + 1,
               .OW = (W + 2 * p - ((kw - 1) * d + 1)) / s + 1,
               .kh = kh, .kw = kw, .sh = s, .sw = s, .dh = d, .dw = d, .pt = p, .pl = p,
               .groups = groups, .K = {}};
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  k.K.resize(static_cast<size_t>(M * (C / groups) * kh * kw));
  for (auto& w : k.K) w = u(rng) < 0.2 ? 0.0 : nd(rng);  // some exact zeros
  return k;
}

void expectSameTables(const bounds::BoundTable& a, const bounds::BoundTable& b, double tol,
                      const std::string& what) {
  ASSERT_EQ(a.lo.size(), b.lo.size()) << what;
  for (size_t k = 0; k < a.lo.size(); ++k) {
    expectNear(a.lo[k], b.lo[k], tol, what + " lo layer " + std::to_string(k));
    expectNear(a.hi[k], b.hi[k], tol, what + " hi layer " + std::to_string(k));
  }
}

}  // namespace

TEST(Linear, EveryOperationAgreesBetweenSparseAndDense) {
  std::mt19937 rng(7);
  for (double density : {0.0, 0.05, 0.3, 1.0}) {
    SCOPED_TRACE("density " + std::to_string(density));
    const nn::Linear S(randomSparse(rng, 37, 53, density));
    const MatrixXd D = S.toDense();
    const nn::Linear Ld(D);
    ASSERT_TRUE(S.isSparse());
    ASSERT_FALSE(Ld.isSparse());
    EXPECT_EQ(S.rows(), 37);
    EXPECT_EQ(S.cols(), 53);
    const VectorXd x = VectorXd::Random(53), y = VectorXd::Random(37), r = VectorXd::Random(53).cwiseAbs();
    const MatrixXd A = MatrixXd::Random(9, 37), X = MatrixXd::Random(53, 4);
    for (const nn::Linear* L : {&S, &Ld}) {
      expectNear(L->apply(x), D * x, 1e-13, "apply");
      expectNear(L->applyT(y), D.transpose() * y, 1e-13, "applyT");
      expectNear(L->applyAbs(r), D.cwiseAbs() * r, 1e-13, "applyAbs");
      expectNear(L->leftMul(A), A * D, 1e-13, "leftMul");
      expectNear(L->mul(X), D * X, 1e-13, "mul");
      expectNear(L->rowBlock(5, 7), D.middleRows(5, 7), 0.0, "rowBlock");
      expectNear(L->row(11), D.row(11).transpose(), 0.0, "row");
      VectorXd acc = VectorXd::Zero(53);
      L->forEachInRow(3, [&](Eigen::Index c, double w) { acc[c] += w; });
      expectNear(acc, D.row(3).transpose(), 0.0, "forEachInRow");
      EXPECT_EQ((*L)(3, 4), D(3, 4));
      EXPECT_DOUBLE_EQ(L->maxAbs(), D.size() && D.cwiseAbs().maxCoeff() > 0 ? D.cwiseAbs().maxCoeff() : 0.0);
      EXPECT_TRUE(L->allFinite());
      const VectorXd s = VectorXd::Random(53);
      expectNear(L->scaledColumns(s).toDense(), D * s.asDiagonal(), 1e-15, "scaledColumns");
      EXPECT_EQ(L->scaledColumns(s).isSparse(), L->isSparse());
    }
    EXPECT_LE(S.storedEntries(), Ld.storedEntries());
    expectNear(Ld.toSparse().toDense(), D, 0.0, "toSparse");
  }
}

TEST(Linear, ConvFormAgreesWithTheToeplitzMatrix) {
  std::mt19937 rng(5);
  struct G {
    int64_t C, H, W, M, kh, kw, s, d, p, groups;
  };
  for (const G& g : {G{1, 7, 6, 3, 3, 3, 1, 1, 1, 1}, G{4, 9, 8, 6, 3, 2, 2, 1, 1, 2},
                     G{3, 10, 10, 4, 3, 3, 1, 2, 2, 1}, G{2, 5, 5, 2, 5, 5, 1, 1, 0, 2},
                     G{4, 8, 7, 4, 1, 1, 3, 1, 0, 4}}) {
    SCOPED_TRACE("C=" + std::to_string(g.C) + " M=" + std::to_string(g.M) + " groups=" +
                 std::to_string(g.groups) + " s=" + std::to_string(g.s) + " d=" +
                 std::to_string(g.d));
    const nn::Conv2d k = randomConv(rng, g.C, g.H, g.W, g.M, g.kh, g.kw, g.s, g.d, g.p, g.groups);
    const MatrixXd D = toeplitz(k);
    const nn::Linear L(k);
    ASSERT_TRUE(L.isConv());
    ASSERT_EQ(L.rows(), D.rows());
    ASSERT_EQ(L.cols(), D.cols());
    EXPECT_EQ(L.storedEntries(), static_cast<int64_t>(k.K.size()));
    const nn::Linear S = L.toSparse();
    ASSERT_TRUE(S.isSparse());
    expectNear(S.toDense(), D, 0.0, "toSparse");
    expectNear(L.toDense(), D, 0.0, "toDense");
    const Eigen::Index n = D.cols(), m = D.rows();
    const VectorXd x = VectorXd::Random(n), y = VectorXd::Random(m),
                   r = VectorXd::Random(n).cwiseAbs();
    MatrixXd A = MatrixXd::Random(5, m), X = MatrixXd::Random(n, 3);
    MatrixXd Az = A;  // mostly zero: the receptive-field path
    for (Eigen::Index i = 0; i < Az.size(); ++i)
      if (i % 7) Az.data()[i] = 0.0;
    expectNear(L.apply(x), D * x, 1e-13, "apply");
    expectNear(L.applyT(y), D.transpose() * y, 1e-13, "applyT");
    expectNear(L.applyAbs(r), D.cwiseAbs() * r, 1e-13, "applyAbs");
    expectNear(L.leftMul(A), A * D, 1e-13, "leftMul");
    expectNear(L.leftMul(Az), Az * D, 1e-13, "leftMul (sparse rows)");
    expectNear(L.mul(X), D * X, 1e-13, "mul");
    const Eigen::Index nb = std::min<Eigen::Index>(4, m - 1);
    expectNear(L.rowBlock(1, nb), D.middleRows(1, nb), 0.0, "rowBlock");
    expectNear(L.row(m - 1), D.row(m - 1).transpose(), 0.0, "row");
    expectNear(MatrixXd(L.sparseRows(1, nb)), D.middleRows(1, nb), 0.0, "sparseRows");
    const nn::Linear::Sparse Asp = Az.sparseView(0.0, 0.0);
    for (const nn::Linear* F : {&L, &S})
      expectNear(MatrixXd(F->leftMulSparse(Asp)), Az * D, 1e-13, "leftMulSparse");
    Eigen::Index last = -1;
    bool ascending = true;
    VectorXd acc = VectorXd::Zero(n);
    L.forEachInRow(m / 2, [&](Eigen::Index c, double w) {
      ascending = ascending && c > last;
      last = c;
      acc[c] += w;
    });
    EXPECT_TRUE(ascending);
    expectNear(acc, D.row(m / 2).transpose(), 0.0, "forEachInRow");
    EXPECT_EQ(L(m / 2, last), D(m / 2, last));
    EXPECT_DOUBLE_EQ(L.maxAbs(), D.cwiseAbs().maxCoeff());
    EXPECT_TRUE(L.allFinite());
    EXPECT_THROW(L.sparseMatrix(), Error);
    EXPECT_THROW(L.denseMatrix(), Error);
    // Column scaling: per input channel stays a kernel, otherwise sparse.
    VectorXd sc(n), sp = VectorXd::Random(n);
    for (Eigen::Index i = 0; i < n; ++i) sc[i] = 0.5 + static_cast<double>(i / (g.H * g.W));
    EXPECT_TRUE(L.scaledColumns(sc).isConv());
    expectNear(L.scaledColumns(sc).toDense(), D * sc.asDiagonal(), 1e-15, "scaledColumns");
    EXPECT_TRUE(L.scaledColumns(sp).isSparse());
    expectNear(L.scaledColumns(sp).toDense(), D * sp.asDiagonal(), 1e-15, "scaledColumns");
  }
  // A NaN weight is seen.
  nn::Conv2d bad = randomConv(rng, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1);
  bad.K[4] = std::nan("");
  EXPECT_FALSE(nn::Linear(bad).allFinite());
  bad.K.pop_back();
  EXPECT_THROW(nn::Linear{bad}, Error);  // kernel of the wrong size
}

TEST(Linear, SparseCoefficientsAreReadOnlyAndNonFiniteValuesAreSeen) {
  std::mt19937 rng(3);
  nn::Linear::Sparse S = randomSparse(rng, 4, 4, 1.0);
  S.coeffRef(1, 2) = std::nan("");
  nn::Linear L(S);
  EXPECT_FALSE(L.allFinite());
  EXPECT_THROW(L(0, 0) = 1.0, Error);
  EXPECT_THROW(L.denseMatrix(), Error);
  // A network holding it is refused, naming the layer.
  nn::Dense d;
  d.W = L;
  d.b = VectorXd::Zero(4);
  nn::Network net({4}, {nn::Layer{"conv", d, {4}}});
  try {
    net.validate("bad.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.onnx: layer 0 (conv)"), std::string::npos)
        << e.what();
  }
}

TEST(Linear, LoaderKeepsConvolutionsStructuredAndFullyConnectedLayersDense) {
  // Small convolutions (the fixture's: 1,152 and 1,024 Toeplitz rows) are
  // stored as sparse matrices by default, as kernels when asked.
  for (const bool kernels : {false, true}) {
    SCOPED_TRACE(kernels ? "kernel form" : "default");
    const nn::Network conv = kernels ? loadKernels(kConvNet) : io::loadOnnx(kConvNet);
    int structured = 0, dense = 0;
    for (const auto& l : conv.layers()) {
      if (!l.isDense()) continue;
      const auto& W = l.dense().W;
      if (W.isDense()) {
        ++dense;
        continue;
      }
      ++structured;
      EXPECT_EQ(W.isConv(), kernels) << l.name;
      // Far fewer stored entries than out x in.
      EXPECT_LE(W.storedEntries(), W.rows() * W.cols() / 4) << l.name;
    }
    EXPECT_EQ(structured, 2);  // the two convolutions
    // The first convolution: 8 kernels of 1x5x5; as a matrix, at most 25
    // taps per output row.
    const auto& W0 = conv.layers()[0].dense().W;
    if (kernels) EXPECT_EQ(W0.storedEntries(), 8 * 25);
    EXPECT_LE(W0.storedEntries(), W0.rows() * 25);
    EXPECT_GE(dense, 1);  // the classifier
  }
  EXPECT_GE(convLayers(loadKernels(kConvPool)), 1);
  EXPECT_EQ(convLayers(io::loadOnnx(kConvPool)), 0);
  EXPECT_EQ(structuredLayers(io::loadOnnx(kMlp)), 0);
}

TEST(Linear, SparseAndDenseNetworksGiveTheSameBoundsAndMargins) {
  for (const std::string& file : {kConvNet, kConvPool}) {
    SCOPED_TRACE(file);
    const nn::Network net = loadKernels(file).withInputNormalization(0.1307, 0.3081);
    ASSERT_GE(convLayers(net), 1);  // the normalisation folds into the kernel
    const nn::Network dnet = densified(net);
    ASSERT_EQ(structuredLayers(dnet), 0);
    const nn::Network snet = sparsified(net);
    ASSERT_EQ(convLayers(snet), 0);
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    VectorXd x0(net.inputSize());
    for (Eigen::Index i = 0; i < x0.size(); ++i) x0[i] = u(rng) < 0.8 ? 0.0 : u(rng);
    // Forward pass of every layer.
    const auto fa = net.forwardAll(x0), fb = dnet.forwardAll(x0), fs = snet.forwardAll(x0);
    for (size_t k = 0; k < fa.size(); ++k) {
      expectNear(fa[k], fb[k], 1e-12, "forward layer " + std::to_string(k));
      expectNear(fs[k], fb[k], 1e-12, "forward layer (sparse) " + std::to_string(k));
    }
    const spec::Box box = spec::linfBall(x0, 0.02, 0.0, 1.0);
    expectSameTables(bounds::intervalBounds(net, box), bounds::intervalBounds(dnet, box), 1e-9,
                     "interval");
    const bounds::BoundTable ca = bounds::crownBounds(net, box),
                             cb = bounds::crownBounds(dnet, box);
    expectSameTables(ca, cb, 1e-9, "crown");
    expectSameTables(bounds::crownBounds(snet, box), cb, 1e-9, "crown (sparse)");
    bounds::CrownParams ap;
    ap.alpha_iters = 5;
    expectSameTables(bounds::crownBounds(net, box, ap), bounds::crownBounds(dnet, box, ap), 1e-9,
                     "alpha-crown");
    // Sampled points lie inside the sparse network's CROWN bounds.
    for (int s = 0; s < 20; ++s) {
      VectorXd x(box.size());
      for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = box.lo[i] + u(rng) * (box.hi[i] - box.lo[i]);
      const auto f = net.forwardAll(x);
      for (size_t k = 0; k < f.size(); ++k) {
        EXPECT_TRUE(((f[k].array() >= ca.lo[k].array() - 1e-9).all()));
        EXPECT_TRUE(((f[k].array() <= ca.hi[k].array() + 1e-9).all()));
      }
    }
    // The local solver (LP rows of the sparse layers) and its margin.
    const VectorXd clean = net.forward(x0);
    Eigen::Index label;
    clean.maxCoeff(&label);
    const int target = attack::runnerUp(clean, static_cast<int>(label));
    attack::MarginAttackParams mp;
    mp.method = attack::Method::kNlp;
    mp.time_limit = 60;
    const auto ra = attack::marginAttack(net, box, x0, static_cast<int>(label), target, mp);
    const auto rb = attack::marginAttack(dnet, box, x0, static_cast<int>(label), target, mp);
    EXPECT_NEAR(ra.margin, rb.margin, 1e-9 * (1 + std::abs(rb.margin)));
    const auto rs = attack::marginAttack(snet, box, x0, static_cast<int>(label), target, mp);
    EXPECT_NEAR(rs.margin, rb.margin, 1e-9 * (1 + std::abs(rb.margin)));
  }
}

TEST(Linear, LpTightenedBoundsAgreeOnASmallConvNet) {
  // The pool network at a small eps: LP rows of sparse and dense layers.
  const nn::Network net = io::loadOnnx(kConvPool).withInputNormalization(0.1307, 0.3081);
  const nn::Network dnet = densified(net);
  VectorXd x0 = VectorXd::Constant(net.inputSize(), 0.0);
  for (Eigen::Index i = 300; i < 480; ++i) x0[i] = 0.9;
  const spec::Box box = spec::linfBall(x0, 0.005, 0.0, 1.0);
  // One start table for both: the LP bounds are weak-duality bounds of the
  // dual vector Clp stops at, which moves with the last bits of the start
  // (two CROWN tables equal to 1e-12 gave LP bounds 1e-2 apart, both sound);
  // from the same start, the sparse and dense rows must give the same LPs.
  const auto start = bounds::crownBounds(dnet, box);
  bounds::LpTightenParams lp;
  lp.time_limit_s = 60;
  bounds::LpTightenStats sa, sb;
  const auto la = bounds::lpTightenBounds(net, box, start, lp, &sa);
  const auto lb = bounds::lpTightenBounds(dnet, box, start, lp, &sb);
  EXPECT_FALSE(sa.timed_out || sb.timed_out);
  EXPECT_EQ(sa.lps, sb.lps);
  EXPECT_GT(sa.lps, 0);
  expectSameTables(la, lb, 1e-6, "lp");
}
