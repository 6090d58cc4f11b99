// nn::Linear, the weights of a Dense layer in dense or sparse (CSR) form:
// every operation agrees between the two forms, the ONNX loader keeps
// convolutions sparse, and a network gives the same forward pass, interval,
// CROWN, alpha-CROWN and LP-tightened bounds and the same MIP/local margins
// whether its convolutions are stored sparse or densified (issue 15: the
// change is structural, not numerical).
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

int sparseLayers(const nn::Network& net) {
  int n = 0;
  for (const auto& l : net.layers())
    if (l.isDense() && l.dense().W.isSparse()) ++n;
  return n;
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

TEST(Linear, LoaderKeepsConvolutionsSparseAndFullyConnectedLayersDense) {
  const nn::Network conv = io::loadOnnx(kConvNet);
  int sparse = 0, dense = 0;
  for (const auto& l : conv.layers()) {
    if (!l.isDense()) continue;
    const auto& W = l.dense().W;
    if (W.isSparse()) {
      ++sparse;
      // A stored entry per (output, kernel tap): far fewer than out x in.
      EXPECT_LE(W.storedEntries(), W.rows() * W.cols() / 4) << l.name;
    } else {
      ++dense;
    }
  }
  EXPECT_GE(sparse, 2);  // the two convolutions
  // The first convolution (one input channel, kernels of at most 5x5): at most
  // 25 stored taps per output row instead of 784 columns.
  const auto& W0 = conv.layers()[0].dense().W;
  ASSERT_TRUE(W0.isSparse());
  EXPECT_LE(W0.storedEntries(), W0.rows() * 25);
  EXPECT_GE(dense, 1);   // the classifier
  const nn::Network mlp = io::loadOnnx(kMlp);
  EXPECT_EQ(sparseLayers(mlp), 0);
}

TEST(Linear, SparseAndDenseNetworksGiveTheSameBoundsAndMargins) {
  for (const std::string& file : {kConvNet, kConvPool}) {
    SCOPED_TRACE(file);
    const nn::Network net = io::loadOnnx(file).withInputNormalization(0.1307, 0.3081);
    ASSERT_GE(sparseLayers(net), 1);
    const nn::Network dnet = densified(net);
    ASSERT_EQ(sparseLayers(dnet), 0);
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    VectorXd x0(net.inputSize());
    for (Eigen::Index i = 0; i < x0.size(); ++i) x0[i] = u(rng) < 0.8 ? 0.0 : u(rng);
    // Forward pass of every layer.
    const auto fa = net.forwardAll(x0), fb = dnet.forwardAll(x0);
    for (size_t k = 0; k < fa.size(); ++k)
      expectNear(fa[k], fb[k], 1e-12, "forward layer " + std::to_string(k));
    const spec::Box box = spec::linfBall(x0, 0.02, 0.0, 1.0);
    expectSameTables(bounds::intervalBounds(net, box), bounds::intervalBounds(dnet, box), 1e-9,
                     "interval");
    const bounds::BoundTable ca = bounds::crownBounds(net, box),
                             cb = bounds::crownBounds(dnet, box);
    expectSameTables(ca, cb, 1e-9, "crown");
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
