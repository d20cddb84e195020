-- depends: 0020c__citus_distribution 0020b__tenant_policy_reaper 0021__store_lifecycle
-- Certificates of custom domains (issue 18, issuance half). One certificate per domain, keyed
-- (store_id, domain) like the domain itself; removing the domain deletes its certificate in
-- the same statement (ON DELETE CASCADE). The private key is stored sealed (Fernet, key from
-- CERT_KEY_ENCRYPTION_KEYS): the database never holds it in the clear.
-- store_domains is a reference table on Citus (0020c); domain_certificates is distributed by
-- store_id like every other store-keyed table, so it is created without foreign keys,
-- distributed, then constrained (tests/unit/test_migration_rules.py). Named constraints, one
-- subcommand per ALTER, no volatile defaults.

-- What ListDomains shows, and what the issuance worker picks due domains by (a reference
-- table read, no fan-out over the certificates' shards).
ALTER TABLE store_domains ADD COLUMN ssl_provisioned_at timestamptz;
ALTER TABLE store_domains ADD COLUMN ssl_expires_at timestamptz;
-- When renewal is due (services/store/certificates/rules.py decides; SQL only compares).
ALTER TABLE store_domains ADD COLUMN ssl_renew_after timestamptz;
-- Last failed attempt: a failing domain waits before the next try instead of spinning.
ALTER TABLE store_domains ADD COLUMN ssl_failed_at timestamptz;
ALTER TABLE store_domains ADD CONSTRAINT store_domains_ssl_dated
    CHECK ((ssl_provisioned_at IS NULL) = (ssl_expires_at IS NULL));

CREATE TABLE domain_certificates (
    store_id         bigint      NOT NULL,
    domain           text        NOT NULL,
    serial           text        NOT NULL,
    not_before       timestamptz NOT NULL,
    not_after        timestamptz NOT NULL,
    -- Leaf first, then intermediates (PEM), as a TLS server sends it.
    chain_pem        text        NOT NULL,
    -- PKCS#8 PEM sealed with Fernet: never the key in the clear.
    sealed_key       bytea       NOT NULL,
    issuer           text        NOT NULL,
    issued_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT domain_certificates_pkey PRIMARY KEY (store_id, domain),
    CONSTRAINT domain_certificates_validity CHECK (not_after > not_before),
    CONSTRAINT domain_certificates_issuer_known CHECK (issuer IN ('local', 'acme'))
);

-- HTTP-01 challenges in flight: the edge answers /.well-known/acme-challenge/<token> for the
-- domain with the key authorization (a later step; the lookup is CertificateRepository's).
CREATE TABLE acme_challenges (
    store_id          bigint      NOT NULL,
    domain            text        NOT NULL,
    token             text        NOT NULL,
    key_authorization text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT acme_challenges_pkey PRIMARY KEY (store_id, domain, token),
    CONSTRAINT acme_challenges_token_shape CHECK (token ~ '^[A-Za-z0-9_-]{1,255}$')
);

SELECT enable_tenant_rls('domain_certificates');
SELECT enable_tenant_rls('acme_challenges');

SELECT distribute_for_citus();

ALTER TABLE domain_certificates ADD CONSTRAINT domain_certificates_domain_fkey
    FOREIGN KEY (store_id, domain) REFERENCES store_domains (store_id, domain) ON DELETE CASCADE;
ALTER TABLE acme_challenges ADD CONSTRAINT acme_challenges_domain_fkey
    FOREIGN KEY (store_id, domain) REFERENCES store_domains (store_id, domain) ON DELETE CASCADE;

GRANT SELECT, INSERT, UPDATE, DELETE ON domain_certificates, acme_challenges TO shop_app;
GRANT SELECT, DELETE ON domain_certificates, acme_challenges TO shop_eraser;

-- Verified domains that need a certificate: none yet, or renewal due; a domain that failed
-- is tried again only after p_failed_before. The issuance worker's only cross-store read (it
-- issues and stores in each store's own tenant transaction), like domains_to_recheck.
CREATE FUNCTION platform.domains_needing_certificates(
    p_now timestamptz, p_failed_before timestamptz, p_limit integer)
RETURNS TABLE (store_id bigint, domain text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.store_id, d.domain FROM store_domains d
    WHERE d.verified_at IS NOT NULL
      AND (d.ssl_provisioned_at IS NULL OR d.ssl_renew_after <= p_now)
      AND (d.ssl_failed_at IS NULL OR d.ssl_failed_at < p_failed_before)
    ORDER BY coalesce(d.ssl_renew_after, d.verified_at)
    LIMIT p_limit
$$;
ALTER FUNCTION platform.domains_needing_certificates(timestamptz, timestamptz, integer)
    OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.domains_needing_certificates(timestamptz, timestamptz, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.domains_needing_certificates(timestamptz, timestamptz, integer)
    TO shop_control;

CREATE INDEX store_domains_certificate_due
    ON store_domains ((coalesce(ssl_renew_after, verified_at)))
    WHERE verified_at IS NOT NULL;
