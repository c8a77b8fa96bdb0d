#pragma once

#include <string>
#include <vector>

#include "service/options.h"

namespace herald::service {

// The start-up checks --check_config runs on parsed options, short of
// binding ports or opening the state: the files named by --tls_cert,
// --tls_key and --grpc_* exist, are readable and hold usable PEM (the key
// matches its certificate), the token file passes the checks herald makes
// at start-up (its contents are read but never shown), the state's
// directory is writable, and the descriptor limits fit RLIMIT_NOFILE.
// Returns one line per problem; empty: all is well. Main thread only.
std::vector<std::string> CheckStartupFiles(const HeraldOptions& options);

}  // namespace herald::service
