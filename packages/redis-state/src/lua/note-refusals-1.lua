-- A project credential's run of refusals (the credential breaker), shared by every worker.
-- KEYS[1]  the streak's key (one per project, platform and credential fingerprint)
-- ARGV[1]  refusals answered after the slice's last delivery (all of them when none was delivered)
-- ARGV[2]  1 when the slice had a delivery: the run starts again from ARGV[1]
-- ARGV[3]  seconds the streak is kept after its last change
-- Returns the refusals in a row now.
local streak
if ARGV[2] == '1' then
  streak = tonumber(ARGV[1])
  redis.call('SET', KEYS[1], streak, 'EX', ARGV[3])
else
  streak = redis.call('INCRBY', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return streak
