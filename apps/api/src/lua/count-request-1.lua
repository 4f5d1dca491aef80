-- Counts one request of an access token in a fixed window, atomically for every API process that
-- shares this Redis.
-- KEYS[1]  the token's counter: <prefix>:rate-limit:{<token identity>}
-- ARGV[1]  the window in milliseconds
-- Returns  {requests counted in this window (this one included), milliseconds until it ends}
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
-- A new window (or a counter that somehow lost its expiry): the window starts now.
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
