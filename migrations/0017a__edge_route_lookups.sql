-- depends: 0017__edge_on_demand
-- The control plane's per-request and per-change reads as index probes. platform.store_routes
-- (p_store_ids IS NULL OR s.id = ANY (...)) is planned once for both uses, and as a SECURITY
-- DEFINER function it is never inlined: with a list of ids it still scans every store, which
-- an on-demand look-up (one per new host per Envoy) cannot afford at a million stores.

-- The routes of the given stores (not closed): primary-key probes.
CREATE FUNCTION platform.store_routes_of(p_store_ids bigint[])
RETURNS TABLE (store_id bigint, subdomain text, custom_domains text[], plan text, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.id, s.subdomain,
           coalesce((SELECT array_agg(d.domain ORDER BY d.domain) FROM store_domains d
                     WHERE d.store_id = s.id AND d.verified_at IS NOT NULL), '{}'),
           s.plan, s.status
    FROM stores s
    WHERE s.id = ANY (p_store_ids) AND s.status <> 'closed'
$$;
ALTER FUNCTION platform.store_routes_of(bigint[]) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.store_routes_of(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.store_routes_of(bigint[]) TO shop_control;

-- By host: the subdomain's unique index, or the custom domain's.
CREATE OR REPLACE FUNCTION platform.store_routes_by_host(p_subdomains text[], p_domains text[])
RETURNS TABLE (host_key text, store_id bigint, subdomain text, custom_domains text[], plan text,
               status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH hits AS (
        SELECT s.subdomain AS host_key, s.id AS store_id FROM stores s
        WHERE s.subdomain = ANY (p_subdomains)
        UNION ALL
        SELECT d.domain, d.store_id FROM store_domains d
        WHERE d.domain = ANY (p_domains) AND d.verified_at IS NOT NULL
    )
    SELECT h.host_key, r.store_id, r.subdomain, r.custom_domains, r.plan, r.status
    FROM hits h
    JOIN platform.store_routes_of(ARRAY(SELECT store_id FROM hits)) r ON r.store_id = h.store_id
$$;
