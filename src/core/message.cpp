#include "core/message.h"

namespace nnopt {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (2-4), or 0 when the
// bytes there are not one (or encode a C1 control character, U+0080-U+009F).
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xc2 && c <= 0xdf) return cont(1) && !(c == 0xc2 && b(1) < 0xa0) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(1) > 0x9f) return 0;   // surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(1) > 0x8f) return 0;   // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string oneLine(std::string_view s, std::size_t max_len) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  auto escape = [&](unsigned char c) {
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  };
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      escape(c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (const std::size_t n = utf8Length(s, i)) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    } else {
      escape(c);  // not UTF-8 (binary bytes from a file), or a C1 control
    }
    ++i;
  }
  if (max_len >= 16 && out.size() > max_len) {
    // Cut at UTF-8 sequence boundaries (never inside a sequence).
    std::size_t head = (max_len - 5) / 2, tail = out.size() - (max_len - 5) / 2;
    while (head > 0 && (static_cast<unsigned char>(out[head]) & 0xc0) == 0x80) --head;
    while (tail < out.size() && (static_cast<unsigned char>(out[tail]) & 0xc0) == 0x80) ++tail;
    out = out.substr(0, head) + " ... " + out.substr(tail);
  }
  return out;
}

}  // namespace nnopt
