#pragma once

#include <string>

#include "absl/status/status.h"

namespace herald::service {

// Makes sure a certificate and key exist at the given paths: when both
// files exist nothing happens; when neither does, a self-signed ECDSA P-256
// certificate for localhost, 127.0.0.1 and ::1 (valid ten years) is
// generated and written (the key with mode 0600). One without the other is
// an error. Call once at start-up, from the main thread.
absl::Status EnsureSelfSignedCertificate(const std::string& cert_path,
                                         const std::string& key_path);

}  // namespace herald::service
