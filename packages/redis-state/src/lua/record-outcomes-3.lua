--[[
  Records final outcomes of a chunk's recipients, once per recipient.
  KEYS[1]  the chunk's ledger hash      (subscription id -> outcome code)
  KEYS[2]  the notification's live hash ("<chunk index>|<platform>|<outcome code>" -> count)
  ARGV[1]  "<chunk index>|<platform>"
  ARGV[2]  expiry of both keys, seconds (abandoned ledgers must not live forever)
  ARGV[3..] pairs: an outcome code ("d" delivered, "p" pruned, "e" expired, "f:<reason>" failed),
           and the subscription ids that have it, joined by ','
  Returns the number of recipients newly recorded. A recipient already in the ledger is skipped,
  so a re-run chunk (crash, lost lock) can never count anyone twice.
  The ids of a code travel as one argument: the worker spent more encoding two arguments per
  recipient than anything else of a ledger write (version 2 took id, code pairs). The live
  counters are raised once per outcome code, not once per recipient.
]]
local recorded = 0
for i = 3, #ARGV, 2 do
  local code = ARGV[i]
  local newly = 0
  for id in string.gmatch(ARGV[i + 1], '[^,]+') do
    newly = newly + redis.call('HSETNX', KEYS[1], id, code)
  end
  if newly > 0 then
    redis.call('HINCRBY', KEYS[2], ARGV[1] .. '|' .. code, newly)
    recorded = recorded + newly
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return recorded
