-- depends: 0002__stores
-- Products and variants. store_id leads every key, so rows can never point into another store
-- and the tables can later be distributed by store_id without rewriting the schema.

CREATE TABLE products (
    store_id    bigint      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    handle      text        NOT NULL,
    title       text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 255),
    description text        NOT NULL DEFAULT '',
    status      text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'archived')),
    options     text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(options) <= 3),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, handle)
);

-- Storefront listing: active products, newest first, keyset-paginated on (created_at, id).
CREATE INDEX products_storefront_newest ON products (store_id, created_at DESC, id DESC)
    WHERE status = 'active';

CREATE TABLE variants (
    store_id           bigint      NOT NULL,
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    product_id         uuid        NOT NULL,
    position           integer     NOT NULL,
    sku                text,
    title              text        NOT NULL,
    price              bigint      NOT NULL CHECK (price >= 0),
    compare_at_price   bigint      CHECK (compare_at_price >= price),
    currency           char(3)     NOT NULL,
    inventory_quantity integer     NOT NULL DEFAULT 0,
    inventory_policy   text        NOT NULL DEFAULT 'deny' CHECK (inventory_policy IN ('deny', 'continue')),
    options            jsonb       NOT NULL DEFAULT '[]',
    version            integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, id),
    UNIQUE (store_id, sku),
    UNIQUE (store_id, product_id, position),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id) ON DELETE CASCADE,
    CHECK (inventory_policy = 'continue' OR inventory_quantity >= 0)
);

SELECT enable_tenant_rls('products');
SELECT enable_tenant_rls('variants');

GRANT SELECT, INSERT, UPDATE, DELETE ON products, variants TO shop_app;
