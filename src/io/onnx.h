#pragma once
#include <string>

#include "nn/network.h"

namespace nnopt::io {

// Loads an ONNX model into the network IR. Linear ops are folded into Dense
// layers; shape-computing subgraphs (Shape/Gather/Unsqueeze/Concat/...) are
// constant-folded. Throws Error("FILE: cause") for unreadable or malformed
// files, unsupported ops/attributes (naming node, op and what is supported),
// shape mismatches and non-finite weights.
nn::Network loadOnnx(const std::string& path);

// Same, from bytes in memory (name is used in messages).
nn::Network loadOnnxFromBytes(const std::string& bytes, const std::string& name);

}  // namespace nnopt::io
