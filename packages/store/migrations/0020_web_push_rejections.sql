-- Issue 14 §3 for Web Push: a VAPID key (with its subject) that the push services keep refusing
-- stops the project's Web Push sends, as a refused APNs or FCM credential does. The key belongs to
-- the project's sender, but the refusal is the project's: its subject (its website) is part of what
-- push services judge, and projects of one sender may be judged apart.
CREATE TABLE web_push_rejections (
  project_id  bigint PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  -- The VAPID public key and subject refused (a hash): chunks are held only while the project
  -- still sends with those.
  fingerprint text NOT NULL,
  reason      text NOT NULL,
  rejected_at timestamptz NOT NULL DEFAULT now()
);
