-- Batched webhook events (issue 14 §2): events about many recipients (notification.opened, and
-- subscription.pruned / delivery.failed to come) gather their items in one open batch per
-- (project, type, key), emitted as an event of up to 1,000 items when full, or by a dispatcher once
-- the batch is a few seconds old. Appending is part of the caller's statement, so an item is in a
-- batch exactly when the change it tells is committed.

CREATE TABLE webhook_event_batches (
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  type       text NOT NULL,
  batch_key  text NOT NULL,                 -- what the items share, e.g. the notification's id
  data       jsonb NOT NULL,                -- the event's other fields (notification_id, project_id)
  list_field text NOT NULL,                 -- the name of the items' list in the event ('opens', 'subscriptions')
  items      jsonb NOT NULL DEFAULT '[]',
  opened_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, type, batch_key)
);

-- Emits full batches of `items`: the event's data is `data` plus {list_field: up to 1,000 items}.
CREATE FUNCTION pushcast_emit_batch_events(p_project_id bigint, p_type text, p_data jsonb, p_list_field text, p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_rest jsonb := p_items;
BEGIN
  WHILE jsonb_array_length(v_rest) >= 1000 LOOP
    PERFORM pushcast_emit_event(p_project_id, p_type,
      p_data || jsonb_build_object(p_list_field, (SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(v_rest) WITH ORDINALITY AS t(e, i) WHERE i <= 1000)));
    v_rest := COALESCE((SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(v_rest) WITH ORDINALITY AS t(e, i) WHERE i > 1000), '[]');
  END LOOP;
  RETURN v_rest;
END
$$;

-- Adds items to the open batch of (project, type, batch_key), emitting it in events of 1,000 once
-- it holds that many. Nothing is kept when no enabled webhook of the project wants the type.
CREATE FUNCTION pushcast_emit_batched(p_project_id bigint, p_type text, p_batch_key text, p_data jsonb, p_list_field text, p_items jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_items jsonb;
BEGIN
  IF jsonb_array_length(p_items) = 0
     OR NOT EXISTS (SELECT 1 FROM webhooks WHERE project_id = p_project_id AND enabled AND pushcast_webhook_wants(events, p_type)) THEN
    RETURN;
  END IF;
  INSERT INTO webhook_event_batches AS b (project_id, type, batch_key, data, list_field, items)
  VALUES (p_project_id, p_type, p_batch_key, p_data, p_list_field, p_items)
  ON CONFLICT (project_id, type, batch_key) DO UPDATE SET items = b.items || EXCLUDED.items
  RETURNING items INTO v_items;
  IF jsonb_array_length(v_items) < 1000 THEN
    RETURN;
  END IF;
  v_items := pushcast_emit_batch_events(p_project_id, p_type, p_data, p_list_field, v_items);
  IF jsonb_array_length(v_items) = 0 THEN
    DELETE FROM webhook_event_batches WHERE project_id = p_project_id AND type = p_type AND batch_key = p_batch_key;
  ELSE
    UPDATE webhook_event_batches SET items = v_items, opened_at = now()
    WHERE project_id = p_project_id AND type = p_type AND batch_key = p_batch_key;
  END IF;
END
$$;

-- Emits the batches opened more than `p_max_age` ago, whatever they hold; returns how many.
CREATE FUNCTION pushcast_flush_event_batches(p_max_age interval) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  b record;
  v_count integer := 0;
BEGIN
  FOR b IN
    DELETE FROM webhook_event_batches WHERE (project_id, type, batch_key) IN (
      SELECT project_id, type, batch_key FROM webhook_event_batches WHERE opened_at <= now() - p_max_age
      FOR UPDATE SKIP LOCKED)
    RETURNING *
  LOOP
    PERFORM pushcast_emit_event(b.project_id, b.type, b.data || jsonb_build_object(b.list_field, b.items));
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END
$$;
