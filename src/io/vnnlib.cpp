#include "io/vnnlib.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace nnopt::io {
namespace {

using spec::Box;
using spec::OutputConstraint;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr size_t kMaxDepth = 10000;  // the formula/term walkers recurse

// ---------------------------------------------------------------- S-expressions
enum class Kind : unsigned char { List, Symbol, Quoted, String };

struct Node {
  std::string_view text;  // atoms only (quoted symbols without the bars)
  int line = 0;
  int first = -1;  // first child (lists)
  int next = -1;   // next sibling
  int count = 0;   // number of children (lists)
  Kind kind = Kind::List;
};

// A linear expression  c + sum coef * var; var < nin is X_var, else Y_(var-nin).
struct Lin {
  double c = 0.0;
  std::vector<std::pair<int, double>> t;
};

// A literal of the DNF: a bound on one input or an output constraint.
struct Lit {
  enum Type : unsigned char { XLo, XHi, Y } type;
  int var = 0;       // X index for XLo/XHi; index into ycons_ for Y
  double val = 0.0;  // bound for XLo/XHi
};

// common AND (OR of alts). single: the formula is just AND(common) (alts
// unused). !single with no alts: false.
struct Dnf {
  bool single = true;
  std::vector<int> common;
  std::vector<std::vector<int>> alts;
  bool isFalse() const { return !single && alts.empty(); }
  size_t count() const { return single ? 1 : alts.size(); }
  static Dnf False() {
    Dnf d;
    d.single = false;
    return d;
  }
};

std::string show(std::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() > kMax) return "'" + std::string(s.substr(0, kMax)) + "...'";
  return "'" + std::string(s) + "'";
}

std::string fmtNum(double v) {  // shortest round-trip form
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

class Reader {
 public:
  Reader(const std::string& text, const std::string& name, int64_t nin, int64_t nout)
      : text_(text), name_(name), nin_(nin), nout_(nout) {}

  spec::Property run() {
    if (nin_ <= 0 || nout_ <= 0 || nin_ + nout_ > std::numeric_limits<int>::max())
      throw Error(name_ + ": invalid network size (" + std::to_string(nin_) + " inputs, " +
                  std::to_string(nout_) + " outputs)");
    declared_.assign(static_cast<size_t>(nin_ + nout_), 0);
    tokenize();
    Dnf all;
    for (int id : roots_) command(id, all);
    return build(all);
  }

 private:
  const std::string& text_;
  const std::string& name_;
  int64_t nin_, nout_;
  std::vector<Node> nodes_;
  std::vector<int> roots_;
  std::vector<char> declared_;
  std::vector<Lit> lits_;
  std::vector<OutputConstraint> ycons_;

  [[noreturn]] void fail(int line, const std::string& msg) const {
    throw Error(name_ + ": line " + std::to_string(line) + ": " + msg);
  }
  [[noreturn]] void fail(const std::string& msg) const { throw Error(name_ + ": " + msg); }

  // ---- tokenizer + tree builder, one pass over the text
  void tokenize() {
    static const auto delim = [] {
      std::array<bool, 256> d{};
      for (unsigned char c : std::string_view(" \t\r\n\f\v();|\"")) d[c] = true;
      return d;
    }();
    const char* s = text_.data();
    const size_t n = text_.size();
    nodes_.reserve(n / 8 + 16);
    std::vector<int> open;  // open lists
    std::vector<int> last;  // last child of each open list (-1: none)
    int line = 1;
    auto attach = [&](int id) {
      if (open.empty()) {
        roots_.push_back(id);
        return;
      }
      Node& p = nodes_[open.back()];
      if (last.back() < 0)
        p.first = id;
      else
        nodes_[last.back()].next = id;
      last.back() = id;
      ++p.count;
    };
    auto atom = [&](Kind k, size_t b, size_t e, int at_line) {
      Node nd;
      nd.kind = k;
      nd.text = std::string_view(s + b, e - b);
      nd.line = at_line;
      nodes_.push_back(nd);
      attach(static_cast<int>(nodes_.size()) - 1);
    };
    size_t i = 0;
    while (i < n) {
      const char c = s[i];
      switch (c) {
        case '\n':
          ++line;
          ++i;
          break;
        case ' ':
        case '\t':
        case '\r':
        case '\f':
        case '\v':
          ++i;
          break;
        case ';': {
          const void* nl = std::memchr(s + i, '\n', n - i);
          i = nl ? static_cast<size_t>(static_cast<const char*>(nl) - s) : n;
          break;
        }
        case '(': {
          Node nd;
          nd.line = line;
          nodes_.push_back(nd);
          const int id = static_cast<int>(nodes_.size()) - 1;
          attach(id);
          open.push_back(id);
          last.push_back(-1);
          if (open.size() > kMaxDepth)
            fail(line, "parentheses nested deeper than " + std::to_string(kMaxDepth));
          ++i;
          break;
        }
        case ')':
          if (open.empty()) fail(line, "unbalanced parentheses: unexpected ')'");
          open.pop_back();
          last.pop_back();
          ++i;
          break;
        case '|':
        case '"': {
          const int at = line;
          size_t j = i + 1;
          while (j < n && s[j] != c) {
            if (s[j] == '\n') ++line;
            ++j;
          }
          if (j >= n)
            fail(at, c == '|' ? "unterminated quoted symbol (missing '|')"
                              : "unterminated string (missing '\"')");
          atom(c == '|' ? Kind::Quoted : Kind::String, i + 1, j, at);
          i = j + 1;
          break;
        }
        default: {
          size_t j = i + 1;
          while (j < n && !delim[static_cast<unsigned char>(s[j])]) ++j;
          atom(Kind::Symbol, i, j, line);
          i = j;
        }
      }
    }
    if (!open.empty())
      fail(nodes_[open.front()].line,
           "unbalanced parentheses: '(' opened here is never closed");
  }

  // ---- helpers on nodes
  const Node& nd(int id) const { return nodes_[id]; }
  // Operator name of a list (its first child, a symbol).
  std::string_view head(int id) const {
    const Node& l = nd(id);
    if (l.count == 0) fail(l.line, "empty list '()'");
    const Node& h = nd(l.first);
    if (h.kind != Kind::Symbol) fail(h.line, "expected an operator name after '('");
    return h.text;
  }
  std::vector<int> args(int id) const {  // children after the head
    std::vector<int> out;
    out.reserve(nd(id).count);
    for (int c = nd(nd(id).first).next; c >= 0; c = nd(c).next) out.push_back(c);
    return out;
  }

  static bool looksNumeric(std::string_view s) {
    auto digitOrDot = [](char c) { return (c >= '0' && c <= '9') || c == '.'; };
    if (s.empty()) return false;
    if (digitOrDot(s[0])) return true;
    return (s[0] == '-' || s[0] == '+') && s.size() > 1 && digitOrDot(s[1]);
  }

  double number(std::string_view s, int line) const {
    std::string_view t = s;
    if (!t.empty() && t[0] == '+') t.remove_prefix(1);
    double v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || t[0] == '+' || ec != std::errc() || p != t.data() + t.size() ||
        !std::isfinite(v))
      fail(line, "bad number " + show(s));
    return v;
  }

  // Variable key for X_i / Y_j (shape only, no checks); -1 if not that shape,
  // -2 if the index is too large to be valid.
  int64_t varShape(std::string_view s, bool& is_y) const {
    if (s.size() < 3 || (s[0] != 'X' && s[0] != 'Y') || s[1] != '_') return -1;
    is_y = s[0] == 'Y';
    int64_t idx = 0;
    for (size_t k = 2; k < s.size(); ++k) {
      if (s[k] < '0' || s[k] > '9') return -1;
      if (idx > 1000000000000LL) return -2;
      idx = idx * 10 + (s[k] - '0');
    }
    return idx;
  }

  // Key of a declared, in-range variable (X_i -> i, Y_j -> nin + j).
  int varKey(std::string_view s, int line, bool declaring) {
    bool is_y = false;
    const int64_t idx = varShape(s, is_y);
    if (idx == -1) {
      if (declaring) fail(line, "unsupported variable name " + show(s) + " (expected X_<i> or Y_<j>)");
      fail(line, "unknown symbol " + show(s));
    }
    const int64_t lim = is_y ? nout_ : nin_;
    if (idx < 0 || idx >= lim)
      fail(line, std::string(s) + " is out of range (the network has " + std::to_string(lim) +
                     (is_y ? " outputs)" : " inputs)"));
    const int key = static_cast<int>(is_y ? nin_ + idx : idx);
    if (declaring) {
      if (declared_[key]) fail(line, std::string(s) + " is declared twice");
      declared_[key] = 1;
    } else if (!declared_[key]) {
      fail(line, std::string(s) + " is used but not declared (missing declare-const)");
    }
    return key;
  }

  std::string varName(int key) const {
    return key < nin_ ? "X_" + std::to_string(key) : "Y_" + std::to_string(key - nin_);
  }

  // ---- top-level commands
  void command(int id, Dnf& all) {
    const Node& l = nd(id);
    if (l.kind != Kind::List) fail(l.line, "expected '(' at top level, got " + show(l.text));
    const std::string_view op = head(id);
    if (op == "declare-const" || op == "declare-fun") {
      const auto a = args(id);
      const bool fun = op == "declare-fun";
      if (a.size() != (fun ? 3u : 2u) || nd(a[0]).kind == Kind::List ||
          (fun && (nd(a[1]).kind != Kind::List || nd(a[1]).count != 0)))
        fail(l.line, fun ? "expected (declare-fun NAME () Real)" : "expected (declare-const NAME Real)");
      const Node& sort = nd(a.back());
      const std::string_view var = nd(a[0]).text;
      if (sort.kind != Kind::Symbol || sort.text != "Real")
        fail(sort.line, "unsupported sort for " + std::string(var) + " (only Real is supported)");
      varKey(var, nd(a[0]).line, true);
    } else if (op == "assert") {
      const auto a = args(id);
      if (a.size() != 1) fail(l.line, "assert takes exactly one formula");
      andInto(all, formula(a[0], false), l.line);
    } else if (op == "set-logic" || op == "set-info" || op == "set-option" ||
               op == "check-sat" || op == "get-model" || op == "get-value" || op == "exit") {
      // no effect on the property
    } else {
      fail(l.line, "unknown command " + show(op) +
                       " (expected declare-const, assert, set-logic, set-info, check-sat, ...)");
    }
  }

  // ---- terms
  static void scale(Lin& a, double k) {
    a.c *= k;
    for (auto& [v, c] : a.t) c *= k;
  }
  static void addTo(Lin& a, const Lin& b, double k) {
    a.c += k * b.c;
    for (auto [v, c] : b.t) a.t.emplace_back(v, k * c);
  }

  Lin term(int id) {
    const Node& n = nd(id);
    Lin out;
    if (n.kind == Kind::Symbol && looksNumeric(n.text)) {
      out.c = number(n.text, n.line);
      return out;
    }
    if (n.kind == Kind::Symbol || n.kind == Kind::Quoted) {
      out.t.emplace_back(varKey(n.text, n.line, false), 1.0);
      return out;
    }
    if (n.kind == Kind::String) fail(n.line, "unexpected string in a term");
    const std::string_view op = head(id);
    const auto a = args(id);
    if (a.empty()) fail(n.line, "operator " + show(op) + " needs arguments");
    if (op == "+") {
      for (int c : a) addTo(out, term(c), 1.0);
    } else if (op == "-") {
      out = term(a[0]);
      if (a.size() == 1)
        scale(out, -1.0);
      else
        for (size_t k = 1; k < a.size(); ++k) addTo(out, term(a[k]), -1.0);
    } else if (op == "*") {
      double k = 1.0;
      bool have_var = false;
      for (int c : a) {
        Lin f = term(c);
        if (f.t.empty()) {
          k *= f.c;
        } else {
          if (have_var) fail(n.line, "non-linear term: product of two variable terms");
          have_var = true;
          out = std::move(f);
        }
      }
      if (have_var)
        scale(out, k);
      else
        out.c = k;
    } else if (op == "/") {
      if (a.size() < 2) fail(n.line, "operator '/' needs at least two arguments");
      out = term(a[0]);
      for (size_t k = 1; k < a.size(); ++k) {
        const Lin d = term(a[k]);
        if (!d.t.empty()) fail(n.line, "non-linear term: division by a variable term");
        if (d.c == 0.0) fail(n.line, "division by zero");
        scale(out, 1.0 / d.c);
      }
    } else {
      fail(n.line, "unknown operator " + show(op) + " in a term (expected +, -, *, /)");
    }
    if (!std::isfinite(out.c)) fail(n.line, "number out of range in a term");
    return out;
  }

  // ---- formulas
  void checkLimit(size_t count, int line) const {
    if (count > static_cast<size_t>(kVnnlibMaxDisjuncts))
      fail(line, "the formula has more than " + std::to_string(kVnnlibMaxDisjuncts) +
                     " disjuncts in disjunctive normal form (too large)");
  }

  // acc := acc AND x
  void andInto(Dnf& acc, Dnf&& x, int line) const {
    if (acc.isFalse()) return;
    if (x.isFalse()) {
      acc = Dnf::False();
      return;
    }
    acc.common.insert(acc.common.end(), x.common.begin(), x.common.end());
    if (x.single) return;
    if (acc.single) {
      acc.single = false;
      acc.alts = std::move(x.alts);
      return;
    }
    if (acc.alts.size() > static_cast<size_t>(kVnnlibMaxDisjuncts) / x.alts.size())
      checkLimit(static_cast<size_t>(kVnnlibMaxDisjuncts) + 1, line);
    std::vector<std::vector<int>> prod;
    prod.reserve(acc.alts.size() * x.alts.size());
    for (const auto& p : acc.alts)
      for (const auto& q : x.alts) {
        std::vector<int> r;
        r.reserve(p.size() + q.size());
        r.insert(r.end(), p.begin(), p.end());
        r.insert(r.end(), q.begin(), q.end());
        prod.push_back(std::move(r));
      }
    acc.alts = std::move(prod);
  }

  // OR of the given DNFs.
  Dnf orOf(std::vector<Dnf>& ds, int line) const {
    Dnf out = Dnf::False();
    for (auto& d : ds) {
      if (d.single) {
        if (d.common.empty()) return Dnf{};  // true absorbs everything
        out.alts.push_back(std::move(d.common));
      } else {
        for (auto& a : d.alts) {
          if (d.common.empty() && a.empty()) return Dnf{};
          std::vector<int> r = d.common;
          r.insert(r.end(), a.begin(), a.end());
          out.alts.push_back(std::move(r));
        }
      }
      checkLimit(out.alts.size(), line);
    }
    if (out.alts.size() == 1) {
      Dnf s;
      s.common = std::move(out.alts[0]);
      return s;
    }
    return out;
  }

  Dnf literal(int id) {
    Dnf d;
    d.common.push_back(id);
    return d;
  }

  // The constraint  e <= 0  as a DNF (one literal, or true/false).
  Dnf leqZero(Lin e, int line) {
    std::sort(e.t.begin(), e.t.end(),
              [](const auto& p, const auto& q) { return p.first < q.first; });
    std::vector<std::pair<int, double>> m;
    for (const auto& [v, c] : e.t) {
      if (!m.empty() && m.back().first == v)
        m.back().second += c;
      else
        m.emplace_back(v, c);
    }
    std::erase_if(m, [](const auto& p) { return p.second == 0.0; });
    if (m.empty()) return e.c <= 0.0 ? Dnf{} : Dnf::False();
    const bool has_x = m.front().first < nin_;
    const bool has_y = m.back().first >= nin_;
    if (has_x && has_y)
      fail(line, "unsupported constraint mixing inputs and outputs (" + varName(m.front().first) +
                     " and " + varName(m.back().first) + ")");
    if (has_x) {
      if (m.size() > 1)
        fail(line, "unsupported constraint on several inputs (" + varName(m[0].first) + " and " +
                       varName(m[1].first) + "): only bounds on a single X_i are supported");
      const auto [v, a] = m.front();
      double b = -e.c / a;
      if (b == 0.0) b = 0.0;  // no -0
      if (!std::isfinite(b)) fail(line, "bound out of range for " + varName(v));
      lits_.push_back({a > 0 ? Lit::XHi : Lit::XLo, v, b});
    } else {
      OutputConstraint oc;
      oc.coefs.reserve(m.size());
      for (const auto& [v, c] : m) oc.coefs.emplace_back(static_cast<int>(v - nin_), c);
      oc.rhs = e.c == 0.0 ? 0.0 : -e.c;
      ycons_.push_back(std::move(oc));
      lits_.push_back({Lit::Y, static_cast<int>(ycons_.size()) - 1, 0.0});
    }
    return literal(static_cast<int>(lits_.size()) - 1);
  }

  Dnf formula(int id, bool neg) {
    const Node& n = nd(id);
    if (n.kind != Kind::List) {
      if (n.kind == Kind::Symbol && (n.text == "true" || n.text == "false"))
        return (n.text == "true") != neg ? Dnf{} : Dnf::False();
      fail(n.line, "expected a formula, got " + show(n.text));
    }
    const std::string_view op = head(id);
    const auto a = args(id);
    if (op == "and" || op == "or") {
      if ((op == "and") != neg) {
        Dnf acc;
        for (int c : a) andInto(acc, formula(c, neg), n.line);
        return acc;
      }
      std::vector<Dnf> ds;
      ds.reserve(a.size());
      for (int c : a) ds.push_back(formula(c, neg));
      return orOf(ds, n.line);
    }
    if (op == "not") {
      if (a.size() != 1) fail(n.line, "'not' takes exactly one formula");
      return formula(a[0], !neg);
    }
    const bool le = op == "<=" || op == "<";
    const bool ge = op == ">=" || op == ">";
    const bool eq = op == "=";
    if (!(le || ge || eq))
      fail(n.line, "unknown operator " + show(op) +
                       " in a formula (expected and, or, not, <=, >=, <, >, =)");
    if (a.size() < 2) fail(n.line, "comparison " + show(op) + " needs at least two terms");
    if (eq && neg) fail(n.line, "unsupported: negation of '='");
    std::vector<Lin> ts;
    ts.reserve(a.size());
    for (int c : a) ts.push_back(term(c));
    // a_k OP a_{k+1}: non-negated -> AND of literals; negated -> OR of flipped.
    std::vector<Dnf> parts;
    for (size_t k = 0; k + 1 < ts.size(); ++k) {
      Lin d = ts[k];
      addTo(d, ts[k + 1], -1.0);  // d = a_k - a_{k+1}
      if (eq) {
        parts.push_back(leqZero(d, n.line));
        scale(d, -1.0);
        parts.push_back(leqZero(std::move(d), n.line));
        continue;
      }
      // a <= b  <=>  d <= 0;  a >= b  <=>  -d <= 0; negation flips the direction.
      if (ge != neg) scale(d, -1.0);
      parts.push_back(leqZero(std::move(d), n.line));
    }
    if (neg) return orOf(parts, n.line);
    Dnf acc;
    for (auto& p : parts) andInto(acc, std::move(p), n.line);
    return acc;
  }

  // ---- DNF -> property
  void applyX(Box& b, const Lit& l) const {
    if (l.type == Lit::XLo)
      b.lo[l.var] = std::max(b.lo[l.var], l.val);
    else
      b.hi[l.var] = std::min(b.hi[l.var], l.val);
  }

  void checkBox(const Box& b, size_t disjunct, size_t ndisj) const {
    const std::string where =
        ndisj > 1 ? " (in disjunct " + std::to_string(disjunct + 1) + " of " +
                        std::to_string(ndisj) + ")"
                  : "";
    for (Eigen::Index i = 0; i < b.size(); ++i) {
      const std::string x = "X_" + std::to_string(i);
      if (b.lo[i] == -kInf) fail(x + " has no lower bound" + where);
      if (b.hi[i] == kInf) fail(x + " has no upper bound" + where);
      if (b.lo[i] > b.hi[i])
        fail("empty input box: " + x + " has lower bound " + fmtNum(b.lo[i]) +
             " > upper bound " + fmtNum(b.hi[i]) + where);
    }
  }

  static size_t hashBox(const Box& b) {
    size_t h = 1469598103934665603ull;
    auto mix = [&](double v) {
      uint64_t u;
      if (v == 0.0) v = 0.0;  // -0 == +0
      std::memcpy(&u, &v, sizeof u);
      h = (h ^ u) * 1099511628211ull;
    };
    for (Eigen::Index i = 0; i < b.size(); ++i) {
      mix(b.lo[i]);
      mix(b.hi[i]);
    }
    return h;
  }

  spec::Property build(Dnf& all) {
    if (all.isFalse())
      fail("the asserts are contradictory (every disjunct contains a constant-false "
           "comparison): the unsafe set is empty");
    Box base;
    base.lo = Eigen::VectorXd::Constant(nin_, -kInf);
    base.hi = Eigen::VectorXd::Constant(nin_, kInf);
    std::vector<OutputConstraint> base_y;
    for (int id : all.common) {
      const Lit& l = lits_[id];
      if (l.type == Lit::Y)
        base_y.push_back(ycons_[l.var]);
      else
        applyX(base, l);
    }
    if (all.single) {
      all.single = false;
      all.alts.assign(1, {});
    }
    const size_t ndisj = all.alts.size();
    spec::Property prop;
    std::vector<spec::PropertyCase>& cases = prop.cases;
    int base_case = -1;
    std::unordered_map<size_t, std::vector<int>> by_hash;
    for (size_t k = 0; k < ndisj; ++k) {
      const auto& alt = all.alts[k];
      std::vector<OutputConstraint> conj = base_y;
      bool has_x = false;
      for (int id : alt) {
        const Lit& l = lits_[id];
        if (l.type == Lit::Y)
          conj.push_back(ycons_[l.var]);
        else
          has_x = true;
      }
      int ci;
      if (!has_x) {
        if (base_case < 0) {
          checkBox(base, k, ndisj);
          base_case = static_cast<int>(cases.size());
          by_hash[hashBox(base)].push_back(base_case);
          cases.push_back({base, {}});
        }
        ci = base_case;
      } else {
        Box b = base;
        for (int id : alt)
          if (lits_[id].type != Lit::Y) applyX(b, lits_[id]);
        auto& bucket = by_hash[hashBox(b)];
        ci = -1;
        for (int c : bucket)
          if (cases[c].input.lo == b.lo && cases[c].input.hi == b.hi) ci = c;
        if (ci < 0) {
          checkBox(b, k, ndisj);
          ci = static_cast<int>(cases.size());
          bucket.push_back(ci);
          if (base_case < 0 && b.lo == base.lo && b.hi == base.hi) base_case = ci;
          cases.push_back({std::move(b), {}});
        }
      }
      cases[ci].unsafe.disjuncts.push_back(std::move(conj));
    }
    prop.input_boxes.reserve(cases.size());
    for (const auto& c : cases) prop.input_boxes.push_back(c.input);
    if (prop.isProduct()) {
      prop.unsafe = cases.front().unsafe;
    } else {
      for (const auto& c : cases)
        prop.unsafe.disjuncts.insert(prop.unsafe.disjuncts.end(), c.unsafe.disjuncts.begin(),
                                     c.unsafe.disjuncts.end());
    }
    return prop;
  }
};

}  // namespace

spec::Property parseVnnlib(const std::string& text, const std::string& name, int64_t num_inputs,
                           int64_t num_outputs) {
  try {
    return Reader(text, name, num_inputs, num_outputs).run();
  } catch (const Error& e) {
    throw Error(oneLine(e.what()));  // messages quote tokens from the file
  }
}

spec::Property loadVnnlib(const std::string& path, int64_t num_inputs, int64_t num_outputs) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::string text;
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size > 0) {
    text.resize(static_cast<size_t>(size));
    in.seekg(0, std::ios::beg);
    in.read(text.data(), size);
  }
  if (!in) throw Error(path + ": cannot read file");
  return parseVnnlib(text, path, num_inputs, num_outputs);
}

}  // namespace nnopt::io
