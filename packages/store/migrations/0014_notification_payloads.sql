-- Notifications a dialect gives whole per platform (issue 15: Pusher Beams' apns/fcm/web sections):
-- `payloads` holds them (NULL = payloads mapped from the content, as for Pushpad), and such a
-- notification goes only to the platforms it has one for. `external_id` is the id the dialect
-- knows it by (Beams' publishId), unique in its project.
ALTER TABLE notifications ADD COLUMN payloads jsonb, ADD COLUMN external_id text;
CREATE UNIQUE INDEX notifications_external_id_key ON notifications (project_id, external_id) WHERE external_id IS NOT NULL;
