#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "push/push_options.h"
#include "service/validator.h"

namespace herald::service {

// Everything the herald binary is configured with.
struct HeraldOptions {
  push::PushOptions push;
  std::string grpc_address = "127.0.0.1:50051";
  std::string state = "herald.db";
  size_t max_sessions = 1000000;
  size_t max_memberships = 10000000;
  size_t max_memberships_per_user = 100000;
  ValidationLimits limits;
  bool verbose = false;
  bool help = false;  // --help was given: print Usage() and exit 0
};

// The text --help prints.
std::string Usage();

// Parses `--name=value` flags (booleans also as `--name`). Errors name the
// flag and say what is wrong, in one line.
absl::StatusOr<HeraldOptions> ParseOptions(
    const std::vector<std::string>& args);

}  // namespace herald::service
