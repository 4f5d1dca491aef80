--[[
  Gives back sends a reservation did not use (pruned, failed, to retry, cancelled), to the windows
  it was taken from. Never below zero: a counter that expired or was lost stays lost.
  KEYS[1]  the hour counter the reservation was made in
  KEYS[2]  the day counter the reservation was made in
  ARGV[1]  how many to give back
]]
local n = tonumber(ARGV[1])
for i = 1, 2 do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used > 0 then
    redis.call('DECRBY', KEYS[i], math.min(n, used))
  end
end
return 1
