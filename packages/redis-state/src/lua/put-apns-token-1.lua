--[[
  Stores a freshly minted APNs provider token, or forgets one APNs called expired.
  KEYS[1]  the key's token hash (see take-apns-token-1.lua)
  ARGV[1]  "put" or "reject"
  ARGV[2]  the token
  ARGV[3]  iat, epoch seconds ("put")
  ARGV[4]  expiry of the hash, seconds ("put")
  "reject" removes the token only if it is still the current one: a hundred workers told the same
  token expired cause one new token, not a hundred.
]]
if ARGV[1] == 'put' then
  redis.call('HSET', KEYS[1], 'token', ARGV[2], 'iat', ARGV[3], 'minting', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 1
end
if redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  redis.call('HDEL', KEYS[1], 'token', 'iat')
  return 1
end
return 0
