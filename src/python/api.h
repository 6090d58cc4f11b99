#pragma once
// nnopt.bounds / nnopt.sweep / nnopt.verify_batch / nnopt.score: the library
// calls behind the CLI's bounds, sweep, verify-batch and score commands
// (python/nnopt/jobs_api.py adds the CLI's argument checks and result types).
#include <pybind11/pybind11.h>

namespace nnopt::pyapi {

void bind(pybind11::module_& m);

}  // namespace nnopt::pyapi
