-- depends: 0011__payments
-- Stripe-side changes that reach orders: every refund of an order's payment as Stripe reports
-- it (made through the admin API or on Stripe's side), the disputes (chargebacks) of the
-- payment, and the part of the platform's fee that refunds returned.
-- Citus order: tables (keyed by store_id), then the distribution step, then the constraints;
-- one subcommand per ALTER, named constraints, no volatile defaults (ids and timestamps are
-- written by the statements that insert the rows).

CREATE TABLE refunds (
    store_id          bigint      NOT NULL,
    id                uuid        NOT NULL,
    order_id          uuid        NOT NULL,
    -- Stripe's refund id (re_…), unique per store.
    stripe_refund_id  text        NOT NULL,
    amount            bigint      NOT NULL,
    currency          char(3)     NOT NULL,
    -- As Stripe last said; only ever moves forward (pending → succeeded → failed).
    status            text        NOT NULL,
    failure_reason    text,
    -- admin: made through the platform's admin API (cancel or refund); stripe: made on
    -- Stripe's side (the merchant's Dashboard), learnt of from webhooks.
    source            text        NOT NULL,
    -- Made by a cancellation (its event is order.cancelled, not order.refunded).
    cancellation      boolean     NOT NULL DEFAULT false,
    -- The share of the order's application fee this refund returned to the store.
    fee_refunded      bigint      NOT NULL DEFAULT 0,
    stripe_created_at timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT refunds_pkey PRIMARY KEY (store_id, id)
);

CREATE TABLE disputes (
    store_id          bigint      NOT NULL,
    id                uuid        NOT NULL,
    order_id          uuid        NOT NULL,
    stripe_dispute_id text        NOT NULL,
    amount            bigint      NOT NULL,
    currency          char(3)     NOT NULL,
    status            text        NOT NULL,
    reason            text,
    evidence_due_by   timestamptz,
    stripe_created_at timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT disputes_pkey PRIMARY KEY (store_id, id)
);

-- Distribution step (Citus; a no-op on plain PostgreSQL):
--   SELECT create_distributed_table('refunds', 'store_id', colocate_with => 'orders');
--   SELECT create_distributed_table('disputes', 'store_id', colocate_with => 'orders');

ALTER TABLE refunds ADD CONSTRAINT refunds_stripe_refund_key UNIQUE (store_id, stripe_refund_id);
ALTER TABLE refunds ADD CONSTRAINT refunds_order_fkey
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id) ON DELETE CASCADE;
ALTER TABLE refunds ADD CONSTRAINT refunds_amount_valid CHECK (amount > 0);
ALTER TABLE refunds ADD CONSTRAINT refunds_status_valid CHECK (status IN
    ('pending', 'requires_action', 'succeeded', 'failed', 'canceled'));
ALTER TABLE refunds ADD CONSTRAINT refunds_source_valid CHECK (source IN ('admin', 'stripe'));
ALTER TABLE refunds ADD CONSTRAINT refunds_fee_valid CHECK (fee_refunded >= 0);
ALTER TABLE refunds ADD CONSTRAINT refunds_failure_reason_length
    CHECK (char_length(failure_reason) <= 100);
CREATE INDEX refunds_of_order ON refunds (store_id, order_id);

ALTER TABLE disputes ADD CONSTRAINT disputes_stripe_dispute_key
    UNIQUE (store_id, stripe_dispute_id);
ALTER TABLE disputes ADD CONSTRAINT disputes_order_fkey
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id) ON DELETE CASCADE;
ALTER TABLE disputes ADD CONSTRAINT disputes_amount_valid CHECK (amount > 0);
ALTER TABLE disputes ADD CONSTRAINT disputes_status_valid CHECK (status IN
    ('warning_needs_response', 'warning_under_review', 'warning_closed', 'needs_response',
     'under_review', 'won', 'lost', 'prevented'));
ALTER TABLE disputes ADD CONSTRAINT disputes_reason_length CHECK (char_length(reason) <= 100);
CREATE INDEX disputes_of_order ON disputes (store_id, order_id);

SELECT enable_tenant_rls('refunds');
SELECT enable_tenant_rls('disputes');
GRANT SELECT, INSERT, UPDATE ON refunds, disputes TO shop_app;

-- What the order keeps of its refunds: the application fee returned (Stripe's application fee
-- object is the authority), and how many refunds the admin API has made (the sequence the
-- Stripe idempotency key of the next admin refund is derived from: a retry of a refund whose
-- answer was lost repeats the key, a deliberate second refund does not).
ALTER TABLE orders ADD COLUMN application_fee_refunded bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD CONSTRAINT orders_fee_refunded_valid
    CHECK (application_fee_refunded BETWEEN 0 AND application_fee);
ALTER TABLE orders ADD COLUMN admin_refunds integer NOT NULL DEFAULT 0;
ALTER TABLE orders ADD CONSTRAINT orders_admin_refunds_valid CHECK (admin_refunds >= 0);
