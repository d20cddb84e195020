-- depends: 0005__events 0004__domains_tokens_settings
-- Product images, old handles that keep resolving after a rename, and the low-stock alert
-- bookkeeping the inventory paths need.

-- Images are few per product and always read with it: a JSON array on the row
-- ([{"url", "alt_text", "position"}], validated by the catalog service).
ALTER TABLE products ADD COLUMN images jsonb NOT NULL DEFAULT '[]';

CREATE TABLE product_handle_redirects (
    store_id   bigint      NOT NULL,
    handle     text        NOT NULL,
    product_id uuid        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, handle),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('product_handle_redirects');
GRANT SELECT, INSERT, UPDATE, DELETE ON product_handle_redirects TO shop_app;
