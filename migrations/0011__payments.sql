-- depends: 0008__checkout
-- Taking real money: Connect onboarding state on the store, the checkout's explicit states and
-- what they need to never keep money without an order, the platform fee on orders, and the
-- one cross-store lookup Connect events need (which store owns a connected account).
-- One subcommand per ALTER, named constraints, no volatile defaults (Citus-ready).

-- No more placeholder accounts: a store has none until it starts onboarding.
ALTER TABLE stores ALTER COLUMN stripe_account_id DROP DEFAULT;
ALTER TABLE stores ALTER COLUMN stripe_account_id DROP NOT NULL;
-- Existing placeholders go (Stripe refuses them). The owner is subject to RLS too (FORCE);
-- lifting it for this one statement, inside the migration's transaction, is the only way.
ALTER TABLE stores NO FORCE ROW LEVEL SECURITY;
ALTER TABLE stores DISABLE ROW LEVEL SECURITY;
UPDATE stores SET stripe_account_id = NULL;
ALTER TABLE stores ENABLE ROW LEVEL SECURITY;
ALTER TABLE stores FORCE ROW LEVEL SECURITY;
ALTER TABLE stores ADD COLUMN charges_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE stores ADD COLUMN payouts_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE stores ADD COLUMN payments_details_submitted boolean NOT NULL DEFAULT false;
-- Stripe's requirements.currently_due / past_due and disabled_reason, as Stripe last said.
ALTER TABLE stores ADD COLUMN payments_requirements jsonb NOT NULL DEFAULT '{}';
ALTER TABLE stores ADD COLUMN payments_disabled_reason text;
ALTER TABLE stores ADD COLUMN payments_updated_at timestamptz;
CREATE UNIQUE INDEX stores_stripe_account ON stores (stripe_account_id)
    WHERE stripe_account_id IS NOT NULL;

-- The checkout's states (services/checkout/checkout/states.py).
ALTER TABLE checkouts DROP CONSTRAINT checkouts_state_check;
ALTER TABLE checkouts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE checkouts DISABLE ROW LEVEL SECURITY;
UPDATE checkouts SET state = 'declined' WHERE state = 'completed' AND response IS NULL;
ALTER TABLE checkouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkouts FORCE ROW LEVEL SECURITY;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_state_valid CHECK (state IN (
    'processing', 'reserved', 'requires_action', 'completed', 'declined', 'failed',
    'refunding', 'refunded'));
-- The connected account the payment is made on, fixed at reservation (a later re-onboarding
-- must not send a retry, a refund or a cancel to another account).
ALTER TABLE checkouts ADD COLUMN payment_account text;
ALTER TABLE checkouts ADD COLUMN application_fee bigint NOT NULL DEFAULT 0;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_fee_valid CHECK (application_fee >= 0);
-- Set when this attempt's create was first sent: from then on the same provider key is
-- repeated until the provider answers, so one attempt can never make two intents.
ALTER TABLE checkouts ADD COLUMN intent_requested_at timestamptz;
-- Finalisation (writing the order for a succeeded payment) is tried a bounded number of times,
-- then the payment is refunded.
ALTER TABLE checkouts ADD COLUMN finalize_failures integer NOT NULL DEFAULT 0;
ALTER TABLE checkouts ADD COLUMN last_error text;
ALTER TABLE checkouts ADD COLUMN refund_id text;
DROP INDEX checkouts_unfinished;
CREATE INDEX checkouts_unfinished ON checkouts (lease_until)
    WHERE state IN ('processing', 'reserved', 'requires_action', 'refunding');

ALTER TABLE orders ADD COLUMN application_fee bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD CONSTRAINT orders_fee_valid CHECK (application_fee >= 0);
ALTER TABLE orders ADD COLUMN payment_account text;
CREATE INDEX orders_payment_intent ON orders (store_id, payment_intent_id);

CREATE OR REPLACE FUNCTION platform.claim_stale_checkouts(p_limit integer, p_lease_seconds integer)
RETURNS TABLE (store_id bigint, checkout_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE checkouts c
       SET lease_until = clock_timestamp() + make_interval(secs => p_lease_seconds)
     WHERE (c.store_id, c.id) IN (
           SELECT s.store_id, s.id FROM checkouts s
            WHERE s.state IN ('processing', 'reserved', 'requires_action', 'refunding')
              AND s.lease_until < clock_timestamp()
            ORDER BY s.lease_until
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED)
    RETURNING c.store_id, c.id
$$;

-- Connect events name only the connected account (event.account): which store owns it. The
-- checkout's worker role may ask this and nothing else about other stores.
CREATE FUNCTION platform.store_of_stripe_account(p_account text)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.id FROM stores s WHERE s.stripe_account_id = p_account
$$;
ALTER FUNCTION platform.store_of_stripe_account(text) OWNER TO shop_platform;
REVOKE ALL ON FUNCTION platform.store_of_stripe_account(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.store_of_stripe_account(text) TO shop_worker;
