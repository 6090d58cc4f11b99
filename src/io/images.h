#pragma once
// Image and dataset readers/writers. Pixels are returned scaled to [0,1],
// row-major, channel-major for multi-channel images (CHW).
#include <Eigen/Dense>
#include <cstdint>
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
//  - CSV "label,p0,...,p783" with pixels 0-255 (one image per line; a first
//    line starting with a letter or quote is a header and skipped; blank lines
//    are ignored; the pixel count must be the same on every line: a square s*s
//    is a gray s x s image, 3*s*s (e.g. 3072) a colour 3 x s x s one, the red
//    plane first, then green, then blue, as CIFAR-10 stores it);
//  - CIFAR-10 binary batches (data_batch_1.bin ... test_batch.bin, named *.bin or
//    *.bin.gz): records of 1 label byte + 3072 bytes (32x32 red, green, blue
//    planes) -> 3 x 32 x 32 images.
// The format is told by name (*.bin) or content (IDX magic, gzip magic, else CSV
// text); gzipped CSV works too. Gzipped files and CSV line offsets are cached per path (and
// re-read when the file's size or time changes), so looping over all items is linear.
// Throws Error("FILE: cause") on malformed/truncated files or index out of range.
Image loadDatasetItem(const std::string& path, long index);
// Number of items in a dataset file.
long datasetSize(const std::string& path);

// A single image: PNG (8/16-bit gray, gray+alpha, RGB, RGBA, palette; converted
// to gray by 0.299R+0.587G+0.114B when gray=true) or binary/ASCII PGM (P5/P2;
// PPM P6/P3 too). Alpha is dropped; with gray=false a colour image gives 3
// channels (CHW), a gray one 1. Samples are scaled by their maxval (255, 65535, PGM maxval).
Image loadImage(const std::string& path, bool gray = true);

// A single image decoded for a network whose input has `input_shape` (without
// the batch): 3 channels (C x H x W, channel-major) when the network takes 3
// channels (input 3 x H x W, or a flat input of 3*rows*cols values), else gray as
// loadImage(path) gives it. A gray image for a 3-channel network is an error
// naming both shapes.
Image loadImageFor(const std::string& path, const std::vector<std::int64_t>& input_shape);

// The luminance 0.299R + 0.587G + 0.114B of a 3-channel image (as loadImage(path,
// true) mixes colour files); a 1-channel image is returned unchanged.
Image toGray(const Image& img);

// Writes a grayscale image (pixels in [0,1], clamped, NaN -> 0) as 8-bit PNG,
// each pixel repeated as a scale x scale block.
void writePngGray(const std::string& path, const Eigen::VectorXd& pixels, int rows, int cols,
                  int scale = 1);
// Writes an RGB image (rgb: rows*cols*3 interleaved bytes) as PNG.
void writePngRgb(const std::string& path, const std::vector<unsigned char>& rgb, int rows,
                 int cols);

}  // namespace nnopt::io
