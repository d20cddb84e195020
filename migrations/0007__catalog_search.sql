-- depends: 0005__events
-- Storefront browsing and search: per-product price range and availability kept up to date
-- from the variants, a case-insensitive title sort key, a full-text vector, and the partial
-- indexes (store_id first, active products only) that every storefront sort walks.
--
-- Why maintained columns and not a lateral join over variants at query time: sorting by the
-- lowest variant price then needs every active product of the store aggregated and sorted on
-- each page (cost grows with the store's catalog), whereas an index on (store_id, min_price,
-- id) serves each page as a short keyset range scan, whatever the catalog or tenant count.
--
-- Why no GIN index for search: under FORCE ROW LEVEL SECURITY the planner only turns leakproof
-- operators into index conditions, and neither @@ (ts_match_vq) nor pg_trgm's operators are
-- leakproof (marking them needs a superuser). A GIN index on (store_id, search_vector) would
-- be used for store_id alone, i.e. no better than the btree below, while costing every write.
-- Search therefore reads the store's own active products and tests the stored vector: its cost
-- follows that store's catalog, never the other tenants'.

-- Trusted extension: the database owner may create it. word_similarity() for typo tolerance.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE products
    -- Lowest and highest variant price (minor units); NULL while the product has no variant.
    ADD COLUMN min_price bigint,
    ADD COLUMN max_price bigint,
    -- Some variant can be bought: stock above zero, or the policy allows backorders.
    ADD COLUMN available boolean NOT NULL DEFAULT false,
    -- The title sort: lower() keeps "apple" next to "Apple" under the C collation, and as a
    -- stored column the keyset comparison stays leakproof (an index condition under RLS).
    ADD COLUMN title_key text GENERATED ALWAYS AS (lower(title)) STORED,
    -- 'simple': no stemming or stop words, so any language's titles match as typed; the title
    -- weighs more than the description (bounded: a tsvector is limited to 1 MB).
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', left(description, 20000)), 'C')
    ) STORED;

-- Recomputes one product's summary from its variants; writes only when it changed, so stock
-- movements that do not cross zero never lock or rewrite the product row.
CREATE FUNCTION refresh_product_summary(p_store_id bigint, p_product_id uuid)
RETURNS void LANGUAGE sql AS $$
    UPDATE products p
    SET min_price = s.min_price, max_price = s.max_price, available = s.available
    FROM (
        SELECT min(v.price) AS min_price, max(v.price) AS max_price,
               coalesce(bool_or(v.inventory_policy = 'continue' OR v.inventory_quantity > 0),
                        false) AS available
        FROM variants v
        WHERE v.store_id = p_store_id AND v.product_id = p_product_id
    ) s
    WHERE p.store_id = p_store_id AND p.id = p_product_id
      AND (p.min_price, p.max_price, p.available)
          IS DISTINCT FROM (s.min_price, s.max_price, s.available);
$$;

-- Runs as the caller (shop_app inside a tenant transaction): RLS still applies.
CREATE FUNCTION variants_refresh_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM refresh_product_summary(OLD.store_id, OLD.product_id);
    ELSE
        PERFORM refresh_product_summary(NEW.store_id, NEW.product_id);
        IF TG_OP = 'UPDATE' AND OLD.product_id IS DISTINCT FROM NEW.product_id THEN
            PERFORM refresh_product_summary(OLD.store_id, OLD.product_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER variants_refresh_product_ins_del
    AFTER INSERT OR DELETE ON variants
    FOR EACH ROW EXECUTE FUNCTION variants_refresh_product();
-- Checkout decrements and inventory syncs fire it only when availability flips.
CREATE TRIGGER variants_refresh_product_upd
    AFTER UPDATE ON variants
    FOR EACH ROW
    WHEN (OLD.price IS DISTINCT FROM NEW.price
          OR OLD.product_id IS DISTINCT FROM NEW.product_id
          OR (OLD.inventory_policy = 'continue' OR OLD.inventory_quantity > 0)
             IS DISTINCT FROM (NEW.inventory_policy = 'continue' OR NEW.inventory_quantity > 0))
    EXECUTE FUNCTION variants_refresh_product();

-- Existing products. The owner is bound by FORCE RLS too (no store is set here), so FORCE is
-- lifted for this transaction only: the migration commits with it back on, or not at all.
ALTER TABLE products NO FORCE ROW LEVEL SECURITY;
ALTER TABLE variants NO FORCE ROW LEVEL SECURITY;
UPDATE products p
SET min_price = s.min_price, max_price = s.max_price, available = s.available
FROM (
    SELECT store_id, product_id, min(price) AS min_price, max(price) AS max_price,
           bool_or(inventory_policy = 'continue' OR inventory_quantity > 0) AS available
    FROM variants
    GROUP BY store_id, product_id
) s
WHERE p.store_id = s.store_id AND p.id = s.product_id;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
ALTER TABLE variants FORCE ROW LEVEL SECURITY;

-- Storefront sorts (newest already has products_storefront_newest). Both directions of the
-- price sort walk the same index; search and the typo fallback read the store's active
-- products through any of them.
CREATE INDEX products_storefront_price ON products (store_id, min_price, id)
    WHERE status = 'active';
CREATE INDEX products_storefront_title ON products (store_id, title_key, id)
    WHERE status = 'active';
