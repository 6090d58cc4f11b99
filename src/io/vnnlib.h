#pragma once
// VNN-LIB property reader (the subset of SMT-LIB used by VNN-COMP 2021-2024).
//
// A .vnnlib file describes the UNSAFE set: the conjunction of all its asserts
// over inputs X_i (0 <= i < num_inputs) and outputs Y_j (0 <= j < num_outputs).
//
// Accepted text:
//  - S-expressions; `;` comments to end of line; |quoted| symbols; "strings"
//    (only inside ignored commands).
//  - (declare-const X_<i> Real), (declare-const Y_<j> Real); every variable
//    must be declared before use, at most once.
//  - (assert F); (set-logic ..), (set-info ..), (set-option ..), (check-sat),
//    (get-model), (exit) are ignored.
//  - F: (and F...), (or F...), (not F) (negation is pushed to the atoms),
//    true, false, and comparisons (<= a b ...), (>= ...), (< ...), (> ...),
//    (= a b ...). Strict comparisons are read as non-strict (closure of the
//    unsafe set, the VNN-COMP convention). Chains (<= a b c) mean a<=b and
//    b<=c. `not` of `=` is unsupported.
//  - terms a, b: numbers (123, -0.5, 1.5e-3, .5, +2), variables, (- t) and
//    (- t1 t2 ...), (+ t...), (* t...) with at most one non-constant factor,
//    (/ t c) with constant c != 0. Terms must be linear.
//
// Semantics: the formula is put in disjunctive normal form. In each disjunct,
// constraints that mention X must be bounds on a single X_i (c*X_i + d vs a
// constant; `=` gives both bounds); constraints on Y only become
// OutputConstraints; a constraint mixing X and Y, or several X, is an error.
// Every X_i must get a lower and an upper bound in every disjunct, and no box
// may be empty (lo > hi). Disjuncts with the same input box are grouped into
// one PropertyCase; Property::cases always holds the exact paired view and
// input_boxes / unsafe hold the product view (see spec/property.h; check
// Property::isProduct() before using the product view alone).
// Disjuncts that contain a constant-false comparison are dropped; if none is
// left, that is an error (the unsafe set is empty).
//
// Errors: Error("PATH: [line N: ]cause"), one line, for unreadable files,
// syntax errors (unbalanced parentheses, unknown operator, bad number),
// undeclared / out-of-range / badly named variables, non-linear terms,
// unsupported constraints on X, missing bounds, empty boxes and a DNF with
// more than kVnnlibMaxDisjuncts disjuncts.
#include <cstdint>
#include <string>

#include "spec/property.h"

namespace nnopt::io {

inline constexpr int64_t kVnnlibMaxDisjuncts = 100000;

spec::Property loadVnnlib(const std::string& path, int64_t num_inputs, int64_t num_outputs);

// Same, from text in memory (name is used in messages in place of the path).
spec::Property parseVnnlib(const std::string& text, const std::string& name, int64_t num_inputs,
                           int64_t num_outputs);

}  // namespace nnopt::io
