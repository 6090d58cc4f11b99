// Single images (loadImage): PNG through libpng and PGM/PPM (P5/P2, P6/P3),
// samples scaled to [0,1] by their maxval, colour kept (CHW) or mixed to gray.
#include "io/images.h"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csetjmp>
#include <cstring>

#include "io/images_internal.h"

namespace nnopt::io {

using namespace images_detail;

namespace {

std::string readWholeFile(const std::string& path) {
  FilePtr f = openRead(path);
  if (std::fseek(f.get(), 0, SEEK_END) != 0) fail(path, "cannot seek in file: " + errnoText(errno));
  long long size = ftello(f.get());
  if (size < 0) fail(path, "cannot seek in file: " + errnoText(errno));
  if (static_cast<std::uint64_t>(size) > kMaxImageFileBytes)
    fail(path, "file is larger than " + std::to_string(kMaxImageFileBytes) + " bytes");
  std::rewind(f.get());
  std::string data(static_cast<std::size_t>(size), '\0');
  if (size > 0 && std::fread(data.data(), 1, data.size(), f.get()) != data.size())
    fail(path, "cannot read file: " + errnoText(errno));
  return data;
}

void checkPixelCount(const std::string& path, std::uint64_t w, std::uint64_t h, const char* what) {
  if (w == 0 || h == 0)
    fail(path, std::string(what) + " has zero size (" + std::to_string(w) + "x" +
                   std::to_string(h) + ")");
  if (w > kMaxImagePixels || h > kMaxImagePixels || w * h > kMaxImagePixels)
    fail(path, std::string(what) + " is too large (" + std::to_string(w) + "x" +
                   std::to_string(h) + ", limit " + std::to_string(kMaxImagePixels) + " pixels)");
}

// Builds the Image from interleaved samples in [0,1] with `ch` channels, of
// which an alpha channel (ch 2 or 4) is dropped; gray=true mixes RGB by luminance.
Image fromInterleaved(const std::vector<double>& s, int rows, int cols, int ch, bool gray) {
  Image img;
  img.rows = rows;
  img.cols = cols;
  const bool color = ch >= 3;
  const Eigen::Index n = Eigen::Index(rows) * cols;
  if (!color || gray) {
    img.channels = 1;
    img.pixels.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const double* p = &s[static_cast<std::size_t>(i) * ch];
      img.pixels[i] = color ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
    }
  } else {
    img.channels = 3;
    img.pixels.resize(3 * n);
    for (int c = 0; c < 3; ++c)
      for (Eigen::Index i = 0; i < n; ++i) img.pixels[c * n + i] = s[static_cast<std::size_t>(i) * ch + c];
  }
  return img;
}

// ---- PNG reading (libpng errors longjmp back to the setjmp in readPng)

struct PngReadCtx {
  const std::string* data = nullptr;
  std::size_t pos = 0;
  char msg[256] = {};
  std::vector<unsigned char> pixels;
  std::vector<png_bytep> rowPtrs;
};

void pngErrorFn(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngReadCtx*>(png_get_error_ptr(png));
  if (ctx) std::snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}
void pngWarningFn(png_structp, png_const_charp) {}

void pngReadFn(png_structp png, png_bytep out, png_size_t n) {
  auto* ctx = static_cast<PngReadCtx*>(png_get_io_ptr(png));
  if (ctx->data->size() - ctx->pos < n) png_error(png, "unexpected end of file (truncated PNG)");
  std::memcpy(out, ctx->data->data() + ctx->pos, n);
  ctx->pos += n;
}

struct PngInfo {
  std::uint32_t w = 0, h = 0;
  int ch = 0, depth = 0;
  bool tooBig = false;
};

// C-style body: no object with a destructor lives in this frame after setjmp.
bool readPngBody(PngReadCtx* ctx, PngInfo* out) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, pngErrorFn, pngWarningFn);
  if (!png) {
    std::snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, ctx, pngReadFn);
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_read_info(png, info);
  out->w = png_get_image_width(png, info);
  out->h = png_get_image_height(png, info);
  if (out->w == 0 || out->h == 0 || std::uint64_t(out->w) * out->h > kMaxImagePixels) {
    out->tooBig = true;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  int colorType = png_get_color_type(png, info);
  if (colorType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colorType == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->ch = png_get_channels(png, info);
  out->depth = png_get_bit_depth(png, info);
  std::size_t rowBytes = png_get_rowbytes(png, info);
  // The pixels come from deflate data inside the file, which expands at most
  // ~1032:1: a header declaring far more pixel bytes than that lies about the
  // size (or the file is truncated). Refuse before allocating the raster.
  const std::uint64_t rasterBytes = std::uint64_t(rowBytes) * out->h;
  const std::uint64_t canHold = std::uint64_t(ctx->data->size()) * kMaxDeflateRatio + (1u << 16);
  if (rasterBytes > canHold) {
    std::snprintf(ctx->msg, sizeof ctx->msg,
                  "header declares %ux%u pixels (%llu bytes) but the file (%llu bytes) can "
                  "hold at most %llu",
                  static_cast<unsigned>(out->w), static_cast<unsigned>(out->h),
                  static_cast<unsigned long long>(rasterBytes),
                  static_cast<unsigned long long>(ctx->data->size()),
                  static_cast<unsigned long long>(canHold));
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  ctx->pixels.resize(rowBytes * out->h);
  ctx->rowPtrs.resize(out->h);
  for (std::uint32_t y = 0; y < out->h; ++y) ctx->rowPtrs[y] = ctx->pixels.data() + y * rowBytes;
  png_read_image(png, ctx->rowPtrs.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

Image readPng(const std::string& path, const std::string& data, bool gray) {
  // IHDR is always the first chunk: refuse absurd sizes before libpng sees them.
  if (data.size() >= 24 && std::memcmp(data.data() + 12, "IHDR", 4) == 0) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    checkPixelCount(path, be32(p + 16), be32(p + 20), "PNG image");
  }
  auto ctx = std::make_unique<PngReadCtx>();
  ctx->data = &data;
  PngInfo info;
  bool ok = false;
  try {
    ok = readPngBody(ctx.get(), &info);
  } catch (const std::bad_alloc&) {
    fail(path, "out of memory reading PNG");
  }
  if (info.tooBig) checkPixelCount(path, info.w, info.h, "PNG image");
  if (!ok) fail(path, std::string("corrupt or truncated PNG: ") + ctx->msg);
  const int ch = info.ch;
  const std::size_t n = std::size_t(info.w) * info.h * ch;
  std::vector<double> s(n);
  if (info.depth == 16) {
    for (std::size_t i = 0; i < n; ++i)
      s[i] = ((ctx->pixels[2 * i] << 8) | ctx->pixels[2 * i + 1]) / 65535.0;
  } else {
    for (std::size_t i = 0; i < n; ++i) s[i] = ctx->pixels[i] / 255.0;
  }
  ctx->pixels.clear();
  ctx->pixels.shrink_to_fit();
  return fromInterleaved(s, static_cast<int>(info.h), static_cast<int>(info.w), ch, gray);
}

// ---- PGM / PPM

class PnmReader {
 public:
  PnmReader(const std::string& path, const std::string& d) : path_(path), d_(d) {}
  // Skips whitespace and '#' comments.
  void skipSpace() {
    while (pos_ < d_.size()) {
      char c = d_[pos_];
      if (c == '#') {
        while (pos_ < d_.size() && d_[pos_] != '\n' && d_[pos_] != '\r') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else {
        break;
      }
    }
  }
  std::uint64_t number(const char* what) {
    skipSpace();
    if (pos_ >= d_.size()) fail(path_, std::string("unexpected end of file reading ") + what);
    if (!std::isdigit(static_cast<unsigned char>(d_[pos_])))
      fail(path_, std::string("bad header: expected ") + what + ", found " +
                      shown(std::string_view(d_).substr(pos_, 8)));
    std::uint64_t v = 0;
    while (pos_ < d_.size() && std::isdigit(static_cast<unsigned char>(d_[pos_]))) {
      v = v * 10 + static_cast<std::uint64_t>(d_[pos_] - '0');
      if (v > 0xffffffffULL) fail(path_, std::string(what) + " is too large");
      ++pos_;
    }
    if (pos_ < d_.size() && !std::isspace(static_cast<unsigned char>(d_[pos_])) && d_[pos_] != '#')
      fail(path_, std::string("bad ") + what + ": unexpected character " +
                      shown(std::string_view(d_).substr(pos_, 1)));
    return v;
  }
  std::size_t pos() const { return pos_; }
  void setPos(std::size_t p) { pos_ = p; }

 private:
  const std::string& path_;
  const std::string& d_;
  std::size_t pos_ = 0;
};

Image readPnm(const std::string& path, const std::string& data, bool gray) {
  const char kind = data[1];
  const bool ascii = kind == '2' || kind == '3';
  const int ch = (kind == '3' || kind == '6') ? 3 : 1;
  PnmReader r(path, data);
  r.setPos(2);
  if (data.size() > 2 && !std::isspace(static_cast<unsigned char>(data[2])) && data[2] != '#')
    fail(path, "bad header: expected whitespace after magic number P" + std::string(1, kind));
  std::uint64_t w = r.number("width");
  std::uint64_t h = r.number("height");
  std::uint64_t maxval = r.number("maxval");
  if (maxval == 0 || maxval > 65535)
    fail(path, "bad header: maxval " + std::to_string(maxval) + " must be in 1..65535");
  checkPixelCount(path, w, h, "image");
  const std::size_t n = std::size_t(w * h) * ch;
  std::vector<double> s;
  if (ascii) {
    s.reserve(std::min<std::size_t>(n, data.size() / 2 + 1));  // each sample needs >= 2 bytes
    for (std::size_t i = 0; i < n; ++i) {
      r.skipSpace();
      if (r.pos() >= data.size())
        fail(path, "truncated file: " + std::to_string(i) + " of " + std::to_string(n) +
                       " pixel values present");
      std::uint64_t v = r.number("pixel value");
      if (v > maxval)
        fail(path, "pixel " + std::to_string(i) + " value " + std::to_string(v) +
                       " exceeds maxval " + std::to_string(maxval));
      s.push_back(double(v) / double(maxval));
    }
  } else {
    // Exactly one whitespace character separates maxval from the raster.
    std::size_t start = r.pos() + 1;
    const std::size_t bps = maxval < 256 ? 1 : 2;
    std::uint64_t have = data.size() > start ? data.size() - start : 0;
    if (r.pos() >= data.size() || have < std::uint64_t(n) * bps)
      fail(path, "truncated file: " + std::to_string(w) + "x" + std::to_string(h) + " image needs " +
                     std::to_string(std::uint64_t(n) * bps) + " bytes of pixel data, found " +
                     std::to_string(have));
    s.resize(n);
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + start);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t v = bps == 1 ? p[i] : (std::uint64_t(p[2 * i]) << 8) | p[2 * i + 1];
      if (v > maxval)
        fail(path, "pixel " + std::to_string(i) + " value " + std::to_string(v) +
                       " exceeds maxval " + std::to_string(maxval));
      s[i] = double(v) / double(maxval);
    }
  }
  return fromInterleaved(s, static_cast<int>(h), static_cast<int>(w), ch, gray);
}

}  // namespace

Image loadImage(const std::string& path, bool gray) {
  std::string data = readWholeFile(path);
  if (data.empty()) fail(path, "file is empty");
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (data.size() >= 8 && std::memcmp(data.data(), sig, 8) == 0) return readPng(path, data, gray);
  if (data.size() >= 2 && data[0] == 'P' && (data[1] == '2' || data[1] == '5' || data[1] == '3' || data[1] == '6'))
    return readPnm(path, data, gray);
  fail(path, "unrecognised image format (expected PNG, or PGM P5/P2)");
}

Image toGray(const Image& img) {
  if (img.channels != 3) return img;
  Image g = img;
  g.channels = 1;
  const Eigen::Index n = Eigen::Index(img.rows) * img.cols;
  g.pixels.resize(n);
  for (Eigen::Index i = 0; i < n; ++i)
    g.pixels[i] = 0.299 * img.pixels[i] + 0.587 * img.pixels[n + i] + 0.114 * img.pixels[2 * n + i];
  return g;
}

Image loadImageFor(const std::string& path, const std::vector<std::int64_t>& input_shape) {
  Image img = loadImage(path, false);
  std::int64_t n = 1;
  for (auto d : input_shape) n *= d;
  const bool chw = input_shape.size() == 3;
  const bool color = chw ? input_shape[0] == 3 : img.channels == 3 && img.pixels.size() == n;
  if (!color) return toGray(img);
  if (img.channels != 3) {
    std::string shape;
    for (auto d : input_shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    fail(path, "gray image (1 channel, " + std::to_string(img.rows) + "x" +
                   std::to_string(img.cols) + ") but the network expects 3 channels (input " +
                   shape + ")");
  }
  return img;
}

}  // namespace nnopt::io
