-- depends: 0021__store_lifecycle
-- After the payment (issue 12): where a store ships and at what price (zones, rates), the tax
-- it collects (rates by country and region, the store's tax settings), variant weights, the
-- itemised order (subtotal, shipping, tax, discount, total; payment_status and
-- fulfillment_status apart, migrated from `status`), each line's tax, and fulfillments with
-- tracking.
-- Citus order: tables (keyed by store_id), then the distribution step, then the constraints;
-- one subcommand per ALTER, named constraints, no volatile defaults (ids and timestamps are
-- written by the statements that insert the rows).

CREATE TABLE shipping_zones (
    store_id   bigint      NOT NULL,
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    -- ISO 3166-1 alpha-2 countries ("US": all of it) and ISO 3166-2 regions ("US-CA").
    areas      text[]      NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT shipping_zones_pkey PRIMARY KEY (store_id, id)
);

CREATE TABLE shipping_rates (
    store_id     bigint      NOT NULL,
    id           uuid        NOT NULL,
    zone_id      uuid        NOT NULL,
    name         text        NOT NULL,
    -- flat | free_above | weight (services/checkout/shipping/rules.py)
    kind         text        NOT NULL,
    price        bigint      NOT NULL,
    free_above   bigint      NOT NULL,
    -- [{"up_to_grams": n, "price": n}], ascending; weight rates only.
    weight_bands jsonb       NOT NULL,
    currency     char(3)     NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT shipping_rates_pkey PRIMARY KEY (store_id, id)
);

CREATE TABLE tax_rates (
    store_id          bigint      NOT NULL,
    id                uuid        NOT NULL,
    country           char(2)     NOT NULL,
    -- ISO 3166-2 ("US-NY"), '' for the whole country.
    region            text        NOT NULL,
    -- Thousandths of a percent: 8.875 % is 8875.
    rate_millipercent integer     NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT tax_rates_pkey PRIMARY KEY (store_id, id)
);

-- One row per store that changed its tax settings; none means prices without tax, shipping
-- untaxed.
CREATE TABLE store_tax_settings (
    store_id           bigint      NOT NULL,
    prices_include_tax boolean     NOT NULL,
    tax_shipping       boolean     NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT store_tax_settings_pkey PRIMARY KEY (store_id)
);

CREATE TABLE fulfillments (
    store_id         bigint      NOT NULL,
    id               uuid        NOT NULL,
    order_id         uuid        NOT NULL,
    -- success (shipped) | cancelled (its quantities count as unfulfilled again)
    status           text        NOT NULL,
    tracking_company text        NOT NULL,
    tracking_number  text        NOT NULL,
    tracking_url     text        NOT NULL,
    notify_customer  boolean     NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT fulfillments_pkey PRIMARY KEY (store_id, id)
);

CREATE TABLE fulfillment_lines (
    store_id       bigint  NOT NULL,
    fulfillment_id uuid    NOT NULL,
    order_id       uuid    NOT NULL,
    -- order_items.line
    line           integer NOT NULL,
    quantity       integer NOT NULL,
    CONSTRAINT fulfillment_lines_pkey PRIMARY KEY (store_id, fulfillment_id, line)
);

-- Distribution step (Citus; a no-op on plain PostgreSQL):
--   SELECT create_distributed_table('shipping_zones', 'store_id', colocate_with => 'orders');
--   SELECT create_distributed_table('shipping_rates', 'store_id', colocate_with => 'orders');
--   SELECT create_distributed_table('tax_rates', 'store_id', colocate_with => 'orders');
--   SELECT create_distributed_table('store_tax_settings', 'store_id', colocate_with => 'orders');
--   SELECT create_distributed_table('fulfillments', 'store_id', colocate_with => 'orders');
--   SELECT create_distributed_table('fulfillment_lines', 'store_id', colocate_with => 'orders');

ALTER TABLE shipping_zones ADD CONSTRAINT shipping_zones_store_fkey
    FOREIGN KEY (store_id) REFERENCES stores (id) ON DELETE CASCADE;
ALTER TABLE shipping_zones ADD CONSTRAINT shipping_zones_name_valid
    CHECK (char_length(name) BETWEEN 1 AND 100);
ALTER TABLE shipping_zones ADD CONSTRAINT shipping_zones_areas_valid
    CHECK (cardinality(areas) BETWEEN 1 AND 250);

ALTER TABLE shipping_rates ADD CONSTRAINT shipping_rates_zone_fkey
    FOREIGN KEY (store_id, zone_id) REFERENCES shipping_zones (store_id, id) ON DELETE CASCADE;
ALTER TABLE shipping_rates ADD CONSTRAINT shipping_rates_name_valid
    CHECK (char_length(name) BETWEEN 1 AND 100);
ALTER TABLE shipping_rates ADD CONSTRAINT shipping_rates_kind_valid
    CHECK (kind IN ('flat', 'free_above', 'weight'));
ALTER TABLE shipping_rates ADD CONSTRAINT shipping_rates_price_valid
    CHECK (price >= 0 AND free_above >= 0);
ALTER TABLE shipping_rates ADD CONSTRAINT shipping_rates_bands_valid
    CHECK (jsonb_typeof(weight_bands) = 'array' AND jsonb_array_length(weight_bands) <= 50);
CREATE INDEX shipping_rates_of_zone ON shipping_rates (store_id, zone_id);

ALTER TABLE tax_rates ADD CONSTRAINT tax_rates_store_fkey
    FOREIGN KEY (store_id) REFERENCES stores (id) ON DELETE CASCADE;
ALTER TABLE tax_rates ADD CONSTRAINT tax_rates_area_key UNIQUE (store_id, country, region);
ALTER TABLE tax_rates ADD CONSTRAINT tax_rates_rate_valid
    CHECK (rate_millipercent BETWEEN 0 AND 100000);
ALTER TABLE tax_rates ADD CONSTRAINT tax_rates_region_valid CHECK (char_length(region) <= 6);

ALTER TABLE store_tax_settings ADD CONSTRAINT store_tax_settings_store_fkey
    FOREIGN KEY (store_id) REFERENCES stores (id) ON DELETE CASCADE;

ALTER TABLE fulfillments ADD CONSTRAINT fulfillments_order_fkey
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id) ON DELETE CASCADE;
ALTER TABLE fulfillments ADD CONSTRAINT fulfillments_status_valid
    CHECK (status IN ('success', 'cancelled'));
ALTER TABLE fulfillments ADD CONSTRAINT fulfillments_tracking_valid
    CHECK (char_length(tracking_company) <= 100 AND char_length(tracking_number) <= 100
           AND char_length(tracking_url) <= 2048);
CREATE INDEX fulfillments_of_order ON fulfillments (store_id, order_id, created_at);

ALTER TABLE fulfillment_lines ADD CONSTRAINT fulfillment_lines_fulfillment_fkey
    FOREIGN KEY (store_id, fulfillment_id) REFERENCES fulfillments (store_id, id)
    ON DELETE CASCADE;
ALTER TABLE fulfillment_lines ADD CONSTRAINT fulfillment_lines_item_fkey
    FOREIGN KEY (store_id, order_id, line) REFERENCES order_items (store_id, order_id, line)
    ON DELETE CASCADE;
ALTER TABLE fulfillment_lines ADD CONSTRAINT fulfillment_lines_quantity_valid
    CHECK (quantity > 0);

SELECT enable_tenant_rls('shipping_zones');
SELECT enable_tenant_rls('shipping_rates');
SELECT enable_tenant_rls('tax_rates');
SELECT enable_tenant_rls('store_tax_settings');
SELECT enable_tenant_rls('fulfillments');
SELECT enable_tenant_rls('fulfillment_lines');
GRANT SELECT, INSERT, UPDATE, DELETE ON shipping_zones, shipping_rates, tax_rates TO shop_app;
GRANT SELECT, INSERT, UPDATE ON store_tax_settings, fulfillments, fulfillment_lines TO shop_app;
GRANT SELECT, DELETE ON shipping_zones, shipping_rates, tax_rates, store_tax_settings,
    fulfillments, fulfillment_lines TO shop_eraser;

-- Weight for weight-band shipping rates; NULL weighs nothing.
ALTER TABLE variants ADD COLUMN weight_grams integer;
ALTER TABLE variants ADD CONSTRAINT variants_weight_valid
    CHECK (weight_grams BETWEEN 0 AND 100000000);

-- What a checkout priced at reservation: shipping rate, tax rate, per-line tax, totals.
ALTER TABLE checkouts ADD COLUMN pricing jsonb;

-- The itemised order. Existing orders had no shipping, tax or discount: subtotal = total.
ALTER TABLE orders ADD COLUMN subtotal bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN shipping bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN tax bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN discount bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN prices_include_tax boolean NOT NULL DEFAULT false;
-- {"id", "name"} of the shipping rate chosen at checkout; NULL: no shipping.
ALTER TABLE orders ADD COLUMN shipping_rate jsonb;
ALTER TABLE orders ADD COLUMN payment_status text NOT NULL DEFAULT 'paid';
ALTER TABLE orders ADD COLUMN fulfillment_status text NOT NULL DEFAULT 'unfulfilled';
ALTER TABLE order_items ADD COLUMN tax bigint NOT NULL DEFAULT 0;
ALTER TABLE order_items ADD COLUMN fulfilled_quantity integer NOT NULL DEFAULT 0;

-- Every existing row, from its single status (the owner is subject to FORCE'd RLS too:
-- lifted for these statements only, inside the migration's transaction).
ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
ALTER TABLE orders DISABLE ROW LEVEL SECURITY;
UPDATE orders SET subtotal = total,
                  payment_status = CASE
                      WHEN status <> 'cancelled' THEN status
                      WHEN refunded = 0 THEN 'voided'
                      WHEN refunded >= total THEN 'refunded'
                      ELSE 'partially_refunded' END;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;

ALTER TABLE orders ADD CONSTRAINT orders_totals_add_up
    CHECK (subtotal >= 0 AND shipping >= 0 AND tax >= 0 AND discount >= 0
           AND total = subtotal + shipping + tax - discount);
ALTER TABLE orders ADD CONSTRAINT orders_payment_status_valid CHECK (payment_status IN
    ('pending', 'paid', 'partially_refunded', 'refunded', 'voided'));
ALTER TABLE orders ADD CONSTRAINT orders_fulfillment_status_valid CHECK (fulfillment_status IN
    ('unfulfilled', 'partially_fulfilled', 'fulfilled'));
ALTER TABLE order_items ADD CONSTRAINT order_items_tax_valid CHECK (tax >= 0);
ALTER TABLE order_items ADD CONSTRAINT order_items_fulfilled_valid
    CHECK (fulfilled_quantity BETWEEN 0 AND quantity);
