-- The planner's cursors are per platform now: the highest last_id of each platform's chunks
-- (0005). The single cursor of 0002 is no longer read; it is dropped rather than kept in step.
ALTER TABLE notifications DROP COLUMN planned_through_id;
