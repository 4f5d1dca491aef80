-- Provider credentials per project (APNs .p8 key and ids, FCM service account), sealed at rest:
-- AES-256-GCM under PUSHCAST_SECRET_KEY, a fresh 12-byte IV per seal, the AAD
-- 'pushcast:credentials:<project_id>:<platform>' (a row copied to another project does not open).
-- `key_id` identifies the key a row was sealed under, so that a wrong key is told apart from
-- tampering. `summary` holds only what the API may show (ids, topic, e-mail), never a key.

CREATE TABLE project_credentials (
  project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  platform    text NOT NULL CHECK (platform IN ('apns', 'fcm')),
  key_id      text NOT NULL,
  iv          bytea NOT NULL CHECK (octet_length(iv) = 12),
  ciphertext  bytea NOT NULL,
  auth_tag    bytea NOT NULL CHECK (octet_length(auth_tag) = 16),
  summary     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, platform)
);
