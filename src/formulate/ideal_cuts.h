#pragma once
// Cutting planes from the ideal (convex hull) formulation of one ReLU neuron
// (Anderson, Huchette, Ma, Tjandraatmadja, Vielma, "Strong mixed-integer
// programming formulations for trained neural networks", Math. Prog. 2020).
//
// For y = relu(w^T v + b) with v in a box [L, U] and the neuron's big-M
// binary z (z = 1: active), every subset I of the inputs gives a valid
// inequality
//   y <= sum_{i in I} w_i (v_i - Lw_i (1 - z)) + (b + sum_{i not in I} w_i Uw_i) z,
// Lw_i / Uw_i the bound of v_i minimising / maximising w_i v_i; together
// with the big-M rows they describe the convex hull of the neuron's graph
// over the box. The most violated one at a point (v*, y*, z*) takes i into I
// exactly when w_i (v*_i - Lw_i (1 - z*)) < w_i Uw_i z* (linear time per
// neuron). The big-M LP relaxation is much weaker (its bound is often the
// trivial one), so separating these closes part of the gap at no branching.
//
// They hold for every point of the network over the box of the bound table
// they were separated with (valid everywhere in a MIP search that only adds
// branching bounds), for ReLU neurons that directly follow a Dense layer and
// have a binary in the embedding.
#include <functional>
#include <vector>

#include "bounds/bound_table.h"
#include "formulate/embed.h"
#include "model/math_model.h"
#include "nn/network.h"

namespace nnopt::formulate {

struct IdealCut {
  model::Row row;          // sum(row.terms) <= row.hi (row.lo = -inf)
  double violation = 0.0;  // at the point, relative: (y* - rhs) / (1 + |y*|); <= 0: none
};

// True when neuron a has a separable inequality: a ReLU with a binary right
// after a Dense layer.
bool idealCutApplies(const nn::Network& net, const ReluAux& a);

// The most violated inequality of neuron a (idealCutApplies) at the point x
// (all model columns of the embedding e of net, built with table t or a
// looser one). The right-hand side carries a margin for the rounding of the
// coefficients.
IdealCut separateIdealCut(const nn::Network& net, const Embedding& e,
                          const bounds::BoundTable& t, const ReluAux& a,
                          const std::vector<double>& x);

// Over every applicable neuron: the cuts with violation > min_violation and
// at most max_terms terms (0 = any), the most violated first, at most
// max_cuts.
std::vector<IdealCut> separateIdealCuts(const nn::Network& net, const Embedding& e,
                                        const bounds::BoundTable& t,
                                        const std::vector<double>& x, double min_violation,
                                        int max_cuts, int max_terms = 0);

// A separator for solve::SolveParams::mip_cuts: each call returns the
// separateIdealCuts rows at the point (copies of e and t are kept; net must
// outlive it). max_terms: CBC's LPs slow down with dense rows; the cuts of
// neurons fed by all 784 pixels of an MNIST MLP (~350 terms each) made CBC
// 1.9-3.6x slower on sweep networks at eps 0.1 although they lift the root
// bound (mlp_2x30: -11.94 -> -9.06), so by default only cuts no denser than
// a hidden layer's rows are kept (see docs/results/ideal-cuts).
std::function<std::vector<model::Row>(const std::vector<double>& x)> idealCutSeparator(
    const nn::Network& net, const Embedding& e, const bounds::BoundTable& t,
    double min_violation = 1e-4, int max_cuts = 200, int max_terms = 64);

}  // namespace nnopt::formulate
