--[[
  Reserves up to ARGV[1] sends of a project's quota, over its hour and its day at once, leaving
  alone what other notifications of the project hold for the day (the `reject` policy's holds,
  see hold-quota-2.lua) and consuming the caller's own hold first.
  KEYS[1]  the project's counter for the current UTC hour
  KEYS[2]  the project's counter for the current UTC day
  KEYS[3]  the project's holds: a hash, notification id -> "<day>:<count>"
  ARGV[1]  how many the caller wants
  ARGV[2]  hourly limit (0 = unlimited)
  ARGV[3]  daily limit (0 = unlimited)
  ARGV[4]  expiry of the hour counter, seconds
  ARGV[5]  expiry of the day counter, seconds
  ARGV[6]  the current UTC day (its start, epoch ms)
  ARGV[7]  the caller's notification id
  Returns {granted, used in the hour, used in the day} (after the reservation). One script, so
  however many workers race, the sum of grants never passes either limit.
]]
local want = tonumber(ARGV[1])
local hourly = tonumber(ARGV[2])
local daily = tonumber(ARGV[3])
local today = ARGV[6]
local usedHour = tonumber(redis.call('GET', KEYS[1]) or '0')
local usedDay = tonumber(redis.call('GET', KEYS[2]) or '0')

local own = 0
local othersHeld = 0
local holds = redis.call('HGETALL', KEYS[3])
for i = 1, #holds, 2 do
  local day, n = string.match(holds[i + 1], '^(%d+):(%d+)$')
  if day == today then
    if holds[i] == ARGV[7] then own = tonumber(n) else othersHeld = othersHeld + tonumber(n) end
  end
end

local granted = want
if hourly > 0 then granted = math.min(granted, hourly - usedHour) end
if daily > 0 then granted = math.min(granted, daily - usedDay - othersHeld) end
if granted < 0 then granted = 0 end
if granted > 0 then
  usedHour = redis.call('INCRBY', KEYS[1], granted)
  usedDay = redis.call('INCRBY', KEYS[2], granted)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  if own > 0 then
    local left = own - math.min(own, granted)
    if left > 0 then
      redis.call('HSET', KEYS[3], ARGV[7], today .. ':' .. left)
    else
      redis.call('HDEL', KEYS[3], ARGV[7])
    end
  end
end
return {granted, usedHour, usedDay}
