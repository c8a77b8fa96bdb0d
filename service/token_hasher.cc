#include "service/token_hasher.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <utility>

namespace herald::service {

std::string TokenHasher::NewKey() {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()),
                 static_cast<int>(key.size())) != 1) {
    return {};
  }
  return key;
}

TokenHasher::TokenHasher(std::string key) : key_(std::move(key)) {}

std::string TokenHasher::Hash(std::string_view token) const {
  std::string out(kHashBytes, '\0');
  unsigned int size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(),
       reinterpret_cast<unsigned char*>(out.data()), &size);
  out.resize(size);
  return out;
}

}  // namespace herald::service
