// Graphs that branch and rejoin (ResNet blocks: Add/Sub of two tensors that
// depend on the input). The IR is a chain, so a tensor that a later node still
// reads is carried through every commit as extra rows of the committed Dense
// layer and of the nonlinearity after it:
//  - through a ReLU: the rows themselves when the tensor is known >= 0 (a
//    gather of ReLU outputs: relu(v) = v, and every bound method sees a stable
//    unit), else the two rows v and -v, recombined as v = relu(v) - relu(-v)
//    (LeakyReLU(a): (lrelu(v) - lrelu(-v)) / (1 + a)); exact in the forward
//    pass and sound for every bound and formulation, at the price of two
//    units that may be unstable;
//  - through a max pool: a window of that one row (the identity);
//  - Tanh / Sigmoid cannot carry a value exactly: refused.
// The rejoining Add/Sub (onnx_ops.cpp) then adds two maps over the same base.
#include <algorithm>

#include "io/onnx_internal.h"

namespace nnopt::io::onnx_detail {

namespace {

// A gather of base rows with non-negative scales and offsets.
bool gatherNonneg(const Affine& a) {
  if (a.dense || a.sparse) return false;
  return (a.s.array() >= 0.0).all() && (a.c.array() >= 0.0).all();
}

}  // namespace

std::vector<Loader::Lift> Loader::liveLifts(const onnx::NodeProto& node) const {
  std::unordered_map<std::string, int> here;
  for (const auto& n : node.input())
    if (!n.empty()) ++here[n];
  std::vector<Lift> out;
  for (const auto& [name, val] : values_) {
    if (!std::holds_alternative<Var>(val)) continue;
    const Var& v = std::get<Var>(val);
    if (v.epoch != epoch_) continue;
    auto u = uses_.find(name);
    const int left = (u == uses_.end() ? 0 : u->second) - (here.count(name) ? here.at(name) : 0);
    if (left <= 0) continue;
    auto same = std::find_if(out.begin(), out.end(),
                             [&](const Lift& l) { return l.var.map == v.map; });
    if (same != out.end()) {
      same->names.push_back(name);
      continue;
    }
    Lift l;
    l.names = {name};
    l.var = v;
    l.nonneg = base_nonneg_ && gatherNonneg(*v.map);
    out.push_back(std::move(l));
  }
  // values_ is unordered: a fixed order keeps the layers the same run to run.
  for (auto& l : out) std::sort(l.names.begin(), l.names.end());
  std::sort(out.begin(), out.end(),
            [](const Lift& a, const Lift& b) { return a.names.front() < b.names.front(); });
  return out;
}

void Loader::commitThrough(Var& x, const onnx::NodeProto& node, const nn::Activation* act,
                           nn::MaxPool* pool, const Shape& out_shape) {
  const std::string name = nodeName(node);
  std::vector<Lift> lifts = liveLifts(node);
  if (lifts.empty()) {
    commit(x, name);
    x.shape = out_shape;
    if (act) {
      layers_.push_back(nn::Layer{name, *act, logical(out_shape)});
      base_nonneg_ = act->kind == nn::ActKind::kRelu;
    } else {
      layers_.push_back(nn::Layer{name, std::move(*pool), logical(out_shape)});
      x.map = std::make_shared<Affine>(Affine::identity(nn::numel(out_shape)));
      base_nonneg_ = false;
    }
    return;
  }
  if (act && act->kind != nn::ActKind::kRelu && act->kind != nn::ActKind::kLeakyRelu)
    opFail(std::string("the graph branches across a ") + nn::actName(act->kind) +
           " layer (tensor '" + lifts.front().names.front() +
           "' is read again later); only ReLU/LeakyReLU layers and max pooling can carry a "
           "branch");
  if (act && act->kind == nn::ActKind::kLeakyRelu && !(act->alpha > -1.0 && act->alpha != -1.0))
    opFail("the graph branches across a LeakyRelu with alpha <= -1, which cannot carry a branch");
  // The committed Dense layer: x's rows, then each lift's (and its negation).
  const int64_t n = x.map->size();
  std::vector<std::pair<const Affine*, double>> parts{{x.map.get(), 1.0}};
  int64_t rows = n;
  for (auto& l : lifts) {
    l.offset = rows;
    l.split = act != nullptr && !l.nonneg;
    parts.push_back({l.var.map.get(), 1.0});
    rows += l.var.map->size();
    if (l.split) {
      parts.push_back({l.var.map.get(), -1.0});
      rows += l.var.map->size();
    }
  }
  checkVarSize(rows);
  const Affine stacked = Affine::stack(parts);
  std::string lname = name;
  for (const auto& p : x.pending) lname = p + "+" + lname;
  layers_.push_back(nn::Layer{lname + "+carry", nn::Dense{layerWeights(stacked), stacked.c},
                              Shape{rows}});
  // The nonlinearity over every row; the new base's size and x's rows in it.
  int64_t base = rows, x_rows = n, shift = 0;
  if (act) {
    layers_.push_back(nn::Layer{name, *act, Shape{rows}});
    base_nonneg_ = act->kind == nn::ActKind::kRelu;
  } else {
    const int64_t pooled = static_cast<int64_t>(pool->windows.size());
    for (int64_t r = n; r < rows; ++r) pool->windows.push_back({r});
    base = pooled + (rows - n);
    x_rows = pooled;
    shift = pooled - n;
    layers_.push_back(nn::Layer{name, std::move(*pool), Shape{base}});
    base_nonneg_ = false;
  }
  ++epoch_;
  auto rowsOf = [&](int64_t first, int64_t m) {
    Affine a = Affine::identity(m);
    a.n_in = base;
    for (int64_t j = 0; j < m; ++j) a.idx[j] = first + j;
    return a;
  };
  x.shape = out_shape;
  x.map = std::make_shared<Affine>(rowsOf(0, x_rows));
  x.epoch = epoch_;
  x.pending.clear();
  for (const auto& l : lifts) {
    const int64_t m = l.var.map->size(), at = l.offset + shift;
    Var v = l.var;
    v.epoch = epoch_;
    v.pending.clear();
    if (!l.split) {
      v.map = std::make_shared<Affine>(rowsOf(at, m));
    } else {
      // v = (act(v) - act(-v)) / (1 + alpha) (alpha = 0 for ReLU).
      const double k = 1.0 / (1.0 + (act->kind == nn::ActKind::kLeakyRelu ? act->alpha : 0.0));
      Affine pos = rowsOf(at, m), neg = rowsOf(at + m, m);
      pos.s *= k;
      neg.s *= k;
      pos.add(neg, -1.0);
      v.map = std::make_shared<Affine>(std::move(pos));
    }
    for (const auto& nm : l.names) values_[nm] = v;
  }
}

}  // namespace nnopt::io::onnx_detail
