#pragma once
// In-memory ONNX models for the importer tests (test_onnx, test_conv,
// test_maxpool): a graph builder, attribute helpers and float32-exact values.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/onnx.h"
#include "nn/network.h"

namespace nnopt::test {

class OnnxBuilder {
 public:
  onnx::ModelProto m;
  onnx::GraphProto* g;

  // file_name: what load() reports the model as (error messages name it).
  explicit OnnxBuilder(int opset = 13, std::string file_name = "model_under_test.onnx")
      : file_name_(std::move(file_name)) {
    m.set_ir_version(7);
    auto* os = m.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    g = m.mutable_graph();
    g->set_name("g");
  }
  // dims: -1 = symbolic ("N")
  void input(const std::string& name, const std::vector<int64_t>& dims) {
    auto* vi = g->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* sh = tt->mutable_shape();
    for (auto d : dims) {
      auto* dim = sh->add_dim();
      if (d < 0)
        dim->set_dim_param("N");
      else
        dim->set_dim_value(d);
    }
  }
  void output(const std::string& name) {
    auto* vi = g->add_output();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  // A float initializer, as raw little-endian bytes or as float_data.
  onnx::TensorProto* init(const std::string& name, const std::vector<int64_t>& dims,
                          const std::vector<double>& vals, bool raw = true) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    if (raw) {
      std::string bytes(vals.size() * 4, '\0');
      for (size_t i = 0; i < vals.size(); ++i) {
        float f = static_cast<float>(vals[i]);
        std::memcpy(&bytes[i * 4], &f, 4);
      }
      t->set_raw_data(bytes);
    } else {
      for (double v : vals) t->add_float_data(static_cast<float>(v));
    }
    return t;
  }
  onnx::TensorProto* initI64(const std::string& name, const std::vector<int64_t>& dims,
                             const std::vector<int64_t>& vals) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (auto d : dims) t->add_dims(d);
    for (auto v : vals) t->add_int64_data(v);
    return t;
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& ins,
                        const std::vector<std::string>& outs, const std::string& name = "") {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + outs.at(0) : name);
    for (auto& i : ins) n->add_input(i);
    for (auto& o : outs) n->add_output(o);
    return n;
  }
  std::string bytes() const {
    std::string s;
    EXPECT_TRUE(m.SerializeToString(&s));
    return s;
  }
  nn::Network load() const { return io::loadOnnxFromBytes(bytes(), file_name_); }

 private:
  std::string file_name_;
};

inline void attrI(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void attrF(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void attrS(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}
inline void attrInts(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

// Expects loading `bytes` (reported as `file`) to fail with one line that
// starts with the file name and contains every fragment.
inline void expectLoadError(const std::string& bytes, const std::string& file,
                            const std::vector<std::string>& fragments) {
  try {
    io::loadOnnxFromBytes(bytes, file);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(file, 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& f : fragments)
      EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

// Deterministic values k/32 in [-2, 2], exactly representable in float32 (so
// float weights lose nothing).
inline std::vector<double> vals(size_t n, int seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-64, 64);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng) / 32.0;
  return v;
}

}  // namespace nnopt::test
