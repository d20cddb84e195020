-- depends: 0003__catalog
-- Custom-domain re-checks, store settings and plans (rate limits at the edge).

-- Store settings a merchant edits (UpdateStoreSettings); `settings` is validated against a JSON
-- schema by the Store service, the database only insists on an object of bounded size.
ALTER TABLE stores
    ADD COLUMN theme_id            text    NOT NULL DEFAULT 'default'
        CHECK (theme_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    ADD COLUMN low_stock_threshold integer NOT NULL DEFAULT 5
        CHECK (low_stock_threshold BETWEEN 0 AND 1000000),
    ADD COLUMN settings            jsonb   NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(settings) = 'object' AND pg_column_size(settings) <= 65536),
    -- Chosen by billing, not by the merchant; selects the store's token bucket at the edge.
    ADD COLUMN plan                text    NOT NULL DEFAULT 'standard'
        CHECK (plan IN ('development', 'basic', 'standard', 'plus', 'enterprise'));

-- Periodic re-check of verified domains: when the TXT record has been missing since
-- `failing_since` for longer than the grace period, the domain goes back to pending.
ALTER TABLE store_domains
    ADD COLUMN last_checked_at timestamptz,
    ADD COLUMN failing_since   timestamptz,
    ADD CONSTRAINT store_domains_primary_is_verified CHECK (NOT is_primary OR verified_at IS NOT NULL);

-- At most one primary custom domain per store.
CREATE UNIQUE INDEX store_domains_one_primary ON store_domains (store_id) WHERE is_primary;

-- The route function now also carries the plan, so the virtual host names its bucket.
DROP FUNCTION platform.store_routes(bigint[]);
CREATE FUNCTION platform.store_routes(p_store_ids bigint[] DEFAULT NULL)
RETURNS TABLE (store_id bigint, subdomain text, custom_domains text[], plan text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.id, s.subdomain,
           coalesce(array_agg(d.domain ORDER BY d.domain) FILTER (WHERE d.domain IS NOT NULL), '{}'),
           s.plan
    FROM stores s
    LEFT JOIN store_domains d ON d.store_id = s.id AND d.verified_at IS NOT NULL
    WHERE p_store_ids IS NULL OR s.id = ANY (p_store_ids)
    GROUP BY s.id
$$;
ALTER FUNCTION platform.store_routes(bigint[]) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.store_routes(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.store_routes(bigint[]) TO shop_control;

-- Verified domains whose last check is older than p_checked_before, oldest first: the re-check
-- worker's only cross-store read. It writes the outcome back in each store's own tenant
-- transaction.
CREATE FUNCTION platform.domains_to_recheck(p_checked_before timestamptz, p_limit integer)
RETURNS TABLE (store_id bigint, domain text, verification_token text, failing_since timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.store_id, d.domain, d.verification_token, d.failing_since FROM store_domains d
    WHERE d.verified_at IS NOT NULL
      AND coalesce(d.last_checked_at, d.verified_at) < p_checked_before
    ORDER BY coalesce(d.last_checked_at, d.verified_at)
    LIMIT p_limit
$$;
ALTER FUNCTION platform.domains_to_recheck(timestamptz, integer) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.domains_to_recheck(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.domains_to_recheck(timestamptz, integer) TO shop_control;

CREATE INDEX store_domains_recheck ON store_domains ((coalesce(last_checked_at, verified_at)))
    WHERE verified_at IS NOT NULL;

-- A plan change moves the store to another bucket: the virtual host must be pushed again.
DROP TRIGGER stores_notify_routes ON stores;
CREATE TRIGGER stores_notify_routes
    AFTER INSERT OR DELETE OR UPDATE OF subdomain, plan ON stores
    FOR EACH ROW EXECUTE FUNCTION notify_store_routes();
-- Re-check bookkeeping (last_checked_at) changes no route: only the columns that do notify.
DROP TRIGGER store_domains_notify_routes ON store_domains;
CREATE TRIGGER store_domains_notify_routes
    AFTER INSERT OR DELETE ON store_domains
    FOR EACH ROW EXECUTE FUNCTION notify_store_routes();
CREATE TRIGGER store_domains_notify_routes_update
    AFTER UPDATE OF domain, verified_at ON store_domains
    FOR EACH ROW EXECUTE FUNCTION notify_store_routes();
