-- Behaviour events (issue 10): what shoppers do on the storefront (page, product and cart views, checkout
-- starts, searches), sent in batches by POST /v1/events (api.record_events) and recorded by the server for
-- searches. One month per partition, so retention drops whole partitions instead of deleting rows; the
-- partitions are made ahead, and old ones detached and dropped, by the worker
-- (shop.maintain_event_partitions in sql/shop/behaviour_events.sql). docs/events.md.
-- depends: 0041_audit_erasure

SET LOCAL ROLE postcart_owner;

CREATE TABLE shop.behaviour_events (
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    type text NOT NULL,
    source text NOT NULL DEFAULT 'client',
    session_id text,
    account_id uuid,
    product_id uuid,
    query text,
    result_count integer,
    CONSTRAINT behaviour_events_type_known CHECK (
        type IN ('page_view', 'product_view', 'add_to_cart', 'checkout_started', 'search')
    ),
    CONSTRAINT behaviour_events_source_known CHECK (source IN ('client', 'server')),
    CONSTRAINT behaviour_events_session_length CHECK (char_length(session_id) BETWEEN 1 AND 100),
    CONSTRAINT behaviour_events_query_length CHECK (char_length(query) BETWEEN 1 AND 200),
    -- Only the server knows how many products a search found; clients' search events carry none.
    CONSTRAINT behaviour_events_result_count_server CHECK (
        (result_count IS NULL OR source = 'server') AND result_count >= 0
    ),
    CONSTRAINT behaviour_events_client_session CHECK (source = 'server' OR session_id IS NOT NULL)
) PARTITION BY RANGE (occurred_at);
COMMENT ON TABLE shop.behaviour_events IS
'Storefront behaviour (docs/events.md): one row per event, partitioned by month of occurred_at. Written only '
'by api.record_events (client batches) and shop.record_searches (searches the server answered); read only '
'by the reporting views. No foreign keys: products and accounts may go, their history stays as counts.';
COMMENT ON COLUMN shop.behaviour_events.occurred_at IS 'When it happened (the client''s clock, within limits).';
COMMENT ON COLUMN shop.behaviour_events.received_at IS 'When the server stored it.';
COMMENT ON COLUMN shop.behaviour_events.type IS
'page_view, product_view, add_to_cart, checkout_started or search.';
COMMENT ON COLUMN shop.behaviour_events.source IS
'client: sent to POST /v1/events; server: recorded by the server (searches of GET /v1/products?q=).';
COMMENT ON COLUMN shop.behaviour_events.session_id IS
'The client''s opaque browsing-session id (X-Session-Id for server searches; NULL when not sent). Not an '
'auth token.';
COMMENT ON COLUMN shop.behaviour_events.account_id IS
'The signed-in account, from the caller''s session (never from the body); NULL for guests.';
COMMENT ON COLUMN shop.behaviour_events.product_id IS 'The product viewed or added, when there is one.';
COMMENT ON COLUMN shop.behaviour_events.query IS
'Search text, normalised: trimmed, runs of white space made one space, lower case, at most 200 characters.';
COMMENT ON COLUMN shop.behaviour_events.result_count IS
'Server searches: how many products the first page listed (0: nothing found). NULL for client events.';

-- Funnels read by day and type; searches by term. Indexes on the parent reach every partition.
CREATE INDEX behaviour_events_occurred_at_type_idx ON shop.behaviour_events (occurred_at, type);
-- The export and erasure of one customer's events (api.export_me, api.delete_me); guests' rows stay out of it.
CREATE INDEX behaviour_events_account_id_idx ON shop.behaviour_events (account_id) WHERE account_id IS NOT NULL;

CREATE TABLE shop.behaviour_event_settings (
    id boolean PRIMARY KEY DEFAULT TRUE,
    retention_months integer NOT NULL DEFAULT 13,
    months_ahead integer NOT NULL DEFAULT 2,
    CONSTRAINT behaviour_event_settings_one_row CHECK (id),
    -- Events up to 7 days old are accepted: the previous month's partition must still exist.
    CONSTRAINT behaviour_event_settings_retention_range CHECK (retention_months BETWEEN 2 AND 120),
    CONSTRAINT behaviour_event_settings_ahead_range CHECK (months_ahead BETWEEN 1 AND 12)
);
COMMENT ON TABLE shop.behaviour_event_settings IS
'One row: how long behaviour events are kept (retention_months: partitions ending that many months before '
'the current month are detached and dropped) and how many months of partitions the worker creates after the '
'current one (months_ahead). Edited in SQL by a store admin or DBA.';
COMMENT ON COLUMN shop.behaviour_event_settings.id IS 'Always true: the table has one row.';
COMMENT ON COLUMN shop.behaviour_event_settings.retention_months IS
'Months of events kept besides the current one (2..120, default 13).';
COMMENT ON COLUMN shop.behaviour_event_settings.months_ahead IS
'Months of empty partitions kept ready after the current one (1..12, default 2).';
INSERT INTO shop.behaviour_event_settings DEFAULT VALUES;

ALTER TABLE shop.behaviour_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.behaviour_events FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.behaviour_event_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.behaviour_event_settings FORCE ROW LEVEL SECURITY;

-- Nobody but the owner (the SECURITY DEFINER writers, the reporting views) reads or writes events.
CREATE POLICY owner_all ON shop.behaviour_events
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY owner_all ON shop.behaviour_event_settings
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY behaviour_event_settings_store_admin ON shop.behaviour_event_settings
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);

REVOKE ALL ON shop.behaviour_events, shop.behaviour_event_settings FROM PUBLIC;
GRANT SELECT (retention_months, months_ahead) ON shop.behaviour_event_settings TO store_admin;
GRANT UPDATE (retention_months, months_ahead) ON shop.behaviour_event_settings TO store_admin;

-- A retention change is someone's decision: audited. The events are not (see the reason).
SELECT audit.enable_for('shop.behaviour_event_settings');
INSERT INTO audit.unaudited_tables (table_name, reason) VALUES
('shop.behaviour_events', 'append-only clickstream written by the storefront; nobody decides a row');

-- Floods: a client sends a batch every few seconds while browsing; this is far above that.
INSERT INTO integration.rate_limit_rules (name, functions, client_key, requests, per, burst) VALUES
('events_per_ip', '{record_events}', 'ip', 1800, '1 hour', 120);

RESET ROLE;
