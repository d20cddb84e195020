-- depends: 0020a__per_store_claims 0019c__retention
-- The retention reaper (shop_reaper, 0019c) deletes each store's expired rows inside that
-- store's tenant transaction: the tenant policy, scoped TO its roles since 0020, names it too.
-- A role that works inside tenant transactions is added here, in enable_tenant_rls, and every
-- tenant policy is made again.

DROP FUNCTION enable_tenant_rls(regclass, text);
CREATE FUNCTION enable_tenant_rls(tbl regclass, store_column text DEFAULT 'store_id')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', tbl);
    -- shop_app: the services; shop_eraser: the erase job; shop_reaper: retention. All three
    -- work inside tenant transactions only. Other roles get their own policies.
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %1$s TO shop_app, shop_eraser, shop_reaper'
        ' USING (%2$I = current_setting(''app.current_store_id'')::bigint)'
        ' WITH CHECK (%2$I = current_setting(''app.current_store_id'')::bigint)',
        tbl, store_column);
END
$$;
REVOKE ALL ON FUNCTION enable_tenant_rls(regclass, text) FROM PUBLIC;

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
