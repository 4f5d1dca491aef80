--[[
  Returns the shared APNs provider token of a key, or claims the right to mint the next one.
  KEYS[1]  the key's token hash: token, iat (epoch s), minting (epoch ms until which a minter holds the claim)
  ARGV[1]  now, epoch seconds
  ARGV[2]  reuse window, seconds: a token younger than this is returned
  ARGV[3]  claim duration, ms
  ARGV[4]  now, epoch ms
  Returns {token, iat} when a young token exists, {"", 1} when the caller must mint, {"", 0} when
  another process is minting (wait and ask again). One minter per key however many workers ask,
  so Apple sees one new token per key per reuse window (TooManyProviderTokenUpdates otherwise).
]]
local token = redis.call('HGET', KEYS[1], 'token')
local iat = tonumber(redis.call('HGET', KEYS[1], 'iat') or '0')
if token and tonumber(ARGV[1]) - iat < tonumber(ARGV[2]) then
  return {token, iat}
end
local minting = tonumber(redis.call('HGET', KEYS[1], 'minting') or '0')
if minting > tonumber(ARGV[4]) then
  return {'', 0}
end
redis.call('HSET', KEYS[1], 'minting', tonumber(ARGV[4]) + tonumber(ARGV[3]))
return {'', 1}
