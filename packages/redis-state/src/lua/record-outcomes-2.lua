--[[
  Records final outcomes of a chunk's recipients, once per recipient.
  KEYS[1]  the chunk's ledger hash      (subscription id -> outcome code)
  KEYS[2]  the notification's live hash ("<chunk index>|<platform>|<outcome code>" -> count)
  ARGV[1]  "<chunk index>|<platform>"
  ARGV[2]  expiry of both keys, seconds (abandoned ledgers must not live forever)
  ARGV[3..] pairs: subscription id, outcome code ("d" delivered, "p" pruned, "e" expired, "f:<reason>" failed)
  Returns the number of recipients newly recorded. A recipient already in the ledger is skipped,
  so a re-run chunk (crash, lost lock) can never count anyone twice.
  The live counters are raised once per outcome code, not once per recipient: a round's few codes
  cost a few HINCRBYs instead of one per message (a fifth of what Redis spent per message).
]]
local recorded = 0
local newly = {}
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    local code = ARGV[i + 1]
    newly[code] = (newly[code] or 0) + 1
    recorded = recorded + 1
  end
end
for code, count in pairs(newly) do
  redis.call('HINCRBY', KEYS[2], ARGV[1] .. '|' .. code, count)
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return recorded
