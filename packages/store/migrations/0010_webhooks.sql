-- Signed webhooks (issue 14 §2, Standard Webhooks) with an outbox: an event is written in the same
-- transaction (often the same statement) as the state change that causes it, with one delivery row
-- per webhook that wants it; workers deliver from these rows, so a crash or a Redis restart loses
-- no event.

CREATE TABLE webhooks (
  id              bigserial PRIMARY KEY,
  project_id      bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  url             text NOT NULL,
  -- Event types ('notification.completed'), a group ('notification.*') or '*' (every event).
  events          text[] NOT NULL DEFAULT '{*}' CHECK (cardinality(events) > 0),
  description     text NOT NULL DEFAULT '',
  enabled         boolean NOT NULL DEFAULT true,
  -- Why Pushcast disabled it (410 Gone, failing for 3 days); NULL when enabled or disabled by its owner.
  disabled_reason text,
  -- The first failed attempt since the last success: 3 days of failures disable the webhook.
  failing_since   timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_project_id_idx ON webhooks (project_id);

-- Signing secrets, sealed like provider credentials (AES-256-GCM under PUSHCAST_SECRET_KEY, AAD
-- `pushcast:webhook:<webhook id>`). A rotation adds a row and gives the old one 24 hours
-- (`expires_at`), during which both sign, as Standard Webhooks allows.
CREATE TABLE webhook_secrets (
  id         bigserial PRIMARY KEY,
  webhook_id bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  key_id     text NOT NULL,
  iv         bytea NOT NULL,
  ciphertext bytea NOT NULL,
  auth_tag   bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
);
CREATE INDEX webhook_secrets_webhook_id_idx ON webhook_secrets (webhook_id);

-- The outbox. `dedup_key` makes emitting the same fact twice (a re-run) one event.
CREATE TABLE webhook_events (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  type       text NOT NULL,
  data       jsonb NOT NULL,
  dedup_key  text UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_created_at_idx ON webhook_events (created_at);

-- One event to one webhook. `next_attempt_at` is also the claim: a dispatcher that hands a due
-- delivery to the queue moves it a lease ahead, so a job lost with Redis makes it due again.
CREATE TABLE webhook_deliveries (
  id              bigserial PRIMARY KEY,
  event_id        uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  webhook_id      bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook_id_idx ON webhook_deliveries (webhook_id);

-- Every request made, for `GET …/webhooks/:id/attempts`.
CREATE TABLE webhook_attempts (
  id          bigserial PRIMARY KEY,
  delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  webhook_id  bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id    uuid NOT NULL,
  attempt     integer NOT NULL,
  status      integer,          -- the HTTP status, NULL when there was no answer
  duration_ms integer NOT NULL,
  error       text,
  at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_webhook_id_idx ON webhook_attempts (webhook_id, id);

-- Whether a webhook's `events` list takes this event type.
CREATE FUNCTION pushcast_webhook_wants(events text[], event_type text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM unnest(events) AS e
    WHERE e = '*' OR e = event_type OR (right(e, 2) = '.*' AND starts_with(event_type, left(e, -1))))
$$;

-- Emits an event: the outbox row and a delivery per enabled webhook of the project that wants it,
-- in the caller's transaction, and a wake-up for the dispatchers (sent at commit). Nothing is
-- written when no webhook wants it; a dedup_key already emitted writes nothing either. Returns the
-- event's id, or NULL when nothing was written.
CREATE FUNCTION pushcast_emit_event(p_project_id bigint, p_type text, p_data jsonb, p_dedup_key text DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_id uuid;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks WHERE project_id = p_project_id AND enabled AND pushcast_webhook_wants(events, p_type)) THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhook_events (project_id, type, data, dedup_key) VALUES (p_project_id, p_type, p_data, p_dedup_key)
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING id INTO v_id;
  IF v_id IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhook_deliveries (event_id, webhook_id)
  SELECT v_id, id FROM webhooks WHERE project_id = p_project_id AND enabled AND pushcast_webhook_wants(events, p_type);
  PERFORM pg_notify('pushcast_webhooks', '');
  RETURN v_id;
END
$$;

-- A notification's counts as its events carry them (chunks that are over, opens).
CREATE FUNCTION pushcast_notification_counts(p_notification_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'notification_id', n.id,
    'project_id', n.project_id,
    'scheduled_count', n.scheduled_count,
    'successfully_sent_count', COALESCE(c.delivered, 0),
    'pruned_count', COALESCE(c.pruned, 0),
    'failed_count', COALESCE(c.failed, 0),
    'expired_count', COALESCE(c.expired, 0),
    'opened_count', COALESCE((SELECT sum(count) FROM notification_open_counts WHERE notification_id = n.id), 0))
  FROM notifications n
  LEFT JOIN LATERAL (
    SELECT sum(delivered) AS delivered, sum(pruned) AS pruned, sum(expired) AS expired,
           sum((SELECT COALESCE(sum(v::bigint), 0) FROM jsonb_each_text(failed) AS f(k, v))) AS failed
    FROM notification_chunks WHERE notification_id = n.id AND status IN ('done', 'cancelled')) c ON true
  WHERE n.id = p_notification_id
$$;

-- When the first chunk of a notification started sending (set once, with `notification.sending`).
ALTER TABLE notifications ADD COLUMN sending_at timestamptz;
