#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herald::service {

// Appends `s` to `out` as the body of a JSON string (without the surrounding
// quotes), escaped byte-identically to nlohmann::json::dump() with
// ensure_ascii=false: `"` and `\` are backslash-escaped, \b \f \n \r \t use
// their short forms, other bytes below 0x20 become \u00xx (lowercase hex),
// and every other byte (0x7F and all of UTF-8) is copied unchanged. The
// input is not validated as UTF-8; callers validate first.
void AppendJsonEscaped(std::string& out, std::string_view s);

// Writes compact JSON (no insignificant whitespace) by appending to a
// caller-owned std::string. The writer inserts the commas between members;
// the caller is responsible for a well-formed sequence of calls (a Key before
// every value inside an object, balanced Begin/EndObject).
//
// Thread-safety: none. A JsonWriter and its output string belong to the one
// thread that builds the document; it is a short-lived stack object.
class JsonWriter {
 public:
  // `out` must outlive the writer. Output is appended to what it holds.
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void BeginObject();
  void EndObject();
  // Writes `"key":`, preceded by a comma when it is not the first member.
  void Key(std::string_view key);
  void Int(int64_t value);
  void String(std::string_view value);
  // Prepares the position of one value and returns the output buffer; the
  // caller must append exactly one complete JSON value to it.
  std::string* RawValue();

 private:
  void BeforeValue();

  std::string* out_;
  // True when the next Key must be preceded by a comma.
  bool need_comma_ = false;
};

}  // namespace herald::service
