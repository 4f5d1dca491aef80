-- APNs and FCM in the broadcast pipeline: the planner walks each platform's audience separately
-- (each platform has its own queue, chunk size and provider), by keyset on this index.
CREATE INDEX subscriptions_project_platform_id_idx ON subscriptions (project_id, platform, id);

-- Per-platform overrides given on create (`apns`, `fcm`, `web`), merged over the mapped payloads.
ALTER TABLE notifications ADD COLUMN overrides jsonb NOT NULL DEFAULT '{}';

-- A chunk's planner cursor is now per platform: the highest last_id of that platform's chunks.
CREATE INDEX notification_chunks_platform_last_idx ON notification_chunks (notification_id, platform, last_id);
