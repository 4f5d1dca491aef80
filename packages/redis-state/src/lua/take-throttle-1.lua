--[[
  A notification's send rate (GCRA): grants up to ARGV[1] sends now, spread so that no more than
  one second's worth leaves at once, however many workers ask.
  KEYS[1]  the notification's theoretical arrival time (epoch ms)
  ARGV[1]  how many the caller wants
  ARGV[2]  ms between two sends (60000 / rate per minute)
  ARGV[3]  now, epoch ms
  ARGV[4]  how far ahead of now the schedule may run, ms (the burst: one second)
  ARGV[5]  expiry of the key, seconds
  Returns {granted, ms to wait before asking again (when granted is 0)}.
]]
local want = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local ahead = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local room = math.floor((now + ahead - tat) / interval)
local granted = math.min(want, room)
if granted <= 0 then
  return {0, math.ceil(tat + interval - now - ahead)}
end
redis.call('SET', KEYS[1], tostring(tat + granted * interval), 'EX', ARGV[5])
return {granted, 0}
