// libFuzzer target: the ONNX loader on arbitrary bytes. A model that loads is
// also run forward once (small inputs only) to check the network it built.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_common.h"
#include "io/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz.onnx";
  try {
    nnopt::nn::Network net =
        nnopt::io::loadOnnxFromBytes(std::string(reinterpret_cast<const char*>(data), size), name);
    if (net.inputSize() <= (1 << 16)) {
      Eigen::VectorXd y = net.forward(Eigen::VectorXd::Zero(net.inputSize()));
      if (y.size() != net.outputSize()) std::abort();
    }
  } catch (const nnopt::Error& e) {
    nnopt::fuzz::checkMessage(e, name);
  }
  return 0;
}
