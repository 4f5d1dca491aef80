-- Idempotency keys of notification create (issue 5): a repeat of the same request with the same key
-- within 24 hours answers the first response and creates nothing. A row is written in the same
-- transaction as its notification, so neither exists without the other. Rows older than 24 hours
-- are ignored (the key may be used anew) and deleted by the `purge-idempotency-keys` job.
CREATE TABLE idempotency_keys (
  project_id      bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  -- SHA-256 of the canonical request (method, path, parsed body without the key).
  fingerprint     bytea NOT NULL CHECK (length(fingerprint) = 32),
  -- NULL only inside the creating transaction (the key is claimed first, the answer written last).
  response_status smallint,
  response_body   jsonb,
  notification_id bigint REFERENCES notifications (id) ON DELETE CASCADE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
