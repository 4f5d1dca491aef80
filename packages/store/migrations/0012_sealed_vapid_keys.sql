-- Secrets at rest (issue 12 §4): a sender's VAPID private key is sealed like provider credentials
-- (0004): AES-256-GCM under PUSHCAST_SECRET_KEY, a fresh 12-byte IV per seal, the AAD
-- 'pushcast:vapid:<sender id>', and `key_id` (16 hex digits of the key's SHA-256) naming the key,
-- so that a process holding previous keys (PUSHCAST_SECRET_KEY_PREVIOUS) opens it without trying
-- each one and `pushcast rekey` finds what is not under the current key.
--
-- SQL cannot seal (the key is not in the database), so rows written before this migration keep
-- their plaintext `vapid_private_key` and keep working, with or without a secret key, until
-- `pushcast rekey` seals them (it needs PUSHCAST_SECRET_KEY). New senders are always sealed: without
-- a secret key they cannot be created (409 secret_key_not_configured), as provider credentials.
-- A row holds exactly one form.
ALTER TABLE senders
  ALTER COLUMN vapid_private_key DROP NOT NULL,
  ADD COLUMN key_id text,
  ADD COLUMN iv bytea CHECK (octet_length(iv) = 12),
  ADD COLUMN sealed_private_key bytea,
  ADD COLUMN auth_tag bytea CHECK (octet_length(auth_tag) = 16),
  ADD CONSTRAINT senders_private_key_one_form CHECK (
    (vapid_private_key IS NOT NULL AND key_id IS NULL AND iv IS NULL AND sealed_private_key IS NULL AND auth_tag IS NULL)
    OR (vapid_private_key IS NULL AND key_id IS NOT NULL AND iv IS NOT NULL AND sealed_private_key IS NOT NULL AND auth_tag IS NOT NULL)
  );

-- Pushcast's own secrets may be sealed too (`value` is then the ciphertext): the open-tracking key
-- of a deployment with PUSHCAST_SECRET_KEY is kept sealed under it, so that rotating the secret key
-- does not change the key of open-tracking tokens already sent. Without a secret key, the plaintext
-- random secret of 0008 stays as it was.
ALTER TABLE pushcast_secrets
  ADD COLUMN key_id text,
  ADD COLUMN iv bytea CHECK (octet_length(iv) = 12),
  ADD COLUMN auth_tag bytea CHECK (octet_length(auth_tag) = 16),
  ADD CONSTRAINT pushcast_secrets_sealed_whole CHECK ((key_id IS NULL) = (iv IS NULL) AND (iv IS NULL) = (auth_tag IS NULL));
