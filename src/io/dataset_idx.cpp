// MNIST IDX datasets: header parsing (checked against fixed limits before
// anything is allocated), the images file (magic 0x00000803) and its sibling
// labels file (t10k-images-idx3-ubyte -> t10k-labels-idx1-ubyte, gzipped or not).
#include <algorithm>
#include <cstring>
#include <system_error>

#include "io/images_internal.h"

namespace nnopt::io::images_detail {
namespace {

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

}  // namespace

// Parses an IDX header from the first `avail` bytes. Throws on unknown data
// types, bad dimension counts, truncated headers and absurd declared sizes.
IdxHeader parseIdxHeader(const std::string& path, const unsigned char* p, std::size_t avail) {
  if (avail < 4) fail(path, "truncated IDX header (" + std::to_string(avail) + " bytes)");
  IdxHeader h;
  h.magic = be32(p);
  h.type = p[2];
  h.ndims = p[3];
  int elem = 0;
  switch (h.type) {
    case 0x08: case 0x09: elem = 1; break;
    case 0x0B: elem = 2; break;
    case 0x0C: case 0x0D: elem = 4; break;
    case 0x0E: elem = 8; break;
    default: fail(path, "wrong magic " + hex32(h.magic) + ": unknown IDX data type");
  }
  if (h.ndims < 1 || h.ndims > 4)
    fail(path, "wrong magic " + hex32(h.magic) + ": IDX dimension count must be 1..4");
  h.dataOffset = 4 + 4 * std::uint64_t(h.ndims);
  if (avail < h.dataOffset)
    fail(path, "truncated IDX header (" + std::to_string(avail) + " of " +
                   std::to_string(h.dataOffset) + " bytes)");
  // Product with saturation: every factor is < 2^32, stop once past the limit.
  std::uint64_t total = std::uint64_t(elem);
  bool huge = false;
  for (int i = 0; i < h.ndims; ++i) {
    std::uint64_t d = be32(p + 4 + 4 * i);
    h.dims.push_back(d);
    if (!huge) {
      if (d != 0 && total > (kMaxIdxDataBytes << 1) / d) huge = true;
      else total *= d;
    }
  }
  bool anyZero = std::find(h.dims.begin(), h.dims.end(), 0) != h.dims.end();
  if (anyZero) total = 0, huge = false;
  if (huge || total > kMaxIdxDataBytes) {
    std::string dims;
    for (auto d : h.dims) {
      if (!dims.empty()) dims += 'x';
      dims += std::to_string(d);
    }
    fail(path, "IDX header declares " + dims + " items, more than " +
                   std::to_string(kMaxIdxDataBytes) + " bytes of data; refusing to read it");
  }
  h.dataBytes = total;
  return h;
}

namespace {

struct IdxImages {
  IdxHeader h;
  long n = 0;
  int rows = 0, cols = 0;
};

IdxHeader readIdxHeader(const std::string& path, Source& src) {
  unsigned char hdr[20] = {};
  std::size_t got = src.read(0, hdr, sizeof hdr);
  return parseIdxHeader(path, hdr, got);
}

void checkIdxSize(const std::string& path, Source& src, const IdxHeader& h, const std::string& what) {
  std::uint64_t have = src.size() > h.dataOffset ? src.size() - h.dataOffset : 0;
  if (have < h.dataBytes)
    fail(path, "truncated IDX file: header declares " + what + " (" + std::to_string(h.dataBytes) +
                   " bytes of data) but only " + std::to_string(have) +
                   " bytes follow the header");
}

IdxImages openIdxImages(const std::string& path, Source& src) {
  IdxImages r;
  r.h = readIdxHeader(path, src);
  if (r.h.magic != 0x00000803)
    fail(path, "wrong magic " + hex32(r.h.magic) +
                   ": expected 0x00000803 (IDX file of uint8 images, n x rows x cols)");
  if (r.h.dims[1] == 0 || r.h.dims[2] == 0)
    fail(path, "IDX header declares empty images (" + std::to_string(r.h.dims[1]) + "x" +
                   std::to_string(r.h.dims[2]) + ")");
  if (r.h.dims[1] * r.h.dims[2] > kMaxImagePixels)
    fail(path, "IDX header declares images of " + std::to_string(r.h.dims[1]) + "x" +
                   std::to_string(r.h.dims[2]) + " pixels, too large");
  if (r.h.dims[0] > 0x7fffffffULL) fail(path, "IDX header declares too many images");
  r.n = static_cast<long>(r.h.dims[0]);
  r.rows = static_cast<int>(r.h.dims[1]);
  r.cols = static_cast<int>(r.h.dims[2]);
  checkIdxSize(path, src, r.h,
               std::to_string(r.n) + " images of " + std::to_string(r.rows) + "x" +
                   std::to_string(r.cols));
  return r;
}

// The sibling labels file of an IDX images file, or "" when there is none.
std::string siblingLabels(const std::string& path) {
  fs::path p(path);
  std::string name = p.filename().string();
  auto pos = name.find("images-idx3");
  if (pos == std::string::npos) return "";
  name.replace(pos, std::strlen("images-idx3"), "labels-idx1");
  std::vector<std::string> names{name};
  const std::string gz = ".gz";
  if (name.size() > gz.size() && name.compare(name.size() - gz.size(), gz.size(), gz) == 0)
    names.push_back(name.substr(0, name.size() - gz.size()));
  else
    names.push_back(name + gz);
  for (const auto& n : names) {
    fs::path cand = p.parent_path() / n;
    std::error_code ec;
    if (fs::exists(cand, ec) && !fs::is_directory(cand, ec)) return cand.string();
  }
  return "";
}

struct IdxLabels {
  std::string path;
  IdxHeader h;
};

// Opens and checks the labels file for an images file with n images.
std::unique_ptr<Source> openIdxLabels(const std::string& imagesPath, long n, IdxLabels& out) {
  out.path = siblingLabels(imagesPath);
  if (out.path.empty()) return nullptr;
  auto src = std::make_unique<Source>(out.path);
  out.h = readIdxHeader(out.path, *src);
  if (out.h.magic != 0x00000801)
    fail(out.path, "wrong magic " + hex32(out.h.magic) +
                       ": expected 0x00000801 (IDX file of uint8 labels)");
  checkIdxSize(out.path, *src, out.h, std::to_string(out.h.dims[0]) + " labels");
  if (out.h.dims[0] != static_cast<std::uint64_t>(n))
    fail(out.path, "label count mismatch: " + std::to_string(out.h.dims[0]) + " labels but " +
                       imagesPath + " has " + std::to_string(n) + " images");
  return src;
}

}  // namespace

Image loadIdxItem(const std::string& path, Source& src, long index) {
  IdxImages im = openIdxImages(path, src);
  IdxLabels lab;
  auto labSrc = openIdxLabels(path, im.n, lab);
  if (index < 0 || index >= im.n) outOfRange(path, index, im.n);
  std::size_t npix = std::size_t(im.rows) * std::size_t(im.cols);
  std::vector<unsigned char> buf(npix);
  src.readExact(im.h.dataOffset + std::uint64_t(index) * npix, buf.data(), npix, "image data");
  Image img;
  img.rows = im.rows;
  img.cols = im.cols;
  img.channels = 1;
  img.pixels.resize(static_cast<Eigen::Index>(npix));
  for (std::size_t i = 0; i < npix; ++i) img.pixels[static_cast<Eigen::Index>(i)] = buf[i] / 255.0;
  if (labSrc) {
    unsigned char l = 0;
    labSrc->readExact(lab.h.dataOffset + std::uint64_t(index), &l, 1, "label");
    img.label = l;
  }
  return img;
}

long idxSize(const std::string& path, Source& src) {
  IdxImages im = openIdxImages(path, src);
  IdxLabels lab;
  openIdxLabels(path, im.n, lab);
  return im.n;
}

}  // namespace nnopt::io::images_detail
