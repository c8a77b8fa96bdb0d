#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/heraldctl/flags.h"

namespace herald::tools {

// heraldctl's exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // herald refused, or unreachable
inline constexpr int kExitUsage = 2;   // the command line is wrong

// The heraldctl command line: finds the command, reads its flags, runs it
// (GrpcCommands, AdminCommands, TailClient) and prints usage. Usage errors
// print one line on `err` and exit kExitUsage.
class Cli {
 public:
  Cli(std::ostream& out, std::ostream& err);

  // Runs `args` (argv without the program name); returns the exit status.
  int Run(const std::vector<std::string>& args);

 private:
  // Each returns the exit status, or a usage error.
  absl::StatusOr<int> Dispatch(const Flags& flags);
  absl::StatusOr<int> Help(const std::vector<std::string>& topic);
  absl::StatusOr<int> Publish(const Flags& flags);
  absl::StatusOr<int> CallRpc(const Flags& flags);
  absl::StatusOr<int> Tail(const Flags& flags);
  // conns, kick, stats: the operator API (HeraldAdmin).
  absl::StatusOr<int> Admin(const Flags& flags);

  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace herald::tools
