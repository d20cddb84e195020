-- depends: 0019w__webhook_secrets
-- Retention: one reaper (services/events/retention.py, in the relay process) deletes what is
-- past its period, per store, in bounded batches, as shop_reaper. That role may only delete
-- those rows: column-level SELECT on the key and age columns its WHERE clauses need, DELETE on
-- the tables, each store's rows reached inside that store's tenant transaction (RLS), and one
-- cross-store read: which stores have expired rows (platform.stores_with_expired_rows).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_reaper') THEN
        CREATE ROLE shop_reaper LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

-- Checkouts are idempotency records: once finished and past retention they go, and an order
-- keeps the id of the checkout that placed it as history (UNIQUE (store_id, checkout_id) stays).
ALTER TABLE orders DROP CONSTRAINT orders_store_id_checkout_id_fkey;

-- The indexes the reaper's per-store probes and batches use: store first, then age.
CREATE INDEX checkouts_finished ON checkouts (store_id, updated_at)
    WHERE state IN ('completed', 'declined', 'failed', 'refunded');
CREATE INDEX processed_events_age ON processed_events (store_id, processed_at);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (store_id, created_at)
    WHERE status <> 'pending';
CREATE INDEX webhooks_deleted ON webhooks (store_id, deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX sent_emails_age ON sent_emails (store_id, sent_at);
-- inventory_alerts already has inventory_alerts_newest (store_id, created_at DESC, event_key).

GRANT SELECT (store_id, id, state, updated_at), DELETE ON checkouts TO shop_reaper;
GRANT SELECT (store_id, consumer, event_key, processed_at), DELETE ON processed_events
    TO shop_reaper;
GRANT SELECT (store_id, id, status, created_at), DELETE ON webhook_deliveries TO shop_reaper;
GRANT SELECT (store_id, id, deleted_at), DELETE ON webhooks TO shop_reaper;
GRANT SELECT (store_id, event_key, created_at), DELETE ON inventory_alerts TO shop_reaper;
GRANT SELECT (store_id, message_id, sent_at), DELETE ON sent_emails TO shop_reaper;

-- The listing function reads across stores as shop_platform (checkouts and webhook_deliveries
-- already have its claim policies and SELECT).
CREATE POLICY retention_read ON processed_events FOR SELECT TO shop_platform USING (true);
CREATE POLICY retention_read ON webhooks FOR SELECT TO shop_platform USING (true);
CREATE POLICY retention_read ON inventory_alerts FOR SELECT TO shop_platform USING (true);
CREATE POLICY retention_read ON sent_emails FOR SELECT TO shop_platform USING (true);
GRANT SELECT (store_id, processed_at) ON processed_events TO shop_platform;
GRANT SELECT (store_id, deleted_at) ON webhooks TO shop_platform;
GRANT SELECT (store_id, created_at) ON inventory_alerts TO shop_platform;
GRANT SELECT (store_id, sent_at) ON sent_emails TO shop_platform;

-- Stores after p_after (keyset over stores.id) having rows of p_kind older than p_age_seconds:
-- one index probe per store, each on an index that leads with store_id.
CREATE FUNCTION platform.stores_with_expired_rows(
    p_kind text, p_age_seconds double precision, p_after bigint, p_limit integer)
RETURNS TABLE (store_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    cutoff timestamptz := clock_timestamp() - make_interval(secs => p_age_seconds);
BEGIN
    IF p_kind = 'checkouts' THEN
        RETURN QUERY SELECT s.id FROM stores s WHERE s.id > p_after AND EXISTS (
            SELECT 1 FROM checkouts t WHERE t.store_id = s.id AND t.updated_at < cutoff
               AND t.state IN ('completed', 'declined', 'failed', 'refunded'))
        ORDER BY s.id LIMIT p_limit;
    ELSIF p_kind = 'processed_events' THEN
        RETURN QUERY SELECT s.id FROM stores s WHERE s.id > p_after AND EXISTS (
            SELECT 1 FROM processed_events t WHERE t.store_id = s.id AND t.processed_at < cutoff)
        ORDER BY s.id LIMIT p_limit;
    ELSIF p_kind = 'webhook_deliveries' THEN
        RETURN QUERY SELECT s.id FROM stores s WHERE s.id > p_after AND EXISTS (
            SELECT 1 FROM webhook_deliveries t WHERE t.store_id = s.id AND t.created_at < cutoff
               AND t.status <> 'pending')
        ORDER BY s.id LIMIT p_limit;
    ELSIF p_kind = 'webhooks' THEN
        RETURN QUERY SELECT s.id FROM stores s WHERE s.id > p_after AND EXISTS (
            SELECT 1 FROM webhooks t WHERE t.store_id = s.id AND t.deleted_at < cutoff)
        ORDER BY s.id LIMIT p_limit;
    ELSIF p_kind = 'inventory_alerts' THEN
        RETURN QUERY SELECT s.id FROM stores s WHERE s.id > p_after AND EXISTS (
            SELECT 1 FROM inventory_alerts t WHERE t.store_id = s.id AND t.created_at < cutoff)
        ORDER BY s.id LIMIT p_limit;
    ELSIF p_kind = 'sent_emails' THEN
        RETURN QUERY SELECT s.id FROM stores s WHERE s.id > p_after AND EXISTS (
            SELECT 1 FROM sent_emails t WHERE t.store_id = s.id AND t.sent_at < cutoff)
        ORDER BY s.id LIMIT p_limit;
    ELSE
        RAISE EXCEPTION 'unknown retention kind %', p_kind USING ERRCODE = '22023';
    END IF;
END
$$;
ALTER FUNCTION platform.stores_with_expired_rows(text, double precision, bigint, integer)
    OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.stores_with_expired_rows(text, double precision, bigint, integer)
    FROM PUBLIC;
GRANT USAGE ON SCHEMA platform TO shop_reaper;
GRANT EXECUTE ON FUNCTION platform.stores_with_expired_rows(text, double precision, bigint, integer)
    TO shop_reaper;
