// Protobuf decoding for the ONNX loader: TensorProto (raw or typed fields,
// every element type ONNX stores) to Const, node attributes, Constant nodes.
#include <cmath>
#include <cstring>
#include <limits>

#include "io/onnx_internal.h"

namespace nnopt::io::onnx_detail {
namespace {

float halfToFloat(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float f;
  if (exp == 0)
    f = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    f = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    f = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -f : f;
}

}  // namespace

// ---------------------------------------------------------------- tensors

Const tensorToConst(const onnx::TensorProto& t) {
  const std::string tname = "tensor '" + t.name() + "'";
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0)
    opFail(tname + " uses external data, which is not supported");
  Const c;
  c.dims.assign(t.dims().begin(), t.dims().end());
  const int64_t n = checkedNumel(c.dims, tname + " shape");
  using TP = onnx::TensorProto;
  const int dt = t.data_type();
  size_t esize = 0;
  switch (dt) {
    case TP::FLOAT: case TP::INT32: case TP::UINT32: esize = 4; break;
    case TP::DOUBLE: case TP::INT64: case TP::UINT64: esize = 8; break;
    case TP::INT16: case TP::UINT16: case TP::FLOAT16: esize = 2; break;
    case TP::INT8: case TP::UINT8: case TP::BOOL: esize = 1; break;
    default:
      opFail(tname + " has unsupported data type " + std::to_string(dt) +
             " (supported: float, double, float16, int8..int64, uint8..uint64, bool)");
  }
  c.is_int = !(dt == TP::FLOAT || dt == TP::DOUBLE || dt == TP::FLOAT16);
  c.dtype = dt;
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (raw.size() != static_cast<size_t>(n) * esize)
      opFail(tname + " raw_data has " + std::to_string(raw.size()) + " bytes, shape " +
             shapeStr(c.dims) + " needs " + std::to_string(static_cast<size_t>(n) * esize));
    c.v.resize(n);
    const char* p = raw.data();
    for (int64_t i = 0; i < n; ++i, p += esize) {
      switch (dt) {
        case TP::FLOAT: { float x; std::memcpy(&x, p, 4); c.v[i] = x; break; }
        case TP::DOUBLE: { double x; std::memcpy(&x, p, 8); c.v[i] = x; break; }
        case TP::INT32: { int32_t x; std::memcpy(&x, p, 4); c.v[i] = x; break; }
        case TP::UINT32: { uint32_t x; std::memcpy(&x, p, 4); c.v[i] = x; break; }
        case TP::INT64: { int64_t x; std::memcpy(&x, p, 8); c.v[i] = static_cast<double>(x); break; }
        case TP::UINT64: { uint64_t x; std::memcpy(&x, p, 8); c.v[i] = static_cast<double>(x); break; }
        case TP::INT16: { int16_t x; std::memcpy(&x, p, 2); c.v[i] = x; break; }
        case TP::UINT16: { uint16_t x; std::memcpy(&x, p, 2); c.v[i] = x; break; }
        case TP::FLOAT16: { uint16_t x; std::memcpy(&x, p, 2); c.v[i] = halfToFloat(x); break; }
        case TP::INT8: { int8_t x; std::memcpy(&x, p, 1); c.v[i] = x; break; }
        default: { uint8_t x; std::memcpy(&x, p, 1); c.v[i] = dt == TP::BOOL ? (x != 0) : x; break; }
      }
    }
  } else {
    // Checks the count present before reserving: the declared shape alone
    // (up to 2^31 elements, 16 GB of doubles) must not size an allocation.
    auto need = [&](int64_t have, const char* field) {
      if (have != n)
        opFail(tname + " has " + std::to_string(have) + " values in " + field + ", shape " +
               shapeStr(c.dims) + " needs " + std::to_string(n));
      c.v.reserve(n);
    };
    switch (dt) {
      case TP::FLOAT:
        need(t.float_data_size(), "float_data");
        for (float x : t.float_data()) c.v.push_back(x);
        break;
      case TP::DOUBLE:
        need(t.double_data_size(), "double_data");
        for (double x : t.double_data()) c.v.push_back(x);
        break;
      case TP::INT64:
        need(t.int64_data_size(), "int64_data");
        for (int64_t x : t.int64_data()) c.v.push_back(static_cast<double>(x));
        break;
      case TP::UINT32: case TP::UINT64:
        need(t.uint64_data_size(), "uint64_data");
        for (uint64_t x : t.uint64_data()) c.v.push_back(static_cast<double>(x));
        break;
      case TP::FLOAT16:
        need(t.int32_data_size(), "int32_data");
        for (int32_t x : t.int32_data()) c.v.push_back(halfToFloat(static_cast<uint16_t>(x)));
        break;
      default:
        need(t.int32_data_size(), "int32_data");
        for (int32_t x : t.int32_data()) c.v.push_back(dt == TP::BOOL ? (x != 0) : x);
        break;
    }
  }
  for (double x : c.v)
    if (!std::isfinite(x)) opFail(tname + " contains NaN or Inf");
  return c;
}

// ---------------------------------------------------------------- attributes

const onnx::AttributeProto* findAttr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
int64_t attrInt(const onnx::NodeProto& n, const std::string& name, int64_t def) {
  auto* a = findAttr(n, name);
  return a ? a->i() : def;
}
double attrFloat(const onnx::NodeProto& n, const std::string& name, double def) {
  auto* a = findAttr(n, name);
  return a ? a->f() : def;
}
std::vector<int64_t> attrInts(const onnx::NodeProto& n, const std::string& name) {
  auto* a = findAttr(n, name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}
std::string attrString(const onnx::NodeProto& n, const std::string& name, const std::string& def) {
  auto* a = findAttr(n, name);
  return a ? a->s() : def;
}

// ---------------------------------------------------------------- Constant nodes

Const constantNode(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    Const c;
    if (a.name() == "value") return tensorToConst(a.t());
    if (a.name() == "value_float") {
      c.v = {a.f()};
    } else if (a.name() == "value_floats") {
      c.v.assign(a.floats().begin(), a.floats().end());
      c.dims = {static_cast<int64_t>(c.v.size())};
    } else if (a.name() == "value_int") {
      c.v = {static_cast<double>(a.i())};
      c.is_int = true;
    } else if (a.name() == "value_ints") {
      for (auto i : a.ints()) c.v.push_back(static_cast<double>(i));
      c.dims = {static_cast<int64_t>(c.v.size())};
      c.is_int = true;
    } else {
      opFail("Constant attribute '" + a.name() +
             "' is not supported (supported: value, value_float(s), value_int(s))");
    }
    for (double x : c.v)
      if (!std::isfinite(x)) opFail("Constant contains NaN or Inf");
    return c;
  }
  opFail("Constant node has no value attribute");
}

}  // namespace nnopt::io::onnx_detail
