--[[
  Reserves up to ARGV[1] sends of a project's quota, over its hour and its day at once.
  KEYS[1]  the project's counter for the current UTC hour
  KEYS[2]  the project's counter for the current UTC day
  ARGV[1]  how many the caller wants
  ARGV[2]  hourly limit (0 = unlimited)
  ARGV[3]  daily limit (0 = unlimited)
  ARGV[4]  expiry of the hour counter, seconds
  ARGV[5]  expiry of the day counter, seconds
  Returns {granted, used in the hour, used in the day} (after the reservation). One script, so
  however many workers race, the sum of grants never passes either limit.
]]
local want = tonumber(ARGV[1])
local hourly = tonumber(ARGV[2])
local daily = tonumber(ARGV[3])
local usedHour = tonumber(redis.call('GET', KEYS[1]) or '0')
local usedDay = tonumber(redis.call('GET', KEYS[2]) or '0')
local granted = want
if hourly > 0 then granted = math.min(granted, hourly - usedHour) end
if daily > 0 then granted = math.min(granted, daily - usedDay) end
if granted < 0 then granted = 0 end
if granted > 0 then
  usedHour = redis.call('INCRBY', KEYS[1], granted)
  usedDay = redis.call('INCRBY', KEYS[2], granted)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
return {granted, usedHour, usedDay}
