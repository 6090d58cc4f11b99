// libFuzzer target: the VNN-LIB reader on arbitrary text, for a small network
// (5 inputs, 5 outputs, as ACAS Xu) and an MNIST-sized one (784 -> 10).
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "io/vnnlib.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz.vnnlib";
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (auto [nin, nout] : {std::pair<int64_t, int64_t>{5, 5}, {784, 10}}) {
    try {
      nnopt::spec::Property p = nnopt::io::parseVnnlib(text, name, nin, nout);
      for (const auto& c : p.cases)
        if (c.input.size() != nin) std::abort();
    } catch (const nnopt::Error& e) {
      nnopt::fuzz::checkMessage(e, name);
    }
  }
  return 0;
}
