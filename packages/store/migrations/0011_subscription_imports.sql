-- Bulk import of subscriptions (issue 13 §3). The API streams an upload through the single
-- create's validation into subscription_import_rows with COPY; a worker job then upserts the
-- staged rows into subscriptions in set-based batches, in line order, and deletes them. The staged
-- rows are a regular (logged) table: an import the API accepted survives a PostgreSQL crash.

CREATE TABLE subscription_imports (
  id          bigserial PRIMARY KEY,
  project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  format      text NOT NULL CHECK (format IN ('ndjson', 'csv')),
  -- receiving: the upload is being read (not yet accepted); queued: accepted, waiting for a
  -- worker; running: being applied; completed / failed: done.
  status      text NOT NULL DEFAULT 'receiving'
              CHECK (status IN ('receiving', 'queued', 'running', 'completed', 'failed')),
  rows        bigint NOT NULL DEFAULT 0,
  inserted    bigint NOT NULL DEFAULT 0,
  updated     bigint NOT NULL DEFAULT 0,
  rejected    bigint NOT NULL DEFAULT 0,
  -- The first 1,000 rejected rows: [{line, field, rule, message}].
  errors      jsonb NOT NULL DEFAULT '[]',
  failure     text,
  -- Staged rows up to this line have been applied (a retried job goes on from there).
  applied_through_line bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX subscription_imports_unfinished_idx ON subscription_imports (status) WHERE status IN ('receiving', 'queued', 'running');

CREATE TABLE subscription_import_rows (
  import_id    bigint NOT NULL REFERENCES subscription_imports (id) ON DELETE CASCADE,
  line         bigint NOT NULL,
  platform     text NOT NULL,
  endpoint     text,
  p256dh       text,
  auth         text,
  device_token text,
  uid          text,
  tags         text[] NOT NULL,
  PRIMARY KEY (import_id, line)
);
