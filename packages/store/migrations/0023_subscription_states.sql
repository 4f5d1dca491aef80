-- A subscription's state (issue 16, CloudSignal's client status): a subscription a push service
-- refused as gone (pruned) is kept as 'expired', and one deregistered through CloudSignal's API as
-- 'unregistered', for 30 days (the maintain-delivery-records job deletes them after), so that
-- they are still listed; neither is ever targeted: audienceWhere, the one WHERE clause of every
-- audience (count at create, planner, chunk loaders, lists, exports), asks for state = 'active'.
-- Registering the same endpoint or token again makes it active again.
-- user_agent: the User-Agent of the browser that registered it (browser endpoints, Beams' web SDK),
-- parsed into CloudSignal's device_info when read.
ALTER TABLE subscriptions
  ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'expired', 'unregistered')),
  ADD COLUMN state_changed_at timestamptz,
  ADD COLUMN user_agent text CHECK (char_length(user_agent) <= 1024);
CREATE INDEX subscriptions_gone_idx ON subscriptions (state_changed_at) WHERE state <> 'active';

-- The subscriber counts (migration 0018_subscriber_statistics) count active subscriptions only: rows inserted or deleted
-- count when active, and an UPDATE statement moves the counts of the rows whose state (or project,
-- or platform) it changed, from the two transition tables without joining them: the active rows
-- before are taken out of their (project, platform), the active rows after are put in theirs.
CREATE OR REPLACE FUNCTION pushcast_subscriptions_counted_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscription_counts AS c (project_id, platform, slot, n)
  SELECT project_id, platform, pg_backend_pid() % 16, count(*) FROM pushcast_new_rows WHERE state = 'active' GROUP BY project_id, platform
  ORDER BY project_id, platform
  ON CONFLICT (project_id, platform, slot) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION pushcast_subscriptions_counted_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscription_counts AS c (project_id, platform, slot, n)
  SELECT project_id, platform, pg_backend_pid() % 16, -count(*) FROM pushcast_old_rows WHERE state = 'active' GROUP BY project_id, platform
  ORDER BY project_id, platform
  ON CONFLICT (project_id, platform, slot) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;

CREATE FUNCTION pushcast_subscriptions_recounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscription_counts AS c (project_id, platform, slot, n)
  SELECT project_id, platform, pg_backend_pid() % 16, sum(d) FROM (
    SELECT project_id, platform, -count(*) AS d FROM pushcast_old_rows WHERE state = 'active' GROUP BY project_id, platform
    UNION ALL
    SELECT project_id, platform, count(*) FROM pushcast_new_rows WHERE state = 'active' GROUP BY project_id, platform
  ) x
  GROUP BY project_id, platform HAVING sum(d) <> 0
  ORDER BY project_id, platform
  ON CONFLICT (project_id, platform, slot) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;

-- Replaces the row trigger for moves (this one covers them too).
DROP TRIGGER subscriptions_count_move ON subscriptions;
DROP FUNCTION pushcast_subscriptions_moved();
CREATE TRIGGER subscriptions_count_update AFTER UPDATE ON subscriptions
  REFERENCING OLD TABLE AS pushcast_old_rows NEW TABLE AS pushcast_new_rows FOR EACH STATEMENT EXECUTE FUNCTION pushcast_subscriptions_recounted();
