#pragma once
#include <cstdint>
#include <string>

#include "nn/network.h"

namespace nnopt::io {

struct LoadOptions {
  // A convolution is stored in kernel form (nn::Conv2d: memory = its kernel)
  // when its Toeplitz matrix would have at least this many non-zeros, else
  // as that sparse matrix (memory = out x taps, but CROWN's receptive-field
  // products run ~1.5x faster on CSR rows). 2^22 taps = ~50 MB of CSR.
  int64_t kernel_form_min_taps = int64_t{1} << 22;
};

// Loads an ONNX model into the network IR. Linear ops are folded into Dense
// layers; shape-computing subgraphs (Shape/Gather/Unsqueeze/Concat/...) are
// constant-folded. Throws Error("FILE: cause") for unreadable or malformed
// files, unsupported ops/attributes (naming node, op and what is supported),
// shape mismatches and non-finite weights.
nn::Network loadOnnx(const std::string& path, const LoadOptions& opt = {});

// Same, from bytes in memory (name is used in messages).
nn::Network loadOnnxFromBytes(const std::string& bytes, const std::string& name,
                              const LoadOptions& opt = {});

}  // namespace nnopt::io
