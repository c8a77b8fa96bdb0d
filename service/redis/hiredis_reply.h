#pragma once

#include <hiredis/hiredis.h>

#include "service/redis/redis_reply.h"

namespace herald::service::redis {

// An owned copy of a hiredis reply (it frees its own when the callback
// returns). Any thread.
RedisReply CopyHiredisReply(const redisReply& reply);

}  // namespace herald::service::redis
