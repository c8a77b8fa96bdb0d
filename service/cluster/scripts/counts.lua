-- ARGV: now_us. Returns {live sessions, memberships, grants}.
return {redis.call('ZCOUNT', 'herald:sessions', '(' .. ARGV[1], '+inf'),
        counter('herald:memberships'), counter('herald:grants')}
