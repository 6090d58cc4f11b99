// PNG writing (writePngGray, writePngRgb) through libpng; a file left
// half-written by an error is removed (unless it is not a regular file).
#include "io/images.h"

#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstring>
#include <system_error>

#include "io/images_internal.h"

namespace nnopt::io {

using namespace images_detail;

namespace {

void pngWarningFn(png_structp, png_const_charp) {}

struct PngWriteCtx {
  char msg[256] = {};
};

void pngWriteErrorFn(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngWriteCtx*>(png_get_error_ptr(png));
  if (ctx) std::snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

bool writePngBody(std::FILE* f, PngWriteCtx* ctx, png_bytep* rows, std::uint32_t w,
                  std::uint32_t h, int colorType) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, pngWriteErrorFn, pngWarningFn);
  if (!png) {
    std::snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, 8, colorType, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

void writePng(const std::string& path, const std::vector<unsigned char>& bytes, std::uint32_t w,
              std::uint32_t h, int channels) {
  std::vector<png_bytep> rows(h);
  for (std::uint32_t y = 0; y < h; ++y)
    rows[y] = const_cast<png_bytep>(bytes.data() + std::size_t(y) * w * channels);
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail(path, "cannot write file: " + errnoText(errno));
  auto ctx = std::make_unique<PngWriteCtx>();
  bool ok = writePngBody(f, ctx.get(), rows.data(), w, h,
                         channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB);
  bool flushed = std::fflush(f) == 0 && !std::ferror(f);
  int err = errno;
  bool closed = std::fclose(f) == 0;
  if (!ok || !flushed || !closed) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) fs::remove(path, ec);  // never a device such as /dev/full
    if (!ok) fail(path, std::string("cannot write PNG: ") + ctx->msg);
    fail(path, "cannot write file: " + errnoText(err ? err : errno));
  }
}

void checkWriteSize(const std::string& path, long long rows, long long cols, long long scale) {
  if (rows <= 0 || cols <= 0)
    fail(path, "cannot write an image of size " + std::to_string(rows) + "x" + std::to_string(cols));
  if (scale < 1) fail(path, "scale must be >= 1, got " + std::to_string(scale));
  if (rows * scale > 0x7fffffff || cols * scale > 0x7fffffff ||
      std::uint64_t(rows * scale) * std::uint64_t(cols * scale) > kMaxImagePixels)
    fail(path, "image to write is too large (" + std::to_string(rows * scale) + "x" +
                   std::to_string(cols * scale) + " pixels)");
}

}  // namespace

void writePngGray(const std::string& path, const Eigen::VectorXd& pixels, int rows, int cols,
                  int scale) {
  checkWriteSize(path, rows, cols, scale);
  if (pixels.size() != Eigen::Index(rows) * cols)
    fail(path, "cannot write image: " + std::to_string(pixels.size()) + " pixels for " +
                   std::to_string(rows) + "x" + std::to_string(cols));
  const std::uint32_t W = std::uint32_t(cols) * scale, H = std::uint32_t(rows) * scale;
  std::vector<unsigned char> out(std::size_t(W) * H);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      double v = pixels[Eigen::Index(r) * cols + c];
      if (std::isnan(v)) v = 0;
      v = std::clamp(v, 0.0, 1.0);
      auto b = static_cast<unsigned char>(std::lround(v * 255.0));
      for (int dy = 0; dy < scale; ++dy) {
        unsigned char* row = out.data() + (std::size_t(r) * scale + dy) * W + std::size_t(c) * scale;
        std::memset(row, b, static_cast<std::size_t>(scale));
      }
    }
  writePng(path, out, W, H, 1);
}

void writePngRgb(const std::string& path, const std::vector<unsigned char>& rgb, int rows,
                 int cols) {
  checkWriteSize(path, rows, cols, 1);
  if (rgb.size() != std::size_t(rows) * std::size_t(cols) * 3)
    fail(path, "cannot write image: " + std::to_string(rgb.size()) + " bytes for " +
                   std::to_string(rows) + "x" + std::to_string(cols) + " RGB (expected " +
                   std::to_string(std::size_t(rows) * cols * 3) + ")");
  writePng(path, rgb, std::uint32_t(cols), std::uint32_t(rows), 3);
}

}  // namespace nnopt::io
