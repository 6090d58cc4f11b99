// report.html of nnopt robustness: one self-contained page (inline SVG
// charts, inline CSS, panels as data URIs; no scripts, no network).
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "robust/robustness.h"

namespace nnopt::robust {
namespace {

constexpr const char* kCertified = "#2e7d32";
constexpr const char* kAttacked = "#c62828";
constexpr const char* kUnknown = "#f9a825";
constexpr const char* kMisclassified = "#757575";

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.1f}%", 100 * v) : "n/a"; }
std::string secs(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : "-"; }

// A plot area mapping data to SVG pixels.
struct Frame {
  double w = 780, h = 360, left = 60, right = 200, top = 20, bottom = 50;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (w - left - right); }
  double py(double y) const { return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom); }
};

std::string legendEntry(const Frame& f, int row, const std::string& colour,
                        const std::string& text, bool dashed = false, bool box = false,
                        double opacity = 0.35) {
  const double x = f.w - f.right + 15, y = f.top + 10 + 22 * row;
  std::string s;
  if (box)
    s = fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="22" height="12" fill="{}" opacity="{}"/>)",
                    x, y - 6, colour, opacity);
  else
    s = fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="2.5"{}/>)",
                    x, y, x + 22, y, colour, dashed ? R"( stroke-dasharray="6 4")" : "");
  return s + fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="12" dominant-baseline="middle">{}</text>)",
                         x + 28, y, esc(text));
}

std::string polyline(const Frame& f, const std::vector<double>& xs, const std::vector<double>& ys,
                     const std::string& colour, bool dashed, double width = 2.5) {
  std::string pts, dots;
  for (size_t i = 0; i < xs.size(); ++i) {
    pts += fmt::format("{:.1f},{:.1f} ", f.px(xs[i]), f.py(ys[i]));
    dots += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="{}"/>)", f.px(xs[i]),
                        f.py(ys[i]), width + 1.0, colour);
  }
  return fmt::format(R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="{}"{}/>)", pts,
                     colour, width, dashed ? R"( stroke-dasharray="6 4")" : "") +
         (dashed ? "" : dots);
}

std::string axes(const Frame& f, const std::vector<double>& xticks, const std::string& xlabel,
                 const std::vector<double>& yticks, const std::string& ylabel,
                 const std::function<std::string(double)>& xfmt,
                 const std::function<std::string(double)>& yfmt) {
  std::string s;
  for (double y : yticks)
    s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#ddd"/>)"
                     R"(<text x="{:.1f}" y="{:.1f}" font-size="11" text-anchor="end" dominant-baseline="middle">{}</text>)",
                     f.left, f.py(y), f.w - f.right, f.py(y), f.left - 6, f.py(y), yfmt(y));
  for (double x : xticks)
    s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#999"/>)"
                     R"(<text x="{:.1f}" y="{:.1f}" font-size="11" text-anchor="middle">{}</text>)",
                     f.px(x), f.h - f.bottom, f.px(x), f.h - f.bottom + 5, f.px(x),
                     f.h - f.bottom + 18, xfmt(x));
  s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="none" stroke="#444"/>)",
                   f.left, f.top, f.w - f.left - f.right, f.h - f.top - f.bottom);
  s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="12" text-anchor="middle">{}</text>)",
                   (f.left + f.w - f.right) / 2, f.h - 10, esc(xlabel));
  s += fmt::format(R"~(<text x="14" y="{:.1f}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {:.1f})">{}</text>)~",
                   (f.top + f.h - f.bottom) / 2, (f.top + f.h - f.bottom) / 2, esc(ylabel));
  return s;
}

// Robust accuracy vs eps: certified (lower bound) and 1 - attacked (upper
// bound) with the band between them, and the clean accuracy.
std::string accuracyChart(const std::vector<EpsSummary>& s) {
  Frame f;
  std::vector<double> xs, lo, hi, clean;
  for (const auto& e : s) {
    if (e.images == 0) continue;
    xs.push_back(e.eps);
    lo.push_back(e.certified_accuracy);
    hi.push_back(e.attacked_upper);
    clean.push_back(e.clean_accuracy);
  }
  std::string svg = fmt::format(
      R"(<svg id="accuracy-chart" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="robust accuracy against eps">)",
      f.w, f.h, f.w, f.h);
  if (xs.empty()) return svg + R"(<text x="20" y="40">no results yet</text></svg>)";
  f.x0 = 0;
  f.x1 = xs.back() > 0 ? xs.back() * 1.05 : 1.0;
  // The y axis starts at the 10% step below the lowest curve (whole scale
  // when that is under 50%), so a narrow band stays readable.
  const double low = *std::min_element(lo.begin(), lo.end());
  f.y0 = low >= 0.5 ? std::floor(low * 10 - 1e-9) / 10 - 0.1 : 0.0;
  f.y0 = std::max(0.0, f.y0);
  std::vector<double> yticks;
  const double step = f.y0 > 0 ? 0.1 : 0.25;
  for (double y = f.y0; y <= 1.0 + 1e-9; y += step) yticks.push_back(y);
  svg += axes(f, xs, "eps (L-inf, pixel scale)", yticks, "robust accuracy",
              [](double x) { return esc(epsKey(x)); },
              [](double y) { return fmt::format("{:.0f}%", 100 * y); });
  std::string band;
  for (size_t i = 0; i < xs.size(); ++i) band += fmt::format("{:.1f},{:.1f} ", f.px(xs[i]), f.py(hi[i]));
  for (size_t i = xs.size(); i-- > 0;) band += fmt::format("{:.1f},{:.1f} ", f.px(xs[i]), f.py(lo[i]));
  svg += fmt::format(R"(<polygon id="unknown-band" points="{}" fill="{}" opacity="0.35"/>)", band,
                     kUnknown);
  svg += polyline(f, xs, clean, kMisclassified, true);
  svg += polyline(f, xs, hi, kAttacked, false, 5.0);  // wider: visible where lower == upper
  svg += polyline(f, xs, lo, kCertified, false, 2.5);
  svg += legendEntry(f, 0, kAttacked, "upper: 1 - attacked");
  svg += legendEntry(f, 1, kCertified, "lower: certified");
  svg += legendEntry(f, 2, kUnknown, "undecided (unknown)", false, true);
  svg += legendEntry(f, 3, kMisclassified, "clean accuracy", true);
  return svg + "</svg>";
}

// Clean margins of the correctly classified images, stacked by their verdict
// at the largest eps.
std::string marginHistogram(const std::vector<RobustRecord>& records, double eps_max) {
  std::map<long, const RobustRecord*> last;
  for (const auto& r : records)
    if (epsKey(r.row.eps) == epsKey(eps_max) && r.row.verdict != "misclassified" &&
        std::isfinite(r.clean_margin))
      last[r.index] = &r;
  Frame f;
  f.h = 300;
  std::string svg = fmt::format(
      R"(<svg id="margin-histogram" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="histogram of clean margins">)",
      f.w, f.h, f.w, f.h);
  if (last.empty()) return svg + R"(<text x="20" y="40">no correctly classified image</text></svg>)";
  double mmax = 0;
  for (const auto& [i, r] : last) mmax = std::max(mmax, r->clean_margin);
  const int bins = 20;
  const double width = mmax > 0 ? mmax / bins : 1.0;
  const std::vector<std::pair<std::string, const char*>> kinds = {
      {"certified", kCertified}, {"unknown", kUnknown}, {"attacked", kAttacked}};
  std::vector<std::map<std::string, int>> count(bins);
  int top = 1;
  for (const auto& [i, r] : last) {
    const int b = std::min(bins - 1, static_cast<int>(r->clean_margin / width));
    ++count[b][r->row.verdict];
  }
  for (const auto& c : count) {
    int t = 0;
    for (const auto& [k, v] : c) t += v;
    top = std::max(top, t);
  }
  f.x0 = 0;
  f.x1 = bins * width;
  f.y0 = 0;
  f.y1 = top * 1.1;
  std::vector<double> xt, yt;
  for (int k = 0; k <= 4; ++k) xt.push_back(f.x1 * k / 4);
  const int ystep = std::max(1, static_cast<int>(std::ceil(top / 5.0)));
  for (int y = 0; y <= top; y += ystep) yt.push_back(y);
  svg += axes(f, xt, "clean margin logit[label] - max other", yt, "images",
              [](double x) { return fmt::format("{:.3g}", x); },
              [](double y) { return fmt::format("{:.0f}", y); });
  for (int b = 0; b < bins; ++b) {
    double base = 0;
    for (const auto& [kind, colour] : kinds) {
      const int n = count[b].count(kind) ? count[b][kind] : 0;
      if (n == 0) continue;
      svg += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"><title>{} {}</title></rect>)",
                         f.px(b * width) + 1, f.py(base + n), f.px((b + 1) * width) - f.px(b * width) - 2,
                         f.py(base) - f.py(base + n), colour, n, kind);
      base += n;
    }
  }
  int row = 0;
  for (const auto& [kind, colour] : kinds)
    svg += legendEntry(f, row++, colour, fmt::format("{} at eps {}", kind, epsKey(eps_max)), false,
                       true, 1.0);
  return svg + "</svg>";
}

// --radius: one vertical interval per correctly classified image, sorted by
// its certified end: from certified_lo (proven) to attacked_hi (a replayed
// counterexample; an arrow to the top when none was found).
std::string radiusChart(const std::vector<RadiusRecord>& radii) {
  std::map<long, const RadiusRecord*> last;
  for (const auto& r : radii)
    if (r.predicted == r.label) last[r.index] = &r;
  Frame f;
  f.h = 320;
  std::string svg = fmt::format(
      R"(<svg id="radius-chart" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="certified and attacked radius per image">)",
      f.w, f.h, f.w, f.h);
  if (last.empty()) return svg + R"(<text x="20" y="40">no correctly classified image</text></svg>)";
  std::vector<const RadiusRecord*> v;
  double top = 0;
  for (const auto& [i, r] : last) {
    v.push_back(r);
    top = std::max(top, r->radius.certified_lo);
    if (std::isfinite(r->radius.attacked_hi)) top = std::max(top, r->radius.attacked_hi);
  }
  std::stable_sort(v.begin(), v.end(), [](const RadiusRecord* a, const RadiusRecord* b) {
    if (a->radius.certified_lo != b->radius.certified_lo)
      return a->radius.certified_lo < b->radius.certified_lo;
    return a->radius.attacked_hi < b->radius.attacked_hi;
  });
  f.x0 = 0;
  f.x1 = static_cast<double>(v.size()) + 1;
  f.y0 = 0;
  f.y1 = top > 0 ? top * 1.1 : 1.0;
  std::vector<double> xt, yt;
  for (int k = 0; k <= 4; ++k) xt.push_back(std::round(f.x1 * k / 4));
  for (int k = 0; k <= 5; ++k) yt.push_back(f.y1 * k / 5);
  svg += axes(f, xt, "images, sorted by certified radius", yt, "L-inf radius (pixel scale)",
              [](double x) { return fmt::format("{:.0f}", x); },
              [](double y) { return fmt::format("{:.3g}", y); });
  for (size_t k = 0; k < v.size(); ++k) {
    const RadiusResult& w = v[k]->radius;
    const double x = f.px(static_cast<double>(k) + 1);
    const bool hi = std::isfinite(w.attacked_hi);
    const double yhi = f.py(hi ? w.attacked_hi : f.y1);
    svg += fmt::format(R"(<g><title>#{}: [{:.4g}, {}]{}</title>)", v[k]->index, w.certified_lo,
                       hi ? fmt::format("{:.4g}", w.attacked_hi) : std::string("none found"),
                       w.closed ? " closed" : "");
    svg += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="2"{}/>)",
                       x, f.py(w.certified_lo), x, yhi, kUnknown, hi ? "" : R"( stroke-dasharray="3 3")");
    svg += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="2.5" fill="{}"/>)", x,
                       f.py(w.certified_lo), kCertified);
    if (hi)
      svg += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="2.5" fill="{}"/>)", x, yhi, kAttacked);
    svg += "</g>";
  }
  svg += legendEntry(f, 0, kCertified, "certified radius (proven)", false, true, 1.0);
  svg += legendEntry(f, 1, kAttacked, "closest counterexample", false, true, 1.0);
  svg += legendEntry(f, 2, kUnknown, "undecided gap");
  return svg + "</svg>";
}

std::string radiusSection(const std::vector<RadiusRecord>& radii) {
  if (radii.empty()) return "";
  const RadiusSummary s = summarizeRadii(radii);
  auto num = [](double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "n/a"; };
  return "<h2>Radius per image</h2>\n" +
         fmt::format("<p id=\"radius-summary\">{} correctly classified images: the minimal "
                     "adversarial L-inf distance lies between the certified radius (median {}, "
                     "mean {}) and the closest replayed counterexample (median {}, mean {}, "
                     "over the {} images with one); {} intervals closed to the tolerance, {} "
                     "bisection probes.</p>\n",
                     s.images, num(s.median_lo), num(s.mean_lo), num(s.median_hi),
                     num(s.mean_hi), s.attacked, s.closed, s.probes) +
         radiusChart(radii) + "\n";
}

std::string summaryTable(const std::vector<EpsSummary>& s) {
  std::string t = R"(<table id="summary-table"><thead><tr><th>eps</th><th>images</th><th>certified</th><th>attacked</th><th>unknown</th><th>misclassified</th><th>certified accuracy (lower)</th><th>1 - attacked (upper)</th><th>solved</th><th>inferred</th><th>upgraded</th><th>median s</th><th>mean s</th><th>max s</th></tr></thead><tbody>)";
  for (const auto& e : s)
    t += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(epsKey(e.eps)), e.images, e.certified, e.attacked, e.unknown, e.misclassified,
        pct(e.certified_accuracy), pct(e.attacked_upper), e.solved, e.inferred, e.upgraded,
        secs(e.median_time_s), secs(e.mean_time_s), secs(e.max_time_s));
  return t + "</tbody></table>";
}

// One row per image, one cell per eps: C / A / ? / M, lighter when inferred.
std::string imageGrid(const std::vector<RobustRecord>& records, const std::vector<EpsSummary>& s) {
  std::map<long, std::map<std::string, const RobustRecord*>> by_image;
  for (const auto& r : records) by_image[r.index][epsKey(r.row.eps)] = &r;
  std::string t = R"(<table id="image-table" class="grid"><thead><tr><th>image</th><th>label</th>)";
  for (const auto& e : s) t += "<th>" + esc(epsKey(e.eps)) + "</th>";
  t += "</tr></thead><tbody>";
  for (const auto& [index, row] : by_image) {
    const RobustRecord* any = row.begin()->second;
    t += fmt::format("<tr><td>{}</td><td>{}</td>", index, any->label);
    for (const auto& e : s) {
      auto it = row.find(epsKey(e.eps));
      if (it == row.end()) {
        t += "<td></td>";
        continue;
      }
      const EpsRow& w = it->second->row;
      const char* letter = w.verdict == "certified" ? "C" : w.verdict == "attacked" ? "A"
                           : w.verdict == "unknown" ? "?" : "M";
      t += fmt::format(R"(<td class="{}{}" title="{}">{}</td>)", w.verdict,
                       w.inferred ? " inferred" : "",
                       esc(w.decided_by + (w.status.empty() ? "" : ": " + w.status)), letter);
    }
    t += "</tr>";
  }
  return t + "</tbody></table>";
}

std::string gallery(const ReportInput& in) {
  if (in.gallery.empty()) return "<p>No attacked image.</p>";
  std::string g = fmt::format("<p>{} of {} attacked images (the smallest eps where a solve found "
                              "the point).</p><div id=\"gallery\">",
                              in.gallery.size(), in.gallery_total);
  for (const auto& it : in.gallery)
    g += fmt::format(R"(<figure><img alt="panel of image {}" src="data:image/png;base64,{}"/><figcaption>#{} eps {}: label {} &rarr; {} (margin {:.4g}, L-inf {:.4f})</figcaption></figure>)",
                     it.index, base64(it.png), it.index, esc(epsKey(it.eps)), it.label,
                     it.adv_class, it.margin, it.linf);
  return g + "</div>";
}

}  // namespace

std::string base64(const std::string& bytes) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 |
                       (unsigned char)bytes[i + 2];
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = (unsigned char)bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= (unsigned char)bytes[i + 1] << 8;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? tbl[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string reportHtml(const ReportInput& in) {
  int images = 0;
  for (const auto& e : in.summary) images = std::max(images, e.images);
  const double eps_max = in.summary.empty() ? 0.0 : in.summary.back().eps;
  std::string eps_list;
  for (const auto& e : in.summary) eps_list += (eps_list.empty() ? "" : ", ") + epsKey(e.eps);
  std::string h = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)" + esc("nnopt robustness: " + in.title) + R"(</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}pre{background:#f6f6f6;padding:0.6em;white-space:pre-wrap;word-break:break-all}
.grid td{text-align:center;width:3em}.certified{background:#c8e6c9}.attacked{background:#ffcdd2}
.unknown{background:#fff59d}.misclassified{background:#e0e0e0}.inferred{opacity:0.6}
#gallery{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;max-width:520px}
figure img{max-width:100%}figcaption{font-size:0.85em}
</style></head><body>
)";
  h += "<h1>" + esc("How robust is " + in.title + "?") + "</h1>\n";
  h += fmt::format("<p>{} images, L-inf budgets {}; verdicts: <b>certified</b> (every wrong class "
                   "refuted by a proven bound or a finished exact search), <b>attacked</b> (a "
                   "counterexample replayed in double precision inside the box), <b>unknown</b> "
                   "(time limit), <b>misclassified</b> (the clean image is wrong: not "
                   "attacked).</p>\n",
                   images, esc(eps_list));
  h += "<h2>Robust accuracy against eps</h2>\n" + accuracyChart(in.summary) + "\n";
  h += "<h2>Summary</h2>\n" + summaryTable(in.summary) + "\n";
  h += "<p>Inferred: decided from another eps without a solve (an attack point lies in a larger "
       "box; a certificate covers smaller boxes). Upgraded: solved to unknown, then decided by "
       "another eps. Times: rows solved at that eps.</p>\n";
  h += "<h2>Clean margins</h2>\n" + marginHistogram(in.records, eps_max) + "\n";
  h += radiusSection(in.radii);
  h += "<h2>Adversarial examples</h2>\n" + gallery(in) + "\n";
  h += "<h2>Per image</h2>\n<p>C certified, A attacked, ? unknown, M misclassified; faded: "
       "inferred. Hover for how it was decided.</p>\n" +
       imageGrid(in.records, in.summary) + "\n";
  h += "<h2>Provenance</h2>\n<pre id=\"command\">" + esc(in.command) + "</pre>\n<p>" +
       esc("nnopt " + in.version) + "</p>\n</body></html>\n";
  return h;
}

}  // namespace nnopt::robust
