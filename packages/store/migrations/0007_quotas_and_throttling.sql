-- Per-project quotas (issue 5): counted in Redis per fixed UTC hour and day, set here. NULL = the
-- deployment's default (PUSHCAST_DEFAULT_QUOTA_HOURLY / _DAILY); 0 = unlimited.
ALTER TABLE projects
  ADD COLUMN quota_hourly integer CHECK (quota_hourly >= 0),
  ADD COLUMN quota_daily integer CHECK (quota_daily >= 0),
  -- At the limit: 'defer' waits for the window to reset; 'reject' refuses at the API what the day cannot hold.
  ADD COLUMN quota_policy text NOT NULL DEFAULT 'defer' CHECK (quota_policy IN ('defer', 'reject'));

-- Spreads a broadcast's sends evenly: at most this many per minute, over all workers.
ALTER TABLE notifications ADD COLUMN throttle_rate_per_minute integer CHECK (throttle_rate_per_minute > 0);
