-- Beams' webhooks (issue 15) on the webhooks of issue 14: a webhook's `format` says how its
-- requests are shaped and signed. 'standard': Standard Webhooks (HMAC-SHA256, webhook-id, …);
-- 'beams': Pusher Beams' (`{payload, metadata, custom_data}`, `Webhook-Signature` = hex
-- HMAC-SHA1 of the body with the secret, Beams' retry schedule). `uuid` is its Webhook-ID-UUID.
ALTER TABLE webhooks
  ADD COLUMN format text NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'beams')),
  ADD COLUMN custom_data jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN uuid uuid NOT NULL DEFAULT gen_random_uuid();

-- Beams' events (`v1.…`) go only to webhooks that name them: `*` and groups mean Pushcast's own
-- events, so a Standard Webhooks endpoint taking everything is not sent Beams' events.
CREATE OR REPLACE FUNCTION pushcast_webhook_wants(events text[], event_type text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM unnest(events) AS e
    WHERE e = event_type
       OR (NOT starts_with(event_type, 'v1.')
           AND (e = '*' OR (right(e, 2) = '.*' AND starts_with(event_type, left(e, -1))))))
$$;

-- `v1.PublishToUsersAttempt` of a Beams publish to users, from its delivery records (such a
-- publish records every delivery): users with a device the push service accepted it for, users
-- with only failed (or expired) devices, and the rest (no device, or only devices found gone), in
-- the order of the publish.
CREATE FUNCTION pushcast_beams_users_attempt(p_notification_id bigint, p_project_id bigint, p_publish_id text, p_day date, p_uids text[])
RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH per_user AS (
    SELECT uid, bool_or(outcome = 'delivered') AS delivered, bool_or(outcome IN ('failed', 'expired', 'quota_expired')) AS failed
    FROM delivery_records
    WHERE day = p_day AND notification_id = p_notification_id AND uid = ANY (p_uids)
    GROUP BY uid)
  SELECT jsonb_build_object(
    'instance_id', (SELECT beams_instance_id FROM projects WHERE id = p_project_id),
    'publish_id', p_publish_id,
    'users_delivered_to_gateway', COALESCE(jsonb_agg(t.u ORDER BY t.i) FILTER (WHERE p.delivered), '[]'),
    'users_no_devices', COALESCE(jsonb_agg(t.u ORDER BY t.i) FILTER (WHERE p.uid IS NULL OR NOT (p.delivered OR p.failed)), '[]'),
    'users_gateway_failed', COALESCE(jsonb_agg(t.u ORDER BY t.i) FILTER (WHERE NOT p.delivered AND p.failed), '[]'))
  FROM unnest(p_uids) WITH ORDINALITY AS t(u, i)
  LEFT JOIN per_user p ON p.uid = t.u
$$;
