-- Pushcast's first schema: senders (VAPID keys), projects, access tokens, subscriptions, and the
-- notification tables that the broadcast pipeline fills.

CREATE TABLE senders (
  id                bigserial PRIMARY KEY,
  name              text NOT NULL,
  vapid_private_key text NOT NULL,  -- PEM (SEC1 "EC PRIVATE KEY"), P-256
  vapid_public_key  text NOT NULL,  -- PEM (SPKI "PUBLIC KEY")
  created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
  id                                bigserial PRIMARY KEY,
  sender_id                         bigint NOT NULL REFERENCES senders (id),
  name                              text NOT NULL,
  website                           text NOT NULL,
  icon_url                          text,
  badge_url                         text,
  notifications_ttl                 integer NOT NULL DEFAULT 604800 CHECK (notifications_ttl >= 0),
  notifications_require_interaction boolean NOT NULL DEFAULT false,
  notifications_silent              boolean NOT NULL DEFAULT false,
  created_at                        timestamptz NOT NULL DEFAULT now(),
  -- Deletion is asynchronous (the API answers 202): the row is hidden at once and a worker job
  -- removes its subscriptions in batches, then the row.
  deleted_at                        timestamptz
);
CREATE INDEX projects_sender_id_idx ON projects (sender_id);
CREATE INDEX projects_deleted_idx ON projects (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE access_tokens (
  id             bigserial PRIMARY KEY,
  name           text NOT NULL DEFAULT '',
  -- SHA-256 of the token: the token itself is shown once, when minted, and never stored.
  token_hash     bytea NOT NULL UNIQUE,
  -- The first characters, so that people can tell their tokens apart in listings.
  token_prefix   text NOT NULL,
  -- SHA-256 midstates of the HMAC key (inner and outer pad, 32 bytes each): enough to verify
  -- `signature_for(uid)` = HMAC-SHA256(token, uid) without keeping the token.
  hmac_key_state bytea NOT NULL CHECK (octet_length(hmac_key_state) = 64),
  admin          boolean NOT NULL DEFAULT false,
  project_ids    bigint[] NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz,
  CHECK (admin OR cardinality(project_ids) > 0)
);
CREATE INDEX access_tokens_project_ids_idx ON access_tokens USING gin (project_ids);

CREATE TABLE subscriptions (
  id            bigserial PRIMARY KEY,
  project_id    bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  -- 'web' uses endpoint/p256dh/auth; 'apns' and 'fcm' use device_token.
  platform      text NOT NULL DEFAULT 'web' CHECK (platform IN ('web', 'apns', 'fcm')),
  endpoint      text,
  p256dh        text,
  auth          text,
  device_token  text,
  uid           text CHECK (char_length(uid) <= 255),
  tags          text[] NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  last_click_at timestamptz,
  CHECK (
    (platform = 'web' AND endpoint IS NOT NULL AND p256dh IS NOT NULL AND auth IS NOT NULL AND device_token IS NULL)
    OR (platform <> 'web' AND device_token IS NOT NULL AND endpoint IS NULL)
  )
);
-- The same browser subscription imported twice is one row (updated), never a duplicate.
CREATE UNIQUE INDEX subscriptions_web_endpoint_key ON subscriptions (project_id, endpoint) WHERE platform = 'web';
CREATE UNIQUE INDEX subscriptions_device_token_key ON subscriptions (project_id, platform, device_token) WHERE platform <> 'web';
-- Keyset pagination over a project's audience walks this index.
CREATE INDEX subscriptions_project_id_id_idx ON subscriptions (project_id, id);
CREATE INDEX subscriptions_project_uid_idx ON subscriptions (project_id, uid) WHERE uid IS NOT NULL;
-- Tag expressions compile to @> / && on this index.
CREATE INDEX subscriptions_tags_idx ON subscriptions USING gin (tags);

CREATE TABLE notifications (
  id                  bigserial PRIMARY KEY,
  project_id          bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  title               text,
  body                text NOT NULL,
  target_url          text,
  icon_url            text,
  badge_url           text,
  image_url           text,
  ttl                 integer NOT NULL CHECK (ttl >= 0),
  require_interaction boolean NOT NULL DEFAULT false,
  silent              boolean NOT NULL DEFAULT false,
  urgent              boolean NOT NULL DEFAULT false,
  custom_data         text,
  actions             jsonb NOT NULL DEFAULT '[]',
  starred             boolean NOT NULL DEFAULT false,
  custom_metrics      text[] NOT NULL DEFAULT '{}',
  -- The audience as given: uids and tag expressions (entries OR-ed). Both NULL = everyone.
  target_uids         text[],
  target_tags         text[],
  send_at             timestamptz,
  -- scheduled → planning → sending → sent, or cancelled. Anything not sent or cancelled is
  -- unfinished: reconciliation finds it here if Redis loses its jobs.
  status              text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('scheduled', 'queued', 'planning', 'sending', 'sent', 'cancelled')),
  scheduled_count     bigint NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL DEFAULT now(),
  planned_at          timestamptz,
  completed_at        timestamptz,
  cancelled_at        timestamptz
);
CREATE INDEX notifications_project_id_id_idx ON notifications (project_id, id DESC);
CREATE INDEX notifications_unfinished_idx ON notifications (status) WHERE status NOT IN ('sent', 'cancelled');

-- Live statistics: one counter per (notification, platform, outcome, reason), bumped by workers
-- with one upsert per chunk, never one per recipient.
CREATE TABLE notification_outcomes (
  notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  platform        text NOT NULL CHECK (platform IN ('web', 'apns', 'fcm')),
  outcome         text NOT NULL CHECK (outcome IN ('delivered', 'pruned', 'failed', 'expired')),
  reason          text NOT NULL DEFAULT '',
  count           bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (notification_id, platform, outcome, reason)
);
