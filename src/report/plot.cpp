#include "report/plot.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/error.h"

namespace nnopt::report {
namespace {

struct Rgb {
  double r, g, b;
};
// Orange first and blue second, as in the seed's figure (MIP orange, NLP blue).
const Rgb kPalette[] = {{1.000, 0.498, 0.055}, {0.122, 0.467, 0.706}, {0.173, 0.627, 0.173},
                        {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294},
                        {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498}, {0.737, 0.741, 0.133},
                        {0.090, 0.745, 0.812}};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

void setColor(cairo_t* cr, const Rgb& c, double a = 1.0) {
  cairo_set_source_rgba(cr, c.r, c.g, c.b, a);
}

double textWidth(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  return ext.x_advance;
}

// Draws s with its anchor at (x, y): ha 0 left, 0.5 centre, 1 right; y is the baseline.
void text(cairo_t* cr, double x, double y, const std::string& s, double ha = 0.0) {
  cairo_move_to(cr, x - ha * textWidth(cr, s), y);
  cairo_show_text(cr, s.c_str());
}

// Marker shapes by series index: circle, square, triangle, diamond, triangle down, cross.
void markerPath(cairo_t* cr, int shape, double x, double y, double r) {
  switch (shape % 6) {
    case 0:
      cairo_new_sub_path(cr);
      cairo_arc(cr, x, y, r, 0, 2 * M_PI);
      break;
    case 1:
      cairo_rectangle(cr, x - 0.85 * r, y - 0.85 * r, 1.7 * r, 1.7 * r);
      break;
    case 2:
      cairo_move_to(cr, x, y - 1.15 * r);
      cairo_line_to(cr, x + r, y + 0.75 * r);
      cairo_line_to(cr, x - r, y + 0.75 * r);
      cairo_close_path(cr);
      break;
    case 3:
      cairo_move_to(cr, x, y - 1.2 * r);
      cairo_line_to(cr, x + 1.2 * r, y);
      cairo_line_to(cr, x, y + 1.2 * r);
      cairo_line_to(cr, x - 1.2 * r, y);
      cairo_close_path(cr);
      break;
    case 4:
      cairo_move_to(cr, x, y + 1.15 * r);
      cairo_line_to(cr, x + r, y - 0.75 * r);
      cairo_line_to(cr, x - r, y - 0.75 * r);
      cairo_close_path(cr);
      break;
    default:
      cairo_move_to(cr, x - r, y - r);
      cairo_line_to(cr, x + r, y + r);
      cairo_move_to(cr, x + r, y - r);
      cairo_line_to(cr, x - r, y + r);
      break;
  }
}

void drawMarker(cairo_t* cr, int idx, double x, double y, double r, bool hollow) {
  const Rgb& c = kPalette[idx % kPaletteSize];
  const bool cross = idx % 6 == 5;
  markerPath(cr, idx, x, y, r);
  if (cross) {
    setColor(cr, c);
    cairo_set_line_width(cr, 2.0);
    cairo_stroke(cr);
    return;
  }
  if (hollow) {
    cairo_set_source_rgb(cr, 1, 1, 1);
  } else {
    setColor(cr, c, 0.9);
  }
  cairo_fill_preserve(cr);
  setColor(cr, c);
  cairo_set_line_width(cr, hollow ? 1.8 : 1.0);
  cairo_stroke(cr);
}

std::string logTickLabel(int k) {
  if (k >= 0 && k <= 5) {
    std::string s = "1";
    s.append(static_cast<size_t>(k), '0');
    return s;
  }
  if (k < 0 && k >= -4) return "0." + std::string(static_cast<size_t>(-k - 1), '0') + "1";
  return "1e" + std::to_string(k);
}

std::string linTickLabel(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

double niceStep(double range, int target_ticks) {
  double raw = range / std::max(1, target_ticks);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / mag;
  double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * mag;
}

void draw(cairo_t* cr, const PairedChart& c) {
  const double W = c.width, H = c.height;
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  const size_t n = c.categories.size();
  // ---- y range
  double vmin = INFINITY, vmax = -INFINITY;
  auto consider = [&](double v) {
    if (!std::isfinite(v) || (c.log_y && v <= 0)) return;
    vmin = std::min(vmin, v);
    vmax = std::max(vmax, v);
  };
  for (const auto& s : c.series)
    for (double v : s.y) consider(v);
  consider(c.ref_line);
  double lo, hi;
  int kmin = 0, kmax = 0;
  if (c.log_y) {
    if (!std::isfinite(vmin)) vmin = 0.01, vmax = 1.0;
    kmin = static_cast<int>(std::floor(std::log10(vmin) + 1e-9));
    kmax = static_cast<int>(std::ceil(std::log10(vmax) - 1e-9));
    if (kmax <= kmin) kmax = kmin + 1;
    lo = std::pow(10.0, kmin);
    hi = std::pow(10.0, kmax);
  } else {
    if (!std::isfinite(vmin)) vmin = 0, vmax = 1;
    lo = std::min(0.0, vmin);
    hi = vmax > lo ? vmax * 1.05 : lo + 1;
  }

  // ---- layout
  cairo_set_font_size(cr, 11);
  double max_label = 0;
  for (const auto& s : c.categories) max_label = std::max(max_label, textWidth(cr, s));
  const double left = 78, right = 24, top = 78;
  const double plot_w_guess = W - left - right;
  const double spacing_guess = n ? plot_w_guess / n : plot_w_guess;
  const bool rotate = max_label + 6 > spacing_guess;
  const double xlab_h = rotate ? max_label * 0.72 + 16 : 20;
  const double bottom = xlab_h + 40;
  const double px0 = left, px1 = W - right, py0 = top, py1 = H - bottom;
  const double spacing = n ? (px1 - px0) / n : (px1 - px0);
  auto xOf = [&](size_t i) { return px0 + spacing * (i + 0.5); };
  auto yOf = [&](double v) {
    double t;
    if (c.log_y) {
      v = std::max(v, lo);
      t = (std::log10(v) - kmin) / double(kmax - kmin);
    } else {
      t = (v - lo) / (hi - lo);
    }
    t = std::clamp(t, 0.0, 1.0);
    return py1 - t * (py1 - py0);
  };

  // ---- title and legend
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 16);
  text(cr, W / 2, 26, c.title, 0.5);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  {
    // Legend entries centred in one row under the title; the font shrinks
    // (down to 8 pt) when the row would not fit between the plot's margins.
    std::vector<double> widths;
    double total = 0;
    const bool ref = std::isfinite(c.ref_line) && !c.ref_label.empty();
    auto measure = [&] {
      widths.clear();
      total = 0;
      for (const auto& s : c.series) {
        widths.push_back(22 + textWidth(cr, s.name) + 18);
        total += widths.back();
      }
      if (ref) total += 34 + textWidth(cr, c.ref_label) + 18;
      if (!c.hollow_note.empty()) total += 22 + textWidth(cr, c.hollow_note);
    };
    measure();
    const double room = W - 2.0 * std::min(px0, W - px1);
    // Text widths are not exactly proportional to the size (hinting), and the
    // markers and gaps do not scale: shrink in steps until the row fits.
    for (double size = 12.0; total > room && size > 8.0;) {
      size = std::max(8.0, size * std::min(0.97, room / total));
      cairo_set_font_size(cr, size);
      measure();
    }
    double x = std::max(std::min(px0, W - px1), W / 2 - total / 2);
    const double y = 52;
    for (size_t i = 0; i < c.series.size(); ++i) {
      if (c.connect_series) {
        setColor(cr, kPalette[i % kPaletteSize], 0.6);
        cairo_set_line_width(cr, 1.2);
        cairo_move_to(cr, x - 2, y - 4);
        cairo_line_to(cr, x + 16, y - 4);
        cairo_stroke(cr);
      }
      drawMarker(cr, static_cast<int>(i), x + 7, y - 4, 5, false);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, x + 22, y, c.series[i].name);
      x += widths[i];
    }
    if (ref) {
      cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
      cairo_set_line_width(cr, 1.2);
      const double dash[] = {5, 3};
      cairo_set_dash(cr, dash, 2, 0);
      cairo_move_to(cr, x, y - 4);
      cairo_line_to(cr, x + 28, y - 4);
      cairo_stroke(cr);
      cairo_set_dash(cr, nullptr, 0, 0);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, x + 34, y, c.ref_label);
      x += 34 + textWidth(cr, c.ref_label) + 18;
    }
    if (!c.hollow_note.empty()) {
      cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_new_sub_path(cr);
      cairo_arc(cr, x + 7, y - 4, 5, 0, 2 * M_PI);
      cairo_fill_preserve(cr);
      cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
      cairo_set_line_width(cr, 1.6);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, x + 18, y, c.hollow_note);
    }
  }

  // ---- grid and y ticks
  cairo_set_font_size(cr, 11);
  cairo_set_line_width(cr, 1.0);
  if (c.log_y) {
    for (int k = kmin; k <= kmax; ++k) {
      double y = std::round(yOf(std::pow(10.0, k))) + 0.5;
      cairo_set_source_rgb(cr, 0.82, 0.82, 0.82);
      cairo_move_to(cr, px0, y);
      cairo_line_to(cr, px1, y);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
      text(cr, px0 - 8, y + 4, logTickLabel(k), 1.0);
      cairo_move_to(cr, px0 - 5, y);
      cairo_line_to(cr, px0, y);
      cairo_stroke(cr);
      if (k < kmax)
        for (int m = 2; m <= 9; ++m) {
          double ym = std::round(yOf(m * std::pow(10.0, k))) + 0.5;
          cairo_set_source_rgb(cr, 0.93, 0.93, 0.93);
          cairo_move_to(cr, px0, ym);
          cairo_line_to(cr, px1, ym);
          cairo_stroke(cr);
          cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
          cairo_move_to(cr, px0 - 3, ym);
          cairo_line_to(cr, px0, ym);
          cairo_stroke(cr);
        }
    }
  } else {
    double step = niceStep(hi - lo, 6);
    for (double v = std::ceil(lo / step) * step; v <= hi + 1e-12; v += step) {
      double y = std::round(yOf(v)) + 0.5;
      cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
      cairo_move_to(cr, px0, y);
      cairo_line_to(cr, px1, y);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
      text(cr, px0 - 8, y + 4, linTickLabel(v), 1.0);
    }
  }

  // ---- x ticks and labels
  for (size_t i = 0; i < n; ++i) {
    double x = std::round(xOf(i)) + 0.5;
    cairo_set_source_rgb(cr, 0.94, 0.94, 0.94);
    cairo_move_to(cr, x, py0);
    cairo_line_to(cr, x, py1);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_move_to(cr, x, py1);
    cairo_line_to(cr, x, py1 + 5);
    cairo_stroke(cr);
    if (rotate) {
      cairo_save(cr);
      cairo_translate(cr, x + 3, py1 + 10);
      cairo_rotate(cr, -M_PI / 4);
      text(cr, 0, 0, c.categories[i], 1.0);
      cairo_restore(cr);
    } else {
      text(cr, x, py1 + 18, c.categories[i], 0.5);
    }
  }

  // ---- axes frame and labels
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, px0 + 0.5, py0 + 0.5, px1 - px0 - 1, py1 - py0 - 1);
  cairo_stroke(cr);
  cairo_set_font_size(cr, 13);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  text(cr, (px0 + px1) / 2, H - 12, c.x_label, 0.5);
  cairo_save(cr);
  cairo_translate(cr, 22, (py0 + py1) / 2);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, 0, 0, c.y_label, 0.5);
  cairo_restore(cr);

  // ---- reference line
  cairo_save(cr);
  cairo_rectangle(cr, px0, py0, px1 - px0, py1 - py0);
  cairo_clip(cr);
  if (std::isfinite(c.ref_line) && (!c.log_y || c.ref_line > 0)) {
    double y = yOf(c.ref_line);
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    cairo_set_line_width(cr, 1.2);
    const double dash[] = {5, 3};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, px0, y);
    cairo_line_to(cr, px1, y);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
  }

  // ---- data: pair connectors, series lines, markers
  const size_t ns = c.series.size();
  auto xs = [&](size_t i, size_t s) {
    double off = ns > 1 ? (double(s) - (ns - 1) / 2.0) * std::min(5.0, spacing / (3.0 * ns)) : 0.0;
    return xOf(i) + off;
  };
  // Values <= 0 on a log axis are clamped to the floor by yOf.
  auto valid = [](double v) { return std::isfinite(v); };
  if (c.pair_connectors && ns > 1) {
    cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
    cairo_set_line_width(cr, 1.0);
    for (size_t i = 0; i < n; ++i) {
      double ymin = INFINITY, ymax = -INFINITY;
      int cnt = 0;
      for (size_t s = 0; s < ns; ++s) {
        if (i >= c.series[s].y.size() || !valid(c.series[s].y[i])) continue;
        double y = yOf(c.series[s].y[i]);
        ymin = std::min(ymin, y);
        ymax = std::max(ymax, y);
        ++cnt;
      }
      if (cnt >= 2) {
        cairo_move_to(cr, xOf(i), ymin);
        cairo_line_to(cr, xOf(i), ymax);
        cairo_stroke(cr);
      }
    }
  }
  if (c.connect_series) {
    for (size_t s = 0; s < ns; ++s) {
      setColor(cr, kPalette[s % kPaletteSize], 0.45);
      cairo_set_line_width(cr, 1.2);
      bool pen = false;
      for (size_t i = 0; i < n && i < c.series[s].y.size(); ++i) {
        double v = c.series[s].y[i];
        if (!valid(v)) {
          pen = false;
          continue;
        }
        if (pen)
          cairo_line_to(cr, xs(i, s), yOf(v));
        else
          cairo_move_to(cr, xs(i, s), yOf(v));
        pen = true;
      }
      cairo_stroke(cr);
    }
  }
  const double r = std::clamp(spacing / 5.0, 3.0, 5.5);
  for (size_t s = 0; s < ns; ++s)
    for (size_t i = 0; i < n && i < c.series[s].y.size(); ++i) {
      double v = c.series[s].y[i];
      if (!valid(v)) continue;
      bool hollow = i < c.series[s].hollow.size() && c.series[s].hollow[i];
      drawMarker(cr, static_cast<int>(s), xs(i, s), yOf(v), r, hollow);
    }
  cairo_restore(cr);
}

void check(cairo_status_t st, const std::string& path) {
  if (st != CAIRO_STATUS_SUCCESS)
    throw Error(path + ": cannot write chart (" + cairo_status_to_string(st) + ")");
}

void replace(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename temp file");
  }
}

}  // namespace

void writeChartSvg(const PairedChart& c, const std::string& path) {
  const std::string tmp = path + ".tmp";
  cairo_surface_t* surf = cairo_svg_surface_create(tmp.c_str(), c.width, c.height);
  cairo_status_t st = cairo_surface_status(surf);
  if (st == CAIRO_STATUS_SUCCESS) {
    cairo_t* cr = cairo_create(surf);
    draw(cr, c);
    st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(surf);
  }
  cairo_surface_destroy(surf);
  if (st != CAIRO_STATUS_SUCCESS) std::remove(tmp.c_str());
  check(st, path);
  replace(tmp, path);
}

void writeChartPng(const PairedChart& c, const std::string& path) {
  const std::string tmp = path + ".tmp";
  cairo_surface_t* surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, c.width, c.height);
  cairo_status_t st = cairo_surface_status(surf);
  if (st == CAIRO_STATUS_SUCCESS) {
    cairo_t* cr = cairo_create(surf);
    draw(cr, c);
    st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_write_to_png(surf, tmp.c_str());
  }
  cairo_surface_destroy(surf);
  if (st != CAIRO_STATUS_SUCCESS) std::remove(tmp.c_str());
  check(st, path);
  replace(tmp, path);
}

void writeChart(const PairedChart& c, const std::string& path) {
  auto ends = [&](const std::string& suf) {
    if (path.size() < suf.size()) return false;
    std::string tail = path.substr(path.size() - suf.size());
    std::transform(tail.begin(), tail.end(), tail.begin(), ::tolower);
    return tail == suf;
  };
  if (ends(".svg")) return writeChartSvg(c, path);
  if (ends(".png")) return writeChartPng(c, path);
  throw Error(path + ": chart format must be .svg or .png");
}

}  // namespace nnopt::report
