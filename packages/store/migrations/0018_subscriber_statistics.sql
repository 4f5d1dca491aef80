-- Maintained subscriber statistics (issue 17: the console), so that a page never counts a million
-- rows to say how many subscribers a project has.
--
-- subscription_counts: the number of subscriptions per project and platform, kept by statement-level
-- triggers on subscriptions (transition tables: one upsert per statement and platform, however many
-- rows a bulk import or a prune deletes). A project's count is the sum of its slots: each writer adds
-- to the slot of its backend (pg_backend_pid() % 16), so concurrent writers of one project (workers
-- pruning, an import, browsers subscribing) rarely wait on the same row, and an import's long
-- transaction does not hold up every other writer of the project until it commits.
-- No foreign key to projects: the cascade that deletes a project's subscriptions fires these
-- triggers while the project row is going, which a foreign key would refuse; the purge deletes the
-- project's counts with it.

CREATE TABLE subscription_counts (
  project_id bigint   NOT NULL,
  platform   text     NOT NULL,
  slot       smallint NOT NULL,
  n          bigint   NOT NULL,
  PRIMARY KEY (project_id, platform, slot)
);

-- subscription_count_days: a project's count per platform at the end of each day (UTC), for
-- "subscribers over time". Today's row is refreshed hourly by the workers' snapshot job
-- (and so holds the count of the last snapshot); the API answers the live count for now.
CREATE TABLE subscription_count_days (
  project_id bigint NOT NULL,
  day        date   NOT NULL,
  platform   text   NOT NULL,
  n          bigint NOT NULL,
  PRIMARY KEY (project_id, day, platform)
);

CREATE FUNCTION pushcast_subscriptions_counted_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscription_counts AS c (project_id, platform, slot, n)
  SELECT project_id, platform, pg_backend_pid() % 16, count(*) FROM pushcast_new_rows GROUP BY project_id, platform
  ORDER BY project_id, platform
  ON CONFLICT (project_id, platform, slot) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;

CREATE FUNCTION pushcast_subscriptions_counted_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscription_counts AS c (project_id, platform, slot, n)
  SELECT project_id, platform, pg_backend_pid() % 16, -count(*) FROM pushcast_old_rows GROUP BY project_id, platform
  ORDER BY project_id, platform
  ON CONFLICT (project_id, platform, slot) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;

-- Nothing in Pushcast moves a subscription to another project or platform; should anything ever,
-- the counts follow (a row trigger that fires only when those columns are in the SET list).
CREATE FUNCTION pushcast_subscriptions_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.project_id IS DISTINCT FROM NEW.project_id OR OLD.platform IS DISTINCT FROM NEW.platform THEN
    INSERT INTO subscription_counts AS c (project_id, platform, slot, n)
    VALUES (OLD.project_id, OLD.platform, pg_backend_pid() % 16, -1), (NEW.project_id, NEW.platform, pg_backend_pid() % 16, 1)
    ON CONFLICT (project_id, platform, slot) DO UPDATE SET n = c.n + excluded.n;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER subscriptions_count_insert AFTER INSERT ON subscriptions
  REFERENCING NEW TABLE AS pushcast_new_rows FOR EACH STATEMENT EXECUTE FUNCTION pushcast_subscriptions_counted_in();
CREATE TRIGGER subscriptions_count_delete AFTER DELETE ON subscriptions
  REFERENCING OLD TABLE AS pushcast_old_rows FOR EACH STATEMENT EXECUTE FUNCTION pushcast_subscriptions_counted_out();
CREATE TRIGGER subscriptions_count_move AFTER UPDATE OF project_id, platform ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION pushcast_subscriptions_moved();

-- The subscriptions there are now. The triggers above hold a lock that keeps writers out until this
-- migration commits, so nothing is counted twice or missed.
INSERT INTO subscription_counts (project_id, platform, slot, n)
SELECT project_id, platform, 0, count(*) FROM subscriptions GROUP BY project_id, platform;
INSERT INTO subscription_count_days (project_id, day, platform, n)
SELECT project_id, (now() AT TIME ZONE 'UTC')::date, platform, count(*) FROM subscriptions GROUP BY project_id, platform;

-- "Notifications in the last 24 hours" per project, without walking a project's whole history.
CREATE INDEX notifications_project_created_idx ON notifications (project_id, created_at);
