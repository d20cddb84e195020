-- depends: 0018__certificates
-- Every text column has a length bound in the database too (issue 19's rule), even where only
-- the control plane writes it: a certificate chain, its serial and an ACME key authorization
-- have known sizes, and a bound keeps a broken issuer from filling a row without limit.
ALTER TABLE domain_certificates ADD CONSTRAINT domain_certificates_serial_length
    CHECK (char_length(serial) BETWEEN 1 AND 128);
ALTER TABLE domain_certificates ADD CONSTRAINT domain_certificates_chain_length
    CHECK (char_length(chain_pem) BETWEEN 1 AND 65536);
ALTER TABLE domain_certificates ADD CONSTRAINT domain_certificates_domain_length
    CHECK (char_length(domain) BETWEEN 1 AND 253);
ALTER TABLE acme_challenges ADD CONSTRAINT acme_challenges_domain_length
    CHECK (char_length(domain) BETWEEN 1 AND 253);
ALTER TABLE acme_challenges ADD CONSTRAINT acme_challenges_key_authorization_length
    CHECK (char_length(key_authorization) BETWEEN 1 AND 512);
