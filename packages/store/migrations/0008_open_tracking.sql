-- The browser side (issue 7): what browsers may do without a token, and open tracking.

-- Origins whose pages may call the browser endpoints (CORS). NULL = the origin of `website`.
-- Tags a browser may set on its own subscription: exact tags, or a prefix followed by `*`.
ALTER TABLE projects
  ADD COLUMN allowed_origins text[],
  ADD COLUMN browser_tags_allowed text[] NOT NULL DEFAULT '{}';

-- One row per (notification, subscription) that was opened: the primary key makes a repeated report
-- count once. No foreign key to subscriptions: an open still counts after its subscription is gone.
CREATE TABLE notification_opens (
  notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  subscription_id bigint NOT NULL,
  -- The action clicked (its `action`, or its title when it has none); NULL = the notification itself.
  action          text,
  opened_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (notification_id, subscription_id)
);

-- Opens counted per notification and action ('' = the notification itself), bumped in the open's
-- transaction: reading a notification's statistics costs one small index scan, however many opened it.
CREATE TABLE notification_open_counts (
  notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  action          text NOT NULL DEFAULT '',
  count           bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (notification_id, action)
);

-- Secrets Pushcast generates for itself, e.g. the open-tracking key when PUSHCAST_SECRET_KEY is not set.
CREATE TABLE pushcast_secrets (
  name       text PRIMARY KEY,
  value      bytea NOT NULL CHECK (octet_length(value) >= 32),
  created_at timestamptz NOT NULL DEFAULT now()
);
