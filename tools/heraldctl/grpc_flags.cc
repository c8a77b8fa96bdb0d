#include "tools/heraldctl/grpc_flags.h"

#include "absl/strings/str_cat.h"

namespace herald::tools {
namespace {

// A file flag: absent is "", present needs a name.
absl::Status ReadFileFlag(const Flags& flags, const char* name,
                          std::string* out) {
  auto value = flags.GetString(name);
  if (!value.ok()) return value.status();
  if (flags.Has(name) && value->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " needs a FILE (--", name, "=FILE)"));
  }
  *out = *std::move(value);
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& GrpcConnectionFlags() {
  static const auto* const kFlags = new std::vector<std::string>{
      "grpc",      "timeout_ms", "grpc_ca",
      "grpc_cert", "grpc_key",   "grpc_token_file"};
  return *kFlags;
}

absl::StatusOr<GrpcClientAuth> ReadGrpcClientAuth(const Flags& flags) {
  GrpcClientAuth auth;
  for (auto [name, field] : {std::pair{"grpc_ca", &auth.ca_file},
                             {"grpc_cert", &auth.cert_file},
                             {"grpc_key", &auth.key_file},
                             {"grpc_token_file", &auth.token_file}}) {
    if (absl::Status st = ReadFileFlag(flags, name, field); !st.ok()) {
      return st;
    }
  }
  if (absl::Status st = auth.Check(); !st.ok()) return st;
  return auth;
}

}  // namespace herald::tools
