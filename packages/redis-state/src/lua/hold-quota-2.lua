--[[
  The `reject` policy's check at creation and its reservation in one step: a notification whose
  audience fits in what is left of its day (after what was sent and what other notifications
  hold) holds that many sends until its chunks reserve them or it ends; otherwise nothing is held.
  Two notifications created at the same moment therefore cannot both pass and together exceed
  the day's limit.
  KEYS[1]  the project's counter for the notification's UTC day
  KEYS[2]  the project's holds: a hash, notification id -> "<day>:<count>"
  ARGV[1]  the audience
  ARGV[2]  daily limit (> 0)
  ARGV[3]  the notification's UTC day (its start, epoch ms)
  ARGV[4]  the notification id
  ARGV[5]  the current UTC day: holds of earlier days are dropped on the way
  ARGV[6]  expiry of the holds hash, seconds (after the last day held)
  Returns {1 if held else 0, what was left before this hold}.
]]
local want = tonumber(ARGV[1])
local daily = tonumber(ARGV[2])
local day = ARGV[3]
local today = tonumber(ARGV[5])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local held = 0
local holds = redis.call('HGETALL', KEYS[2])
for i = 1, #holds, 2 do
  local d, n = string.match(holds[i + 1], '^(%d+):(%d+)$')
  if tonumber(d) < today then
    redis.call('HDEL', KEYS[2], holds[i])
  elseif d == day and holds[i] ~= ARGV[4] then
    held = held + tonumber(n)
  end
end
local left = daily - used - held
if left < 0 then left = 0 end
if want > left then return {0, left} end
if want > 0 then
  redis.call('HSET', KEYS[2], ARGV[4], day .. ':' .. want)
  local ttl = redis.call('TTL', KEYS[2])
  if ttl < tonumber(ARGV[6]) then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
end
return {1, left}
