#include "tools/heraldctl/flags.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace herald::tools {
namespace {

absl::Status BadValue(std::string_view name, std::string_view value,
                      std::string_view want) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value '", std::string(value), "' for --",
                   std::string(name), ": expected ", std::string(want)));
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end;
}

}  // namespace

absl::StatusOr<Flags> Flags::Parse(const std::vector<std::string>& args) {
  Flags flags;
  for (const std::string& arg : args) {
    std::string_view word = arg;
    if (word == "-h") word = "--help";
    if (word.size() < 2 || word.substr(0, 2) != "--") {
      if (word.size() > 1 && word[0] == '-') {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown option '", arg, "' (flags are --name=value)"));
      }
      flags.positional_.push_back(arg);
      continue;
    }
    word.remove_prefix(2);
    const size_t eq = word.find('=');
    std::string name(word.substr(0, eq));
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed flag '", arg, "' (flags are --name=value)"));
    }
    std::optional<std::string> value;
    if (eq != std::string_view::npos) value = std::string(word.substr(eq + 1));
    if (!flags.flags_.emplace(name, std::move(value)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " given more than once"));
    }
  }
  return flags;
}

bool Flags::Has(std::string_view name) const {
  return flags_.find(name) != flags_.end();
}

Flags Flags::Without(const std::vector<std::string>& names) const {
  Flags copy = *this;
  for (const std::string& name : names) copy.flags_.erase(name);
  return copy;
}

absl::Status Flags::CheckKnown(const std::vector<std::string>& known,
                               std::string_view context) const {
  for (const auto& [name, value] : flags_) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      const std::string_view command = context.substr(0, context.find(' '));
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " for '", std::string(context),
                       "' (see heraldctl help ", std::string(command), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Flags::Value(
    std::string_view name) const {
  auto it = flags_.find(name);
  if (it == flags_.end()) return std::optional<std::string>();
  if (!it->second.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", std::string(name), " needs a value (--",
                     std::string(name), "=VALUE)"));
  }
  return it->second;
}

absl::StatusOr<std::string> Flags::GetString(std::string_view name,
                                             std::string default_value) const {
  auto value = Value(name);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return default_value;
  return **value;
}

absl::StatusOr<int64_t> Flags::GetInt(std::string_view name,
                                      int64_t default_value) const {
  auto value = Value(name);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return default_value;
  int64_t n = 0;
  if (!ParseInt64(**value, &n)) return BadValue(name, **value, "an integer");
  return n;
}

absl::StatusOr<int64_t> Flags::GetIntInRange(std::string_view name,
                                             int64_t default_value, int64_t min,
                                             int64_t max) const {
  auto n = GetInt(name, default_value);
  if (!n.ok()) return n.status();
  if (*n < min || *n > max) {
    return BadValue(name, *GetString(name),
                    absl::StrCat("an integer from ", min, " to ", max));
  }
  return n;
}

absl::StatusOr<std::vector<int64_t>> Flags::GetIntList(
    std::string_view name) const {
  auto value = Value(name);
  if (!value.ok()) return value.status();
  std::vector<int64_t> list;
  if (!value->has_value() || (*value)->empty()) return list;
  for (absl::string_view item : absl::StrSplit(**value, ',')) {
    item = absl::StripAsciiWhitespace(item);
    int64_t n = 0;
    if (!ParseInt64(std::string_view(item.data(), item.size()), &n)) {
      return BadValue(name, **value, "comma-separated integers like 1,2,3");
    }
    list.push_back(n);
  }
  return list;
}

absl::StatusOr<bool> Flags::GetBool(std::string_view name) const {
  auto it = flags_.find(name);
  if (it == flags_.end()) return false;
  if (!it->second.has_value()) return true;
  const std::string& v = *it->second;
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return BadValue(name, v, "true or false");
}

}  // namespace herald::tools
