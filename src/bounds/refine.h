#pragma once
// Incremental CROWN bounds for a sub-box (input splitting): the bounds of a
// parent box are valid for any sub-box, so the child's bounds are the
// parent's intersected with new ones, and new symbolic (back-substituted)
// bounds are needed only for the pre-activations that matter: neurons feeding
// a ReLU/LeakyReLU that the parent's bounds leave unstable (a stable neuron's
// relaxation is exact whatever its bounds), and every neuron feeding a smooth
// activation. Deep in an input-split tree most neurons are stable, so the
// back-substitution matrices shrink to a few rows and a node costs a fraction
// of crownBounds.
//
// Same relaxations as crownBounds (relaxActivation with the given
// lower-slope mode), the same back-substitution to the input and
// concretisation over the child box, intersected with interval arithmetic
// from the previous layer and with the parent's bounds. Sound up to ordinary
// double rounding (as crownBounds); never looser than the parent's table.
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bounds {

// parent: a sound table for net over a box containing `box` (e.g. from
// crownBounds or an earlier refine). Throws Error on size mismatches.
BoundTable refineCrownBounds(
    const nn::Network& net, const spec::Box& box, const BoundTable& parent,
    ReluLowerSlope mode = ReluLowerSlope::kAdaptive);

}  // namespace nnopt::bounds
