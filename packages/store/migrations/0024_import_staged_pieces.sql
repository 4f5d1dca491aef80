-- Bulk imports are applied while their upload is still arriving (issue 13 §3: 1 M rows at
-- >= 50,000 rows/s end to end). The API commits its COPY into the staging table in pieces and
-- records how far it got; the worker applies each piece as it lands, while the import is still
-- 'receiving'. An upload cut short keeps what was staged before the cut: the worker applies it
-- and the import ends 'failed', saying so (docs/api.md).
--
-- staged_through_line: every line up to this one is staged (or was rejected) and committed.
-- staged_rows: how many valid rows were staged in all (inserted + updated must reach it; less
--   means staged rows were lost: the staging table is unlogged, see below).
-- upload_interrupted: why the upload stopped before its end (the import then ends 'failed' once
--   what was staged is applied); null for an upload read whole.
ALTER TABLE subscription_imports
  ADD COLUMN staged_through_line bigint NOT NULL DEFAULT 0,
  ADD COLUMN staged_rows bigint NOT NULL DEFAULT 0,
  ADD COLUMN upload_interrupted text;

-- GET /projects/:id/imports: a project's imports, newest first (and a project's deletion).
CREATE INDEX subscription_imports_project_idx ON subscription_imports (project_id, id);

-- Imports accepted by the code before this migration and not yet applied: staged whole.
UPDATE subscription_imports i
SET staged_rows = i.rows - i.rejected,
    staged_through_line = coalesce((SELECT max(line) FROM subscription_import_rows r WHERE r.import_id = i.id), 0)
WHERE i.status IN ('queued', 'running');

-- The staging table is a way station, not a record: no WAL for it (UNLOGGED: a PostgreSQL crash
-- empties it, and an import whose staged rows were lost ends 'failed' saying how many were
-- applied, rather than silently short), and no per-row foreign-key check to subscription_imports
-- (the two cost ~40 % of staging). Deleting an import (with its project) still deletes its staged
-- rows: by the trigger below, once per import instead of a check per staged row.
ALTER TABLE subscription_import_rows DROP CONSTRAINT subscription_import_rows_import_id_fkey;
ALTER TABLE subscription_import_rows SET UNLOGGED;

CREATE FUNCTION pushcast_subscription_import_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM subscription_import_rows WHERE import_id = OLD.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER subscription_import_rows_go_with_their_import
  AFTER DELETE ON subscription_imports FOR EACH ROW EXECUTE FUNCTION pushcast_subscription_import_deleted();
