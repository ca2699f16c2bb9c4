-- Card payments, provider webhooks and refunds (issue 8, docs/payments.md): the payment status machine as a
-- table the status trigger reads, amounts that agree with the status, money reserved for refunds in flight,
-- one open card attempt per order, refunds, and the provider events already applied. The rules are in
-- sql/shop/payments.sql, the routes in sql/api/payments.sql; the provider calls in
-- src/postcart/integrations/payments/.
-- depends: 0025_carts_orders 0027_orders_lifecycle

-- What payment providers report (their answers, their signed webhooks) reaches the database only through
-- the layer, as postcart_gateway: no client role can claim that a payment succeeded. NOLOGIN, reached
-- through the authenticator like every other role; EXECUTE on the few functions that apply provider
-- facts (granted where they are defined) and no table privilege.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'postcart_gateway') THEN
        CREATE ROLE postcart_gateway NOLOGIN;
    END IF;
END
$roles$;
GRANT postcart_gateway TO postcart_authenticator;

SET LOCAL ROLE postcart_owner;

GRANT USAGE ON SCHEMA shop TO postcart_gateway;

-- == the payment status machine ======================================================================
CREATE TABLE shop.payment_transitions (
    from_status text NOT NULL,
    to_status text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO shop.payment_transitions (from_status, to_status) VALUES
('pending', 'authorized'),
('pending', 'voided'),
('pending', 'failed'),
('authorized', 'captured'),
('authorized', 'voided'),
('authorized', 'failed'),
('captured', 'partially_refunded'),
('captured', 'refunded'),
('partially_refunded', 'refunded');
COMMENT ON TABLE shop.payment_transitions IS
'The payment status machine: the only status changes a trigger on shop.payments allows (any other is '
'PT409 invalid_transition, from the API, the provider webhooks and plain SQL alike). A payment starts '
'pending; only manual and cash_on_delivery payments are recorded captured at once. Readable by everyone.';

ALTER TABLE shop.payment_transitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.payment_transitions FORCE ROW LEVEL SECURITY;
CREATE POLICY payment_transitions_owner_all ON shop.payment_transitions
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY payment_transitions_select_all ON shop.payment_transitions
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
GRANT SELECT ON shop.payment_transitions TO postcart_anon, postcart_customer, postcart_staff;

-- == payments: amounts that agree with the status, refunds in flight, one open card attempt ===========
ALTER TABLE shop.payments
-- Refunds asked of the provider and not yet answered: reserved so that racing refunds never exceed
-- what was captured (the CHECK below), released when the provider refuses.
ADD COLUMN refunding_amount bigint NOT NULL DEFAULT 0,
ADD CONSTRAINT payments_refunding_amount_check CHECK (
    refunding_amount >= 0 AND refunded_amount + refunding_amount <= captured_amount
),
ADD CONSTRAINT payments_status_amounts_check CHECK (
    CASE status
        WHEN 'captured' THEN captured_amount > 0 AND refunded_amount = 0
        WHEN 'partially_refunded' THEN refunded_amount > 0 AND refunded_amount < captured_amount
        WHEN 'refunded' THEN captured_amount > 0 AND refunded_amount = captured_amount
        ELSE captured_amount = 0 AND refunded_amount = 0 AND refunding_amount = 0
    END
);
COMMENT ON COLUMN shop.payments.refunding_amount IS
'Refunds asked of the provider and not yet answered (minor units): refunded_amount + refunding_amount never '
'exceeds captured_amount (CHECK), so racing refunds cannot refund more than was captured.';
-- A customer who asks twice (another tab, a lost answer) resumes the same attempt at the provider.
CREATE UNIQUE INDEX payments_open_card_key ON shop.payments (order_id)
WHERE provider = 'card' AND status IN ('pending', 'authorized');

-- == refunds =========================================================================================
CREATE TABLE shop.refunds (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id uuid NOT NULL REFERENCES shop.orders (id) ON DELETE RESTRICT,
    payment_id uuid NOT NULL REFERENCES shop.payments (id) ON DELETE RESTRICT,
    amount bigint NOT NULL,
    currency char(3) NOT NULL,
    -- pending: reserved on the payment, the provider not yet answered; succeeded; failed (refused, released).
    status text NOT NULL DEFAULT 'pending',
    reason text,
    provider_reference text,
    failure_code text,
    staff_id uuid REFERENCES auth.accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refunds_amount_check CHECK (amount > 0),
    CONSTRAINT refunds_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT refunds_status_check CHECK (status IN ('pending', 'succeeded', 'failed')),
    CONSTRAINT refunds_reason_check CHECK (char_length(btrim(reason)) BETWEEN 1 AND 1000),
    CONSTRAINT refunds_provider_reference_check CHECK (char_length(provider_reference) BETWEEN 1 AND 255),
    CONSTRAINT refunds_failure_code_check CHECK (char_length(failure_code) BETWEEN 1 AND 100)
);
CREATE INDEX refunds_order_id_idx ON shop.refunds (order_id);
CREATE INDEX refunds_payment_id_idx ON shop.refunds (payment_id);
CREATE INDEX refunds_staff_id_idx ON shop.refunds (staff_id) WHERE staff_id IS NOT NULL;
CREATE UNIQUE INDEX refunds_provider_reference_key ON shop.refunds (provider_reference)
WHERE provider_reference IS NOT NULL;
COMMENT ON TABLE shop.refunds IS
'Refunds of a payment, asked by staff: pending while the provider has not answered (the amount is reserved '
'on the payment as refunding_amount), then succeeded (refunded_amount goes up) or failed (the reservation '
'is released). Manual payments are refunded by record only (succeeded at once).';

ALTER TABLE shop.refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.refunds FORCE ROW LEVEL SECURITY;
CREATE POLICY refunds_owner_all ON shop.refunds FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY refunds_select_order_staff ON shop.refunds FOR SELECT TO order_manager, support_agent USING (TRUE);
GRANT SELECT ON shop.refunds TO order_manager, support_agent;

-- == provider events applied =========================================================================
CREATE TABLE integration.provider_events (
    provider text NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    -- The provider object it was about (a PaymentIntent id) and the payment it matched, if any.
    object_id text,
    payment_id uuid REFERENCES shop.payments (id) ON DELETE SET NULL,
    -- What applying it did: applied, duplicate-free no-op (ignored), or no payment of ours (unknown).
    outcome text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id),
    CONSTRAINT provider_events_provider_check CHECK (provider ~ '^[a-z0-9]+(_[a-z0-9]+)*$'),
    CONSTRAINT provider_events_event_id_check CHECK (char_length(event_id) BETWEEN 1 AND 255),
    CONSTRAINT provider_events_type_check CHECK (char_length(type) BETWEEN 1 AND 255),
    CONSTRAINT provider_events_object_id_check CHECK (char_length(object_id) BETWEEN 1 AND 255),
    CONSTRAINT provider_events_outcome_check CHECK (outcome IN ('applied', 'ignored', 'unknown'))
);
CREATE INDEX provider_events_payment_id_idx ON integration.provider_events (payment_id);
CREATE INDEX provider_events_received_at_idx ON integration.provider_events (received_at);
COMMENT ON TABLE integration.provider_events IS
'Payment provider webhook events already applied, one row per (provider, event id): a redelivered event '
'finds its row and changes nothing. Holds the type, the object and payment it was about and the outcome, '
'never the event body. Written only by shop.apply_card_event (postcart_gateway).';

ALTER TABLE integration.provider_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.provider_events FORCE ROW LEVEL SECURITY;
CREATE POLICY provider_events_owner_all ON integration.provider_events
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY provider_events_select_order_staff ON integration.provider_events
FOR SELECT TO order_manager, support_agent USING (TRUE);
GRANT SELECT ON TABLE integration.provider_events TO order_manager, support_agent;

RESET ROLE;
