// ONNX -> network IR loader: the graph walk. Parses the model, checks the
// single input and output, prunes the graph to the nodes the output depends
// on, orders them topologically, and hands each node to processNode
// (onnx_ops*.cpp); commit turns the pending affine map into a Dense layer.
// How the pieces fit: onnx_internal.h.
#include "io/onnx.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <queue>
#include <sstream>
#include <unordered_set>

#include "core/error.h"
#include "core/log.h"
#include "core/message.h"
#include "io/onnx_internal.h"

namespace nnopt::io {
namespace onnx_detail {

// A committed map's weights: a convolution in its kernel form when its
// Toeplitz matrix has at least kernel_min_taps non-zeros, else that sparse
// matrix; sparse (CSR) when at most a quarter of the matrix is non-zero -
// pooling, normalisation, layout, convolutions composed with them - so
// memory and every transformer's work scale with the non-zeros; dense
// otherwise (fully connected layers).
nn::Linear layerWeights(const Affine& a, int64_t kernel_min_taps) {
  if (a.dense) return nn::Linear(a.M);
  if (a.conv) {
    nn::Linear k(a.K);
    return a.K.taps() >= kernel_min_taps ? k : k.toSparse();
  }
  const SpMat S = a.sparseMatrix();
  const double entries = static_cast<double>(S.rows()) * static_cast<double>(S.cols());
  if (static_cast<double>(S.nonZeros()) <= 0.25 * entries)
    return nn::Linear(nn::Linear::Sparse(S));
  return nn::Linear(a.matrix());
}

void Loader::commit(Var& v, const std::string& fallback_name) {
  if (!v.map->isIdentity()) {
    std::string name;
    for (const auto& p : v.pending) name += (name.empty() ? "" : "+") + p;
    if (name.empty()) name = fallback_name;
    layers_.push_back(nn::Layer{name, nn::Dense{layerWeights(*v.map, kernel_min_taps_), v.map->c}, logical(v.shape)});
  }
  ++epoch_;
  v.map = std::make_shared<Affine>(Affine::identity(nn::numel(v.shape)));
  v.epoch = epoch_;
  v.pending.clear();
}

nn::Network Loader::load(const std::string& bytes) {
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes))
    fail("not a valid ONNX model (protobuf parse failed)");
  if (!model.has_graph()) fail("not a valid ONNX model (no graph)");
  const auto& g = model.graph();
  if (g.node_size() == 0) fail("not a valid ONNX model (the graph has no nodes)");
  for (const auto& os : model.opset_import())
    if (os.domain().empty() || os.domain() == "ai.onnx") opset_ = static_cast<int>(os.version());

  // Initializers (parsed lazily) and the single real input.
  std::unordered_map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : g.initializer()) inits[t.name()] = &t;
  std::vector<const onnx::ValueInfoProto*> real_inputs;
  for (const auto& vi : g.input())
    if (!inits.count(vi.name())) real_inputs.push_back(&vi);
  if (real_inputs.size() != 1) {
    std::string names;
    for (auto* vi : real_inputs) names += (names.empty() ? "" : ", ") + vi->name();
    fail("the graph has " + std::to_string(real_inputs.size()) + " inputs" +
         (names.empty() ? "" : " (" + names + ")") +
         "; exactly one (non-initializer) input is supported");
  }
  if (g.output_size() != 1)
    fail("the graph has " + std::to_string(g.output_size()) +
         " outputs; exactly one output is supported");
  const onnx::ValueInfoProto& input = *real_inputs[0];
  const std::string& out_name = g.output(0).name();

  // Input shape.
  if (!input.type().has_tensor_type() || !input.type().tensor_type().has_shape())
    fail("input '" + input.name() + "' has no tensor shape");
  Shape full;
  const auto& dims = input.type().tensor_type().shape().dim();
  for (int i = 0; i < dims.size(); ++i) {
    const auto& d = dims[i];
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) fail("input '" + input.name() + "' has a negative dimension");
      full.push_back(d.dim_value());
    } else if (i == 0 && dims.size() >= 2) {
      full.push_back(1);  // symbolic batch
    } else {
      fail("input '" + input.name() + "' has a symbolic dimension at position " +
           std::to_string(i) + " (only the first, batch, dimension may be symbolic)");
    }
  }
  has_batch_ = full.size() >= 2 && full[0] == 1;
  int64_t in_numel = 0;
  try {
    in_numel = checkedNumel(full, "input '" + input.name() + "' shape");
    checkVarSize(in_numel);
  } catch (const OpError& e) {
    fail(e.msg);
  }
  if (in_numel == 0) fail("input '" + input.name() + "' shape " + shapeStr(full) + " has no values");
  {
    using TP = onnx::TensorProto;
    const int et = input.type().tensor_type().elem_type();
    if (et != TP::UNDEFINED && et != TP::FLOAT && et != TP::DOUBLE && et != TP::FLOAT16 &&
        et != TP::BFLOAT16)
      fail("input '" + input.name() + "' has element type " +
           TP::DataType_Name(static_cast<TP::DataType>(et)) +
           "; only floating-point inputs are supported");
    if (et != TP::UNDEFINED) input_dtype_ = et;
  }
  const Shape in_shape = logical(full);

  // Producers, pruning to the nodes the output depends on, topological sort.
  const int nn_ = g.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < nn_; ++i)
    for (const auto& o : g.node(i).output())
      if (!o.empty()) {
        if (!producer.emplace(o, i).second) fail("tensor '" + o + "' is produced twice");
        if (inits.count(o) || o == input.name())
          fail("tensor '" + o + "' is both produced by a node and a graph input/initializer");
      }
  std::vector<char> needed(nn_, 0);
  {
    std::vector<std::string> stack{out_name};
    std::unordered_set<std::string> seen;
    while (!stack.empty()) {
      std::string t = stack.back();
      stack.pop_back();
      if (!seen.insert(t).second) continue;
      auto it = producer.find(t);
      if (it == producer.end()) {
        if (t != input.name() && !inits.count(t)) {
          if (t == out_name) fail("graph output '" + t + "' is not produced by any node");
          std::string user;
          for (int i = 0; i < nn_ && user.empty(); ++i)
            for (const auto& x : g.node(i).input())
              if (x == t) user = nodeDesc(g.node(i));
          fail("tensor '" + t + "' used by " + user +
               " is not produced by any node, initializer or input (dangling input)");
        }
        continue;
      }
      if (needed[it->second]) continue;
      needed[it->second] = 1;
      for (const auto& x : g.node(it->second).input())
        if (!x.empty()) stack.push_back(x);
    }
  }
  std::vector<int> indeg(nn_, 0);
  std::vector<std::vector<int>> succ(nn_);
  for (int i = 0; i < nn_; ++i) {
    if (!needed[i]) continue;
    for (const auto& x : g.node(i).input()) {
      auto it = producer.find(x);
      if (!x.empty() && it != producer.end()) {
        ++indeg[i];
        succ[it->second].push_back(i);
      }
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < nn_; ++i)
    if (needed[i] && indeg[i] == 0) ready.push(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int j : succ[i])
      if (--indeg[j] == 0) ready.push(j);
  }
  const int n_needed = static_cast<int>(std::count(needed.begin(), needed.end(), 1));
  if (static_cast<int>(order.size()) != n_needed) {
    for (int i = 0; i < nn_; ++i)
      if (needed[i] && indeg[i] > 0) fail("the graph has a cycle through " + nodeDesc(g.node(i)));
  }

  // Remaining-use counts so dead tensors can be freed.
  std::unordered_map<std::string, int>& uses = uses_;
  for (int i : order)
    for (const auto& x : g.node(i).input())
      if (!x.empty()) ++uses[x];
  ++uses[out_name];

  // Values: the input and the initializers that are used.
  Var x;
  x.shape = full;
  x.map = std::make_shared<Affine>(Affine::identity(nn::numel(full)));
  values_[input.name()] = x;
  for (const auto& [name, cnt] : uses) {
    auto it = inits.find(name);
    if (it == inits.end() || name == input.name()) continue;
    try {
      values_[name] = tensorToConst(*it->second);
    } catch (const OpError& e) {
      fail("initializer: " + e.msg);
    }
  }

  for (int i : order) {
    const auto& node = g.node(i);
    try {
      processNode(node);
    } catch (const OpError& e) {
      fail(nodeDesc(node) + ": " + e.msg);
    }
    for (const auto& xname : node.input())
      if (!xname.empty() && --uses[xname] == 0) values_.erase(xname);
  }

  auto it = values_.find(out_name);
  if (it == values_.end()) fail("graph output '" + out_name + "' was not computed");
  if (!std::holds_alternative<Var>(it->second))
    fail("graph output '" + out_name + "' does not depend on the input");
  Var out = std::get<Var>(it->second);
  if (out.epoch != epoch_)
    fail("the graph branches before output '" + out_name +
         "'; only a single chain of layers is supported");
  try {
    if (!out.map->isIdentity()) commit(out, "output");
  } catch (const OpError& e) {
    fail(e.msg);
  }
  nn::Network net(in_shape, std::move(layers_));
  net.validate(file_);
  if (const std::string w = net.magnitudeWarning(); !w.empty()) logWarn(file_ + ": " + w);
  return net;
}

}  // namespace onnx_detail

nn::Network loadOnnxFromBytes(const std::string& bytes, const std::string& name,
                              const LoadOptions& opt) {
  onnx_detail::Loader loader(name, opt.kernel_form_min_taps);
  try {
    return loader.load(bytes);
  } catch (const Error& e) {
    // Messages quote names from the file: keep them on one line.
    throw Error(oneLine(e.what()));
  } catch (const std::bad_alloc&) {
    throw Error(name + ": out of memory while loading the model");
  }
}

nn::Network loadOnnx(const std::string& path, const LoadOptions& opt) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(path + ": read error");
  return loadOnnxFromBytes(ss.str(), path, opt);
}

}  // namespace nnopt::io
