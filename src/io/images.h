#pragma once
// Image and dataset readers/writers. Pixels are returned scaled to [0,1],
// row-major, channel-major for multi-channel images (CHW).
#include <Eigen/Dense>
#include <string>
#include <vector>

namespace nnopt::io {

struct Image {
  Eigen::VectorXd pixels;  // in [0,1], CHW row-major
  int channels = 1;
  int rows = 0;
  int cols = 0;
  int label = -1;          // -1 when unknown
};

// One item of a dataset file, by 0-based index:
//  - MNIST IDX image file (gzipped or not, e.g. t10k-images-idx3-ubyte[.gz]);
//    labels are read from the sibling labels file when it exists
//    (t10k-labels-idx1-ubyte[.gz]);
//  - CSV "label,p0,...,p783" with pixels 0-255 (one image per line).
// Throws Error("FILE: cause") on malformed/truncated files or index out of range.
Image loadDatasetItem(const std::string& path, long index);
// Number of items in a dataset file.
long datasetSize(const std::string& path);

// A single image: PNG (8/16-bit gray, gray+alpha, RGB, RGBA; converted to gray
// when gray=true) or binary/ASCII PGM (P5/P2).
Image loadImage(const std::string& path, bool gray = true);

// Writes a grayscale image (pixels in [0,1], clamped) as 8-bit PNG.
void writePngGray(const std::string& path, const Eigen::VectorXd& pixels, int rows, int cols,
                  int scale = 1);
// Writes an RGB image (rgb: rows*cols*3 interleaved bytes) as PNG.
void writePngRgb(const std::string& path, const std::vector<unsigned char>& rgb, int rows,
                 int cols);

}  // namespace nnopt::io
