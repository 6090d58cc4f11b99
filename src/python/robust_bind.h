#pragma once
// nnopt.robustness: the library call behind `nnopt robustness`
// (python/nnopt/robustness.py adds the argument handling and result types).
#include <pybind11/pybind11.h>

namespace nnopt::pyrobust {

void bind(pybind11::module_& m);

}  // namespace nnopt::pyrobust
