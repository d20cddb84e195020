-- depends: 0006__catalog_admin
-- Checkout: idempotency records with their recovery point, per-store order numbers, orders,
-- and the Connect account payments are made on.

-- The store's Stripe Connect account. Until Connect onboarding exists every store gets a
-- placeholder id, which the local Stripe emulator accepts; production sets the real one.
ALTER TABLE stores ADD COLUMN stripe_account_id text NOT NULL
    DEFAULT 'acct_' || substr(md5(random()::text), 1, 16);

-- One row per (store, Idempotency-Key): what was asked (fingerprint), how far it got (state),
-- what was reserved, and the final response, replayed byte for byte.
CREATE TABLE checkouts (
    store_id          bigint      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    idempotency_key   text        NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    fingerprint       bytea       NOT NULL,
    state             text        NOT NULL CHECK (state IN
                          ('processing', 'reserved', 'requires_action', 'completed', 'failed')),
    attempt           integer     NOT NULL DEFAULT 1,
    lease_until       timestamptz NOT NULL,
    request           jsonb       NOT NULL,
    -- [{variant_id, product_id, sku, title, quantity, unit_price}] decremented in phase 1.
    reserved_lines    jsonb,
    currency          char(3),
    amount            bigint,
    payment_intent_id text,
    client_secret     text,
    order_id          uuid,
    response          bytea,
    error_code        integer,
    error_message     text,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, idempotency_key)
);
CREATE INDEX checkouts_unfinished ON checkouts (lease_until)
    WHERE state IN ('processing', 'reserved', 'requires_action');
SELECT enable_tenant_rls('checkouts');
GRANT SELECT, INSERT, UPDATE ON checkouts TO shop_app;

-- Per-store order numbers from 1001: taken inside the order's transaction, so a rollback
-- leaves no gap and no store can infer another's volume.
CREATE TABLE store_order_counters (
    store_id    bigint  NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    last_number bigint  NOT NULL,
    PRIMARY KEY (store_id)
);
SELECT enable_tenant_rls('store_order_counters');
GRANT SELECT, INSERT, UPDATE ON store_order_counters TO shop_app;

CREATE TABLE orders (
    store_id          bigint      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    number            bigint      NOT NULL,
    checkout_id       uuid        NOT NULL,
    status            text        NOT NULL CHECK (status IN
                          ('paid', 'partially_refunded', 'refunded', 'cancelled')),
    email             text        NOT NULL,
    currency          char(3)     NOT NULL,
    total             bigint      NOT NULL CHECK (total >= 0),
    refunded          bigint      NOT NULL DEFAULT 0 CHECK (refunded BETWEEN 0 AND total),
    shipping_address  jsonb       NOT NULL,
    billing_address   jsonb       NOT NULL,
    payment_intent_id text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, number),
    UNIQUE (store_id, checkout_id),
    FOREIGN KEY (store_id, checkout_id) REFERENCES checkouts (store_id, id)
);
CREATE INDEX orders_newest ON orders (store_id, created_at DESC, id DESC);
SELECT enable_tenant_rls('orders');
GRANT SELECT, INSERT, UPDATE ON orders TO shop_app;

CREATE TABLE order_items (
    store_id          bigint  NOT NULL,
    order_id          uuid    NOT NULL,
    line              integer NOT NULL,
    variant_id        uuid    NOT NULL,
    product_id        uuid    NOT NULL,
    sku               text,
    title             text    NOT NULL,
    quantity          integer NOT NULL CHECK (quantity > 0),
    unit_price        bigint  NOT NULL CHECK (unit_price >= 0),
    refunded_quantity integer NOT NULL DEFAULT 0 CHECK (refunded_quantity BETWEEN 0 AND quantity),
    PRIMARY KEY (store_id, order_id, line),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('order_items');
GRANT SELECT, INSERT, UPDATE ON order_items TO shop_app;

-- The recovery worker's only cross-store power: claim checkouts whose lease ran out.
CREATE POLICY platform_claim ON checkouts TO shop_platform USING (true) WITH CHECK (true);
GRANT SELECT, UPDATE (lease_until) ON checkouts TO shop_platform;
CREATE FUNCTION platform.claim_stale_checkouts(p_limit integer, p_lease_seconds integer)
RETURNS TABLE (store_id bigint, checkout_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE checkouts c
       SET lease_until = clock_timestamp() + make_interval(secs => p_lease_seconds)
     WHERE (c.store_id, c.id) IN (
           SELECT s.store_id, s.id FROM checkouts s
            WHERE s.state IN ('processing', 'reserved', 'requires_action')
              AND s.lease_until < clock_timestamp()
            ORDER BY s.lease_until
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED)
    RETURNING c.store_id, c.id
$$;
ALTER FUNCTION platform.claim_stale_checkouts(integer, integer) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.claim_stale_checkouts(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.claim_stale_checkouts(integer, integer) TO shop_worker;
