-- Bulk import carries user_email (migration 0019), as the single create does: a staged row holds
-- it like uid, and applying the row sets it (a row without one clears it, as for uid: an import
-- row describes the subscription whole, and an export's rows carry it).
ALTER TABLE subscription_import_rows ADD COLUMN user_email text;
