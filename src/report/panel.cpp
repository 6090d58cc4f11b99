#include "report/panel.h"

#include <cairo.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace nnopt::report {
namespace {

constexpr int kMargin = 20;
constexpr int kGap = 34;
constexpr int kTop = 104;       // title, subtitle, two caption lines
constexpr int kBottom = 20;
constexpr int kBarGap = 14;     // tile -> colour bar
constexpr int kBarWidth = 14;
constexpr int kBarText = 62;    // room for the colour bar's labels

int tileScale(int rows, int cols) {
  return std::max(1, static_cast<int>(std::lround(224.0 / std::max(rows, cols))));
}

void textAt(cairo_t* cr, double x, double y, const std::string& s, double ha = 0.0) {
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  cairo_move_to(cr, x - ha * ext.x_advance, y);
  cairo_show_text(cr, s.c_str());
}

// Blue (-1) - white (0) - red (+1).
void diverging(double t, double& r, double& g, double& b) {
  t = std::clamp(t, -1.0, 1.0);
  if (t >= 0) {
    r = 1.0, g = 1.0 - 0.85 * t, b = 1.0 - 0.85 * t;
  } else {
    r = 1.0 + 0.85 * t, g = 1.0 + 0.85 * t, b = 1.0;
  }
}

double clamp01(double v) { return std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0; }

void drawImageTile(cairo_t* cr, const Eigen::VectorXd& px, int channels, int rows, int cols,
                   double x0, double y0, int scale) {
  const int plane = rows * cols;
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      const int k = i * cols + j;
      if (channels == 3)
        cairo_set_source_rgb(cr, clamp01(px[k]), clamp01(px[plane + k]), clamp01(px[2 * plane + k]));
      else
        cairo_set_source_rgb(cr, clamp01(px[k]), clamp01(px[k]), clamp01(px[k]));
      cairo_rectangle(cr, x0 + j * scale, y0 + i * scale, scale, scale);
      cairo_fill(cr);
    }
}

void frame(cairo_t* cr, double x, double y, double w, double h) {
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, x - 0.5, y - 0.5, w + 1, h + 1);
  cairo_stroke(cr);
}

std::string predictionCaption(const Eigen::VectorXd& logits) {
  if (logits.size() == 0) return "";
  Eigen::Index k = 0;
  logits.maxCoeff(&k);
  const Eigen::VectorXd p = softmax(logits);
  return fmt::format("predicted {} ({:.1f}%)", k, 100.0 * p[k]);
}

}  // namespace

Eigen::VectorXd softmax(const Eigen::VectorXd& logits) {
  if (logits.size() == 0) return logits;
  const double m = logits.maxCoeff();
  Eigen::VectorXd e = (logits.array() - m).exp().matrix();
  return e / e.sum();
}

PanelSize attackPanelSize(int rows, int cols, int channels) {
  const int s = tileScale(rows, cols);
  const int tw = cols * s, th = rows * s;
  const int tiles = channels == 3 ? 5 : 3;
  return {kMargin + tiles * tw + (tiles - 1) * kGap + kBarGap + kBarWidth + kBarText,
          kTop + th + kBottom};
}

void writeAttackPanel(const AttackPanel& p, const std::string& path) {
  require(p.rows > 0 && p.cols > 0, "attack panel: image size unknown");
  require(p.channels == 1 || p.channels == 3, "attack panel: only gray or RGB images");
  const Eigen::Index n = static_cast<Eigen::Index>(p.channels) * p.rows * p.cols;
  require(p.original.size() == n && p.adversarial.size() == n,
          fmt::format("attack panel: images have {} / {} values, expected {}", p.original.size(),
                      p.adversarial.size(), n));
  const PanelSize size = attackPanelSize(p.rows, p.cols, p.channels);
  const int scale = tileScale(p.rows, p.cols);
  const int tw = p.cols * scale, th = p.rows * scale;

  cairo_surface_t* surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, size.width, size.height);
  cairo_t* cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);  // crisp pixel blocks

  // Perturbation per channel (one tile each) on one symmetric scale.
  const int plane = p.rows * p.cols;
  const Eigen::VectorXd d = p.adversarial - p.original;
  double s = 0;
  for (Eigen::Index i = 0; i < d.size(); ++i)
    if (std::isfinite(d[i])) s = std::max(s, std::abs(d[i]));
  const double s_div = s > 0 ? s : 1.0;

  const double y0 = kTop;
  const double x_orig = kMargin, x_adv = x_orig + tw + kGap, x_pert = x_adv + tw + kGap;
  drawImageTile(cr, p.original, p.channels, p.rows, p.cols, x_orig, y0, scale);
  drawImageTile(cr, p.adversarial, p.channels, p.rows, p.cols, x_adv, y0, scale);
  for (int c = 0; c < p.channels; ++c) {
    const double x = x_pert + c * (tw + kGap);
    for (int i = 0; i < p.rows; ++i)
      for (int j = 0; j < p.cols; ++j) {
        double r, g, b;
        const double v = d[c * plane + i * p.cols + j];
        diverging(std::isfinite(v) ? v / s_div : 0.0, r, g, b);
        cairo_set_source_rgb(cr, r, g, b);
        cairo_rectangle(cr, x + j * scale, y0 + i * scale, scale, scale);
        cairo_fill(cr);
      }
  }
  const double x_pert_end = x_pert + p.channels * tw + (p.channels - 1) * kGap;
  // Colour bar from +s (top) to -s (bottom).
  const double xb = x_pert_end + kBarGap;
  for (int k = 0; k < th; ++k) {
    double r, g, b;
    diverging(1.0 - 2.0 * (k + 0.5) / th, r, g, b);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_rectangle(cr, xb, y0 + k, kBarWidth, 1);
    cairo_fill(cr);
  }
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
  frame(cr, x_orig, y0, tw, th);
  frame(cr, x_adv, y0, tw, th);
  for (int c = 0; c < p.channels; ++c) frame(cr, x_pert + c * (tw + kGap), y0, tw, th);
  frame(cr, xb, y0, kBarWidth, th);

  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_set_font_size(cr, 10);
  textAt(cr, xb + kBarWidth + 4, y0 + 9, fmt::format("+{:.3g}", s));
  textAt(cr, xb + kBarWidth + 4, y0 + th / 2.0 + 4, "0");
  textAt(cr, xb + kBarWidth + 4, y0 + th, fmt::format("-{:.3g}", s));

  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 14);
  textAt(cr, kMargin, 24, p.title);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  if (!p.subtitle.empty()) textAt(cr, kMargin, 44, p.subtitle);
  cairo_set_font_size(cr, 13);
  textAt(cr, x_orig + tw / 2.0, y0 - 26, "original", 0.5);
  textAt(cr, x_adv + tw / 2.0, y0 - 26, p.adversarial_caption, 0.5);
  if (p.channels == 3) {
    const char* names[] = {"perturbation R", "perturbation G", "perturbation B"};
    for (int c = 0; c < 3; ++c) textAt(cr, x_pert + c * (tw + kGap) + tw / 2.0, y0 - 26, names[c], 0.5);
  } else {
    textAt(cr, x_pert + tw / 2.0, y0 - 26, "perturbation", 0.5);
  }
  cairo_set_font_size(cr, 12);
  textAt(cr, x_orig + tw / 2.0, y0 - 9, predictionCaption(p.logits_original), 0.5);
  textAt(cr, x_adv + tw / 2.0, y0 - 9, predictionCaption(p.logits_adversarial), 0.5);
  textAt(cr, (x_pert + x_pert_end) / 2.0, y0 - 9,
         fmt::format("L1 {:.3f}  L2 {:.3f}  Linf {:.3f}", d.lpNorm<1>(), d.norm(),
                     d.lpNorm<Eigen::Infinity>()),
         0.5);

  cairo_destroy(cr);
  cairo_surface_flush(surf);
  const cairo_status_t st = cairo_surface_write_to_png(surf, path.c_str());
  cairo_surface_destroy(surf);
  if (st != CAIRO_STATUS_SUCCESS)
    throw Error(fmt::format("{}: cannot write PNG ({})", path, cairo_status_to_string(st)));
}

}  // namespace nnopt::report
