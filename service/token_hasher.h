#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace herald::service {

// The keyed hash (HMAC-SHA256) herald stores and indexes sessions by,
// instead of their tokens: neither the state file nor the registry's memory
// holds a token a client could present. The key is per state file (see
// SqliteStore), so hashes from one herald say nothing about another's.
//
// Thread-safe: immutable after construction.
class TokenHasher {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kHashBytes = 32;

  // A fresh random key (kKeyBytes from the OpenSSL CSPRNG); empty if the
  // generator failed.
  static std::string NewKey();

  explicit TokenHasher(std::string key);

  // kHashBytes of HMAC-SHA256(key, token), as raw bytes.
  std::string Hash(std::string_view token) const;

 private:
  const std::string key_;
};

}  // namespace herald::service
