#pragma once
// The attack panel (PNG, cairo): the original image, the adversarial image and
// the signed perturbation (adversarial - original) side by side, each captioned
// with the network's predicted label and softmax confidence. The perturbation
// uses a blue-white-red diverging map with a symmetric scale [-s, s], s = the
// largest |perturbation| (a colour bar shows s). RGB images are drawn in colour
// and their perturbation per channel: three tiles (R, G, B) on the same scale.
#include <Eigen/Dense>
#include <string>

namespace nnopt::report {

struct AttackPanel {
  Eigen::VectorXd original;     // pixels in [0,1], CHW row-major
  Eigen::VectorXd adversarial;  // same size
  int channels = 1;             // 1 (gray) or 3 (RGB: perturbation shown per channel)
  int rows = 0;
  int cols = 0;
  Eigen::VectorXd logits_original;     // network outputs, for label and confidence
  Eigen::VectorXd logits_adversarial;
  std::string title;            // first line (e.g. model and attack)
  std::string subtitle;         // second line (e.g. distances, verdict); may be empty
  std::string adversarial_caption = "adversarial";  // e.g. "best point (no attack)"
};

// Softmax of a logit vector (max-shifted, so large logits do not overflow).
Eigen::VectorXd softmax(const Eigen::VectorXd& logits);

struct PanelSize {
  int width;
  int height;
};
// The PNG's size for an image of channels x rows x cols (RGB has two more tiles).
PanelSize attackPanelSize(int rows, int cols, int channels = 1);

// Writes the panel as PNG. Throws Error on inconsistent sizes or a cairo failure.
void writeAttackPanel(const AttackPanel& p, const std::string& path);

}  // namespace nnopt::report
