#pragma once
// A small chart drawer (cairo): categories on the x axis, one marker series
// per method, log-scale y axis — the seed blog's Figure 2 (MIP vs NLP solve
// times per architecture). The same drawing code renders SVG and PNG.
#include <limits>
#include <string>
#include <vector>

namespace nnopt::report {

struct ChartSeries {
  std::string name;
  std::vector<double> y;  // one value per category; NaN = missing
  // Categories whose value is drawn hollow (e.g. a run that hit the time limit).
  std::vector<bool> hollow;
};

struct PairedChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> categories;  // x tick labels, in order
  std::vector<ChartSeries> series;
  bool log_y = true;
  bool connect_series = true;  // thin line through each series' points
  bool pair_connectors = true; // faint vertical segment spanning each category's values
  // Horizontal dashed reference line (e.g. the time limit); NaN = none.
  double ref_line = std::numeric_limits<double>::quiet_NaN();
  std::string ref_label;
  std::string hollow_note;     // legend text explaining hollow markers (empty: none)
  int width = 1100;
  int height = 560;
};

// Writes the chart; the format is chosen by the extension (.svg or .png).
// Values <= 0 on a log axis are clamped to the axis floor. Throws Error on an
// unknown extension or a cairo failure.
void writeChart(const PairedChart& c, const std::string& path);
void writeChartSvg(const PairedChart& c, const std::string& path);
void writeChartPng(const PairedChart& c, const std::string& path);

}  // namespace nnopt::report
