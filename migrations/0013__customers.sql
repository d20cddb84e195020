-- depends: 0011a__refunds_disputes
-- Customers: one per (store, email, case-insensitive), created by the checkout that first uses
-- the email (in the order's own transaction) or by a storefront account's activation; orders
-- point at their customer. The account's password hash lives on the customer (argon2id);
-- sessions, reset tokens and throttles live in Redis. Erased customers keep their row (the
-- totals stay) without any personal data. Audit events record privacy operations.
-- Citus order: tables (keyed by store_id), then the distribution step, then the constraints;
-- one subcommand per ALTER, named constraints, no volatile defaults (ids and timestamps are
-- written by the statements that insert the rows).

CREATE TABLE customers (
    store_id             bigint      NOT NULL,
    id                   uuid        NOT NULL,
    -- NULL once erased; unique per store, case-insensitively (customers_email_key).
    email                text,
    name                 text,
    phone                text,
    -- An Address (shop.checkout.v1.Address) as JSON, from the first order that had one.
    default_address      jsonb,
    -- subscribed | unsubscribed | not_subscribed, and when and how it was last given or
    -- withdrawn (registration: the shopper at sign-up; admin: recorded by the merchant).
    marketing_state      text        NOT NULL DEFAULT 'not_subscribed',
    marketing_source     text,
    marketing_updated_at timestamptz,
    tags                 text[]      NOT NULL DEFAULT '{}',
    note                 text,
    -- Orders not cancelled, and the sum over every order of (total - refunded): recomputed
    -- from the orders under the customer's row lock in every transaction that changes them.
    orders_count         integer     NOT NULL DEFAULT 0,
    total_spent          bigint      NOT NULL DEFAULT 0,
    -- argon2id (PHC string) once the storefront account is activated; NULL: no account.
    password_hash        text,
    password_changed_at  timestamptz,
    erased_at            timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT customers_pkey PRIMARY KEY (store_id, id)
);

CREATE TABLE audit_events (
    store_id   bigint      NOT NULL,
    id         uuid        NOT NULL,
    -- e.g. customer.erased
    action     text        NOT NULL,
    -- What it was done to ("customer:<id>") and who asked ("admin_api").
    subject    text        NOT NULL,
    actor      text        NOT NULL,
    -- Facts without personal data (counts, ids, the request's trace id).
    details    jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT audit_events_pkey PRIMARY KEY (store_id, id)
);

-- Distribution step (Citus; a no-op on plain PostgreSQL):
--   SELECT create_distributed_table('customers', 'store_id', colocate_with => 'orders');
--   SELECT create_distributed_table('audit_events', 'store_id', colocate_with => 'orders');

ALTER TABLE customers ADD CONSTRAINT customers_store_fkey
    FOREIGN KEY (store_id) REFERENCES stores (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX customers_email_key ON customers (store_id, lower(email));
ALTER TABLE customers ADD CONSTRAINT customers_email_valid
    CHECK (char_length(email) BETWEEN 3 AND 254 AND strpos(email, '@') > 1);
ALTER TABLE customers ADD CONSTRAINT customers_name_length CHECK (char_length(name) <= 255);
ALTER TABLE customers ADD CONSTRAINT customers_phone_length CHECK (char_length(phone) <= 32);
ALTER TABLE customers ADD CONSTRAINT customers_note_length CHECK (char_length(note) <= 5000);
ALTER TABLE customers ADD CONSTRAINT customers_address_size
    CHECK (octet_length(default_address::text) <= 4096);
ALTER TABLE customers ADD CONSTRAINT customers_tags_size
    CHECK (cardinality(tags) <= 50 AND char_length(array_to_string(tags, ',')) <= 2100);
ALTER TABLE customers ADD CONSTRAINT customers_marketing_state_valid
    CHECK (marketing_state IN ('subscribed', 'unsubscribed', 'not_subscribed'));
ALTER TABLE customers ADD CONSTRAINT customers_marketing_source_valid
    CHECK (marketing_source IN ('registration', 'admin'));
ALTER TABLE customers ADD CONSTRAINT customers_totals_valid
    CHECK (orders_count >= 0 AND total_spent >= 0);
ALTER TABLE customers ADD CONSTRAINT customers_password_hash_length
    CHECK (char_length(password_hash) <= 255);
-- An erased customer holds no personal data.
ALTER TABLE customers ADD CONSTRAINT customers_erased_empty
    CHECK (erased_at IS NULL OR (email IS NULL AND name IS NULL AND phone IS NULL
           AND default_address IS NULL AND note IS NULL AND password_hash IS NULL
           AND cardinality(tags) = 0));
-- Every customer not erased has an email.
ALTER TABLE customers ADD CONSTRAINT customers_email_present
    CHECK (erased_at IS NOT NULL OR email IS NOT NULL);
-- The admin list's orderings and its prefix search (text_pattern_ops: LIKE 'abc%').
CREATE INDEX customers_newest ON customers (store_id, created_at DESC, id DESC);
CREATE INDEX customers_top_spenders ON customers (store_id, total_spent DESC, id DESC);
CREATE INDEX customers_email_prefix ON customers (store_id, lower(email) text_pattern_ops);
CREATE INDEX customers_name_prefix ON customers (store_id, lower(name) text_pattern_ops);

ALTER TABLE audit_events ADD CONSTRAINT audit_events_store_fkey
    FOREIGN KEY (store_id) REFERENCES stores (id) ON DELETE CASCADE;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_length
    CHECK (char_length(action) <= 100);
ALTER TABLE audit_events ADD CONSTRAINT audit_events_subject_length
    CHECK (char_length(subject) <= 200);
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_length
    CHECK (char_length(actor) <= 200);
CREATE INDEX audit_events_newest ON audit_events (store_id, created_at DESC);

ALTER TABLE orders ADD COLUMN customer_id uuid;
CREATE INDEX orders_of_customer ON orders (store_id, customer_id, created_at DESC, id DESC)
    WHERE customer_id IS NOT NULL;

-- Orders placed before customers existed get theirs: one customer per (store, email), named
-- and addressed from that email's latest order. The owner is subject to RLS (FORCE) like
-- everyone; it sets each store in turn, as a tenant transaction would.
DO $$
DECLARE
    s bigint;
BEGIN
    FOR s IN SELECT id FROM platform.store_routes() AS r(id, subdomain, custom_domains) LOOP
        PERFORM set_config('app.current_store_id', s::text, true);
        INSERT INTO customers (store_id, id, email, name, default_address, created_at, updated_at)
        SELECT DISTINCT ON (lower(o.email)) o.store_id, gen_random_uuid(), o.email,
               left(nullif(o.shipping_address ->> 'name', ''), 255),
               CASE WHEN octet_length(o.shipping_address::text) <= 4096
                    THEN o.shipping_address END,
               o.created_at, clock_timestamp()
        FROM orders o
        WHERE o.store_id = s AND char_length(o.email) BETWEEN 3 AND 254
          AND strpos(o.email, '@') > 1
        ORDER BY lower(o.email), o.created_at DESC;
        UPDATE orders o SET customer_id = c.id
        FROM customers c
        WHERE o.store_id = s AND c.store_id = s AND lower(c.email) = lower(o.email);
        UPDATE customers c
        SET orders_count = t.placed, total_spent = t.spent, created_at = t.first_order
        FROM (SELECT customer_id, count(*) FILTER (WHERE status <> 'cancelled') AS placed,
                     sum(total - refunded) AS spent, min(created_at) AS first_order
              FROM orders WHERE store_id = s AND customer_id IS NOT NULL
              GROUP BY customer_id) t
        WHERE c.store_id = s AND c.id = t.customer_id;
    END LOOP;
    PERFORM set_config('app.current_store_id', '', true);
END
$$;

-- Validating the foreign key reads every order: RLS (FORCE) would hide them from the owner
-- too, so it is lifted for this statement only, inside this migration's transaction.
ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fkey
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id);
ALTER TABLE orders FORCE ROW LEVEL SECURITY;

SELECT enable_tenant_rls('customers');
SELECT enable_tenant_rls('audit_events');
GRANT SELECT, INSERT, UPDATE ON customers TO shop_app;
GRANT SELECT, INSERT ON audit_events TO shop_app;
-- Erasing a customer also blanks the recipient of the mails they were sent.
GRANT UPDATE (recipient) ON sent_emails TO shop_app;
