// solve/model_file (MPS and LP files) and embedding a network over existing
// variables (formulate::EmbedOptions::input_vars / name_prefix): round trips
// re-solved by CBC give the original optimum, sense and offset included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "bounds/crown.h"
#include "core/error.h"
#include "formulate/embed.h"
#include "model/math_model.h"
#include "random_net.h"
#include "solve/model_file.h"
#include "solve/solver.h"

namespace {

using nnopt::model::kInf;
using nnopt::model::LinTerm;
using nnopt::model::MathModel;
using nnopt::model::Sense;

std::string tempPath(const std::string& name) {
  return ::testing::TempDir() + "nnopt_model_file_" + name;
}

// max 3 + 4a + 2b + c + 2d + 10e  s.t.  12a + 2b + c + d + 4e <= 15, binaries:
// optimum {b, c, d, e} = 3 + 15 = 18.
MathModel knapsack() {
  MathModel m;
  const std::vector<double> w = {12, 2, 1, 1, 4}, v = {4, 2, 1, 2, 10};
  std::vector<LinTerm> row;
  for (size_t i = 0; i < w.size(); ++i) {
    const int j = m.addVar(0, 1, true, "item" + std::to_string(i));
    row.push_back({j, w[i]});
    m.objLinear().push_back({j, v[i]});
  }
  m.addRow(row, -kInf, 15, "weight");
  m.setSense(Sense::kMaximize);
  m.setObjOffset(3);
  return m;
}

class ModelFile : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelFile, RoundTripKeepsOptimumIntegralityAndOffset) {
  const MathModel m = knapsack();
  const auto s0 = nnopt::solve::solveMip(m);
  ASSERT_EQ(s0.status, nnopt::solve::SolveStatus::kOptimal);
  ASSERT_NEAR(s0.objective, 18.0, 1e-9);
  const std::string path = tempPath("knapsack." + GetParam());
  nnopt::solve::writeModelFile(m, path);
  const MathModel back = nnopt::solve::readModelFile(path);
  std::remove(path.c_str());
  EXPECT_EQ(back.numVars(), 5);
  EXPECT_EQ(back.numIntegers(), 5);
  EXPECT_EQ(back.sense(), Sense::kMinimize);  // a maximisation is written as min -f
  EXPECT_EQ(back.vars()[2].name, "item2");
  const auto s1 = nnopt::solve::solveMip(back);
  ASSERT_EQ(s1.status, nnopt::solve::SolveStatus::kOptimal);
  EXPECT_NEAR(s1.objective, -18.0, 1e-9);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(s1.x[j], s0.x[j], 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Formats, ModelFile, ::testing::Values("mps", "lp"));

TEST(ModelFile, RefusesNonlinearModelsAndOtherExtensions) {
  MathModel m;
  const int a = m.addVar(0, 1), b = m.addVar(0, 1);
  nnopt::model::Row r;
  r.terms = {{a, 1.0}};
  r.nl = {nnopt::model::NlKind::kProduct, a, b, 1.0, 0.0};
  r.hi = 0;
  m.addRow(r);
  EXPECT_THROW(nnopt::solve::writeModelFile(m, tempPath("nl.mps")), nnopt::Error);
  EXPECT_THROW(nnopt::solve::writeModelFile(knapsack(), tempPath("k.txt")), nnopt::Error);
  EXPECT_THROW(nnopt::solve::readModelFile(tempPath("missing.mps")), nnopt::Error);
}

TEST(EmbedOverExistingVariables, SameOptimumAsOwnInputsAndPrefixedNames) {
  const nnopt::nn::Network net = nnopt::test::randomNet({6, 8, 8, 3}, 7);
  nnopt::spec::Box box{Eigen::VectorXd::Constant(6, -1.0), Eigen::VectorXd::Constant(6, 1.0)};
  const auto bt = nnopt::bounds::crownBounds(net, box);
  auto optimum = [&](bool reuse) {
    MathModel m;
    nnopt::formulate::EmbedOptions opt;
    std::vector<int> given;
    if (reuse) {
      for (int i = 0; i < 6; ++i) given.push_back(m.addVar(-1, 1, false, "u" + std::to_string(i)));
      opt.input_vars = given;
      opt.name_prefix = "n_";
    }
    const auto e = nnopt::formulate::embedNetwork(m, net, bt, opt);
    if (reuse) {
      EXPECT_EQ(e.input_vars, given);
      std::set<std::string> names;
      for (int j = 6; j < m.numVars(); ++j) {
        EXPECT_EQ(m.vars()[j].name.rfind("n_", 0), 0u) << m.vars()[j].name;
        names.insert(m.vars()[j].name);
      }
      EXPECT_EQ(names.size(), static_cast<size_t>(m.numVars() - 6));  // distinct
    }
    m.objLinear() = {{e.output_vars[0], 1.0}, {e.output_vars[2], -1.0}};
    const auto s = nnopt::solve::solveMip(m);
    EXPECT_EQ(s.status, nnopt::solve::SolveStatus::kOptimal);
    return s.objective;
  };
  EXPECT_NEAR(optimum(true), optimum(false), 1e-7);
}

TEST(EmbedOverExistingVariables, WrongCountOrIndexThrows) {
  const nnopt::nn::Network net = nnopt::test::randomNet({4, 5, 2}, 3);
  nnopt::spec::Box box{Eigen::VectorXd::Zero(4), Eigen::VectorXd::Ones(4)};
  const auto bt = nnopt::bounds::crownBounds(net, box);
  MathModel m;
  nnopt::formulate::EmbedOptions opt;
  opt.input_vars = {m.addVar(0, 1), m.addVar(0, 1)};
  EXPECT_THROW(nnopt::formulate::embedNetwork(m, net, bt, opt), nnopt::Error);
  opt.input_vars = {0, 1, 2, 99};
  EXPECT_THROW(nnopt::formulate::embedNetwork(m, net, bt, opt), nnopt::Error);
}

}  // namespace
