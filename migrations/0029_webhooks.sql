-- Outgoing webhooks (issue 8, items 2 and 6; docs/webhooks.md): the catalogue of event types a
-- subscription may name, store admins' subscriptions, one delivery per event and matching subscription
-- (made by the dispatcher from the outbox, integration.events), and the history of every HTTP attempt.
-- Subscriptions carry no secret: the signing secret is derived in Python from the server's secret key, the
-- subscription id and secret_version, so it never reaches PostgreSQL. Rules, triggers and the worker's
-- functions are in sql/integration/webhooks.sql, the routes in sql/api/webhooks.sql.
-- depends: 0020_worker_sweeps 0023_inventory

SET LOCAL ROLE postcart_owner;

-- == event types =====================================================================================
CREATE TABLE integration.event_types (
    type text PRIMARY KEY,
    description text NOT NULL,
    CONSTRAINT event_types_type_check CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' AND length(type) <= 100)
);
COMMENT ON TABLE integration.event_types IS
'The event types a webhook subscription may name (besides "*", every event): the ones integration.emit '
'writes. A migration that makes the database emit a new type adds its row here.';
COMMENT ON COLUMN integration.event_types.description IS 'When the event is written, for the staff who subscribe.';

INSERT INTO integration.event_types (type, description) VALUES
('order.created', 'An order was placed at checkout.'),
('order.paid', 'An order became paid: captured payments cover its total.'),
('order.cancelled', 'An order was cancelled (by the customer, staff or the unpaid-order sweeper).'),
('order.fulfilled', 'Every unit of an order was shipped.'),
('order.completed', 'A fulfilled order was completed.'),
('order.returned', 'A fulfilled order was returned.'),
('order.refunded', 'An order was refunded.'),
('payment.captured', 'A payment on an order was captured (recorded by staff or confirmed by a provider).'),
('payment.refunded', 'A payment was refunded in part or in full.'),
('fulfillment.created', 'Units of an order were shipped (carrier and tracking number when known).'),
('return.created', 'Shipped units came back.'),
('stock.low', 'A variant''s available quantity fell to or below its low-stock threshold.'),
('customer.created', 'A customer account was created.'),
('cart.abandoned', 'An open cart with an e-mail and items expired unordered.');

-- == subscriptions ===================================================================================
CREATE TABLE integration.webhook_subscriptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url text NOT NULL,
    event_types text[] NOT NULL,
    description text,
    active boolean NOT NULL DEFAULT TRUE,
    secret_version integer NOT NULL DEFAULT 1,
    secret_rotated_at timestamptz,
    created_by uuid DEFAULT auth.current_account_id() REFERENCES auth.accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- http(s), a host, no user:password@ (credentials would be shown to every store admin), no spaces or
    -- control characters. The trigger checks the same with a message per field.
    CONSTRAINT webhook_subscriptions_url_check CHECK (
        url ~ '^https?://[^[:space:][:cntrl:]/?#@\\]+([/?#][^[:space:][:cntrl:]]*)?$' AND length(url) <= 2000
    ),
    CONSTRAINT webhook_subscriptions_event_types_check CHECK (
        cardinality(event_types) BETWEEN 1 AND 100 AND array_position(event_types, NULL) IS NULL
    ),
    CONSTRAINT webhook_subscriptions_description_check CHECK (length(description) <= 500),
    CONSTRAINT webhook_subscriptions_secret_version_check CHECK (secret_version >= 1)
);
COMMENT ON TABLE integration.webhook_subscriptions IS
'Where events are delivered (store_admin): a URL and the event types it receives (["*"]: all). Only '
'active subscriptions get new deliveries, and only of events written after they were created; while '
'inactive, their pending deliveries wait. No secret is stored: see secret_version.';
COMMENT ON COLUMN integration.webhook_subscriptions.url IS
'http(s) URL the events are POSTed to; no credentials in it.';
COMMENT ON COLUMN integration.webhook_subscriptions.event_types IS
'Types from integration.event_types, or {*} alone for every event.';
COMMENT ON COLUMN integration.webhook_subscriptions.secret_version IS
'Which signing secret is current: the secret is HMAC-SHA256(server secret key, id and this number), '
'derived in Python (web app and worker) and never stored. Rotation adds 1; it never goes back.';
COMMENT ON COLUMN integration.webhook_subscriptions.secret_rotated_at IS
'Last rotation; for 24 hours after it deliveries are signed with the previous secret too.';
COMMENT ON COLUMN integration.webhook_subscriptions.created_by IS 'The staff account that created it.';

-- == deliveries ======================================================================================
CREATE TABLE integration.webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id uuid NOT NULL REFERENCES integration.webhook_subscriptions (id) ON DELETE CASCADE,
    event_id uuid NOT NULL REFERENCES integration.events (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz DEFAULT now(),
    locked_until timestamptz,
    last_attempt_at timestamptz,
    last_response_status integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_event_key UNIQUE (subscription_id, event_id),
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'dead')),
    CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0),
    CONSTRAINT webhook_deliveries_pending_check CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    CONSTRAINT webhook_deliveries_lease_check CHECK (locked_until IS NULL OR status = 'pending'),
    CONSTRAINT webhook_deliveries_delivered_check CHECK ((status = 'delivered') = (delivered_at IS NOT NULL)),
    CONSTRAINT webhook_deliveries_response_check CHECK (last_response_status BETWEEN 100 AND 599),
    CONSTRAINT webhook_deliveries_error_check CHECK (length(last_error) <= 1000)
);
-- The sender's claim: per subscription, the due pending deliveries, earliest first.
CREATE INDEX webhook_deliveries_due_idx ON integration.webhook_deliveries (subscription_id, next_attempt_at)
WHERE status = 'pending';
-- Staff's list, newest first; the second serves ?status=pending|dead (few rows) without the delivered ones.
CREATE INDEX webhook_deliveries_subscription_idx
ON integration.webhook_deliveries (subscription_id, created_at, id);
CREATE INDEX webhook_deliveries_undelivered_idx
ON integration.webhook_deliveries (subscription_id, status, created_at, id) WHERE status <> 'delivered';
-- Deleting events (a retention sweep, tests) cascades here.
CREATE INDEX webhook_deliveries_event_id_idx ON integration.webhook_deliveries (event_id);
COMMENT ON TABLE integration.webhook_deliveries IS
'One event for one subscription, made by integration.dispatch_events. status: pending (next_attempt_at '
'set), delivered (a 2xx answer) or dead (no 2xx after the last attempt); a replay puts a delivered or '
'dead one back to pending with attempts 0. Written only by the integration functions.';
COMMENT ON COLUMN integration.webhook_deliveries.attempts IS 'Attempts started since creation or the last replay.';
COMMENT ON COLUMN integration.webhook_deliveries.next_attempt_at IS
'When a pending delivery is next due (while its subscription is inactive it waits); NULL once delivered or dead.';
COMMENT ON COLUMN integration.webhook_deliveries.locked_until IS
'Lease of the worker sending the current attempt; if no outcome is recorded by then, the attempt counts '
'as lost and the delivery is due again.';
COMMENT ON COLUMN integration.webhook_deliveries.last_response_status IS 'HTTP status of the last answer, if any.';
COMMENT ON COLUMN integration.webhook_deliveries.last_error IS
'Why the last attempt failed without an answer (timeout, refused, ...).';

CREATE TABLE integration.webhook_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES integration.webhook_deliveries (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    attempted_at timestamptz NOT NULL,
    duration_ms integer,
    response_status integer,
    error text,
    CONSTRAINT webhook_attempts_attempt_check CHECK (attempt >= 1),
    CONSTRAINT webhook_attempts_duration_check CHECK (duration_ms >= 0),
    CONSTRAINT webhook_attempts_response_check CHECK (response_status BETWEEN 100 AND 599),
    CONSTRAINT webhook_attempts_outcome_check CHECK (response_status IS NOT NULL OR error IS NOT NULL),
    CONSTRAINT webhook_attempts_error_check CHECK (length(error) <= 1000)
);
CREATE INDEX webhook_attempts_delivery_id_idx ON integration.webhook_attempts (delivery_id, id);
COMMENT ON TABLE integration.webhook_attempts IS
'Every HTTP attempt of a delivery: when it started, how long it took, the answer''s status or the error '
'(including attempts lost with their worker). Append-only; written by the integration functions.';
COMMENT ON COLUMN integration.webhook_attempts.attempt IS 'The delivery''s attempt number (1 after a replay again).';

-- == row-level security and grants ===================================================================
ALTER TABLE integration.event_types ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.event_types FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.webhook_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.webhook_subscriptions FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.webhook_deliveries FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.webhook_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.webhook_attempts FORCE ROW LEVEL SECURITY;

CREATE POLICY event_types_owner_all ON integration.event_types
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY event_types_select_store_admin ON integration.event_types
FOR SELECT TO store_admin USING (TRUE);
CREATE POLICY webhook_subscriptions_owner_all ON integration.webhook_subscriptions
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY webhook_subscriptions_store_admin ON integration.webhook_subscriptions
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY webhook_deliveries_owner_all ON integration.webhook_deliveries
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY webhook_deliveries_select_store_admin ON integration.webhook_deliveries
FOR SELECT TO store_admin USING (TRUE);
CREATE POLICY webhook_attempts_owner_all ON integration.webhook_attempts
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY webhook_attempts_select_store_admin ON integration.webhook_attempts
FOR SELECT TO store_admin USING (TRUE);

-- Store admins manage subscriptions (secret_version only goes up, through the rotation route; the trigger
-- refuses anything else) and read deliveries; deliveries and attempts are written by SECURITY DEFINER
-- functions alone (the dispatcher, the sender's claim and record, replay).
GRANT SELECT (type, description) ON TABLE integration.event_types TO store_admin;
GRANT SELECT (
    id, url, event_types, description, active, secret_version, secret_rotated_at, created_by, created_at, updated_at
) ON TABLE integration.webhook_subscriptions TO store_admin;
GRANT INSERT (url, event_types, description, active) ON TABLE integration.webhook_subscriptions TO store_admin;
GRANT UPDATE (url, event_types, description, active, secret_version)
ON TABLE integration.webhook_subscriptions TO store_admin;
GRANT DELETE ON TABLE integration.webhook_subscriptions TO store_admin;
GRANT SELECT (
    id, subscription_id, event_id, status, attempts, next_attempt_at, locked_until, last_attempt_at,
    last_response_status, last_error, delivered_at, created_at, updated_at
) ON TABLE integration.webhook_deliveries TO store_admin;
GRANT SELECT (
    id, delivery_id, attempt, attempted_at, duration_ms, response_status, error
) ON TABLE integration.webhook_attempts TO store_admin;

RESET ROLE;
