#pragma once
// The C++ half of nnopt.Model (python/nnopt/modeling.py): a MathModel that the
// Python expression layer fills in bulk (variables, CSR rows, objective), the
// networks embedded in it (formulate/embed over bounds/ tables computed from
// the input variables' bounds), and the solve: CBC, Clp or Ipopt (with a
// Scholtes / smoothing continuation when a network uses one) on a worker
// thread while the calling thread, GIL released, polls for Ctrl-C.
#include <pybind11/pybind11.h>

namespace nnopt::pymodel {

void bind(pybind11::module_& m);

}  // namespace nnopt::pymodel
