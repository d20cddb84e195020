-- depends: 0021__store_lifecycle
-- Ready to distribute on Citus by store id (issue 20). What Citus 13.2 refused, and its fix:
-- - Policies with a sub-select ("Subqueries are not supported in policies on distributed
--   tables"), and a tenant policy that bound every role (the relay's UPDATE evaluated it on
--   the workers, where no store is set). The tenant policy is now a plain comparison with the
--   transaction's setting and applies TO the roles that work inside tenant transactions only;
--   every other role has its own narrow policy (relay, search, platform, operators).
-- - SECURITY DEFINER functions owned by NOLOGIN roles: Citus runs their distributed statements
--   on the workers as the owner, over a new connection. The owners may now log in (they have
--   no password here; production grants them a login on the cluster's internal network only).
-- - notify_store_routes guessed its column from TG_TABLE_NAME, which on a shard is
--   "stores_102008": the column is now the trigger's argument, and it notifies only on the
--   node where the control plane listens (the coordinator), never inside a worker's
--   prepared transaction.
-- - refresh_product_summary, an SQL function with parameters, could not be planned as a
--   distributed statement: PL/pgSQL plans each statement with the values bound.
-- One subcommand per ALTER, named constraints, no volatile defaults.

-- The tenant policy: fails closed when no store is set (an undefined setting is an error, an
-- empty one cannot be cast: either way the statement errors, it never sees rows).
-- No sub-select: `store_id = current_setting(...)::bigint` is still evaluated once per scan when
-- it is an index condition, and every statement names its store anyway (store_id = $n).
DROP FUNCTION enable_tenant_rls(regclass, text);
CREATE FUNCTION enable_tenant_rls(tbl regclass, store_column text DEFAULT 'store_id')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', tbl);
    -- shop_app: the services; shop_eraser: the erase job (one store per transaction). Both
    -- work inside tenant transactions only. Other roles get their own policies.
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %1$s TO shop_app, shop_eraser'
        ' USING (%2$I = current_setting(''app.current_store_id'')::bigint)'
        ' WITH CHECK (%2$I = current_setting(''app.current_store_id'')::bigint)',
        tbl, store_column);
END
$$;
REVOKE ALL ON FUNCTION enable_tenant_rls(regclass, text) FROM PUBLIC;

-- Every tenant policy made so far, again in the new form (whatever migration made it).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS tbl, c.relname FROM pg_policy p
          JOIN pg_class c ON c.oid = p.polrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND p.polname = 'tenant_isolation'
    LOOP
        PERFORM enable_tenant_rls(t.tbl, CASE WHEN t.relname = 'stores' THEN 'id' ELSE 'store_id' END);
    END LOOP;
END
$$;

-- The operator API reads every store (operations_read) and changes one only inside that
-- store's tenant transaction: its UPDATE (and FOR UPDATE) is bound to the transaction's store.
CREATE POLICY operations_write ON stores FOR UPDATE TO shop_ops
    USING (id = current_setting('app.current_store_id')::bigint)
    WITH CHECK (id = current_setting('app.current_store_id')::bigint);

-- The relay reads and marks every store's outbox rows (one leader, on the coordinator), and
-- prunes published ones: its policy already names it alone (relay_all TO shop_relay).

-- Owners of SECURITY DEFINER functions must log in where the functions' statements run.
ALTER ROLE shop_platform LOGIN;
ALTER ROLE shop_search LOGIN;

-- Route changes: the column holding the store id is the trigger's argument; only the node the
-- control plane listens on notifies (on plain PostgreSQL, always).
CREATE OR REPLACE FUNCTION notify_store_routes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    on_coordinator boolean := true;
BEGIN
    IF to_regprocedure('citus_is_coordinator()') IS NOT NULL THEN
        EXECUTE 'SELECT citus_is_coordinator()' INTO on_coordinator;
    END IF;
    IF on_coordinator THEN
        PERFORM pg_notify('store_routes',
            (CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END) ->> TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER stores_notify_routes ON stores;
CREATE TRIGGER stores_notify_routes
    AFTER INSERT OR DELETE OR UPDATE OF subdomain, plan, status ON stores
    FOR EACH ROW EXECUTE FUNCTION notify_store_routes('id');
DROP TRIGGER store_domains_notify_routes ON store_domains;
CREATE TRIGGER store_domains_notify_routes
    AFTER INSERT OR DELETE ON store_domains
    FOR EACH ROW EXECUTE FUNCTION notify_store_routes('store_id');
DROP TRIGGER store_domains_notify_routes_update ON store_domains;
CREATE TRIGGER store_domains_notify_routes_update
    AFTER UPDATE OF domain, verified_at ON store_domains
    FOR EACH ROW EXECUTE FUNCTION notify_store_routes('store_id');

-- PL/pgSQL: each statement is planned with its values bound (Citus routes it to one shard).
CREATE OR REPLACE FUNCTION refresh_product_summary(p_store_id bigint, p_product_id uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
END
$$;
