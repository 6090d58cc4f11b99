#include "verify/vnncomp.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "core/append.h"
#include "core/error.h"

namespace nnopt::verify {

namespace {

std::string num17(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

std::vector<std::string> splitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream ss(line);
  while (std::getline(ss, cur, ',')) out.push_back(trim(cur));
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

bool parseDouble(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno == 0 && std::isfinite(v);
}

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

std::string where(const std::string& path, size_t line) {
  return path + ": line " + std::to_string(line + 1) + ": ";
}

// Column index of name in a header (lower-case compare); -1 when absent.
int column(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = header[i];
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
    if (h == name) return static_cast<int>(i);
  }
  return -1;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::string baseName(const std::string& path) {
  size_t p = path.find_last_of('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

std::string formatResultFile(VerifyAnswer a, const Eigen::VectorXd& x, const Eigen::VectorXd& y) {
  std::string s = std::string(answerName(a)) + "\n";
  if (a != VerifyAnswer::kSat) return s;
  std::vector<std::string> items;
  for (Eigen::Index i = 0; i < x.size(); ++i)
    items.push_back("(X_" + std::to_string(i) + " " + num17(x[i]) + ")");
  for (Eigen::Index j = 0; j < y.size(); ++j)
    items.push_back("(Y_" + std::to_string(j) + " " + num17(y[j]) + ")");
  s += "(";
  for (size_t k = 0; k < items.size(); ++k) s += (k ? " " : "") + items[k] + "\n";
  if (items.empty()) s += "\n";
  s.back() = ')';
  s += "\n";
  return s;
}

std::string formatErrorResult() {
  return "error\n";
}

std::vector<Instance> readInstancesCsv(const std::string& path) {
  const auto lines = readLines(path);
  std::vector<Instance> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string l = trim(lines[i]);
    if (l.empty() || l[0] == '#') continue;
    auto f = splitCsv(l);
    if (f.size() < 3)
      throw Error(where(path, i) + "expected onnx,vnnlib,timeout (got " + std::to_string(f.size()) +
                  " fields)");
    Instance inst{f[0], f[1], 0.0};
    if (!parseDouble(f[2], inst.timeout_s) || inst.timeout_s <= 0) {
      if (out.empty() && i == 0) continue;  // a header line
      throw Error(where(path, i) + "timeout '" + f[2] + "' is not a positive number");
    }
    out.push_back(std::move(inst));
  }
  if (out.empty()) throw Error(path + ": no instances");
  return out;
}

std::vector<ReferenceRow> readReferenceCsv(const std::string& path) {
  const auto lines = readLines(path);
  if (lines.empty()) throw Error(path + ": empty file (expected a header line)");
  const auto header = splitCsv(trim(lines[0]));
  const int cn = column(header, "network"), cp = column(header, "property"),
            cv = column(header, "verdict"), cb = column(header, "best_time_s"),
            ct = column(header, "timeout_s");
  if (cn < 0 || cp < 0 || cv < 0)
    throw Error(path + ": the header must name the columns network, property and verdict");
  std::vector<ReferenceRow> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string l = trim(lines[i]);
    if (l.empty()) continue;
    auto f = splitCsv(l);
    const int need = std::max({cn, cp, cv, cb, ct});
    if (static_cast<int>(f.size()) <= need)
      throw Error(where(path, i) + "expected " + std::to_string(header.size()) + " fields, got " +
                  std::to_string(f.size()));
    ReferenceRow r{f[cn], f[cp], f[cv], 0.0, 0.0};
    if (cb >= 0 && !f[cb].empty() && !parseDouble(f[cb], r.best_time_s))
      throw Error(where(path, i) + "best_time_s '" + f[cb] + "' is not a number");
    if (ct >= 0 && !parseDouble(f[ct], r.timeout_s))
      throw Error(where(path, i) + "timeout_s '" + f[ct] + "' is not a number");
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Instance> instancesFromReference(const std::string& path) {
  std::vector<Instance> out;
  for (const auto& r : readReferenceCsv(path)) {
    if (!(r.timeout_s > 0))
      throw Error(path + ": instance " + r.network + " " + r.property +
                  " has no positive timeout_s (the column is needed to run the list)");
    out.push_back({r.network, r.property, r.timeout_s});
  }
  if (out.empty()) throw Error(path + ": no instances");
  return out;
}

std::vector<ResultRow> readResultsCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<ResultRow> out;
  if (!in) return out;
  std::string l;
  while (std::getline(in, l)) {
    if (in.eof()) break;  // a last line without '\n' was cut by a kill: not a result
    auto f = splitCsv(trim(l));
    if (f.size() != 4) continue;
    ResultRow r{f[0], f[1], f[2], 0.0};
    if (!parseDouble(f[3], r.time_s)) continue;  // header or a torn row
    static const char* kOk[] = {"sat", "unsat", "timeout", "unknown", "error"};
    if (std::none_of(std::begin(kOk), std::end(kOk), [&](const char* k) { return r.result == k; }))
      continue;
    out.push_back(std::move(r));
  }
  return out;
}

void appendResultRow(const std::string& path, const ResultRow& row) {
  for (const auto* f : {&row.network, &row.property, &row.result})
    require(f->find_first_of(",\n") == std::string::npos,
            path + ": cannot write a results row: '" + *f + "' contains a comma or newline");
  char t[64];
  std::snprintf(t, sizeof t, "%.3f", row.time_s);
  appendLines(path, row.network + "," + row.property + "," + row.result + "," + t + "\n",
              kResultsHeader);
}

ScoreSummary scoreResults(const std::vector<ResultRow>& results,
                          const std::vector<ReferenceRow>& reference) {
  std::map<std::pair<std::string, std::string>, const ResultRow*> got;
  for (const auto& r : results) got[{baseName(r.network), baseName(r.property)}] = &r;
  ScoreSummary s;
  std::vector<double> times, solved_times;
  for (const auto& ref : reference) {
    ++s.total;
    auto it = got.find({baseName(ref.network), baseName(ref.property)});
    if (it == got.end()) {
      ++s.unsolved;
      ++s.missing;
      continue;
    }
    const ResultRow& r = *it->second;
    s.total_time_s += r.time_s;
    times.push_back(r.time_s);
    const bool decided = r.result == "sat" || r.result == "unsat";
    if (!decided) {
      ++s.unsolved;
      continue;
    }
    if (ref.verdict != "sat" && ref.verdict != "unsat") {
      ++s.unchecked;
      continue;
    }
    if (r.result != ref.verdict) {
      ++s.wrong;
      s.wrong_list.push_back(ref.network + " " + ref.property + ": got " + r.result +
                             ", reference " + ref.verdict);
      continue;
    }
    (r.result == "sat" ? s.correct_sat : s.correct_unsat)++;
    solved_times.push_back(r.time_s);
  }
  s.median_time_s = median(times);
  s.median_solved_time_s = median(solved_times);
  return s;
}

}  // namespace nnopt::verify
