-- The broadcast pipeline: a notification's audience is cut into chunks (key ranges of subscription
-- ids). A chunk row is the durable record that its recipients were handled, with its outcome counts:
-- PostgreSQL stays the truth if Redis (queues, per-recipient ledgers) is lost.

DROP TABLE notification_outcomes;

ALTER TABLE notifications
  ADD COLUMN planned_through_id bigint,         -- the planner's cursor: chunks exist up to this id
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE notification_chunks (
  notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  chunk_index     integer NOT NULL,
  platform        text NOT NULL DEFAULT 'web' CHECK (platform IN ('web', 'apns', 'fcm')),
  first_id        bigint NOT NULL,
  last_id         bigint NOT NULL,
  size            integer NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled')),
  delivered       integer NOT NULL DEFAULT 0,
  pruned          integer NOT NULL DEFAULT 0,
  expired         integer NOT NULL DEFAULT 0,
  failed          jsonb NOT NULL DEFAULT '{}',  -- reason → count
  completed_at    timestamptz,
  PRIMARY KEY (notification_id, chunk_index)
);
CREATE INDEX notification_chunks_pending_idx ON notification_chunks (notification_id) WHERE status = 'pending';
