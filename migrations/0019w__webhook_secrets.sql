-- depends: 0021__store_lifecycle
-- Webhook secret rotation with an overlap window, and deletion that keeps the delivery log:
-- a deleted webhook stays as a tombstone (deleted_at) so its cancelled deliveries remain
-- visible until retention removes them. One subcommand per ALTER, named constraints.

-- The secret replaced by the last rotation signs deliveries too until previous_secret_expires_at.
ALTER TABLE webhooks ADD COLUMN previous_secret text;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at timestamptz;
ALTER TABLE webhooks ADD COLUMN secret_rotated_at timestamptz;
ALTER TABLE webhooks ADD COLUMN deleted_at timestamptz;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_previous_secret_dated
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL));
GRANT UPDATE (secret, previous_secret, previous_secret_expires_at, secret_rotated_at, deleted_at)
    ON webhooks TO shop_app;

-- One live subscription per (topic, url); a deleted one does not block subscribing again.
ALTER TABLE webhooks DROP CONSTRAINT webhooks_store_id_topic_url_key;
CREATE UNIQUE INDEX webhooks_live_subscription ON webhooks (store_id, topic, url)
    WHERE deleted_at IS NULL;

-- Pending deliveries of a deleted webhook end `cancelled`, visibly, instead of vanishing.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_status_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_valid
    CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled'));
