-- CloudSignal's dialect at /v2/push (issue 16).
--
-- subscriptions.user_email: an optional address a subscription belongs to (CloudSignal targets and
-- lists clients by it), set by every dialect that registers subscriptions. Matched case-insensitively.
-- notifications.target_emails / target_subscription_ids: CloudSignal's target_user_emails and
-- target_registration_ids, kept with the notification as target_uids are, for the planner.
-- notifications.record_deliveries: a notification that overrides its project's setting: a send
-- someone waits for ('all': the delivered recipients get a record too, so that the answer can name
-- every recipient's outcome). NULL = the project's setting.
ALTER TABLE subscriptions ADD COLUMN user_email text CHECK (char_length(user_email) <= 320);
CREATE INDEX subscriptions_project_user_email_idx ON subscriptions (project_id, lower(user_email)) WHERE user_email IS NOT NULL;

ALTER TABLE notifications
  ADD COLUMN target_emails text[],
  ADD COLUMN target_subscription_ids bigint[],
  ADD COLUMN record_deliveries text CHECK (record_deliveries IN ('failures', 'all'));

-- A client's notification_count (CloudSignal): its recorded deliveries, found without walking
-- every notification's records.
CREATE INDEX delivery_records_delivered_subscription ON delivery_records (subscription_id) WHERE outcome = 'delivered';
