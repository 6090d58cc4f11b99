#pragma once
// Embeds a network into a MathModel: input variables bounded by a box, one
// variable per neuron where needed, and an encoding per activation.
#include <string>
#include <vector>

#include "bounds/bound_table.h"
#include "model/math_model.h"
#include "nn/network.h"

namespace nnopt::formulate {

enum class ReluEncoding {
  kBigM,             // exact MIP: one binary per unstable ReLU
  kComplementarity,  // y >= 0, s = y - t >= 0, complementarity row y*s (see ComplForm)
};

// How the complementarity row y*s is written.
enum class ComplForm {
  kProduct,            // y*s = 0
  kInequality,         // y*s <= 0
  kRelaxed,            // y*s <= tau (Scholtes; caller updates tau via setComplementarityParam)
  kFischerBurmeister,  // sqrt(y^2+s^2+2mu) - y - s = 0
  kChenMangasarian,    // y + s - sqrt((y-s)^2 + 4mu^2) = 0
  kNone,               // no row (penalty form puts y*s into the objective)
};

struct EmbedOptions {
  ReluEncoding relu = ReluEncoding::kBigM;
  ComplForm compl_form = ComplForm::kRelaxed;
  double compl_param = 1.0;  // tau / mu for the relaxed and smoothed forms
  // Complementarity (NLP) only: a Dense layer fed by the network input with
  // more than 2 * input_chunk inputs is written through partial sums over
  // blocks of input_chunk inputs (s_jg = sum_{i in g} W_ji x_i, a_j = sum_g
  // s_jg + b_j). Same feasible set in (x, a); the KKT matrix then has no
  // front with all inputs at once: with one row per neuron over all 784
  // pixels, MUMPS amalgamates the pixels into one dense (784 + h)-wide front
  // and spends most of each Ipopt iteration factorising it. 0 = off.
  int input_chunk = 0;
  // Existing model variables to use as the network's inputs (one per input;
  // their bounds are left as they are, the bound table should be computed
  // over them). Empty: new input variables x<i> bounded by the table's box.
  std::vector<int> input_vars;
  // Prefix of every variable and row name the embedding adds (several
  // networks in one model need distinct names, e.g. in an MPS file).
  std::string name_prefix;
};

// A ReLU handled by complementarity: y = output var, s = slack var, row index
// of the complementarity row (-1 for kNone).
struct ComplPair {
  int y;
  int s;
  int row;
};

// Auxiliary variables of one ReLU/LeakyReLU neuron that is not fixed by its
// bounds: the binary (big-M) or the positive/negative parts p, n with
// t = p - n (complementarity; p*n = 0 in some form).
struct ReluAux {
  size_t layer = 0;    // index of the activation layer
  int64_t neuron = 0;  // index within the layer
  int z = -1;          // binary (big-M), -1 otherwise
  int p = -1, n = -1;  // complementarity parts, -1 otherwise
};

// Auxiliary variables of one max-pool output y = max over the window's
// candidates (inputs whose upper bound reaches the window's largest lower
// bound; the others can never be the max). Big-M: one binary per candidate
// (z[k] = 1 selects cands[k]), y >= x_k, y <= x_k + (U - l_k)(1 - z_k),
// sum z = 1. Complementarity: a cascade m_0 = x_0, m_k = m_{k-1} +
// relu(x_k - m_{k-1}) with t_k = x_k - m_{k-1} = p_k - n_k and p_k n_k
// complementary as for a ReLU (so every ComplForm applies); entries -1 where
// the step is fixed by the bounds.
struct PoolAux {
  size_t layer = 0;
  int64_t neuron = 0;
  std::vector<int64_t> cands;  // input indices
  std::vector<int> z;          // big-M binaries
  std::vector<int> t, p, n, m; // complementarity cascade (index 0 unused)
};

// One partial sum of a chunked first layer (EmbedOptions::input_chunk):
// var = sum over inputs [k0, k1) of W(row, k) x_k.
struct PartialSum {
  int64_t row;
  int64_t k0, k1;
  int var;
};

struct Embedding {
  std::vector<int> input_vars;   // one per network input
  std::vector<int> output_vars;  // one per network output
  // Variable of each neuron of each layer output; -1 when the neuron is a
  // ReLU proven inactive by the bounds (its value is the constant 0 and it
  // has no variable). Output neurons always have a variable.
  std::vector<std::vector<int>> layer_vars;
  std::vector<ComplPair> compl_pairs;
  std::vector<ReluAux> relu_aux;
  std::vector<PoolAux> pool_aux;
  std::vector<PartialSum> partial_sums;
  int binaries = 0;
  int unstable_relus = 0;
  int stable_relus = 0;
};

// Adds the network to m. Input variables get the box [bounds.in_lo, bounds.in_hi].
// Throws Error when the encoding cannot represent an activation (e.g. big-M
// on tanh: "MIP cannot encode Tanh; use --method nlp").
Embedding embedNetwork(model::MathModel& m, const nn::Network& net,
                       const bounds::BoundTable& bounds, const EmbedOptions& opt);

// Sets the parameter (tau for kRelaxed: row hi; mu for smoothed forms) of all
// complementarity rows of an embedding.
void setComplementarityParam(model::MathModel& m, const Embedding& e, ComplForm form, double param);

// Largest |y*s| over the complementarity pairs at x (0 for an exact ReLU point).
double complementarityViolation(const Embedding& e, const std::vector<double>& x);

// Sets Variable::start of all embedding variables by a forward pass from the
// input point x0 (so an NLP starts at a consistent point).
void setStartFromInput(model::MathModel& m, const nn::Network& net, const Embedding& e,
                       const Eigen::VectorXd& x0);

}  // namespace nnopt::formulate
