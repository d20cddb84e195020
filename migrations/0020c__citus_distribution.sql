-- depends: 0020b__tenant_policy_reaper 0012__shipping_tax_fulfillment
-- The distribution step (issue 20): a no-op on plain PostgreSQL; on a Citus coordinator, with
-- the setting `shop.citus = on` for the migration run (PGOPTIONS='-c shop.citus=on' or
-- ALTER DATABASE … SET shop.citus = on), it makes
-- - stores, store_domains, api_tokens reference tables: a full copy on every node, because
--   their uniqueness is platform-wide (subdomain, custom domain, token hash) and the control
--   plane and the authorizer look them up across stores (by host, by token) — a lookup that
--   must not fan out to every shard; and every distributed table references stores;
-- - every other table with a store_id distributed by store_id, all co-located with products,
--   so one store's rows of every table share a node and a checkout is one shard, one
--   connection, no two-phase commit.
-- The order is the one Citus documents: tables → distribution → constraints. The tables of
-- the earlier migrations already have their foreign keys (those files cannot be rewritten), so
-- the step lifts every foreign key among them, distributes, and puts each back by its own
-- definition. A later migration that adds a store-keyed table follows the same order itself:
-- CREATE TABLE without foreign keys, `SELECT distribute_for_citus();`, then its constraints
-- (tests/unit/test_migration_rules.py checks it). operator_credentials and operator_audit hold
-- no store and stay local tables on the coordinator.
-- Not verified here (Citus is not installable on these machines): see k8s/README.md.

-- The plan, readable (and tested) on plain PostgreSQL too.
CREATE FUNCTION citus_distribution_plan()
RETURNS TABLE (table_name regclass, kind text, colocate_with text)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT c.oid::regclass,
           CASE WHEN c.relname IN ('stores', 'store_domains', 'api_tokens')
                THEN 'reference' ELSE 'distributed' END,
           CASE WHEN c.relname IN ('stores', 'store_domains', 'api_tokens') THEN NULL
                WHEN c.relname = 'products' THEN 'none' ELSE 'products' END
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND (c.relname = 'stores' OR EXISTS (
          SELECT 1 FROM pg_attribute a
          WHERE a.attrelid = c.oid AND a.attname = 'store_id' AND NOT a.attisdropped))
    -- Reference tables first, then products (the co-location group), then the rest.
    ORDER BY c.relname NOT IN ('stores', 'store_domains', 'api_tokens'),
             c.relname <> 'stores', c.relname <> 'products', c.relname
$$;

CREATE FUNCTION distribute_for_citus() RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    t record;
    fk record;
    done boolean;
BEGIN
    IF coalesce(current_setting('shop.citus', true), '') <> 'on' THEN
        RETURN;  -- plain PostgreSQL: nothing to distribute
    END IF;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'shop.citus is on but the citus extension is not installed'
            USING HINT = 'CREATE EXTENSION citus on the coordinator, or run without shop.citus';
    END IF;
    -- Citus creates shards and copies rows over several connections: inside the migration's
    -- transaction that must be sequential (foreign keys to reference tables need it too).
    SET LOCAL citus.multi_shard_modify_mode TO 'sequential';
    -- 1. Every foreign key among the tables to distribute, kept by definition, then dropped.
    CREATE TEMP TABLE citus_saved_fks ON COMMIT DROP AS
        SELECT k.conrelid::regclass AS tbl, k.conname, pg_get_constraintdef(k.oid) AS def
        FROM pg_constraint k
        WHERE k.contype = 'f'
          AND k.conrelid IN (SELECT p.table_name FROM citus_distribution_plan() p)
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = k.conrelid);
    FOR fk IN SELECT * FROM citus_saved_fks LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
    END LOOP;
    -- 2. Distribution (a table already distributed by an earlier run is left as it is).
    FOR t IN SELECT * FROM citus_distribution_plan() LOOP
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1)'
            INTO done USING t.table_name;
        CONTINUE WHEN done;
        IF t.kind = 'reference' THEN
            PERFORM create_reference_table(t.table_name);
        ELSE
            PERFORM create_distributed_table(t.table_name, 'store_id',
                                             colocate_with => t.colocate_with);
        END IF;
    END LOOP;
    -- 3. The constraints again, exactly as they were.
    FOR fk IN SELECT * FROM citus_saved_fks LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.tbl, fk.conname, fk.def);
    END LOOP;
    -- The outbox is distributed: its NOTIFY trigger would run on a worker, inside a prepared
    -- transaction, far from the relay. The relay polls instead (OUTBOX_WAKE=poll).
    DROP TRIGGER IF EXISTS outbox_notify ON outbox;
END
$$;
REVOKE ALL ON FUNCTION distribute_for_citus() FROM PUBLIC;

SELECT distribute_for_citus();
