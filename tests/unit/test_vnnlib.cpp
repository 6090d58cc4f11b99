#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/vnnlib.h"

using namespace nnopt;

namespace {

std::string declare(int nin, int nout) {
  std::string s;
  for (int i = 0; i < nin; ++i) s += "(declare-const X_" + std::to_string(i) + " Real)\n";
  for (int j = 0; j < nout; ++j) s += "(declare-const Y_" + std::to_string(j) + " Real)\n";
  return s;
}

// Bounds lo <= X_i <= hi for all i.
std::string box(int nin, double lo, double hi) {
  std::string s;
  for (int i = 0; i < nin; ++i) {
    s += "(assert (<= X_" + std::to_string(i) + " " + std::to_string(hi) + "))\n";
    s += "(assert (>= X_" + std::to_string(i) + " " + std::to_string(lo) + "))\n";
  }
  return s;
}

spec::Property parse(const std::string& text, int nin, int nout) {
  return io::parseVnnlib(text, "test.vnnlib", nin, nout);
}

Eigen::VectorXd vec(std::vector<double> v) {
  return Eigen::Map<Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

// Expects parse() to throw an Error whose one-line message starts with the
// name and contains every given fragment.
void expectError(const std::string& text, int nin, int nout,
                 const std::vector<std::string>& fragments) {
  try {
    parse(text, nin, nout);
    ADD_FAILURE() << "no error; expected one containing '" << fragments.front() << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("test.vnnlib: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << msg << "\n  lacks: " << f;
  }
}

const char* kAcasProp3 = R"(; ACAS Xu property 3

(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const X_2 Real)
(declare-const X_3 Real)
(declare-const X_4 Real)

(declare-const Y_0 Real)
(declare-const Y_1 Real)
(declare-const Y_2 Real)
(declare-const Y_3 Real)
(declare-const Y_4 Real)

; Unscaled Input 0: (1500, 1800)
(assert (<= X_0 -0.298552812))
(assert (>= X_0 -0.303531156))
(assert (<= X_1 0.009549297))
(assert (>= X_1 -0.009549297))
(assert (<= X_2 0.5))
(assert (>= X_2 0.493380324))
(assert (<= X_3 0.5))
(assert (>= X_3 0.3))
(assert (<= X_4 0.5))
(assert (>= X_4 0.3))

; Unsafe if COC is minimal
(assert (<= Y_0 Y_1))
(assert (<= Y_0 Y_2))
(assert (<= Y_0 Y_3))
(assert (<= Y_0 Y_4))
)";

}  // namespace

TEST(Vnnlib, AcasStyleOneConjunction) {
  auto p = parse(kAcasProp3, 5, 5);
  ASSERT_EQ(p.input_boxes.size(), 1u);
  ASSERT_EQ(p.cases.size(), 1u);
  EXPECT_TRUE(p.isProduct());
  const auto& b = p.input_boxes[0];
  EXPECT_DOUBLE_EQ(b.lo[0], -0.303531156);
  EXPECT_DOUBLE_EQ(b.hi[0], -0.298552812);
  EXPECT_DOUBLE_EQ(b.lo[1], -0.009549297);
  EXPECT_DOUBLE_EQ(b.hi[4], 0.5);
  EXPECT_DOUBLE_EQ(b.lo[4], 0.3);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 1u);
  const auto& conj = p.unsafe.disjuncts[0];
  ASSERT_EQ(conj.size(), 4u);
  // Y_0 - Y_1 <= 0
  ASSERT_EQ(conj[0].coefs.size(), 2u);
  EXPECT_EQ(conj[0].coefs[0], (std::pair<int, double>{0, 1.0}));
  EXPECT_EQ(conj[0].coefs[1], (std::pair<int, double>{1, -1.0}));
  EXPECT_EQ(conj[0].rhs, 0.0);
  // satisfiedBy: COC (Y_0) minimal -> unsafe.
  EXPECT_TRUE(p.unsafe.satisfiedBy(vec({0, 1, 2, 3, 4})));
  EXPECT_TRUE(p.unsafe.satisfiedBy(vec({1, 1, 1, 1, 1})));  // ties count (non-strict)
  EXPECT_FALSE(p.unsafe.satisfiedBy(vec({2, 1, 3, 3, 3})));
  EXPECT_TRUE(p.unsafe.satisfiedBy(vec({1.05, 1, 3, 3, 3}), 0.1));  // tolerance
  EXPECT_EQ(p.cases[0].unsafe.disjuncts, p.unsafe.disjuncts);
}

TEST(Vnnlib, AcasProperty1SingleOutputBound) {
  auto p = parse(declare(5, 5) + box(5, -0.5, 0.5) +
                     "; Unsafe if COC >= 1500\n(assert (>= Y_0 3.991125645861615))\n",
                 5, 5);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 1u);
  const auto& c = p.unsafe.disjuncts[0][0];
  // -Y_0 <= -3.99...
  EXPECT_EQ(c.coefs, (std::vector<std::pair<int, double>>{{0, -1.0}}));
  EXPECT_DOUBLE_EQ(c.rhs, -3.991125645861615);
  EXPECT_TRUE(p.unsafe.satisfiedBy(vec({4, 0, 0, 0, 0})));
  EXPECT_FALSE(p.unsafe.satisfiedBy(vec({3.9, 0, 0, 0, 0})));
}

TEST(Vnnlib, MnistStyleOutputDisjunction) {
  std::string t = "; Mnist property with label: 8.\n" + declare(784, 10) + box(784, 0.0, 0.03);
  t += "\n; Output constraints:\n(assert (or\n";
  for (int j = 0; j < 10; ++j)
    if (j != 8) t += "    (and (>= Y_" + std::to_string(j) + " Y_8))\n";
  t += "))";
  auto p = parse(t, 784, 10);
  ASSERT_EQ(p.input_boxes.size(), 1u);
  EXPECT_EQ(p.input_boxes[0].size(), 784);
  EXPECT_EQ(p.input_boxes[0].lo.maxCoeff(), 0.0);
  EXPECT_DOUBLE_EQ(p.input_boxes[0].hi.minCoeff(), 0.03);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 9u);
  EXPECT_TRUE(p.isProduct());
  for (const auto& d : p.unsafe.disjuncts) ASSERT_EQ(d.size(), 1u);
  Eigen::VectorXd y = Eigen::VectorXd::Zero(10);
  y[8] = 5;  // label 8 wins -> safe
  EXPECT_FALSE(p.unsafe.satisfiedBy(y));
  y[3] = 5.5;  // 3 beats 8 -> unsafe
  EXPECT_TRUE(p.unsafe.satisfiedBy(y));
  y[3] = 5;  // tie -> unsafe (non-strict)
  EXPECT_TRUE(p.unsafe.satisfiedBy(y));
}

TEST(Vnnlib, DisjunctionOfBoxesWithPerBoxOutputs) {
  const std::string t = declare(2, 2) + R"(
(assert (or
  (and (>= X_0 0) (<= X_0 0.5) (>= X_1 0) (<= X_1 1) (<= Y_0 Y_1))
  (and (>= X_0 0.5) (<= X_0 1) (>= X_1 0) (<= X_1 1) (>= Y_0 2))
))
)";
  auto p = parse(t, 2, 2);
  ASSERT_EQ(p.cases.size(), 2u);
  EXPECT_FALSE(p.isProduct());
  EXPECT_DOUBLE_EQ(p.cases[0].input.hi[0], 0.5);
  EXPECT_DOUBLE_EQ(p.cases[1].input.lo[0], 0.5);
  ASSERT_EQ(p.cases[0].unsafe.disjuncts.size(), 1u);
  ASSERT_EQ(p.cases[1].unsafe.disjuncts.size(), 1u);
  // Product view: both boxes, union of the disjuncts (over-approximation).
  ASSERT_EQ(p.input_boxes.size(), 2u);
  EXPECT_EQ(p.unsafe.disjuncts.size(), 2u);
  // Exact pairing through isUnsafe.
  EXPECT_TRUE(p.isUnsafe(vec({0.2, 0.5}), vec({0, 1})));    // box 1, Y_0 <= Y_1
  EXPECT_FALSE(p.isUnsafe(vec({0.2, 0.5}), vec({3, 1})));   // box 1, only box-2 condition holds
  EXPECT_TRUE(p.isUnsafe(vec({0.8, 0.5}), vec({3, 1})));    // box 2, Y_0 >= 2
  EXPECT_FALSE(p.isUnsafe(vec({0.8, 0.5}), vec({0, 1})));   // box 2, only box-1 condition holds
  EXPECT_FALSE(p.isUnsafe(vec({1.5, 0.5}), vec({3, 1})));   // outside both boxes
  EXPECT_TRUE(p.cases[1].unsafe.satisfiedBy(vec({2, 7})));
  EXPECT_FALSE(p.cases[1].unsafe.satisfiedBy(vec({1.9, 7})));
}

TEST(Vnnlib, SameBoxDisjunctsAreGrouped) {
  const std::string t = declare(1, 2) + R"(
(assert (or (and (>= X_0 0) (<= X_0 1) (>= Y_0 1))
            (and (<= X_0 1) (>= X_0 0) (>= Y_1 1))))
)";
  auto p = parse(t, 1, 2);
  ASSERT_EQ(p.cases.size(), 1u);
  EXPECT_TRUE(p.isProduct());
  EXPECT_EQ(p.unsafe.disjuncts.size(), 2u);
}

TEST(Vnnlib, InputDisjunctionWithCommonOutputIsProduct) {
  const std::string t = declare(1, 1) + R"(
(assert (or (and (>= X_0 0) (<= X_0 1)) (and (>= X_0 2) (<= X_0 3))))
(assert (>= Y_0 0))
)";
  auto p = parse(t, 1, 1);
  ASSERT_EQ(p.cases.size(), 2u);
  EXPECT_TRUE(p.isProduct());
  ASSERT_EQ(p.input_boxes.size(), 2u);
  EXPECT_EQ(p.input_boxes[1].lo[0], 2.0);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 1u);
  EXPECT_TRUE(p.isUnsafe(vec({2.5}), vec({1})));
  EXPECT_FALSE(p.isUnsafe(vec({1.5}), vec({1})));
}

TEST(Vnnlib, NestedAndOrToDnf) {
  // box AND (A or B) AND (C or (D and E)) -> 4 disjuncts.
  const std::string t = declare(1, 3) + R"(
(assert (and (>= X_0 0) (<= X_0 1)
  (or (>= Y_0 1) (>= Y_1 1))
  (or (>= Y_2 1) (and (<= Y_0 5) (<= Y_1 5)))))
)";
  auto p = parse(t, 1, 3);
  ASSERT_EQ(p.cases.size(), 1u);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 4u);
  std::vector<size_t> sizes;
  for (const auto& d : p.unsafe.disjuncts) sizes.push_back(d.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 3, 2, 3}));
  // Semantics: compare with direct evaluation on a grid of outputs.
  for (double a : {0.0, 2.0, 6.0})
    for (double b : {0.0, 2.0, 6.0})
      for (double c : {0.0, 2.0}) {
        const bool expect = (a >= 1 || b >= 1) && (c >= 1 || (a <= 5 && b <= 5));
        EXPECT_EQ(p.unsafe.satisfiedBy(vec({a, b, c})), expect) << a << " " << b << " " << c;
      }
}

TEST(Vnnlib, DeeplyNestedMixedXY) {
  // (or (and box1 (or Ya Yb)) (and box2 Yc)) nested inside an and with a common bound.
  const std::string t = declare(2, 2) + R"(
(assert (and (>= X_1 -1) (<= X_1 1)
  (or (and (>= X_0 0) (<= X_0 1) (or (>= Y_0 1) (>= Y_1 1)))
      (and (>= X_0 2) (<= X_0 3) (<= Y_0 -1)))))
)";
  auto p = parse(t, 2, 2);
  ASSERT_EQ(p.cases.size(), 2u);
  EXPECT_EQ(p.cases[0].unsafe.disjuncts.size(), 2u);
  EXPECT_EQ(p.cases[1].unsafe.disjuncts.size(), 1u);
  EXPECT_EQ(p.cases[1].input.lo[1], -1.0);
  EXPECT_TRUE(p.isUnsafe(vec({0.5, 0}), vec({0, 1})));
  EXPECT_FALSE(p.isUnsafe(vec({2.5, 0}), vec({0, 1})));
  EXPECT_TRUE(p.isUnsafe(vec({2.5, 0}), vec({-2, 1})));
}

TEST(Vnnlib, LinearTerms) {
  const std::string t = declare(2, 3) + R"(
(assert (<= (* 2 X_0) 1))            ; X_0 <= 0.5
(assert (>= (- X_0) (- 1)))          ; X_0 <= 1 (looser)
(assert (>= (+ X_0 1) 0.75))         ; X_0 >= -0.25
(assert (<= 0 (* X_1 4) 2))          ; chain: 0 <= 4 X_1 <= 2
(assert (<= (* 2.0 Y_0) (+ Y_1 (* 3 Y_2) 1)))
(assert (>= (- Y_0 Y_1 Y_2) -0.5))
(assert (<= (/ Y_2 2) (* -1 (- 0.5))))
(assert (<= (+ Y_0 Y_0 (- Y_1 Y_1)) 4))
)";
  auto p = parse(t, 2, 3);
  const auto& b = p.input_boxes.at(0);
  EXPECT_DOUBLE_EQ(b.lo[0], -0.25);
  EXPECT_DOUBLE_EQ(b.hi[0], 0.5);
  EXPECT_DOUBLE_EQ(b.lo[1], 0.0);
  EXPECT_DOUBLE_EQ(b.hi[1], 0.5);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 1u);
  const auto& c = p.unsafe.disjuncts[0];
  ASSERT_EQ(c.size(), 4u);
  // 2 Y_0 - Y_1 - 3 Y_2 <= 1
  EXPECT_EQ(c[0].coefs, (std::vector<std::pair<int, double>>{{0, 2.0}, {1, -1.0}, {2, -3.0}}));
  EXPECT_DOUBLE_EQ(c[0].rhs, 1.0);
  // -(Y_0 - Y_1 - Y_2) <= 0.5
  EXPECT_EQ(c[1].coefs, (std::vector<std::pair<int, double>>{{0, -1.0}, {1, 1.0}, {2, 1.0}}));
  EXPECT_DOUBLE_EQ(c[1].rhs, 0.5);
  // Y_2 / 2 <= 0.5
  EXPECT_EQ(c[2].coefs, (std::vector<std::pair<int, double>>{{2, 0.5}}));
  EXPECT_DOUBLE_EQ(c[2].rhs, 0.5);
  // 2 Y_0 <= 4 (Y_1 cancels)
  EXPECT_EQ(c[3].coefs, (std::vector<std::pair<int, double>>{{0, 2.0}}));
  EXPECT_DOUBLE_EQ(c[3].rhs, 4.0);
  EXPECT_TRUE(p.unsafe.satisfiedBy(vec({1, 0.5, 0.5})));
  EXPECT_FALSE(p.unsafe.satisfiedBy(vec({3, 1, 1})));  // 2*3 - 1 - 3 = 2 > 1
  EXPECT_FALSE(p.unsafe.satisfiedBy(vec({1, 1, 1})));  // -(1 - 1 - 1) = 1 > 0.5
}

TEST(Vnnlib, NumbersCommentsAndWhitespace) {
  const std::string t =
      "; header comment with (unbalanced ( parens\n" + declare(4, 1) +
      "(assert (>= X_0 1e-3)) ; trailing comment )\n"
      "(assert (<= X_0 1.5E+2))\n"
      "(assert\t(>=\r\n X_1 -2.5e-1))(assert (<= X_1 .5))\n"
      "(assert (>= X_2 -7)) (assert (<= X_2 +3))\n"
      "(assert (>= X_3 (- 0.5)))\n"
      "(assert (<= X_3 -0.0))\n"
      "(assert (> Y_0 12345678901234567890))\n";
  auto p = parse(t, 4, 1);
  const auto& b = p.input_boxes.at(0);
  EXPECT_DOUBLE_EQ(b.lo[0], 1e-3);
  EXPECT_DOUBLE_EQ(b.hi[0], 150.0);
  EXPECT_DOUBLE_EQ(b.lo[1], -0.25);
  EXPECT_DOUBLE_EQ(b.hi[1], 0.5);
  EXPECT_DOUBLE_EQ(b.lo[2], -7.0);
  EXPECT_DOUBLE_EQ(b.hi[2], 3.0);
  EXPECT_DOUBLE_EQ(b.lo[3], -0.5);
  EXPECT_EQ(b.hi[3], 0.0);
  EXPECT_DOUBLE_EQ(p.unsafe.disjuncts.at(0).at(0).rhs, -12345678901234567890.0);
}

TEST(Vnnlib, EqualityStrictNotAndIgnoredCommands) {
  const std::string t = "(set-logic QF_LRA)\n(set-info :source |made up|)\n" + declare(2, 2) + R"(
(assert (= X_0 0.25))
(assert (and (< 0 X_1) (> 1 X_1)))
(assert (not (or (> Y_0 Y_1) (< Y_1 -1))))
(assert (= Y_0 (* 2 Y_1)))
(assert true)
(check-sat)
(get-model)
(exit)
)";
  auto p = parse(t, 2, 2);
  const auto& b = p.input_boxes.at(0);
  EXPECT_EQ(b.lo[0], 0.25);
  EXPECT_EQ(b.hi[0], 0.25);
  EXPECT_EQ(b.lo[1], 0.0);
  EXPECT_EQ(b.hi[1], 1.0);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 1u);
  const auto& c = p.unsafe.disjuncts[0];
  ASSERT_EQ(c.size(), 4u);  // Y_0 <= Y_1, Y_1 >= -1, and two for '='
  EXPECT_TRUE(p.unsafe.satisfiedBy(vec({2, 1})) == false);  // 2 > 1
  EXPECT_TRUE(p.unsafe.satisfiedBy(vec({-1, -0.5})));       // -1 <= -0.5, -0.5 >= -1, -1 = 2*-0.5
  EXPECT_FALSE(p.unsafe.satisfiedBy(vec({-1.2, -0.5})));    // '=' violated
}

TEST(Vnnlib, ConstantFalseDisjunctIsDropped) {
  const std::string t = declare(1, 2) + box(1, 0, 1) + R"(
(assert (or (and (<= 1 0) (>= Y_0 1)) (>= Y_1 2) false))
)";
  auto p = parse(t, 1, 2);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 1u);
  EXPECT_EQ(p.unsafe.disjuncts[0][0].coefs[0].first, 1);
}

TEST(Vnnlib, NoOutputConstraintMeansWholeOutputSpace) {
  auto p = parse(declare(1, 1) + box(1, 0, 1), 1, 1);
  ASSERT_EQ(p.unsafe.disjuncts.size(), 1u);
  EXPECT_TRUE(p.unsafe.disjuncts[0].empty());
  EXPECT_TRUE(p.unsafe.satisfiedBy(vec({123})));
}

TEST(Vnnlib, LoadFromFile) {
  const std::string path = testing::TempDir() + "/nnopt_test_prop3.vnnlib";
  {
    std::ofstream out(path);
    out << kAcasProp3;
  }
  auto p = io::loadVnnlib(path, 5, 5);
  EXPECT_EQ(p.unsafe.disjuncts.at(0).size(), 4u);
  std::remove(path.c_str());
  try {
    io::loadVnnlib(path, 5, 5);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

TEST(Vnnlib, ErrorMissingBounds) {
  std::string t = declare(5, 1) + box(3, 0, 1) + "(assert (<= X_3 1))\n(assert (>= X_4 0))\n";
  expectError(t, 5, 1, {"X_3 has no lower bound"});
  t = declare(5, 1) + box(3, 0, 1) + "(assert (>= X_3 1))\n(assert (>= X_4 0))\n";
  expectError(t, 5, 1, {"X_3 has no upper bound"});
  // Missing bound in the second disjunct of a box disjunction.
  t = declare(1, 1) + "(assert (or (and (>= X_0 0) (<= X_0 1) (>= Y_0 0)) (and (>= X_0 2) (>= Y_0 1))))";
  expectError(t, 1, 1, {"X_0 has no upper bound", "disjunct 2 of 2"});
  // X declared but never constrained.
  expectError(declare(2, 1) + box(1, 0, 1), 2, 1, {"X_1 has no lower bound"});
}

TEST(Vnnlib, ErrorEmptyBox) {
  expectError(declare(1, 1) + "(assert (>= X_0 0.7))\n(assert (<= X_0 0.2))\n", 1, 1,
              {"empty input box", "X_0", "0.7", "0.2"});
}

TEST(Vnnlib, ErrorIndexOutOfRange) {
  expectError(declare(6, 1) + box(5, 0, 1), 5, 1, {"line 6", "X_5 is out of range", "5 inputs"});
  expectError(declare(1, 3) + box(1, 0, 1), 1, 2, {"Y_2 is out of range", "2 outputs"});
  expectError(declare(1, 1) + "(declare-const X_99999999999999999999 Real)", 1, 1, {"out of range"});
}

TEST(Vnnlib, ErrorUndeclaredAndBadDeclarations) {
  expectError("(declare-const X_0 Real)\n(assert (<= X_0 1))\n(assert (>= Y_0 1))\n", 1, 1,
              {"line 3", "Y_0 is used but not declared"});
  expectError(declare(1, 1) + "(declare-const X_0 Real)", 1, 1, {"X_0 is declared twice"});
  expectError("(declare-const Z Real)", 1, 1, {"unsupported variable name 'Z'"});
  expectError("(declare-const X_0 Int)", 1, 1, {"only Real"});
  expectError(declare(1, 1) + "(assert (<= X_0 foo))", 1, 1, {"unknown symbol 'foo'"});
}

TEST(Vnnlib, ErrorSyntax) {
  // Missing ')': reported at the line where the unclosed '(' starts.
  expectError(declare(1, 1) + "(assert (<= X_0 1))\n(assert (>= X_0 0)\n(assert (>= Y_0 1))\n", 1, 1,
              {"line 4", "unbalanced parentheses", "never closed"});
  expectError(declare(1, 1) + "(assert (<= X_0 1)))\n", 1, 1,
              {"line 3", "unbalanced parentheses", "unexpected ')'"});
  expectError(declare(1, 1) + box(1, 0, 1) + "(assert (foo Y_0 1))", 1, 1,
              {"line 5", "unknown operator 'foo'"});
  expectError(declare(1, 1) + box(1, 0, 1) + "(assert (>= Y_0 (sin X_0)))", 1, 1,
              {"unknown operator 'sin'"});
  expectError(declare(1, 1) + "(assert (<= X_0 1.2.3))", 1, 1, {"line 3", "bad number '1.2.3'"});
  expectError(declare(1, 1) + "(assert (<= X_0 0.5x))", 1, 1, {"bad number '0.5x'"});
  expectError(declare(1, 1) + "(assert (<= X_0 1e999))", 1, 1, {"bad number"});
  expectError(declare(1, 1) + "(frobnicate)", 1, 1, {"unknown command 'frobnicate'"});
  expectError(declare(1, 1) + "X_0", 1, 1, {"expected '(' at top level"});
  expectError(declare(1, 1) + "(assert (<= X_0 1) (>= X_0 0))", 1, 1, {"exactly one formula"});
  expectError(declare(1, 1) + "(assert |X_0)", 1, 1, {"unterminated quoted symbol"});
  expectError(declare(1, 1) + "(assert X_0)", 1, 1, {"expected a formula, got 'X_0'"});
  expectError(declare(1, 1) + "(assert " + std::string(20000, '(') + std::string(20000, ')') + ")",
              1, 1, {"line 3", "nested deeper"});
}

TEST(Vnnlib, ErrorUnsupportedConstraints) {
  const std::string d = declare(2, 2) + box(2, 0, 1);
  expectError(d + "(assert (<= X_0 Y_0))", 2, 2, {"mixing inputs and outputs", "X_0", "Y_0"});
  expectError(d + "(assert (<= X_0 X_1))", 2, 2, {"several inputs", "X_0", "X_1"});
  expectError(d + "(assert (<= (* Y_0 Y_1) 1))", 2, 2, {"non-linear"});
  expectError(d + "(assert (<= (/ 1 Y_1) 1))", 2, 2, {"non-linear"});
  expectError(d + "(assert (<= (/ Y_1 0) 1))", 2, 2, {"division by zero"});
  expectError(d + "(assert (not (= Y_0 1)))", 2, 2, {"negation of '='"});
  expectError(d + "(assert (or (<= 1 0) (<= 2 0)))", 2, 2, {"contradictory", "empty"});
}

TEST(Vnnlib, ErrorDnfBlowUp) {
  // 17 binary disjunctions: 2^17 = 131072 > 100000 disjuncts.
  std::string t = declare(1, 2) + box(1, 0, 1);
  for (int k = 0; k < 17; ++k)
    t += "(assert (or (>= Y_0 " + std::to_string(k) + ") (>= Y_1 " + std::to_string(k) + ")))\n";
  expectError(t, 1, 2, {"100000", "disjuncts"});
  // 16 are fine (65536).
  std::string ok = declare(1, 2) + box(1, 0, 1);
  for (int k = 0; k < 16; ++k)
    ok += "(assert (or (>= Y_0 " + std::to_string(k) + ") (>= Y_1 " + std::to_string(k) + ")))\n";
  EXPECT_EQ(parse(ok, 1, 2).unsafe.disjuncts.size(), 65536u);
}

TEST(Vnnlib, ManyBoxDisjunctsAreFast) {
  // 20000 disjuncts, each its own 5-input box and output constraint.
  std::string t = declare(5, 5) + "(assert (or\n";
  for (int k = 0; k < 20000; ++k) {
    t += " (and";
    for (int i = 0; i < 5; ++i)
      t += " (>= X_" + std::to_string(i) + " " + std::to_string(k) + ") (<= X_" +
           std::to_string(i) + " " + std::to_string(k + 1) + ")";
    t += " (<= Y_0 Y_" + std::to_string(1 + k % 4) + "))\n";
  }
  t += "))\n";
  auto p = parse(t, 5, 5);
  EXPECT_EQ(p.cases.size(), 20000u);
  EXPECT_EQ(p.input_boxes.size(), 20000u);
  EXPECT_FALSE(p.isProduct());
  EXPECT_TRUE(p.isUnsafe(vec({7.5, 7.5, 7.5, 7.5, 7.5}), vec({0, 0, 0, 0, 1})));  // k = 7 -> Y_4
  EXPECT_FALSE(p.isUnsafe(vec({7.5, 7.5, 7.5, 7.5, 7.5}), vec({0, 1, 1, 1, -1})));
}
