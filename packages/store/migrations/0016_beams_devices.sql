-- Beams devices (issue 15): a device Beams' SDKs registered is a Pushcast subscription (its interests
-- are the subscription's tags, its user the uid) known by a Beams device id, with the metadata the
-- SDKs report. Registering the same token again makes a new device of the same subscription.
CREATE TABLE beams_devices (
  project_id      bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  id              text NOT NULL,
  subscription_id bigint NOT NULL UNIQUE REFERENCES subscriptions (id) ON DELETE CASCADE,
  metadata        jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, id)
);
