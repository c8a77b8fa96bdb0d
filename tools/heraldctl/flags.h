#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace herald::tools {

// One heraldctl command line: positional words (command, subcommand, event)
// and `--name=value` flags (a bare `--name` for booleans). Flags may appear
// anywhere; `-h` is `--help`. Each flag may be given once. Accessors convert
// the values and fail with a one-line message naming the flag; an absent
// flag yields the default. Errors are usage errors (InvalidArgument).
class Flags {
 public:
  static absl::StatusOr<Flags> Parse(const std::vector<std::string>& args);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(std::string_view name) const;

  // A copy without the flags in `names` (those another layer consumed).
  Flags Without(const std::vector<std::string>& names) const;

  // Fails on the first flag (in name order) that is not in `known`;
  // `context` names the command in the message ("publish message_created").
  absl::Status CheckKnown(const std::vector<std::string>& known,
                          std::string_view context) const;

  // Any text, empty included.
  absl::StatusOr<std::string> GetString(std::string_view name,
                                        std::string default_value = "") const;
  // A decimal integer in the int64 range, negative ones included (the
  // server, not the tool, decides what is valid).
  absl::StatusOr<int64_t> GetInt(std::string_view name,
                                 int64_t default_value = 0) const;
  // Like GetInt, but the value must be in [min, max].
  absl::StatusOr<int64_t> GetIntInRange(std::string_view name,
                                        int64_t default_value, int64_t min,
                                        int64_t max) const;
  // Comma-separated integers, `1,2,3`; an empty value is an empty list.
  absl::StatusOr<std::vector<int64_t>> GetIntList(std::string_view name) const;
  // `--name`, `--name=true|false|1|0|yes|no`.
  absl::StatusOr<bool> GetBool(std::string_view name) const;

 private:
  // The value of a flag that must have one; absent: nullopt.
  absl::StatusOr<std::optional<std::string>> Value(std::string_view name) const;

  std::vector<std::string> positional_;
  // A flag given as a bare `--name` maps to nullopt.
  std::map<std::string, std::optional<std::string>, std::less<>> flags_;
};

}  // namespace herald::tools
