-- Inventory (issue 7, part 1): warehouse priority, backorder limits and low-stock thresholds per variant,
-- the append-only stock ledger whose sum is on_hand, low-stock alert state, and the outbox of domain
-- events (integration.events). Rule functions and triggers live in sql/shop/inventory.sql and
-- sql/integration/events.sql; the routes in sql/api/inventory.sql. See docs/inventory.md.
-- depends: 0003_catalog 0010_stores 0012_catalog_admin_products 0015_warehouse_countries 0017_catalog_schedule_instants

SET LOCAL ROLE postcart_owner;

-- == warehouses: allocation order ====================================================================
ALTER TABLE shop.warehouses
ADD COLUMN priority integer NOT NULL DEFAULT 100,
ADD CONSTRAINT warehouses_priority_check CHECK (priority BETWEEN 0 AND 1000000);
COMMENT ON COLUMN shop.warehouses.priority IS
'Allocation order: stock is taken from the lowest number first (0 before 100); ties by code. Default 100.';

CREATE POLICY warehouses_update_inventory_manager ON shop.warehouses
FOR UPDATE TO inventory_manager USING (TRUE) WITH CHECK (TRUE);
GRANT SELECT (priority) ON shop.warehouses TO postcart_staff;
GRANT UPDATE (priority) ON shop.warehouses TO inventory_manager;

-- == variants: backorders and low-stock threshold ====================================================
ALTER TABLE shop.product_variants
ADD COLUMN backorder_limit integer NOT NULL DEFAULT 0,
ADD COLUMN low_stock_threshold integer,
ADD CONSTRAINT product_variants_backorder_limit_check CHECK (backorder_limit BETWEEN 0 AND 1000000000),
ADD CONSTRAINT product_variants_low_stock_threshold_check CHECK (low_stock_threshold BETWEEN 0 AND 1000000000),
-- Target of stock_levels' (variant_id, backorder_limit) foreign key: each stock row carries its
-- variant's limit, so the limit is checked by a CHECK on the stock row itself.
ADD CONSTRAINT product_variants_id_backorder_limit_key UNIQUE (id, backorder_limit);
COMMENT ON COLUMN shop.product_variants.backorder_limit IS
'Units that may be reserved beyond on_hand in each warehouse (backorders); 0 = no backorders.';
COMMENT ON COLUMN shop.product_variants.low_stock_threshold IS
'A stock.low event is written when the variant''s available quantity (all warehouses) falls to or below '
'this; NULL = no alert.';
-- "Does any variant have a threshold, and which?": the low-stock trigger asks on every stock write.
CREATE INDEX product_variants_low_stock_idx ON shop.product_variants (id) WHERE low_stock_threshold IS NOT NULL;

CREATE POLICY product_variants_update_inventory_manager ON shop.product_variants
FOR UPDATE TO inventory_manager USING (TRUE) WITH CHECK (TRUE);
GRANT SELECT (backorder_limit, low_stock_threshold) ON shop.product_variants TO postcart_staff;
GRANT UPDATE (backorder_limit, low_stock_threshold) ON shop.product_variants TO inventory_manager;

-- == stock levels: reservations up to the backorder limit ============================================
-- The copy of the variant's limit is kept right by the composite foreign key (ON UPDATE CASCADE), so
-- lowering a limit below what is already reserved fails on the CHECK below.
ALTER TABLE shop.stock_levels
ADD COLUMN backorder_limit integer NOT NULL DEFAULT 0;
ALTER TABLE shop.stock_levels
ALTER COLUMN backorder_limit DROP DEFAULT,
DROP CONSTRAINT stock_levels_variant_id_fkey,
ADD CONSTRAINT stock_levels_variant_fkey FOREIGN KEY (variant_id, backorder_limit)
REFERENCES shop.product_variants (id, backorder_limit) ON UPDATE CASCADE ON DELETE CASCADE,
DROP CONSTRAINT stock_levels_reserved_le_on_hand,
-- reserved - on_hand cannot overflow: both are >= 0.
ADD CONSTRAINT stock_levels_reserved_within_backorder_limit CHECK (reserved - on_hand <= backorder_limit);
COMMENT ON COLUMN shop.stock_levels.on_hand IS
'Units physically here: always the sum of this variant''s movements in this warehouse (shop.stock_movements); '
'changed only by inserting movements.';
COMMENT ON COLUMN shop.stock_levels.reserved IS
'Units promised to orders not yet shipped; at most on_hand + backorder_limit.';
COMMENT ON COLUMN shop.stock_levels.backorder_limit IS
'Copy of the variant''s backorder_limit (foreign key, cascaded; filled by a trigger on insert).';
COMMENT ON TABLE shop.stock_levels IS
'Stock of a variant in a warehouse: on_hand is physically there (the sum of its ledger, '
'shop.stock_movements), reserved is promised to orders (at most on_hand + the variant''s backorder_limit); '
'available = on_hand - reserved. Staff only; the storefront sees availability through '
'shop.variant_availability() and shop.product_availability().';

-- == the stock ledger ================================================================================
CREATE TABLE shop.stock_movements (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- A variant or warehouse with a history is not deleted (orders and audits refer to it).
    variant_id uuid NOT NULL REFERENCES shop.product_variants (id),
    warehouse_id uuid NOT NULL REFERENCES shop.warehouses (id),
    kind text NOT NULL,
    quantity integer NOT NULL,
    reference text,
    note text,
    -- Who: the signed-in staff member; NULL for the system (seed, demo, migrations, customers' orders).
    staff_id uuid REFERENCES auth.accounts (id)
    DEFAULT (CASE WHEN auth.claims() ->> 'kind' = 'staff' THEN auth.current_account_id() END),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_movements_kind_check CHECK (kind IN ('receipt', 'adjustment', 'sale', 'return', 'correction')),
    CONSTRAINT stock_movements_quantity_check CHECK (quantity <> 0 AND quantity BETWEEN -1000000000 AND 1000000000),
    -- Goods come in by receipts and returns and go out by sales; counts and fixes go either way.
    CONSTRAINT stock_movements_sign_check CHECK (
        CASE kind WHEN 'receipt' THEN quantity > 0 WHEN 'return' THEN quantity > 0 WHEN 'sale' THEN quantity < 0
        ELSE TRUE END
    ),
    CONSTRAINT stock_movements_reference_check CHECK (char_length(btrim(reference)) BETWEEN 1 AND 200),
    CONSTRAINT stock_movements_note_check CHECK (char_length(btrim(note)) BETWEEN 1 AND 1000)
);
-- A variant's movements newest first (keyset pages), and the ledger sum per (variant, warehouse) as an
-- index-only scan: the balance check reads it on every change of on_hand.
CREATE INDEX stock_movements_variant_idx ON shop.stock_movements (variant_id, created_at, id)
INCLUDE (warehouse_id, quantity);
CREATE INDEX stock_movements_staff_id_idx ON shop.stock_movements (staff_id) WHERE staff_id IS NOT NULL;
COMMENT ON TABLE shop.stock_movements IS
'The stock ledger, append-only: every change of a stock row''s on_hand is one movement (quantity > 0 in, '
'< 0 out) of a kind: receipt, adjustment (a count), sale, return or correction. The sum of the movements '
'of a (variant, warehouse) is its on_hand at every commit. Nobody may update or delete a movement; a '
'mistake is fixed by a correction.';
COMMENT ON COLUMN shop.stock_movements.quantity IS 'Units in (> 0) or out (< 0); never 0.';
COMMENT ON COLUMN shop.stock_movements.reference IS
'What the movement belongs to: an order id for sales and returns, a delivery note for a receipt.';
COMMENT ON COLUMN shop.stock_movements.note IS 'Free text from the person who recorded it.';
COMMENT ON COLUMN shop.stock_movements.staff_id IS
'The staff account that recorded it (from the request''s claims); NULL for the system.';

-- == low-stock state =================================================================================
CREATE TABLE shop.low_stock_alerts (
    variant_id uuid PRIMARY KEY REFERENCES shop.product_variants (id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    available bigint NOT NULL,
    low_stock_threshold integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE shop.low_stock_alerts IS
'Variants at or below their low-stock threshold, one row each since the stock.low event (event_id) that '
'said so; the row goes when the variant is back above (or loses its threshold), re-arming the alert. '
'Written only by shop.refresh_low_stock().';
COMMENT ON COLUMN shop.low_stock_alerts.available IS 'Available quantity when the alert was raised.';
COMMENT ON COLUMN shop.low_stock_alerts.low_stock_threshold IS 'The threshold it fell to or below.';

-- == the outbox ======================================================================================
CREATE TABLE integration.events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type text NOT NULL,
    subject_id uuid NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Delivery: the dispatcher claims undispatched events (FOR UPDATE SKIP LOCKED), counts its attempt and
    -- sets dispatched_at once the event has been handed to every subscription.
    dispatched_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    CONSTRAINT events_type_check CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' AND length(type) <= 100),
    CONSTRAINT events_payload_check CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT events_attempts_check CHECK (attempts >= 0)
);
CREATE INDEX events_undispatched_idx ON integration.events (created_at, id) WHERE dispatched_at IS NULL;
CREATE INDEX events_subject_id_idx ON integration.events (subject_id, created_at);
COMMENT ON TABLE integration.events IS
'The outbox: domain events (order.created, stock.low, ...) written by integration.emit() in the same '
'transaction as the change they describe, delivered later by the dispatcher (webhooks). id is the '
'webhook-id, payload the webhook''s data. Inserting notifies channel integration_events.';
COMMENT ON COLUMN integration.events.type IS 'Dotted lower-case event type, e.g. stock.low or order.paid.';
COMMENT ON COLUMN integration.events.subject_id IS 'Id of what the event is about (order, variant, customer, ...).';
COMMENT ON COLUMN integration.events.payload IS 'The event''s data (a JSON object), sent as the webhook''s data.';
COMMENT ON COLUMN integration.events.dispatched_at IS 'When the dispatcher finished with it; NULL = still to do.';
COMMENT ON COLUMN integration.events.attempts IS 'How often the dispatcher has claimed it.';

-- == row-level security and grants ===================================================================
ALTER TABLE shop.stock_movements ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.stock_movements FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.low_stock_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.low_stock_alerts FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.events FORCE ROW LEVEL SECURITY;

CREATE POLICY stock_movements_owner_all ON shop.stock_movements
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY stock_movements_select_managers ON shop.stock_movements
FOR SELECT TO inventory_manager, order_manager USING (TRUE);
-- Sales and returns are recorded by the order functions (as the owner), never by hand.
CREATE POLICY stock_movements_insert_inventory_manager ON shop.stock_movements
FOR INSERT TO inventory_manager WITH CHECK (kind IN ('receipt', 'adjustment', 'correction'));

CREATE POLICY low_stock_alerts_owner_all ON shop.low_stock_alerts
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY low_stock_alerts_select_managers ON shop.low_stock_alerts
FOR SELECT TO inventory_manager, order_manager USING (TRUE);

CREATE POLICY events_owner_all ON integration.events
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY events_select_store_admin ON integration.events
FOR SELECT TO store_admin USING (TRUE);

-- No UPDATE or DELETE for anyone: the ledger is append-only (a trigger refuses the owner too). staff_id
-- and created_at are not granted: their defaults say who and when.
GRANT SELECT (
    id, variant_id, warehouse_id, kind, quantity, reference, note, staff_id, created_at
) ON shop.stock_movements TO inventory_manager, order_manager;
GRANT INSERT (variant_id, warehouse_id, kind, quantity, reference, note) ON shop.stock_movements TO inventory_manager;
GRANT SELECT (
    variant_id, event_id, available, low_stock_threshold, created_at
) ON shop.low_stock_alerts TO inventory_manager, order_manager;
GRANT SELECT (backorder_limit) ON shop.stock_levels TO postcart_staff;
-- Events may carry personal data (e-mail addresses of customers): store admins, who manage webhooks, read
-- them; nobody writes them but SECURITY DEFINER functions (integration.emit).
GRANT SELECT (
    id, type, subject_id, payload, created_at, dispatched_at, attempts
) ON TABLE integration.events TO store_admin;

-- Opening balances: what is on hand now enters the ledger as one receipt per stock row. The ledger's
-- triggers do not exist yet (sql/ is applied after the migrations), so on_hand is not added twice.
INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, note, created_at)
SELECT
    s.variant_id, s.warehouse_id, 'receipt' AS kind, s.on_hand, 'Opening balance when the ledger began' AS note,
    s.updated_at
FROM shop.stock_levels AS s
WHERE s.on_hand > 0;

RESET ROLE;
