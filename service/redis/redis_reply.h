#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace herald::service::redis {

// A copy of one hiredis reply, owned (plain data, any thread).
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;               // kInteger
  std::string str;                   // kString, kStatus, kError
  std::vector<RedisReply> elements;  // kArray

  bool is_error() const { return type == Type::kError; }
};

}  // namespace herald::service::redis
