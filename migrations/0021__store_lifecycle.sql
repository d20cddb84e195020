-- depends: 0011a__refunds_disputes 0014__catalog_collections_search_sales
-- The whole life of a store: status (active, suspended, closed) with the dates that drive it,
-- pending confirmations (owner email, closing), the platform's operators (credentials and an
-- append-only audit trail), and the roles of the operator API and of the erase job.
-- One subcommand per ALTER, named constraints, no volatile defaults (Citus-ready).

DO $$
BEGIN
    -- The operator API (services/store/operators): reads every store (stores, store_domains),
    -- changes a store's plan and status inside that store's tenant transaction, appends audit.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_ops') THEN
        CREATE ROLE shop_ops LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    -- The erase job (services/store/lifecycle/erase.py): deletes a closed store's rows, one
    -- store per tenant transaction, RLS confining it to that store.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_eraser') THEN
        CREATE ROLE shop_eraser LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    -- Whoever may mint and revoke operator credentials (`python -m services.store.operators`):
    -- a group role, granted to the owner here and to the people who run the CLI elsewhere.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_operator_admin') THEN
        CREATE ROLE shop_operator_admin NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;
GRANT shop_operator_admin TO CURRENT_USER;

-- Status: active → suspended → active, active/suspended → closed → (grace) → erased.
ALTER TABLE stores ADD COLUMN status text NOT NULL DEFAULT 'active';
ALTER TABLE stores ADD CONSTRAINT stores_status_valid
    CHECK (status IN ('active', 'suspended', 'closed'));
-- Why the platform suspended or closed the store (shown to operators only).
ALTER TABLE stores ADD COLUMN status_reason text;
ALTER TABLE stores ADD CONSTRAINT stores_status_reason_length
    CHECK (char_length(status_reason) <= 500);
ALTER TABLE stores ADD COLUMN suspended_at timestamptz;
ALTER TABLE stores ADD CONSTRAINT stores_suspended_at_iff_suspended
    CHECK ((status = 'suspended') = (suspended_at IS NOT NULL));
ALTER TABLE stores ADD COLUMN closed_at timestamptz;
-- End of the grace period: from then on the erase job may take the store's data away.
ALTER TABLE stores ADD COLUMN erase_after timestamptz;
ALTER TABLE stores ADD CONSTRAINT stores_closed_dates_iff_closed
    CHECK ((status = 'closed') = (closed_at IS NOT NULL AND erase_after IS NOT NULL));
-- Set once the erase job has announced the erasure (shop/redact); no way back from there.
ALTER TABLE stores ADD COLUMN erase_started_at timestamptz;
ALTER TABLE stores ADD CONSTRAINT stores_erase_only_when_closed
    CHECK (erase_started_at IS NULL OR status = 'closed');
ALTER TABLE stores ADD CONSTRAINT stores_owner_email_length
    CHECK (char_length(owner_email) <= 254);
CREATE INDEX stores_due_for_erasure ON stores (erase_after) WHERE status = 'closed';
-- Operators search stores by owner email (case-insensitive) and subdomain prefix.
CREATE INDEX stores_owner_email_search ON stores (lower(owner_email));
CREATE INDEX stores_subdomain_prefix ON stores (subdomain text_pattern_ops);

-- A change the merchant must confirm: the new owner email (token mailed to the new address)
-- or closing the store (token returned by the request, sent back with the close). One pending
-- per purpose; only the token's hash is kept.
CREATE TABLE store_confirmations (
    store_id     bigint      NOT NULL,
    purpose      text        NOT NULL,
    token_hash   bytea       NOT NULL,
    new_email    text,
    requested_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    CONSTRAINT store_confirmations_pkey PRIMARY KEY (store_id, purpose),
    CONSTRAINT store_confirmations_store_fkey FOREIGN KEY (store_id)
        REFERENCES stores (id) ON DELETE CASCADE,
    CONSTRAINT store_confirmations_purpose_valid CHECK (purpose IN ('owner_email', 'close_store')),
    CONSTRAINT store_confirmations_email_for_owner_only
        CHECK ((purpose = 'owner_email') = (new_email IS NOT NULL)),
    CONSTRAINT store_confirmations_email_length CHECK (char_length(new_email) <= 254)
);
SELECT enable_tenant_rls('store_confirmations');
GRANT SELECT, INSERT, UPDATE, DELETE ON store_confirmations TO shop_app;

-- Closing the store is a new scope (with the owner email change); owner tokens made before it
-- existed get it, as their store's first token gets every scope. FORCE RLS binds the owner
-- too, so it is lifted for this one statement inside the migration's transaction.
ALTER TABLE api_tokens NO FORCE ROW LEVEL SECURITY;
ALTER TABLE api_tokens DISABLE ROW LEVEL SECURITY;
UPDATE api_tokens SET scopes = array_append(scopes, 'manage_ownership')
 WHERE name = 'owner' AND revoked_at IS NULL AND NOT ('manage_ownership' = ANY (scopes))
   AND scopes @> ARRAY['read_store', 'manage_settings', 'manage_access_tokens'];
ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;

-- The platform's operators: credentials that are not store tokens. Platform-wide, not tenant
-- data: no store_id, no RLS; only shop_operator_admin writes them and only the SECURITY
-- DEFINER function below reads them (hash in, identity and scopes out).
CREATE TABLE operator_credentials (
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    -- sha256 of the secret: 256-bit random secrets need no salt or slow hash.
    token_hash bytea       NOT NULL,
    scopes     text[]      NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT operator_credentials_pkey PRIMARY KEY (id),
    CONSTRAINT operator_credentials_token_hash_key UNIQUE (token_hash),
    CONSTRAINT operator_credentials_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT operator_credentials_created_by_length CHECK (char_length(created_by) <= 200),
    CONSTRAINT operator_credentials_has_scopes CHECK (cardinality(scopes) BETWEEN 1 AND 20)
);
GRANT SELECT, INSERT ON operator_credentials TO shop_operator_admin;
GRANT UPDATE (revoked_at) ON operator_credentials TO shop_operator_admin;

-- Every operator call (and every credential minted or revoked): who, what, when, on which
-- store, the outcome, and the store's lifecycle fields before and after. Append-only: roles
-- get INSERT and SELECT only, and a trigger refuses UPDATE, DELETE and TRUNCATE even to the
-- owner. It deliberately outlives the stores it names (target_store_id has no foreign key and
-- the erase job cannot touch it): the record of who closed a store must survive the store.
-- It holds no tenant data — before/after carry plan and status fields only.
CREATE TABLE operator_audit (
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    at              timestamptz NOT NULL,
    operator_id     uuid,
    actor           text        NOT NULL,
    action          text        NOT NULL,
    target_store_id bigint,
    request         jsonb       NOT NULL,
    outcome         text        NOT NULL,
    before          jsonb,
    after           jsonb,
    CONSTRAINT operator_audit_pkey PRIMARY KEY (id),
    CONSTRAINT operator_audit_actor_length CHECK (char_length(actor) <= 200),
    CONSTRAINT operator_audit_action_length CHECK (char_length(action) <= 100),
    CONSTRAINT operator_audit_outcome_length CHECK (char_length(outcome) <= 600),
    CONSTRAINT operator_audit_request_size CHECK (pg_column_size(request) <= 16384)
);
CREATE INDEX operator_audit_by_store ON operator_audit (target_store_id, id);

CREATE FUNCTION operator_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator_audit is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER operator_audit_no_update_or_delete
    BEFORE UPDATE OR DELETE ON operator_audit
    FOR EACH ROW EXECUTE FUNCTION operator_audit_append_only();
CREATE TRIGGER operator_audit_no_truncate
    BEFORE TRUNCATE ON operator_audit
    FOR EACH STATEMENT EXECUTE FUNCTION operator_audit_append_only();
GRANT SELECT, INSERT ON operator_audit TO shop_ops, shop_operator_admin;

-- The operator API reads every store and its domains (no tenant set needed: USING (true) folds
-- the tenant policy away for this role), and changes a store only inside that store's tenant
-- transaction: UPDATE and FOR UPDATE are bound by the tenant policy alone.
CREATE POLICY operations_read ON stores FOR SELECT TO shop_ops USING (true);
CREATE POLICY operations_read ON store_domains FOR SELECT TO shop_ops USING (true);
GRANT SELECT ON stores, store_domains TO shop_ops;
GRANT UPDATE (plan, status, status_reason, suspended_at, closed_at, erase_after, updated_at)
    ON stores TO shop_ops;

-- The erase job reads and deletes every tenant table of the store it works on (RLS confines
-- it), writes the shop/redact event to the outbox and marks the erasure started. A table
-- added later needs `GRANT SELECT, DELETE ... TO shop_eraser` too: a test fails without it.
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                          AND a.attname = 'store_id' AND NOT a.attisdropped)
    LOOP
        EXECUTE format('GRANT SELECT, DELETE ON %s TO shop_eraser', t);
    END LOOP;
END
$$;
GRANT SELECT, DELETE ON stores TO shop_eraser;
-- Deleting rows fires the triggers that keep derived data (a product's price range when its
-- variants go, then its collection memberships), and triggers run as the caller: the eraser
-- may do what the services may, so any such trigger, today's or a later one, works for it
-- too. RLS binds it to one store all the same (policies apply to the role's members).
GRANT shop_app TO shop_eraser;
GRANT UPDATE (erase_started_at) ON stores TO shop_eraser;
GRANT INSERT ON outbox TO shop_eraser;
GRANT USAGE ON SCHEMA platform TO shop_eraser;

-- Routes: a closed store has none (the control plane drops it at once); a suspended one keeps
-- its hosts and answers "unavailable" on its storefront (the status rides along).
DROP FUNCTION platform.store_routes(bigint[]);
CREATE FUNCTION platform.store_routes(p_store_ids bigint[] DEFAULT NULL)
RETURNS TABLE (store_id bigint, subdomain text, custom_domains text[], plan text, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.id, s.subdomain,
           coalesce(array_agg(d.domain ORDER BY d.domain) FILTER (WHERE d.domain IS NOT NULL), '{}'),
           s.plan, s.status
    FROM stores s
    LEFT JOIN store_domains d ON d.store_id = s.id AND d.verified_at IS NOT NULL
    WHERE (p_store_ids IS NULL OR s.id = ANY (p_store_ids)) AND s.status <> 'closed'
    GROUP BY s.id
$$;
ALTER FUNCTION platform.store_routes(bigint[]) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.store_routes(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.store_routes(bigint[]) TO shop_control;

-- A closed store's tokens resolve to nothing, whatever host they are sent to.
CREATE OR REPLACE FUNCTION platform.api_token(p_token_hash bytea)
RETURNS TABLE (store_id bigint, scopes text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.store_id, t.scopes FROM api_tokens t
    JOIN stores s ON s.id = t.store_id AND s.status <> 'closed'
    WHERE t.token_hash = p_token_hash AND t.revoked_at IS NULL
$$;

-- A status change moves the store's virtual host (suspended branch, or gone when closed).
DROP TRIGGER stores_notify_routes ON stores;
CREATE TRIGGER stores_notify_routes
    AFTER INSERT OR DELETE OR UPDATE OF subdomain, plan, status ON stores
    FOR EACH ROW EXECUTE FUNCTION notify_store_routes();

-- ext_authz (shop_control) resolves an operator credential: revoked or expired ones are gone.
GRANT SELECT ON operator_credentials TO shop_platform;
CREATE FUNCTION platform.operator_credential(p_token_hash bytea)
RETURNS TABLE (id uuid, name text, scopes text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.id, c.name, c.scopes FROM operator_credentials c
    WHERE c.token_hash = p_token_hash AND c.revoked_at IS NULL
      AND (c.expires_at IS NULL OR c.expires_at > clock_timestamp())
$$;
ALTER FUNCTION platform.operator_credential(bytea) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.operator_credential(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.operator_credential(bytea) TO shop_control;

-- The erase job's only cross-store read: closed stores whose grace period is over.
CREATE FUNCTION platform.stores_due_for_erasure(p_limit integer)
RETURNS TABLE (store_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.id FROM stores s
    WHERE s.status = 'closed' AND s.erase_after <= clock_timestamp()
    ORDER BY s.erase_after
    LIMIT p_limit
$$;
ALTER FUNCTION platform.stores_due_for_erasure(integer) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.stores_due_for_erasure(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.stores_due_for_erasure(integer) TO shop_eraser;

-- Webhooks of a suspended store wait (stay pending) and go out once it is reinstated; a
-- closed store's still go (its shop/redact among them).
CREATE OR REPLACE FUNCTION platform.claim_webhook_deliveries(p_limit integer, p_lease_seconds integer)
RETURNS TABLE (store_id bigint, delivery_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE webhook_deliveries d
       SET leased_until = clock_timestamp() + make_interval(secs => p_lease_seconds)
     WHERE (d.store_id, d.id) IN (
           SELECT w.store_id, w.id FROM webhook_deliveries w
             JOIN stores s ON s.id = w.store_id AND s.status <> 'suspended'
            WHERE w.status = 'pending' AND w.next_attempt_at <= clock_timestamp()
              AND (w.leased_until IS NULL OR w.leased_until < clock_timestamp())
            ORDER BY w.next_attempt_at
            LIMIT p_limit
            FOR UPDATE OF w SKIP LOCKED)
    RETURNING d.store_id, d.id
$$;
