-- Every project is a Pusher Beams instance (issue 15): its instance id is what Beams' SDKs are
-- given. gen_random_uuid() is volatile, so each existing project gets its own.
ALTER TABLE projects ADD COLUMN beams_instance_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX projects_beams_instance_id_key ON projects (beams_instance_id);

-- A project's secret keys (Beams' secretKey, CloudSignal's X-Secret-Key), several live at once
-- for rotation. `key_hash` (SHA-256) finds the key a request carries; the key itself is sealed
-- like provider credentials (AES-256-GCM under PUSHCAST_SECRET_KEY, AAD
-- `pushcast:secret-key:<id>`), because Beams' user JWTs are HS256 under it and verifying one
-- needs the key.
CREATE TABLE project_secret_keys (
  id         bigserial PRIMARY KEY,
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  key_hash   bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
  key_prefix text NOT NULL,
  key_id     text NOT NULL,
  iv         bytea NOT NULL,
  ciphertext bytea NOT NULL,
  auth_tag   bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_secret_keys_project_id_idx ON project_secret_keys (project_id);
