#include "nn/network.h"

#include <fmt/core.h>

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace nnopt::nn {

namespace {
constexpr double kAbsurdWeight = 1e20;
}  // namespace

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string shapeToString(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

const char* actName(ActKind k) {
  switch (k) {
    case ActKind::kRelu: return "Relu";
    case ActKind::kLeakyRelu: return "LeakyRelu";
    case ActKind::kTanh: return "Tanh";
    case ActKind::kSigmoid: return "Sigmoid";
  }
  return "?";
}

double Activation::apply(double t) const {
  switch (kind) {
    case ActKind::kRelu: return t > 0 ? t : 0.0;
    case ActKind::kLeakyRelu: return t > 0 ? t : alpha * t;
    case ActKind::kTanh: return std::tanh(t);
    case ActKind::kSigmoid: return 1.0 / (1.0 + std::exp(-t));
  }
  return t;
}

double Activation::derivative(double t) const {
  switch (kind) {
    case ActKind::kRelu: return t > 0 ? 1.0 : 0.0;
    case ActKind::kLeakyRelu: return t > 0 ? 1.0 : alpha;
    case ActKind::kTanh: {
      double th = std::tanh(t);
      return 1.0 - th * th;
    }
    case ActKind::kSigmoid: {
      double s = 1.0 / (1.0 + std::exp(-t));
      return s * (1.0 - s);
    }
  }
  return 1.0;
}

int64_t MaxPool::argmax(const Eigen::VectorXd& x, size_t j) const {
  const auto& w = windows[j];
  int64_t best = w.front();
  for (int64_t i : w)
    if (x[i] > x[best]) best = i;
  return best;
}

namespace {
Eigen::VectorXd applyMaxPool(const MaxPool& mp, const Eigen::VectorXd& x) {
  Eigen::VectorXd y(static_cast<Eigen::Index>(mp.windows.size()));
  for (size_t j = 0; j < mp.windows.size(); ++j) y[j] = x[mp.argmax(x, j)];
  return y;
}
}  // namespace

Network::Network(Shape input_shape, std::vector<Layer> layers)
    : input_shape_(std::move(input_shape)), layers_(std::move(layers)) {}

int64_t Network::outputSize() const {
  return layers_.empty() ? inputSize() : layers_.back().outSize();
}

int64_t Network::layerInSize(size_t i) const {
  return i == 0 ? inputSize() : layers_[i - 1].outSize();
}

bool Network::isPiecewiseLinear() const {
  for (const auto& l : layers_)
    if (l.isActivation() && l.activation().kind != ActKind::kRelu &&
        l.activation().kind != ActKind::kLeakyRelu)
      return false;
  return true;
}

bool Network::hasMaxPool() const {
  for (const auto& l : layers_)
    if (l.isMaxPool()) return true;
  return false;
}

bool Network::isFullyConnected() const {
  for (const auto& l : layers_)
    if (l.isDense() && !l.dense().W.isDense()) return false;
  return true;
}

int64_t Network::numReluNeurons() const {
  int64_t n = 0;
  for (const auto& l : layers_)
    if (l.isActivation() && (l.activation().kind == ActKind::kRelu ||
                             l.activation().kind == ActKind::kLeakyRelu))
      n += l.outSize();
  return n;
}

std::vector<Eigen::VectorXd> Network::forwardAll(const Eigen::VectorXd& x) const {
  require(x.size() == inputSize(), "forward pass: input has " + std::to_string(x.size()) +
                                       " values, network expects " +
                                       std::to_string(inputSize()));
  std::vector<Eigen::VectorXd> out;
  out.reserve(layers_.size());
  const Eigen::VectorXd* cur = &x;
  for (const auto& l : layers_) {
    if (l.isDense()) {
      const auto& d = l.dense();
      out.push_back(d.W.apply(*cur) + d.b);
    } else if (l.isMaxPool()) {
      out.push_back(applyMaxPool(l.maxPool(), *cur));
    } else {
      const auto& a = l.activation();
      Eigen::VectorXd y(cur->size());
      for (Eigen::Index i = 0; i < y.size(); ++i) y[i] = a.apply((*cur)[i]);
      out.push_back(std::move(y));
    }
    cur = &out.back();
  }
  return out;
}

Eigen::VectorXd Network::forward(const Eigen::VectorXd& x) const {
  require(x.size() == inputSize(), "forward pass: input has " + std::to_string(x.size()) +
                                       " values, network expects " +
                                       std::to_string(inputSize()));
  Eigen::VectorXd cur = x;
  for (const auto& l : layers_) {
    if (l.isDense()) {
      const auto& d = l.dense();
      cur = d.W.apply(cur) + d.b;
    } else if (l.isMaxPool()) {
      cur = applyMaxPool(l.maxPool(), cur);
    } else {
      const auto& a = l.activation();
      for (Eigen::Index i = 0; i < cur.size(); ++i) cur[i] = a.apply(cur[i]);
    }
  }
  return cur;
}

Network Network::withInputNormalization(double mean, double std) const {
  Eigen::VectorXd m = Eigen::VectorXd::Constant(inputSize(), mean);
  Eigen::VectorXd s = Eigen::VectorXd::Constant(inputSize(), std);
  return withInputNormalization(m, s);
}

Network Network::withInputNormalization(const Eigen::VectorXd& mean,
                                        const Eigen::VectorXd& stdv) const {
  const int64_t n = inputSize();
  require(mean.size() == n && stdv.size() == n, "normalisation: mean/std size mismatch");
  for (int64_t i = 0; i < n; ++i)
    require(std::isfinite(stdv[i]) && stdv[i] != 0.0 && std::isfinite(mean[i]),
            "normalisation: std must be finite and non-zero, mean finite");
  // x_norm = diag(1/std) x - mean/std
  Eigen::VectorXd scale = stdv.cwiseInverse();
  Eigen::VectorXd shift = -mean.cwiseProduct(scale);
  std::vector<Layer> layers = layers_;
  if (!layers.empty() && layers.front().isDense()) {
    auto& d = std::get<Dense>(layers.front().op);
    d.b += d.W.apply(shift);
    d.W = d.W.scaledColumns(scale);
    layers.front().name = "normalize+" + layers.front().name;
  } else {
    Dense d;
    d.W = Linear(Eigen::MatrixXd(scale.asDiagonal())).toSparse();
    d.b = shift;
    layers.insert(layers.begin(), Layer{"normalize", d, input_shape_});
  }
  return Network(input_shape_, std::move(layers));
}

void Network::validate(const std::string& source) const {
  int64_t in = inputSize();
  require(in > 0, source + ": network input has no elements");
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    const std::string where = source + ": layer " + std::to_string(i) + " (" + l.name + ")";
    if (l.isDense()) {
      const auto& d = l.dense();
      require(d.W.cols() == in, where + ": weight has " + std::to_string(d.W.cols()) +
                                    " columns, input has " + std::to_string(in));
      require(d.W.rows() == d.b.size(), where + ": weight/bias row mismatch");
      require(d.W.rows() == l.outSize(), where + ": output shape mismatch");
      require(d.W.allFinite(), where + ": weight contains NaN or Inf");
      require(d.b.allFinite(), where + ": bias contains NaN or Inf");
      const double big =
          std::max(d.W.maxAbs(), d.b.size() ? d.b.cwiseAbs().maxCoeff() : 0.0);
      require(big < kAbsurdWeight,
              where + fmt::format(": a weight of magnitude {:.3g} (>= {:.0e}: the LP/MIP "
                                  "solvers treat such numbers as infinite)",
                                  big, kAbsurdWeight));
    } else if (l.isMaxPool()) {
      const auto& w = l.maxPool().windows;
      require(static_cast<int64_t>(w.size()) == l.outSize(), where + ": output shape mismatch");
      for (const auto& win : w) {
        require(!win.empty(), where + ": empty pooling window");
        for (int64_t i : win)
          require(i >= 0 && i < in, where + ": pooling window index out of range");
      }
    } else {
      require(l.outSize() == in, where + ": activation changes size");
      require(std::isfinite(l.activation().alpha), where + ": alpha is not finite");
    }
    in = l.outSize();
  }
}

std::string Network::magnitudeWarning() const {
  constexpr double kLarge = 1e8;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    if (!l.isDense()) continue;
    const auto& d = l.dense();
    const double big = std::max(d.W.maxAbs(), d.b.size() ? d.b.cwiseAbs().maxCoeff() : 0.0);
    if (big > kLarge)
      return fmt::format("layer {} ({}) has a weight of magnitude {:.3g}: bounds, big-M "
                         "constants and solver tolerances lose meaning at this scale (results "
                         "are still replayed in double precision, but expect 'unknown')",
                         i, l.name, big);
  }
  return {};
}

std::string Network::summary() const {
  std::ostringstream os;
  os << inputSize();
  for (const auto& l : layers_) {
    if (l.isDense())
      os << " -> Dense " << l.outSize();
    else if (l.isMaxPool())
      os << " -> MaxPool " << l.outSize();
    else
      os << " -> " << actName(l.activation().kind);
  }
  return os.str();
}

}  // namespace nnopt::nn
