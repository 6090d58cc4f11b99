// The sweep's inputs by name: method specs ("mip", "nlp:pwl", "mpec:fb", ...)
// and a network's architecture (from its Dense layers or its file name).
#include <algorithm>
#include <filesystem>
#include <numeric>
#include <optional>
#include <regex>

#include "core/error.h"
#include "report/sweep.h"
#include "report/sweep_internal.h"

namespace nnopt::report {

namespace fs = std::filesystem;
using sweep_detail::isUniform;

// ============================================================ method specs
MethodSpec parseMethodSpec(const std::string& raw) {
  std::string s = raw;
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  const std::string choices =
      "mip, portfolio, exact, nlp, nlp:<form>, mpec, mpec:<form> or auto (forms: pwl (nlp only: "
      "the native local solver, the default of nlp), scholtes, product, inequality, fb, cm, "
      "penalty)";
  MethodSpec m;
  std::string head = s, form;
  if (auto c = s.find(':'); c != std::string::npos) {
    head = s.substr(0, c);
    form = s.substr(c + 1);
  }
  auto canonForm = [&](const std::string& f) -> std::string {
    if (f == "scholtes" || f == "product" || f == "inequality" || f == "fb" || f == "cm" ||
        f == "penalty")
      return f;
    if (f == "product-ineq") return "inequality";
    throw Error("method '" + raw + "': unknown form '" + f + "'; methods are " + choices);
  };
  if (head == "mip" || head == "auto" || head == "portfolio" || head == "exact") {
    if (s.find(':') != std::string::npos)
      throw Error("method '" + raw + "' takes no form; methods are " + choices);
    m.kind = head == "mip"         ? SweepMethodKind::kMip
             : head == "auto"      ? SweepMethodKind::kAuto
             : head == "portfolio" ? SweepMethodKind::kPortfolio
                                   : SweepMethodKind::kExact;
    m.name = head;
    return m;
  }
  if (head == "nlp" || head == "mpec") {
    m.kind = head == "nlp" ? SweepMethodKind::kNlp : SweepMethodKind::kMpec;
    if (s.find(':') != std::string::npos && form.empty())
      throw Error("method '" + raw + "': empty form; methods are " + choices);
    if (head == "nlp" && (form.empty() || form == "pwl"))
      m.form = "pwl";
    else
      m.form = form.empty() ? "fb" : canonForm(form);
    m.name = head + ":" + m.form;
    return m;
  }
  throw Error("unknown method '" + raw + "'; methods are " + choices);
}

// ============================================================ architecture
Architecture architectureOf(const nn::Network& net) {
  Architecture a;
  std::vector<int> dense;
  for (const auto& l : net.layers())
    if (l.isDense()) dense.push_back(static_cast<int>(l.dense().W.rows()));
  if (dense.empty()) return a;
  a.hidden_layers = static_cast<int>(dense.size()) - 1;
  a.widths.assign(dense.begin(), dense.end() - 1);
  a.neurons = a.widths.empty() ? 0 : a.widths.front();
  a.total_neurons = std::accumulate(a.widths.begin(), a.widths.end(), 0L);
  return a;
}

std::optional<Architecture> architectureFromName(const std::string& file) {
  std::string stem = fs::path(file).stem().string();
  static const std::regex re("(\\d+)x(\\d+)");
  std::optional<Architecture> out;
  for (auto it = std::sregex_iterator(stem.begin(), stem.end(), re); it != std::sregex_iterator();
       ++it) {
    Architecture a;
    a.hidden_layers = std::stoi((*it)[1].str());
    a.neurons = std::stoi((*it)[2].str());
    a.widths.assign(static_cast<size_t>(a.hidden_layers), a.neurons);
    a.total_neurons = long(a.hidden_layers) * a.neurons;
    out = a;  // the last group wins ("mnist_1x2_mlp_3x40" -> 3x40)
  }
  return out;
}

std::string archLabel(int hidden_layers, int neurons, const std::vector<int>& widths) {
  if (widths.size() > 1 && !isUniform(widths)) {
    std::string s = std::to_string(hidden_layers) + "x[";
    for (size_t i = 0; i < widths.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(widths[i]);
    }
    return s + "]";
  }
  return std::to_string(hidden_layers) + "x" + std::to_string(neurons);
}

}  // namespace nnopt::report
