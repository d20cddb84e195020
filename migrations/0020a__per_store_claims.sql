-- depends: 0020__citus_ready
-- Cross-store claims, redesigned for Citus (issue 20): `UPDATE … WHERE (store_id, id) IN
-- (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)` across stores cannot be distributed (a row lock
-- across shards is refused). The platform role now only lists the stores that have work
-- (a read, which Citus runs on every shard and merges); each store's rows are then claimed in
-- that store's own tenant transaction, as shop_app, by a statement that names the store and
-- runs on its shard alone (services/checkout/checkout/claims.py,
-- services/events/consumers/webhook_claims.py).

DROP FUNCTION platform.claim_stale_checkouts(integer, integer);
DROP FUNCTION platform.claim_webhook_deliveries(integer, integer);
DROP POLICY platform_claim ON checkouts;
DROP POLICY platform_claim ON webhook_deliveries;
REVOKE UPDATE (lease_until) ON checkouts FROM shop_platform;
REVOKE UPDATE (leased_until) ON webhook_deliveries FROM shop_platform;
CREATE POLICY platform_list ON checkouts FOR SELECT TO shop_platform USING (true);
CREATE POLICY platform_list ON webhook_deliveries FOR SELECT TO shop_platform USING (true);

-- Stores with checkouts whose lease ran out, the longest-waiting first.
CREATE FUNCTION platform.stores_with_stale_checkouts(p_limit integer)
RETURNS TABLE (store_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.store_id FROM checkouts c
    WHERE c.state IN ('processing', 'reserved', 'requires_action', 'refunding')
      AND c.lease_until < now()
    GROUP BY c.store_id
    ORDER BY min(c.lease_until)
    LIMIT p_limit
$$;
ALTER FUNCTION platform.stores_with_stale_checkouts(integer) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.stores_with_stale_checkouts(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.stores_with_stale_checkouts(integer) TO shop_worker;

-- Stores with webhook deliveries due and not leased, the longest-waiting first. A suspended
-- store's deliveries wait (they go out once it is reinstated); a closed store's still go.
CREATE FUNCTION platform.stores_with_due_webhooks(p_limit integer)
RETURNS TABLE (store_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT w.store_id FROM webhook_deliveries w
    JOIN stores s ON s.id = w.store_id AND s.status <> 'suspended'
    WHERE w.status = 'pending' AND w.next_attempt_at <= now()
      AND (w.leased_until IS NULL OR w.leased_until < now())
    GROUP BY w.store_id
    ORDER BY min(w.next_attempt_at)
    LIMIT p_limit
$$;
ALTER FUNCTION platform.stores_with_due_webhooks(integer) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.stores_with_due_webhooks(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.stores_with_due_webhooks(integer) TO shop_worker;
