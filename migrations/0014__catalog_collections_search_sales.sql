-- depends: 0011__payments
-- The merchant's catalog tools: product tags, type and vendor; admin listing indexes;
-- collections (manual and automated) whose membership the database keeps right as products
-- change; an indexed storefront search that still confines every statement to one store; and
-- the sales rollups the analytics consumer maintains from order events.
-- Tables first, then constraints and indexes; named constraints, one subcommand per ALTER,
-- no volatile defaults (Citus-ready).

-- btree_gin: store_id inside the GIN indexes, so a search reads one store's postings only
-- (trusted extension: the database owner may create it).
CREATE EXTENSION IF NOT EXISTS btree_gin;

------------------------------------------------------------------------------------------------
-- Product fields
------------------------------------------------------------------------------------------------
-- Tags as the merchant spells them (trimmed, unique ignoring case, validated by the catalog
-- service); filters and collection rules compare them ignoring case.
ALTER TABLE products ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE products ADD COLUMN product_type text NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN vendor text NOT NULL DEFAULT '';
ALTER TABLE products ADD CONSTRAINT products_tags_bounded
    CHECK (cardinality(tags) <= 250 AND char_length(array_to_string(tags, '')) <= 250 * 255);
ALTER TABLE products ADD CONSTRAINT products_product_type_bounded
    CHECK (char_length(product_type) <= 255);
ALTER TABLE products ADD CONSTRAINT products_vendor_bounded CHECK (char_length(vendor) <= 255);

-- Admin listing over every status: newest first (optionally one status), or by title.
CREATE INDEX products_admin_newest ON products (store_id, created_at DESC, id DESC);
CREATE INDEX products_admin_status ON products (store_id, status, created_at DESC, id DESC);
CREATE INDEX products_admin_title ON products (store_id, title_key, id);

------------------------------------------------------------------------------------------------
-- Storefront search
------------------------------------------------------------------------------------------------
-- Under FORCE ROW LEVEL SECURITY the planner turns only leakproof operators into index
-- conditions, and neither @@ nor pg_trgm's operators are (marking them needs a superuser). So
-- the matching runs inside narrow SECURITY DEFINER functions owned by shop_search, a NOLOGIN
-- role whose only policy on products lets it read (through column grants: the search columns
-- only) without the tenant qual that blocks the index. Each function names the transaction's
-- store itself (current_setting('app.current_store_id'), never a parameter: a caller cannot
-- pick another store), reads active products only, and returns ids and scores; the caller then
-- reads the products under RLS as usual, so a bug here could at worst lose results, never show
-- another store's product.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_search') THEN
        CREATE ROLE shop_search NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;
GRANT shop_search TO CURRENT_USER;
CREATE SCHEMA search AUTHORIZATION shop_search;
GRANT USAGE ON SCHEMA search TO shop_app;
CREATE POLICY search_read ON products FOR SELECT TO shop_search USING (true);
GRANT SELECT (store_id, id, status, title, search_vector, created_at) ON products TO shop_search;

-- One store's postings per word (btree_gin puts store_id in the same index).
CREATE INDEX products_search ON products USING gin (store_id, search_vector)
    WHERE status = 'active';
-- Typo fallback: trigrams of active titles, per store.
CREATE INDEX products_title_trigrams ON products USING gin (store_id, title gin_trgm_ops)
    WHERE status = 'active';

-- Products whose text has every word, at most p_limit candidates (the most recently added
-- ones when more match), each scored like the storefront always has: title hits weigh ten
-- times description hits, titles close to the whole query come first. The candidate bound is
-- what keeps a broad word ("blue" in a 100k-product store) from costing as much as the
-- catalog: PostgreSQL then either reads the word's postings of this store (few matches) or
-- walks the store's newest-first index until it has p_limit matches (many), whichever its
-- statistics say is cheaper. EXECUTE plans each call with the actual query (a prepared generic
-- plan would have to pick one of the two paths for every word).
CREATE FUNCTION search.product_matches(p_query tsquery, p_text text, p_limit integer)
RETURNS TABLE (id uuid, score real)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT m.id, (ts_rank_cd(''{0.1, 0.1, 0.4, 1.0}'', m.search_vector, $1)
                       + 0.3 * similarity(m.title, $2))::real
         FROM (SELECT p.id, p.title, p.search_vector FROM products p
               WHERE p.store_id = current_setting(''app.current_store_id'')::bigint
                 AND p.status = ''active'' AND p.search_vector @@ $1
               ORDER BY p.created_at DESC, p.id DESC LIMIT $3) m'
        USING p_query, p_text, p_limit;
END
$$;

-- Active products of the store whose title holds a word similar to the text (typos: word
-- similarity of at least 0.4, which accepts one wrong, missing or doubled letter in a word of
-- five or more), at most p_limit candidates (the most recent), each with that similarity.
CREATE FUNCTION search.similar_titles(p_text text, p_limit integer)
RETURNS TABLE (id uuid, score real)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    -- The threshold of the indexable <% operator, for this transaction (pg_trgm is loaded by
    -- then: word_similarity() runs first). A SET clause on the function would need the
    -- library loaded when the function is created and again whenever it is called.
    PERFORM word_similarity('', '');
    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.4', true);
    RETURN QUERY EXECUTE
        'SELECT m.id, word_similarity($1, m.title) FROM (
             SELECT p.id, p.title FROM products p
             WHERE p.store_id = current_setting(''app.current_store_id'')::bigint
               AND p.status = ''active'' AND $1 <% p.title
             ORDER BY p.created_at DESC, p.id DESC LIMIT $2) m'
        USING p_text, p_limit;
END
$$;

ALTER FUNCTION search.product_matches(tsquery, text, integer) OWNER TO shop_search;
ALTER FUNCTION search.similar_titles(text, integer) OWNER TO shop_search;
REVOKE ALL ON FUNCTION search.product_matches(tsquery, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION search.similar_titles(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION search.product_matches(tsquery, text, integer) TO shop_app;
GRANT EXECUTE ON FUNCTION search.similar_titles(text, integer) TO shop_app;

------------------------------------------------------------------------------------------------
-- Collections
------------------------------------------------------------------------------------------------
CREATE TABLE collections (
    store_id    bigint      NOT NULL,
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    handle      text        NOT NULL,
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    -- manual: the merchant's ordered list; automated: every product its rules match.
    kind        text        NOT NULL,
    -- Automated only: [{"field": tag|product_type|vendor|price, "relation": ..., "value": ...}]
    -- with text values lower-case (validated by the catalog service); `disjunctive`: any rule
    -- suffices instead of all.
    rules       jsonb       NOT NULL DEFAULT '[]',
    disjunctive boolean     NOT NULL DEFAULT false,
    -- The storefront order when the shopper asks for none.
    sort        text        NOT NULL,
    published   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT collections_pkey PRIMARY KEY (store_id, id),
    CONSTRAINT collections_handle_key UNIQUE (store_id, handle),
    CONSTRAINT collections_store_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
        ON DELETE CASCADE,
    CONSTRAINT collections_kind_valid CHECK (kind IN ('manual', 'automated')),
    CONSTRAINT collections_title_bounded CHECK (char_length(title) BETWEEN 1 AND 255),
    CONSTRAINT collections_handle_bounded CHECK (char_length(handle) BETWEEN 1 AND 255),
    CONSTRAINT collections_description_bounded CHECK (char_length(description) <= 20000),
    CONSTRAINT collections_rules_valid CHECK (
        jsonb_typeof(rules) = 'array' AND jsonb_array_length(rules) <= 60
        AND (kind = 'automated') = (jsonb_array_length(rules) > 0)),
    CONSTRAINT collections_sort_valid CHECK (
        sort IN ('manual', 'newest', 'price_asc', 'price_desc', 'title')
        AND (sort <> 'manual' OR kind = 'manual'))
);

-- Members of every collection, manual or automated. Each row carries the product's storefront
-- sort keys and filters (kept equal to the product's by the triggers below), so every
-- collection page is a keyset range of one partial index, like the catalog's own listing.
CREATE TABLE collection_products (
    store_id      bigint      NOT NULL,
    collection_id uuid        NOT NULL,
    product_id    uuid        NOT NULL,
    -- The merchant's order in a manual collection (1-based); 0 in automated ones.
    position      integer     NOT NULL DEFAULT 0,
    status        text        NOT NULL,
    created_at    timestamptz NOT NULL,
    title_key     text        NOT NULL,
    min_price     bigint,
    max_price     bigint,
    available     boolean     NOT NULL,
    CONSTRAINT collection_products_pkey PRIMARY KEY (store_id, collection_id, product_id),
    CONSTRAINT collection_products_collection_fkey FOREIGN KEY (store_id, collection_id)
        REFERENCES collections (store_id, id) ON DELETE CASCADE,
    CONSTRAINT collection_products_product_fkey FOREIGN KEY (store_id, product_id)
        REFERENCES products (store_id, id) ON DELETE CASCADE,
    CONSTRAINT collection_products_position_valid CHECK (position >= 0)
);
CREATE INDEX collection_products_of_product ON collection_products (store_id, product_id);
CREATE INDEX collection_products_newest ON collection_products
    (store_id, collection_id, created_at DESC, product_id DESC) WHERE status = 'active';
CREATE INDEX collection_products_price ON collection_products
    (store_id, collection_id, min_price, product_id) WHERE status = 'active';
CREATE INDEX collection_products_title ON collection_products
    (store_id, collection_id, title_key, product_id) WHERE status = 'active';
-- The manual order (storefront and admin; manual collections hold at most 1,000 products) and
-- the admin view of automated ones (every status, newest first).
CREATE INDEX collection_products_position ON collection_products
    (store_id, collection_id, position, product_id);
CREATE INDEX collection_products_admin_newest ON collection_products
    (store_id, collection_id, created_at DESC, product_id DESC);

CREATE TABLE collection_handle_redirects (
    store_id      bigint      NOT NULL,
    handle        text        NOT NULL,
    collection_id uuid        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collection_handle_redirects_pkey PRIMARY KEY (store_id, handle),
    CONSTRAINT collection_handle_redirects_collection_fkey FOREIGN KEY (store_id, collection_id)
        REFERENCES collections (store_id, id) ON DELETE CASCADE
);

SELECT enable_tenant_rls('collections');
SELECT enable_tenant_rls('collection_products');
SELECT enable_tenant_rls('collection_handle_redirects');
GRANT SELECT, INSERT, UPDATE, DELETE ON collections, collection_products,
    collection_handle_redirects TO shop_app;

-- Whether a product matches an automated collection's rules: the one definition, used by the
-- product trigger and by the catalog service when a collection's rules change. Text rules
-- compare ignoring case (values are stored lower-case); price rules ask whether some variant
-- is above or below the amount (the product's price range); a product without variants
-- matches no price rule.
CREATE FUNCTION collection_rules_match(
    p_rules jsonb, p_disjunctive boolean, p_tags text[], p_product_type text, p_vendor text,
    p_min_price bigint, p_max_price bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_disjunctive THEN coalesce(bool_or(x.ok), false)
                ELSE coalesce(bool_and(x.ok), false) END
    FROM (
        SELECT coalesce(CASE r->>'field'
            WHEN 'tag' THEN CASE r->>'relation'
                WHEN 'equals' THEN EXISTS (SELECT 1 FROM unnest(p_tags) t WHERE lower(t) = r->>'value')
                WHEN 'not_equals' THEN NOT EXISTS (SELECT 1 FROM unnest(p_tags) t WHERE lower(t) = r->>'value')
                END
            WHEN 'product_type' THEN CASE r->>'relation'
                WHEN 'equals' THEN lower(p_product_type) = r->>'value'
                WHEN 'not_equals' THEN lower(p_product_type) <> r->>'value'
                WHEN 'contains' THEN strpos(lower(p_product_type), r->>'value') > 0
                END
            WHEN 'vendor' THEN CASE r->>'relation'
                WHEN 'equals' THEN lower(p_vendor) = r->>'value'
                WHEN 'not_equals' THEN lower(p_vendor) <> r->>'value'
                WHEN 'contains' THEN strpos(lower(p_vendor), r->>'value') > 0
                END
            WHEN 'price' THEN CASE r->>'relation'
                WHEN 'greater_than' THEN p_max_price > (r->>'value')::bigint
                WHEN 'less_than' THEN p_min_price < (r->>'value')::bigint
                END
            END, false) AS ok
        FROM jsonb_array_elements(p_rules) r
    ) x
$$;

-- The store's collections lock: held shared by every product change the collections follow (to
-- its commit), exclusively by a collection change that rewrites members (rules, manual list).
-- A collection change thus waits for product changes in flight and then sees them, and a
-- product change that waits sees the collection's new rules; without it, a product edited
-- while its store's rules change could keep a membership by the old rules.
CREATE FUNCTION collections_lock_key(p_store_id bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (p_store_id % 2147483647)::integer $$;

-- Keeps collection_products right for one product: its copied sort keys, and (when a rule
-- input changed, or the product is new) its membership of every automated collection of the
-- store. Runs as the caller, inside the tenant transaction that changed the product, so RLS
-- applies and the change and its collections commit together; no rebuild job exists.
CREATE FUNCTION products_sync_collections() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1400, collections_lock_key(NEW.store_id));
    IF TG_OP = 'UPDATE' THEN
        UPDATE collection_products c
        SET status = NEW.status, title_key = NEW.title_key, min_price = NEW.min_price,
            max_price = NEW.max_price, available = NEW.available
        WHERE c.store_id = NEW.store_id AND c.product_id = NEW.id
          AND (c.status, c.title_key, c.min_price, c.max_price, c.available)
              IS DISTINCT FROM (NEW.status, NEW.title_key, NEW.min_price, NEW.max_price,
                                NEW.available);
        IF (OLD.tags, OLD.product_type, OLD.vendor, OLD.min_price, OLD.max_price)
           IS NOT DISTINCT FROM (NEW.tags, NEW.product_type, NEW.vendor, NEW.min_price,
                                 NEW.max_price) THEN
            RETURN NULL;
        END IF;
        DELETE FROM collection_products c USING collections k
        WHERE c.store_id = NEW.store_id AND c.product_id = NEW.id
          AND k.store_id = c.store_id AND k.id = c.collection_id AND k.kind = 'automated'
          AND NOT collection_rules_match(k.rules, k.disjunctive, NEW.tags, NEW.product_type,
                                         NEW.vendor, NEW.min_price, NEW.max_price);
    END IF;
    INSERT INTO collection_products (store_id, collection_id, product_id, status, created_at,
                                     title_key, min_price, max_price, available)
    SELECT k.store_id, k.id, NEW.id, NEW.status, NEW.created_at, NEW.title_key, NEW.min_price,
           NEW.max_price, NEW.available
    FROM collections k
    WHERE k.store_id = NEW.store_id AND k.kind = 'automated'
      AND collection_rules_match(k.rules, k.disjunctive, NEW.tags, NEW.product_type,
                                 NEW.vendor, NEW.min_price, NEW.max_price)
    ON CONFLICT ON CONSTRAINT collection_products_pkey DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER products_sync_collections_ins
    AFTER INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION products_sync_collections();
-- Stock movements that flip availability, price edits, renames, tag edits; nothing else.
CREATE TRIGGER products_sync_collections_upd
    AFTER UPDATE ON products
    FOR EACH ROW
    WHEN ((OLD.status, OLD.title_key, OLD.min_price, OLD.max_price, OLD.available, OLD.tags,
           OLD.product_type, OLD.vendor)
          IS DISTINCT FROM (NEW.status, NEW.title_key, NEW.min_price, NEW.max_price,
                            NEW.available, NEW.tags, NEW.product_type, NEW.vendor))
    EXECUTE FUNCTION products_sync_collections();

------------------------------------------------------------------------------------------------
-- Sales analytics
------------------------------------------------------------------------------------------------
-- Written by the analytics consumer (services/events/consumers/sales.py) from order events,
-- read by the report API (services/checkout/reports/). Rolled up per UTC quarter hour: every
-- time zone in use today is a whole number of quarter hours from UTC, so the days, weeks and
-- months of any zone are exact sums of quarter hours (daily UTC rows could not answer
-- "Asia/Kolkata" or "America/St_Johns" exactly).
CREATE TABLE sales_rollups (
    store_id     bigint      NOT NULL,
    bucket_start timestamptz NOT NULL,
    orders       integer     NOT NULL DEFAULT 0,
    gross_sales  bigint      NOT NULL DEFAULT 0,
    refunds      bigint      NOT NULL DEFAULT 0,
    units        bigint      NOT NULL DEFAULT 0,
    CONSTRAINT sales_rollups_pkey PRIMARY KEY (store_id, bucket_start),
    CONSTRAINT sales_rollups_store_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
        ON DELETE CASCADE
);

CREATE TABLE sales_product_rollups (
    store_id     bigint      NOT NULL,
    bucket_start timestamptz NOT NULL,
    product_id   uuid        NOT NULL,
    -- The title the product was last sold under.
    title        text        NOT NULL,
    units        bigint      NOT NULL DEFAULT 0,
    gross_sales  bigint      NOT NULL DEFAULT 0,
    CONSTRAINT sales_product_rollups_pkey PRIMARY KEY (store_id, bucket_start, product_id),
    CONSTRAINT sales_product_rollups_store_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
        ON DELETE CASCADE
);

-- Each order counted once (whatever event keys its creation arrives under), in the bucket of
-- its own creation time.
CREATE TABLE sales_orders (
    store_id     bigint      NOT NULL,
    order_id     uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,
    gross_sales  bigint      NOT NULL,
    units        bigint      NOT NULL,
    CONSTRAINT sales_orders_pkey PRIMARY KEY (store_id, order_id),
    CONSTRAINT sales_orders_store_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
        ON DELETE CASCADE
);

-- Each refund counted once, by its refund id when events carry one (a cancellation's refund
-- is also announced as order.refunded), and taken back if it later fails.
CREATE TABLE sales_refunds (
    store_id     bigint      NOT NULL,
    refund_key   text        NOT NULL,
    order_id     uuid,
    amount       bigint      NOT NULL,
    bucket_start timestamptz NOT NULL,
    -- counted: in the rollup; failed: taken back (or failed before it was counted).
    state        text        NOT NULL,
    CONSTRAINT sales_refunds_pkey PRIMARY KEY (store_id, refund_key),
    CONSTRAINT sales_refunds_store_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
        ON DELETE CASCADE,
    CONSTRAINT sales_refunds_state_valid CHECK (state IN ('counted', 'failed')),
    CONSTRAINT sales_refunds_amount_valid CHECK (amount >= 0),
    CONSTRAINT sales_refunds_key_bounded CHECK (char_length(refund_key) <= 255)
);

SELECT enable_tenant_rls('sales_rollups');
SELECT enable_tenant_rls('sales_product_rollups');
SELECT enable_tenant_rls('sales_orders');
SELECT enable_tenant_rls('sales_refunds');
GRANT SELECT, INSERT, UPDATE ON sales_rollups, sales_product_rollups, sales_orders,
    sales_refunds TO shop_app;

------------------------------------------------------------------------------------------------
-- Paging indexes for lists that had none
------------------------------------------------------------------------------------------------
CREATE INDEX inventory_alerts_newest ON inventory_alerts (store_id, created_at DESC, event_key);
CREATE INDEX api_tokens_newest ON api_tokens (store_id, created_at DESC, id);
