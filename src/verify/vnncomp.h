#pragma once
// VNN-COMP conventions: the result file, instance lists, a results table and
// scoring against a reference table.
//
// Result file: first line sat | unsat | timeout | unknown | error; for sat the
// counterexample follows in the 2022+ format
//   ((X_0 v)
//    (X_1 v)
//    ...
//    (Y_0 v)
//    (Y_m v))
// with every value printed to 17 significant digits (round-trips a double).
//
// CSV files are plain comma-separated (no quoting; names must not contain
// commas); a first line that is not data (no numeric timeout / a header row)
// is skipped where noted. Readers throw Error("PATH: line N: cause").
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "verify/verify.h"

namespace nnopt::verify {

std::string formatResultFile(VerifyAnswer a, const Eigen::VectorXd& x = {},
                             const Eigen::VectorXd& y = {});
std::string formatErrorResult();  // "error\n"

// One benchmark instance; paths as written in the list (relative to its folder).
struct Instance {
  std::string onnx;
  std::string vnnlib;
  double timeout_s = 0.0;
};

// instances.csv of a VNN-COMP benchmark: rows `onnx,vnnlib,timeout` (no header).
std::vector<Instance> readInstancesCsv(const std::string& path);
// reference.csv (header with at least network, property, timeout_s): the
// instance list it describes.
std::vector<Instance> instancesFromReference(const std::string& path);

// One row of results.csv: network,property,result,time_s (with a header line).
struct ResultRow {
  std::string network;   // file name of the ONNX network (no folder)
  std::string property;  // file name of the VNN-LIB property
  std::string result;    // sat, unsat, timeout, unknown, error
  double time_s = 0.0;
};
inline constexpr const char* kResultsHeader = "network,property,result,time_s";

// Rows of results.csv; a missing file gives no rows. Malformed lines and a
// last line without '\n' (a row cut by a kill) are skipped.
std::vector<ResultRow> readResultsCsv(const std::string& path);
// Appends one row as a single write (writing the header first when the file
// is new or empty), then fsyncs, never cut by SIGINT/SIGTERM (core/append.h).
// Throws Error when the file cannot be written.
void appendResultRow(const std::string& path, const ResultRow& row);

struct ReferenceRow {
  std::string network, property, verdict;
  double best_time_s = 0.0;
  double timeout_s = 0.0;
};
// reference.csv with a header naming network, property, verdict and
// optionally best_time_s, timeout_s.
std::vector<ReferenceRow> readReferenceCsv(const std::string& path);

struct ScoreSummary {
  int total = 0;  // reference instances
  int correct_sat = 0;
  int correct_unsat = 0;
  int wrong = 0;                        // sat where the reference says unsat or vice versa
  int unsolved = 0;                     // timeout, unknown, error or missing from the results
  int missing = 0;                      // of unsolved: no row in the results
  int unchecked = 0;                    // sat/unsat where the reference has no verdict
  std::vector<std::string> wrong_list;  // "network property: got X, reference Y"
  double total_time_s = 0.0;            // sum over result rows matched to the reference
  double median_time_s = 0.0;           // over all matched rows
  double median_solved_time_s = 0.0;    // over correct answers
};

// Matches rows by (file name of network, file name of property); when a
// result appears several times the last row counts.
ScoreSummary scoreResults(const std::vector<ResultRow>& results,
                          const std::vector<ReferenceRow>& reference);

// File name without folders ("a/b/c.onnx" -> "c.onnx").
std::string baseName(const std::string& path);

}  // namespace nnopt::verify
