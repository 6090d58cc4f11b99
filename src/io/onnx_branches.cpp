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
// The rejoining Add/Sub (onnx_ops.cpp) then adds two maps over the same base;
// a Concat stacks them (concatVars, below).
#include <algorithm>

#include "io/onnx_internal.h"

namespace nnopt::io::onnx_detail {

namespace {

// A gather of base rows with non-negative scales and offsets.
bool gatherNonneg(const Affine& a) {
  if (!a.isGather()) return false;
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
  if (act && act->kind == nn::ActKind::kLeakyRelu && !(act->alpha > -1.0))
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
  layers_.push_back(nn::Layer{lname + "+carry", nn::Dense{layerWeights(stacked, kernel_min_taps_), stacked.c},
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

Var Loader::concatVars(const onnx::NodeProto& node, const std::vector<const Value*>& in) {
  if (in.empty()) opFail("Concat has no inputs");
  // The base every input-dependent input is a map over.
  int64_t base = -1;
  for (const Value* p : in) {
    if (!p) opFail("Concat has an empty input");
    if (std::holds_alternative<Var>(*p)) base = asVar(p).map->n_in;
  }
  std::vector<Shape> shapes;
  std::vector<std::shared_ptr<Affine>> maps;
  std::vector<std::string> pending;
  for (const Value* p : in) {
    if (std::holds_alternative<Var>(*p)) {
      const Var v = asVar(p);
      shapes.push_back(v.shape);
      maps.push_back(v.map);
      for (const auto& n : v.pending) pending.push_back(n);
    } else {
      const Const& k = std::get<Const>(*p);
      checkWeight(k, "a constant Concat input");
      auto a = std::make_shared<Affine>();
      a->n_in = base;
      a->sparse = true;
      a->S.resize(k.numel(), base);
      a->c = Eigen::Map<const Eigen::VectorXd>(k.v.data(), k.numel());
      shapes.push_back(k.dims);
      maps.push_back(std::move(a));
    }
  }
  const int64_t r = static_cast<int64_t>(shapes.front().size());
  if (r == 0) opFail("Concat of scalars");
  const int64_t axis = normAxis(attrInt(node, "axis", 0), r, "axis");
  Shape out = shapes.front();
  out[axis] = 0;
  for (const auto& sh : shapes) {
    if (static_cast<int64_t>(sh.size()) != r) opFail("Concat inputs differ in rank");
    for (int64_t i = 0; i < r; ++i)
      if (i != axis && sh[i] != shapes.front()[i])
        opFail("Concat shapes " + shapeStr(shapes.front()) + " and " + shapeStr(sh) +
               " differ off the axis");
    out[axis] += sh[axis];
  }
  checkVarSize(checkedNumel(out, "Concat output"));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= out[i];
  for (int64_t i = axis + 1; i < r; ++i) inner *= out[i];
  // Stack the inputs' rows, then gather them into the output's order.
  std::vector<std::pair<const Affine*, double>> parts;
  for (const auto& m : maps) parts.push_back({m.get(), 1.0});
  Affine stacked = Affine::stack(parts);
  std::vector<int64_t> src;
  src.reserve(static_cast<size_t>(nn::numel(out)));
  std::vector<int64_t> first(maps.size(), 0);
  for (size_t k = 1; k < maps.size(); ++k) first[k] = first[k - 1] + maps[k - 1]->size();
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < maps.size(); ++k) {
      const int64_t ak = shapes[k][axis];
      for (int64_t a = 0; a < ak; ++a)
        for (int64_t i = 0; i < inner; ++i) src.push_back(first[k] + (o * ak + a) * inner + i);
    }
  stacked.gather(src);
  Var v;
  v.shape = out;
  v.map = std::make_shared<Affine>(std::move(stacked));
  v.epoch = epoch_;
  v.pending = std::move(pending);
  v.pending.push_back(nodeName(node));
  return v;
}

}  // namespace nnopt::io::onnx_detail
