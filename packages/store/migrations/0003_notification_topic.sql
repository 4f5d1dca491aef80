-- Web Push `Topic` (RFC 8030 §5.4): a pending message with the same topic is replaced at the push
-- service, so an offline device gets only the latest of a series. Pushcast's extension to Pushpad.
ALTER TABLE notifications ADD COLUMN topic text CHECK (topic ~ '^[A-Za-z0-9_-]{1,32}$');
