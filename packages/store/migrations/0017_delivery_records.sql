-- Every outcome visible (issue 14 §1, §3).
--
-- delivery_records: one row per recipient that did not get a notification (pruned, failed,
-- expired, quota_expired), and per delivered one too when the project says record_deliveries =
-- 'all'. uid and platform are copied in, so a pruned subscription is still listed after its row is
-- deleted. Partitioned by the notification's day (its send_at, else created_at, in UTC): every row
-- of a notification is in one partition, so its primary key is (day, notification, subscription)
-- and a chunk run again writes nobody twice (ON CONFLICT DO NOTHING), a notification's lists read
-- one partition, and retention drops whole days (DROP TABLE, no DELETE, no vacuum).
-- Partitions are created ahead by the maintain-delivery-records job (and on demand by writers, for
-- a notification scheduled further ahead), and dropped after DELIVERY_RECORD_RETENTION_DAYS.

ALTER TABLE projects ADD COLUMN record_deliveries text NOT NULL DEFAULT 'failures'
  CHECK (record_deliveries IN ('failures', 'all'));

CREATE TABLE delivery_records (
  day             date NOT NULL,
  notification_id bigint NOT NULL,
  subscription_id bigint NOT NULL,
  project_id      bigint NOT NULL,
  uid             text,
  platform        text NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('delivered', 'pruned', 'failed', 'expired', 'quota_expired')),
  status          integer,                     -- the provider's HTTP status, when it answered one
  reason          text,                        -- the provider's reason (Unregistered, UNREGISTERED, …) or Pushcast's code
  at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (day, notification_id, subscription_id)
) PARTITION BY RANGE (day);

-- The failure list, without walking a notification's deliveries.
CREATE INDEX delivery_records_failures ON delivery_records (notification_id, subscription_id) WHERE outcome <> 'delivered';
-- "Did user X get notification Y?"
CREATE INDEX delivery_records_uid ON delivery_records (notification_id, uid, subscription_id) WHERE uid IS NOT NULL;

-- The partition of one day, created if missing (concurrent callers take turns).
CREATE FUNCTION pushcast_delivery_partition(p_day date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_name text := 'delivery_records_' || to_char(p_day, 'YYYYMMDD');
BEGIN
  IF to_regclass(v_name) IS NOT NULL THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(7365017);
  IF to_regclass(v_name) IS NOT NULL THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF delivery_records FOR VALUES FROM (%L) TO (%L)', v_name, p_day, p_day + 1);
END
$$;

-- §3: a provider refused the credential (its fingerprint, so that refusals of a credential replaced
-- meanwhile mark nothing). Saving credentials clears both columns.
ALTER TABLE project_credentials
  ADD COLUMN fingerprint text,
  ADD COLUMN rejected_at timestamptz,
  ADD COLUMN rejected_reason text;
