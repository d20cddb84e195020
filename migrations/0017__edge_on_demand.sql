-- depends: 0020__citus_ready 0021__store_lifecycle
-- On-demand virtual hosts (issue 17): Envoy asks the control plane for one host at a time, and
-- route changes flow incrementally (NOTIFY for speed, a change log for what a dropped listener
-- connection missed) instead of a periodic read of every store.

-- The store (not closed) a host belongs to: the platform subdomain (`<subdomain>.<platform
-- domain>`, the caller passes the subdomain part) or a verified custom domain. One row per host
-- that resolves; unknown hosts have none. Both look-ups are unique-index probes.
CREATE FUNCTION platform.store_routes_by_host(p_subdomains text[], p_domains text[])
RETURNS TABLE (host_key text, store_id bigint, subdomain text, custom_domains text[], plan text,
               status text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL: resolved when called, so this follows platform.store_routes as later
    -- migrations redefine it (0021 adds the store's status).
    RETURN QUERY
    WITH hits AS (
        SELECT s.subdomain AS host_key, s.id AS store_id FROM stores s
        WHERE s.subdomain = ANY (p_subdomains)
        UNION ALL
        SELECT d.domain, d.store_id FROM store_domains d
        WHERE d.domain = ANY (p_domains) AND d.verified_at IS NOT NULL
    )
    SELECT h.host_key, r.*
    FROM hits h
    JOIN LATERAL platform.store_routes(ARRAY[h.store_id]) r ON true;
END
$$;
ALTER FUNCTION platform.store_routes_by_host(text[], text[]) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.store_routes_by_host(text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.store_routes_by_host(text[], text[]) TO shop_control;

-- Every route change, in commit-independent order of writing: the control plane's consistency
-- check reads what was written since its last look (minus a margin for transactions that
-- committed late), so its cost follows the number of changes, not of stores. Platform
-- bookkeeping (store ids only, no tenant data), in the platform schema; pruned by the control
-- plane after a day.
CREATE TABLE platform.route_changes (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id   bigint      NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX route_changes_changed_at ON platform.route_changes (changed_at);
ALTER TABLE platform.route_changes OWNER TO shop_platform;
GRANT SELECT ON platform.route_changes TO shop_control;

-- Written by the route trigger as whichever role changed the store (the app, the operator API,
-- the eraser): definer rights, so none of them needs a grant on the log or the platform schema.
CREATE FUNCTION log_route_change(p_store_id bigint) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO platform.route_changes (store_id) VALUES (p_store_id)
$$;
-- Owned by the migration role (a member of shop_platform, which owns the log).

-- The control plane prunes the log (bounded batches, oldest first).
CREATE FUNCTION platform.prune_route_changes(p_before timestamptz, p_limit integer)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM platform.route_changes
        WHERE seq IN (SELECT seq FROM platform.route_changes WHERE changed_at < p_before
                      ORDER BY changed_at LIMIT p_limit)
        RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;
ALTER FUNCTION platform.prune_route_changes(timestamptz, integer) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.prune_route_changes(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.prune_route_changes(timestamptz, integer) TO shop_control;

-- The same triggers as before (0020: the store id's column is the trigger's argument; only the
-- node the control plane listens on notifies), now also logging the change there.
CREATE OR REPLACE FUNCTION notify_store_routes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    on_coordinator boolean := true;
    v_store bigint;
BEGIN
    IF to_regprocedure('citus_is_coordinator()') IS NOT NULL THEN
        EXECUTE 'SELECT citus_is_coordinator()' INTO on_coordinator;
    END IF;
    IF on_coordinator THEN
        v_store := ((CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END)
                    ->> TG_ARGV[0])::bigint;
        PERFORM log_route_change(v_store);
        PERFORM pg_notify('store_routes', v_store::text);
    END IF;
    RETURN NULL;
END
$$;
