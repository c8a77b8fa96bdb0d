#include "service/json_writer.h"

#include <array>
#include <charconv>
#include <cstddef>

namespace herald::service {
namespace {

// Escape class of each byte: 0 = copy, 'u' = \u00xx, otherwise the letter
// following the backslash.
constexpr std::array<char, 256> MakeEscapeTable() {
  std::array<char, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\f'] = 'f';
  table['\n'] = 'n';
  table['\r'] = 'r';
  table['\t'] = 't';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}

constexpr std::array<char, 256> kEscape = MakeEscapeTable();
constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
  const char* const data = s.data();
  const size_t size = s.size();
  // Escapes are rare; beyond this the string grows geometrically.
  out.reserve(out.size() + size);
  size_t run_start = 0;
  for (size_t i = 0; i < size; ++i) {
    const char kind = kEscape[static_cast<unsigned char>(data[i])];
    if (kind == 0) continue;
    out.append(data + run_start, i - run_start);
    if (kind == 'u') {
      const unsigned char c = static_cast<unsigned char>(data[i]);
      const char buf[6] = {
          '\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xF]};
      out.append(buf, sizeof(buf));
    } else {
      const char buf[2] = {'\\', kind};
      out.append(buf, sizeof(buf));
    }
    run_start = i + 1;
  }
  out.append(data + run_start, size - run_start);
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_->push_back('{');
  need_comma_ = false;
}

void JsonWriter::EndObject() {
  out_->push_back('}');
  need_comma_ = true;
}

void JsonWriter::Key(std::string_view key) {
  if (need_comma_) out_->push_back(',');
  out_->push_back('"');
  AppendJsonEscaped(*out_, key);
  out_->append("\":", 2);
  need_comma_ = false;
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  out_->append(buf, static_cast<size_t>(result.ptr - buf));
  need_comma_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  out_->push_back('"');
  AppendJsonEscaped(*out_, value);
  out_->push_back('"');
  need_comma_ = true;
}

std::string* JsonWriter::RawValue() {
  BeforeValue();
  need_comma_ = true;
  return out_;
}

void JsonWriter::BeforeValue() {
  // A value directly after a Key needs no separator; need_comma_ is only
  // true here for a second top-level value, which is not valid JSON anyway.
  if (need_comma_) out_->push_back(',');
}

}  // namespace herald::service
