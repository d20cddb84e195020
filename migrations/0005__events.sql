-- depends: 0003__catalog
-- Transactional outbox, consumer dedupe, merchant webhooks and their delivery log, low-stock
-- alerts. Events are written in the same tenant transaction as the change they describe.

DO $$
BEGIN
    -- The outbox relay: reads and marks every store's outbox rows, nothing else.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_relay') THEN
        CREATE ROLE shop_relay LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    -- The webhook delivery worker: may only claim due deliveries across stores (one function);
    -- each delivery is then sent and logged inside that store's tenant transaction.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_worker') THEN
        CREATE ROLE shop_worker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

CREATE TABLE outbox (
    store_id        bigint      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    event_type      text        NOT NULL,
    exchange        text        NOT NULL,
    routing_key     text        NOT NULL,
    idempotency_key text        NOT NULL,
    payload         jsonb       NOT NULL,
    -- Message headers such as traceparent, so consumers continue the producer's trace.
    headers         jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, idempotency_key)
);
-- The relay's work queue: unpublished rows in commit-ish (id) order.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

SELECT enable_tenant_rls('outbox');
GRANT SELECT, INSERT ON outbox TO shop_app;
CREATE POLICY relay_all ON outbox TO shop_relay USING (true) WITH CHECK (true);
GRANT SELECT, DELETE ON outbox TO shop_relay;
GRANT UPDATE (published_at, attempts, last_error) ON outbox TO shop_relay;

-- One NOTIFY per inserting statement wakes the relay at commit (NOTIFY is transactional).
CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox();

CREATE TABLE processed_events (
    store_id     bigint      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    consumer     text        NOT NULL,
    event_key    text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, consumer, event_key)
);
SELECT enable_tenant_rls('processed_events');
GRANT SELECT, INSERT ON processed_events TO shop_app;

-- What the email consumer sent; message_id is the event key, so a resend after a crash between
-- SMTP acceptance and commit carries the same Message-ID.
CREATE TABLE sent_emails (
    store_id   bigint      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    message_id text        NOT NULL,
    recipient  text        NOT NULL,
    subject    text        NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, message_id)
);
SELECT enable_tenant_rls('sent_emails');
GRANT SELECT, INSERT ON sent_emails TO shop_app;

CREATE TABLE webhooks (
    store_id   bigint      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    topic      text        NOT NULL,
    url        text        NOT NULL,
    -- Needed in clear to sign each delivery; shown to the merchant once, at creation.
    secret     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, topic, url)
);
SELECT enable_tenant_rls('webhooks');
GRANT SELECT, INSERT, DELETE ON webhooks TO shop_app;

CREATE TABLE webhook_deliveries (
    store_id        bigint      NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    webhook_id      uuid        NOT NULL,
    event_key       text        NOT NULL,
    topic           text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    leased_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, webhook_id, event_key),
    FOREIGN KEY (store_id, webhook_id) REFERENCES webhooks (store_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
SELECT enable_tenant_rls('webhook_deliveries');
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO shop_app;

CREATE TABLE webhook_attempts (
    store_id      bigint      NOT NULL,
    delivery_id   uuid        NOT NULL,
    attempt       integer     NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   integer     NOT NULL,
    response_code integer,
    error         text,
    PRIMARY KEY (store_id, delivery_id, attempt),
    FOREIGN KEY (store_id, delivery_id) REFERENCES webhook_deliveries (store_id, id)
        ON DELETE CASCADE
);
SELECT enable_tenant_rls('webhook_attempts');
GRANT SELECT, INSERT ON webhook_attempts TO shop_app;

CREATE TABLE inventory_alerts (
    store_id      bigint      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    event_key     text        NOT NULL,
    variant_id    uuid        NOT NULL,
    sku           text,
    quantity      integer     NOT NULL,
    threshold     integer     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, event_key)
);
SELECT enable_tenant_rls('inventory_alerts');
GRANT SELECT, INSERT ON inventory_alerts TO shop_app;

-- Claims due webhook deliveries of every store for a short lease; the worker then sends and
-- logs each one inside its store's tenant transaction.
CREATE POLICY platform_claim ON webhook_deliveries TO shop_platform USING (true) WITH CHECK (true);
GRANT SELECT, UPDATE (leased_until) ON webhook_deliveries TO shop_platform;
CREATE FUNCTION platform.claim_webhook_deliveries(p_limit integer, p_lease_seconds integer)
RETURNS TABLE (store_id bigint, delivery_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE webhook_deliveries d
       SET leased_until = clock_timestamp() + make_interval(secs => p_lease_seconds)
     WHERE (d.store_id, d.id) IN (
           SELECT w.store_id, w.id FROM webhook_deliveries w
            WHERE w.status = 'pending' AND w.next_attempt_at <= clock_timestamp()
              AND (w.leased_until IS NULL OR w.leased_until < clock_timestamp())
            ORDER BY w.next_attempt_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED)
    RETURNING d.store_id, d.id
$$;
ALTER FUNCTION platform.claim_webhook_deliveries(integer, integer) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.claim_webhook_deliveries(integer, integer) FROM PUBLIC;
GRANT USAGE ON SCHEMA platform TO shop_worker;
GRANT EXECUTE ON FUNCTION platform.claim_webhook_deliveries(integer, integer) TO shop_worker;
