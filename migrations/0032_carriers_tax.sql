-- Shipping carriers and an external tax service (issue 8 items 4 and 5; docs/carriers.md): labels bought
-- through a carrier adapter and the tracking state of each fulfilment (its machine as a table, like the
-- order's), the carrier events already applied, and where an order's tax came from. The rules are in
-- sql/shop/carriers.sql and sql/shop/tax_quotes.sql, the routes in sql/api/carriers.sql; the carrier and
-- tax service calls in src/postcart/integrations/.
-- depends: 0025_carts_orders 0027_orders_lifecycle 0029_webhooks 0030_card_payments

-- What a carrier reports (labels sold, signed tracking webhooks) reaches the database only through the
-- layer, as postcart_carrier: no client role can claim a parcel was delivered. NOLOGIN, reached through the
-- authenticator; EXECUTE on the few functions that apply carrier facts and no table privilege (as
-- postcart_gateway is for payment providers).
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'postcart_carrier') THEN
        CREATE ROLE postcart_carrier NOLOGIN;
    END IF;
END
$roles$;
GRANT postcart_carrier TO postcart_authenticator;

SET LOCAL ROLE postcart_owner;

GRANT USAGE ON SCHEMA shop TO postcart_carrier;

-- == where an order's tax came from ==================================================================
ALTER TABLE shop.orders
ADD COLUMN tax_source text NOT NULL DEFAULT 'builtin',
ADD COLUMN tax_fallback_reason text,
ADD CONSTRAINT orders_tax_source_check CHECK (tax_source IN ('builtin', 'external', 'builtin_fallback')),
ADD CONSTRAINT orders_tax_fallback_reason_check CHECK (
    (tax_source = 'builtin_fallback') = (tax_fallback_reason IS NOT NULL)
    AND char_length(tax_fallback_reason) BETWEEN 1 AND 100
);
COMMENT ON COLUMN shop.orders.tax_source IS
'Who computed the tax: builtin (shop.compute_tax; no tax service configured), external (the tax service''s '
'quote for exactly these lines, amounts and address), or builtin_fallback (a tax service is configured but '
'its quote was missing, late, wrong or for other amounts: built-in rates were charged; staff should check).';
COMMENT ON COLUMN shop.orders.tax_fallback_reason IS
'Why the built-in rates were used although a tax service is configured (timeout, unavailable, bad_answer, '
'quote_mismatch...); set exactly when tax_source = builtin_fallback.';
-- Staff look for flagged orders (the reporting view and a filter); few rows.
CREATE INDEX orders_tax_fallback_idx ON shop.orders (created_at) WHERE tax_source = 'builtin_fallback';

-- == labels and tracking on fulfilments ==============================================================
ALTER TABLE shop.fulfillments
ADD COLUMN carrier_service text,
-- none: no label asked (staff typed the tracking number, or none); pending: asked, no answer recorded;
-- purchased; failed (label_error says why; staff may retry).
ADD COLUMN label_status text NOT NULL DEFAULT 'none',
-- Definite refusals so far: part of the idempotency key, so a retry after a refusal is a new request,
-- and a retry after a lost answer (no refusal) repeats the same key and cannot buy a second label.
ADD COLUMN label_attempt integer NOT NULL DEFAULT 0,
ADD COLUMN label_error text,
ADD COLUMN label_url text,
ADD COLUMN label_amount bigint,
ADD COLUMN label_currency char(3),
ADD COLUMN label_reference text,
ADD COLUMN label_provider text,
ADD COLUMN tracking_status text NOT NULL DEFAULT 'shipped',
ADD COLUMN tracking_status_at timestamptz,
ADD COLUMN delivered_at timestamptz,
ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
ADD CONSTRAINT fulfillments_carrier_service_check CHECK (char_length(carrier_service) BETWEEN 1 AND 100),
ADD CONSTRAINT fulfillments_label_status_check CHECK (label_status IN ('none', 'pending', 'purchased', 'failed')),
ADD CONSTRAINT fulfillments_label_attempt_check CHECK (label_attempt >= 0),
ADD CONSTRAINT fulfillments_label_error_check CHECK (
    (label_status = 'failed') = (label_error IS NOT NULL) AND char_length(label_error) BETWEEN 1 AND 100
),
ADD CONSTRAINT fulfillments_label_purchased_check CHECK (
    (label_status = 'purchased')
    = (label_reference IS NOT NULL AND label_url IS NOT NULL AND tracking_number IS NOT NULL)
),
ADD CONSTRAINT fulfillments_label_url_check CHECK (label_url ~ '^https?://' AND char_length(label_url) <= 2000),
ADD CONSTRAINT fulfillments_label_amount_check CHECK (
    label_amount >= 0 AND (label_amount IS NULL) = (label_currency IS NULL)
),
ADD CONSTRAINT fulfillments_label_currency_check CHECK (label_currency ~ '^[A-Z]{3}$'),
ADD CONSTRAINT fulfillments_label_reference_check CHECK (char_length(label_reference) BETWEEN 1 AND 255),
ADD CONSTRAINT fulfillments_label_provider_check CHECK (char_length(label_provider) BETWEEN 1 AND 100),
ADD CONSTRAINT fulfillments_tracking_status_check CHECK (
    tracking_status IN ('shipped', 'in_transit', 'delivered', 'failure', 'returned')
),
ADD CONSTRAINT fulfillments_delivered_check CHECK ((tracking_status = 'delivered') = (delivered_at IS NOT NULL));
COMMENT ON COLUMN shop.fulfillments.carrier_service IS
'The carrier''s service level asked for the label (e.g. usps_priority).';
COMMENT ON COLUMN shop.fulfillments.label_status IS
'none (no label asked), pending (asked; no answer recorded yet), purchased, failed (label_error; retry with '
'POST /v1/admin/fulfillments/{id}/label).';
COMMENT ON COLUMN shop.fulfillments.label_attempt IS
'Definite refusals by the carrier so far; the purchase''s idempotency key is the fulfilment id and this number.';
COMMENT ON COLUMN shop.fulfillments.tracking_status IS
'Where the parcel is, from the carrier''s tracking webhooks: shipped -> in_transit -> delivered, or failure / '
'returned; moves only along shop.fulfillment_tracking_transitions and never back to an older report.';
COMMENT ON COLUMN shop.fulfillments.tracking_status_at IS 'When the carrier says the current tracking status began.';
CREATE INDEX fulfillments_tracking_number_idx ON shop.fulfillments (tracking_number) WHERE tracking_number IS NOT NULL;
CREATE INDEX fulfillments_label_open_idx ON shop.fulfillments (created_at) WHERE label_status IN ('pending', 'failed');

CREATE TABLE shop.fulfillment_tracking_transitions (
    from_status text NOT NULL,
    to_status text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO shop.fulfillment_tracking_transitions (from_status, to_status) VALUES
('shipped', 'in_transit'),
('shipped', 'delivered'),
('shipped', 'failure'),
('shipped', 'returned'),
('in_transit', 'delivered'),
('in_transit', 'failure'),
('in_transit', 'returned'),
('failure', 'in_transit'),
('failure', 'delivered'),
('failure', 'returned');
COMMENT ON TABLE shop.fulfillment_tracking_transitions IS
'The tracking status machine of a fulfilment: the only changes a carrier report may make (delivered and '
'returned are final; a report naming any other change is recorded and ignored). Readable by everyone.';

ALTER TABLE shop.fulfillment_tracking_transitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.fulfillment_tracking_transitions FORCE ROW LEVEL SECURITY;
CREATE POLICY fulfillment_tracking_transitions_owner_all ON shop.fulfillment_tracking_transitions
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY fulfillment_tracking_transitions_select_all ON shop.fulfillment_tracking_transitions
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
GRANT SELECT ON shop.fulfillment_tracking_transitions TO postcart_anon, postcart_customer, postcart_staff;

-- == carrier tracking events applied =================================================================
CREATE TABLE integration.carrier_events (
    carrier text NOT NULL,
    event_id text NOT NULL,
    tracking_number text NOT NULL,
    status text NOT NULL,
    status_at timestamptz,
    -- applied (moved at least one fulfilment), ignored (stale or not a forward move), unknown (no
    -- fulfilment of ours has that tracking number).
    outcome text NOT NULL DEFAULT 'unknown',
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (carrier, event_id),
    CONSTRAINT carrier_events_carrier_check CHECK (carrier ~ '^[a-z0-9]+(_[a-z0-9]+)*$' AND length(carrier) <= 50),
    CONSTRAINT carrier_events_event_id_check CHECK (char_length(event_id) BETWEEN 1 AND 255),
    CONSTRAINT carrier_events_tracking_number_check CHECK (char_length(tracking_number) BETWEEN 1 AND 100),
    CONSTRAINT carrier_events_status_check CHECK (
        status IN ('shipped', 'in_transit', 'delivered', 'failure', 'returned')
    ),
    CONSTRAINT carrier_events_outcome_check CHECK (outcome IN ('applied', 'ignored', 'unknown'))
);
CREATE INDEX carrier_events_tracking_number_idx ON integration.carrier_events (tracking_number);
CREATE INDEX carrier_events_received_at_idx ON integration.carrier_events (received_at);
COMMENT ON TABLE integration.carrier_events IS
'Carrier tracking webhook events already applied, one row per (carrier adapter, event id): a redelivered '
'event finds its row and changes nothing. Holds the tracking number, status and outcome, never the body. '
'Written only by shop.apply_carrier_event (postcart_carrier).';

ALTER TABLE integration.carrier_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.carrier_events FORCE ROW LEVEL SECURITY;
CREATE POLICY carrier_events_owner_all ON integration.carrier_events
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY carrier_events_select_order_staff ON integration.carrier_events
FOR SELECT TO order_manager, support_agent USING (TRUE);
GRANT SELECT ON TABLE integration.carrier_events TO order_manager, support_agent;

INSERT INTO integration.event_types (type, description) VALUES
('fulfillment.label_purchased', 'A carrier label was bought for a fulfilment (tracking number and label URL).'),
('fulfillment.delivered', 'The carrier reported a fulfilment delivered.');

RESET ROLE;
