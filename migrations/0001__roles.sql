-- Roles the services connect as. Migrations run as the owner (shop_owner); these roles own
-- nothing, are not superusers and cannot bypass RLS. Roles are cluster-wide, so creation is
-- idempotent: several databases (tests, staging) may share one cluster.
DO $$
BEGIN
    -- Tenant data: every query runs inside a tenant transaction and RLS decides what exists.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_app') THEN
        CREATE ROLE shop_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    -- The Store service's control plane and auth paths: may only call the narrow platform.*
    -- functions that read across stores (routes for Envoy, token lookup).
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_control') THEN
        CREATE ROLE shop_control LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    -- Owns the SECURITY DEFINER platform.* functions; cannot log in.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_platform') THEN
        CREATE ROLE shop_platform NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

GRANT shop_platform TO CURRENT_USER;
