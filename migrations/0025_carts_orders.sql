-- Carts, promotions and orders (issue 7): the tables, constraints, policies and grants. Rule functions and
-- triggers live in sql/shop/carts.sql, sql/shop/promotions.sql, sql/shop/checkout.sql and
-- sql/shop/orders.sql; the routes in sql/api/. See docs/orders.md.
--
-- The writes go through SECURITY DEFINER api functions that check who may touch which cart or order
-- (a guest proves a cart with its token, which only the layer sees in plain text). The policies below
-- let a customer, support agent or order manager read what is theirs from plain SQL too.
-- depends: 0023_inventory 0024_tax_shipping

SET LOCAL ROLE postcart_owner;

-- == addresses: a region for US states and the like =================================================
ALTER TABLE shop.addresses
ADD COLUMN region text,
ADD CONSTRAINT addresses_region_check CHECK (region ~ '^[A-Z0-9]{1,3}$');
COMMENT ON COLUMN shop.addresses.region IS
'ISO 3166-2 subdivision code without the country prefix (CA for California), upper case; NULL when the '
'country needs none. Tax and shipping zones may depend on it.';
GRANT SELECT (region), INSERT (region), UPDATE (region) ON shop.addresses TO postcart_customer;

-- == payment methods: what checkout accepts and how long an unpaid order waits =======================
CREATE TABLE shop.payment_methods (
    code text PRIMARY KEY,
    name text NOT NULL,
    -- NULL: an unpaid order is never cancelled automatically (cash on delivery is paid on arrival).
    unpaid_cancel_after interval,
    active boolean NOT NULL DEFAULT TRUE,
    CONSTRAINT payment_methods_code_check CHECK (code ~ '^[a-z0-9]+(_[a-z0-9]+)*$' AND length(code) <= 64),
    CONSTRAINT payment_methods_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT payment_methods_unpaid_cancel_after_check CHECK (
        unpaid_cancel_after BETWEEN interval '1 minute' AND interval '90 days'
    )
);
INSERT INTO shop.payment_methods (code, name, unpaid_cancel_after) VALUES
('manual', 'Bank transfer (recorded by staff)', interval '7 days'),
('cash_on_delivery', 'Cash on delivery', NULL),
('card', 'Card or wallet', interval '1 hour');
COMMENT ON TABLE shop.payment_methods IS
'Payment methods a checkout may name. unpaid_cancel_after: how long an order waits for payment before the '
'worker cancels it and releases its stock (NULL: never). Everyone reads them; store admins change them.';

-- == promotions and coupons ==========================================================================
CREATE TABLE shop.promotions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- NULL: an automatic promotion, applied to every cart it fits without a code.
    code extensions.citext,
    name text NOT NULL,
    kind text NOT NULL,
    -- percent: 0 < value <= 100 (percent off); fixed: minor units of currency off; free_shipping: NULL.
    value numeric(12, 4),
    currency char(3),
    min_subtotal bigint,
    starts_at timestamptz,
    ends_at timestamptz,
    usage_limit integer,
    per_customer_limit integer,
    -- Redemptions of live (not cancelled) orders; kept by the checkout and cancellation functions with one
    -- conditional UPDATE each, so the CHECK below makes usage_limit exact under any concurrency.
    times_used integer NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT TRUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT promotions_code_check CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$'),
    CONSTRAINT promotions_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT promotions_kind_check CHECK (kind IN ('percent', 'fixed', 'free_shipping')),
    CONSTRAINT promotions_value_check CHECK (
        CASE kind
            WHEN 'percent' THEN value > 0 AND value <= 100
            WHEN 'fixed' THEN value > 0 AND value <= 100000000000 AND value = trunc(value)
            ELSE value IS NULL
        END
    ),
    CONSTRAINT promotions_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    -- Amounts (a fixed discount, a minimum subtotal) are in one currency.
    CONSTRAINT promotions_fixed_currency_check CHECK (
        (kind <> 'fixed' AND min_subtotal IS NULL) OR currency IS NOT NULL
    ),
    CONSTRAINT promotions_min_subtotal_check CHECK (min_subtotal BETWEEN 0 AND 100000000000),
    CONSTRAINT promotions_window_check CHECK (ends_at > starts_at),
    CONSTRAINT promotions_usage_limit_check CHECK (usage_limit > 0),
    CONSTRAINT promotions_per_customer_limit_check CHECK (per_customer_limit > 0),
    CONSTRAINT promotions_times_used_check CHECK (times_used >= 0 AND times_used <= coalesce(usage_limit, times_used))
);
CREATE UNIQUE INDEX promotions_code_key ON shop.promotions (code) WHERE code IS NOT NULL;
CREATE INDEX promotions_automatic_idx ON shop.promotions (starts_at) WHERE code IS NULL AND active;
COMMENT ON TABLE shop.promotions IS
'Promotions: coupons (code set, case-insensitive) and automatic promotions (code NULL). kind percent takes '
'value % off the eligible lines, fixed takes value minor units of currency off them, free_shipping makes '
'shipping free. They apply from starts_at to ends_at (NULL: unbounded) when active, to carts in currency '
'(NULL: any, for percent and free shipping) whose eligible subtotal reaches min_subtotal. usage_limit caps '
'live redemptions in total, per_customer_limit per customer (by account, or by e-mail for guests); '
'times_used counts live redemptions and can never pass usage_limit (CHECK). Stacking: docs/orders.md.';
COMMENT ON COLUMN shop.promotions.times_used IS
'Live redemptions: +1 at checkout, -1 when the order is cancelled. Never above usage_limit.';

CREATE TABLE shop.promotion_targets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    promotion_id uuid NOT NULL REFERENCES shop.promotions (id) ON DELETE CASCADE,
    category_id uuid REFERENCES shop.categories (id) ON DELETE CASCADE,
    collection_id uuid REFERENCES shop.collections (id) ON DELETE CASCADE,
    product_id uuid REFERENCES shop.products (id) ON DELETE CASCADE,
    CONSTRAINT promotion_targets_one_target CHECK (num_nonnulls(category_id, collection_id, product_id) = 1)
);
CREATE UNIQUE INDEX promotion_targets_key ON shop.promotion_targets (
    promotion_id, coalesce(category_id, collection_id, product_id)
);
CREATE INDEX promotion_targets_category_id_idx ON shop.promotion_targets (category_id) WHERE category_id IS NOT NULL;
CREATE INDEX promotion_targets_collection_id_idx ON shop.promotion_targets (collection_id)
WHERE collection_id IS NOT NULL;
CREATE INDEX promotion_targets_product_id_idx ON shop.promotion_targets (product_id) WHERE product_id IS NOT NULL;
COMMENT ON TABLE shop.promotion_targets IS
'What a promotion is restricted to: categories (with their descendants), collections or products; a line '
'is eligible when it matches any target. A promotion without targets applies to every line.';

-- == carts ===========================================================================================
CREATE TABLE shop.carts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id uuid REFERENCES auth.accounts (id) ON DELETE CASCADE,
    -- sha256 of the guest's cart token; the plain token is made and seen only by the HTTP layer.
    token_hash bytea,
    currency char(3) NOT NULL,
    status text NOT NULL DEFAULT 'open',
    email extensions.citext,
    coupon_id uuid REFERENCES shop.promotions (id) ON DELETE SET NULL,
    -- {full_name, line1, line2, city, region, postal_code, country, phone}: validated like an address.
    shipping_address jsonb,
    shipping_method_id uuid REFERENCES shop.shipping_methods (id) ON DELETE SET NULL,
    -- Set when the cart became an order (status ordered) or was merged into another cart (status merged).
    order_id uuid,
    merged_into uuid REFERENCES shop.carts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Pushed forward by every change; an open cart past it is abandoned (swept by the worker).
    expires_at timestamptz NOT NULL DEFAULT now() + interval '30 days',
    abandoned_at timestamptz,
    CONSTRAINT carts_token_hash_key UNIQUE (token_hash),
    CONSTRAINT carts_owner_check CHECK (customer_id IS NOT NULL OR token_hash IS NOT NULL),
    CONSTRAINT carts_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT carts_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT carts_status_check CHECK (status IN ('open', 'ordered', 'merged', 'abandoned')),
    CONSTRAINT carts_email_check CHECK (auth.email_is_valid(email::text)),
    CONSTRAINT carts_shipping_address_check CHECK (jsonb_typeof(shipping_address) = 'object'),
    CONSTRAINT carts_ordered_check CHECK ((status = 'ordered') = (order_id IS NOT NULL)),
    CONSTRAINT carts_merged_check CHECK ((status = 'merged') = (merged_into IS NOT NULL)),
    CONSTRAINT carts_abandoned_check CHECK ((status = 'abandoned') = (abandoned_at IS NOT NULL))
);
-- A customer has at most one open cart: logging in merges a guest cart into it.
CREATE UNIQUE INDEX carts_open_customer_key ON shop.carts (customer_id) WHERE status = 'open';
CREATE INDEX carts_customer_id_idx ON shop.carts (customer_id, created_at DESC);
CREATE INDEX carts_open_expires_at_idx ON shop.carts (expires_at) WHERE status = 'open';
CREATE INDEX carts_coupon_id_idx ON shop.carts (coupon_id) WHERE coupon_id IS NOT NULL;
CREATE INDEX carts_shipping_method_id_idx ON shop.carts (shipping_method_id) WHERE shipping_method_id IS NOT NULL;
CREATE INDEX carts_merged_into_idx ON shop.carts (merged_into) WHERE merged_into IS NOT NULL;
COMMENT ON TABLE shop.carts IS
'Shopping carts: a guest''s (token_hash: sha256 of the cart token only its holder knows) or a '
'customer''s (customer_id; at most one open each). status: open, ordered (checked out: order_id), merged '
'(into merged_into at login), abandoned (expired unused; cart.abandoned is emitted when it held an e-mail). '
'Only open carts change.';

CREATE TABLE shop.cart_items (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    cart_id uuid NOT NULL REFERENCES shop.carts (id) ON DELETE CASCADE,
    variant_id uuid NOT NULL REFERENCES shop.product_variants (id) ON DELETE CASCADE,
    quantity integer NOT NULL,
    -- The unit price the customer was last shown (set when the line is added or changed and whenever the
    -- cart is written); checkout refuses with price_changed when the current price differs.
    quoted_unit_price bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cart_items_cart_id_variant_id_key UNIQUE (cart_id, variant_id),
    CONSTRAINT cart_items_quantity_check CHECK (quantity BETWEEN 1 AND 999),
    CONSTRAINT cart_items_quoted_unit_price_check CHECK (quoted_unit_price >= 0)
);
CREATE INDEX cart_items_variant_id_idx ON shop.cart_items (variant_id);
COMMENT ON TABLE shop.cart_items IS
'Lines of a cart: a variant and a quantity (1 to 999, one line per variant), with the unit price last '
'quoted to the customer.';

-- == orders ==========================================================================================
-- Gapless order numbers: one counter row, incremented inside the checkout transaction as its last step,
-- so a rolled-back checkout never uses a number.
CREATE TABLE shop.order_numbers (
    id boolean PRIMARY KEY DEFAULT TRUE,
    last_number bigint NOT NULL DEFAULT 1000,
    CONSTRAINT order_numbers_one_row CHECK (id),
    CONSTRAINT order_numbers_last_number_check CHECK (last_number >= 0)
);
INSERT INTO shop.order_numbers (id) VALUES (TRUE);
COMMENT ON TABLE shop.order_numbers IS
'The last order number given (one row). Checkout takes the next with one UPDATE just before it commits: '
'the row lock makes numbers gapless and in commit order.';

CREATE TABLE shop.orders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    number bigint NOT NULL,
    customer_id uuid REFERENCES auth.accounts (id) ON DELETE SET NULL,
    cart_id uuid NOT NULL REFERENCES shop.carts (id),
    email extensions.citext NOT NULL,
    currency char(3) NOT NULL,
    status text NOT NULL DEFAULT 'pending_payment',
    payment_status text NOT NULL DEFAULT 'unpaid',
    fulfillment_status text NOT NULL DEFAULT 'unfulfilled',
    payment_method text NOT NULL REFERENCES shop.payment_methods (code),
    prices_include_tax boolean NOT NULL,
    subtotal bigint NOT NULL,
    discount_total bigint NOT NULL,
    shipping_total bigint NOT NULL,
    tax_total bigint NOT NULL,
    total bigint NOT NULL,
    paid_amount bigint NOT NULL DEFAULT 0,
    refunded_amount bigint NOT NULL DEFAULT 0,
    shipping_address jsonb NOT NULL,
    shipping_method_id uuid REFERENCES shop.shipping_methods (id) ON DELETE SET NULL,
    shipping_method_code text NOT NULL,
    shipping_method_name text NOT NULL,
    shipping_tax bigint NOT NULL DEFAULT 0,
    coupon_code extensions.citext,
    -- When the worker cancels it if still unpaid (NULL: never; from the payment method's window).
    payment_due_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    paid_at timestamptz,
    fulfilled_at timestamptz,
    cancelled_at timestamptz,
    cancel_reason text,
    CONSTRAINT orders_number_key UNIQUE (number),
    CONSTRAINT orders_cart_id_key UNIQUE (cart_id),
    CONSTRAINT orders_email_check CHECK (auth.email_is_valid(email::text)),
    CONSTRAINT orders_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT orders_status_check CHECK (
        status IN ('pending_payment', 'paid', 'fulfilled', 'completed', 'cancelled', 'returned', 'refunded')
    ),
    CONSTRAINT orders_payment_status_check CHECK (
        payment_status IN ('unpaid', 'partially_paid', 'paid', 'partially_refunded', 'refunded')
    ),
    CONSTRAINT orders_fulfillment_status_check CHECK (
        fulfillment_status IN ('unfulfilled', 'partially_fulfilled', 'fulfilled', 'partially_returned', 'returned')
    ),
    CONSTRAINT orders_amounts_check CHECK (
        subtotal >= 0 AND discount_total BETWEEN 0 AND subtotal AND shipping_total >= 0 AND tax_total >= 0
        AND shipping_tax BETWEEN 0 AND tax_total
        AND total = subtotal - discount_total + shipping_total + CASE WHEN prices_include_tax THEN 0 ELSE tax_total END
    ),
    CONSTRAINT orders_paid_amount_check CHECK (paid_amount >= 0 AND refunded_amount BETWEEN 0 AND paid_amount),
    CONSTRAINT orders_shipping_address_check CHECK (jsonb_typeof(shipping_address) = 'object'),
    CONSTRAINT orders_cancelled_check CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CONSTRAINT orders_cancel_reason_check CHECK (char_length(cancel_reason) BETWEEN 1 AND 1000)
);
CREATE INDEX orders_customer_id_created_at_idx ON shop.orders (customer_id, created_at DESC, id DESC);
CREATE INDEX orders_created_at_idx ON shop.orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created_at_idx ON shop.orders (status, created_at DESC, id DESC);
CREATE INDEX orders_payment_due_at_idx ON shop.orders (payment_due_at) WHERE status = 'pending_payment';
CREATE INDEX orders_shipping_method_id_idx ON shop.orders (shipping_method_id);
CREATE INDEX orders_payment_method_idx ON shop.orders (payment_method);
COMMENT ON TABLE shop.orders IS
'Orders: a snapshot of the cart at checkout (lines, prices, discounts, shipping, tax, totals in minor '
'units of currency) and its life: status (pending_payment -> paid -> fulfilled -> completed; cancelled; '
'returned, refunded; every change checked by a trigger against shop.order_transitions), payment_status '
'and fulfillment_status. number is gapless. total = subtotal - discount_total + shipping_total, plus '
'tax_total when prices exclude tax (CHECK). A customer reads its own orders; order managers and support '
'agents read all.';
COMMENT ON COLUMN shop.orders.subtotal IS 'Sum of the lines at their unit prices, before discounts (minor units).';
COMMENT ON COLUMN shop.orders.tax_total IS
'Tax on lines and shipping, rounded per line; included in the amounts when prices_include_tax, else added.';
COMMENT ON COLUMN shop.orders.paid_amount IS 'Captured payments so far (minor units).';

CREATE TABLE shop.order_transitions (
    from_status text NOT NULL,
    to_status text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO shop.order_transitions (from_status, to_status) VALUES
('pending_payment', 'paid'),
('pending_payment', 'cancelled'),
('paid', 'fulfilled'),
('paid', 'cancelled'),
('fulfilled', 'completed'),
('fulfilled', 'returned'),
('fulfilled', 'refunded'),
('completed', 'returned'),
('completed', 'refunded'),
('returned', 'refunded');
COMMENT ON TABLE shop.order_transitions IS
'The order status machine: the only status changes a trigger on shop.orders allows (any other is PT409 '
'invalid_transition, from the API and from plain SQL alike). Readable by everyone; a DBA may extend it.';

-- The foreign keys to the order and its lines are deferrable: checkout writes lines, allocations and
-- redemptions first and the order row (with its number, from the one counter row) last, so it holds the
-- counter's lock for as short a time as possible.
CREATE TABLE shop.order_items (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id uuid NOT NULL REFERENCES shop.orders (id) ON DELETE CASCADE
    DEFERRABLE INITIALLY IMMEDIATE,
    position integer NOT NULL,
    variant_id uuid REFERENCES shop.product_variants (id) ON DELETE SET NULL,
    product_id uuid REFERENCES shop.products (id) ON DELETE SET NULL,
    sku text NOT NULL,
    name text NOT NULL,
    quantity integer NOT NULL,
    unit_price bigint NOT NULL,
    discount bigint NOT NULL DEFAULT 0,
    -- quantity x unit_price - discount: what the line costs, tax included or not as the order says.
    line_total bigint NOT NULL,
    tax_class text NOT NULL,
    tax_rate_percent numeric(7, 4) NOT NULL DEFAULT 0,
    tax bigint NOT NULL DEFAULT 0,
    quantity_fulfilled integer NOT NULL DEFAULT 0,
    quantity_returned integer NOT NULL DEFAULT 0,
    CONSTRAINT order_items_order_id_position_key UNIQUE (order_id, position),
    CONSTRAINT order_items_quantity_check CHECK (quantity BETWEEN 1 AND 999),
    CONSTRAINT order_items_amounts_check CHECK (
        unit_price >= 0 AND discount BETWEEN 0 AND quantity * unit_price AND tax >= 0
        AND line_total = quantity * unit_price - discount
    ),
    CONSTRAINT order_items_fulfilled_check CHECK (quantity_fulfilled BETWEEN 0 AND quantity),
    CONSTRAINT order_items_returned_check CHECK (quantity_returned BETWEEN 0 AND quantity_fulfilled)
);
CREATE INDEX order_items_variant_id_idx ON shop.order_items (variant_id);
CREATE INDEX order_items_product_id_idx ON shop.order_items (product_id);
COMMENT ON TABLE shop.order_items IS
'Order lines, a snapshot at checkout: sku, name, quantity, unit_price, the line''s share of the discounts, '
'line_total = quantity x unit_price - discount, and its tax (rounded per line). quantity_fulfilled and '
'quantity_returned follow shipments and returns.';

-- Where each line's units are reserved: checkout allocates by warehouse priority (a line may split).
-- The sum of the open allocations of a (variant, warehouse) is its stock row's reserved.
CREATE TABLE shop.order_allocations (
    order_item_id uuid NOT NULL REFERENCES shop.order_items (id) ON DELETE CASCADE
    DEFERRABLE INITIALLY IMMEDIATE,
    warehouse_id uuid NOT NULL REFERENCES shop.warehouses (id),
    variant_id uuid NOT NULL REFERENCES shop.product_variants (id),
    quantity integer NOT NULL,
    quantity_fulfilled integer NOT NULL DEFAULT 0,
    -- Units given back to stock without shipping (cancellation).
    quantity_released integer NOT NULL DEFAULT 0,
    PRIMARY KEY (order_item_id, warehouse_id),
    CONSTRAINT order_allocations_quantity_check CHECK (quantity > 0),
    CONSTRAINT order_allocations_settled_check CHECK (
        quantity_fulfilled >= 0 AND quantity_released >= 0 AND quantity_fulfilled + quantity_released <= quantity
    )
);
CREATE INDEX order_allocations_variant_warehouse_idx ON shop.order_allocations (variant_id, warehouse_id);
CREATE INDEX order_allocations_warehouse_id_idx ON shop.order_allocations (warehouse_id);
COMMENT ON TABLE shop.order_allocations IS
'Reservations of an order line in a warehouse: quantity reserved at checkout, of which quantity_fulfilled '
'has shipped and quantity_released was given back (cancellation). The open part (quantity - fulfilled - '
'released) summed per variant and warehouse equals stock_levels.reserved.';

CREATE TABLE shop.promotion_redemptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    promotion_id uuid NOT NULL REFERENCES shop.promotions (id) ON DELETE RESTRICT,
    order_id uuid NOT NULL REFERENCES shop.orders (id) ON DELETE CASCADE
    DEFERRABLE INITIALLY IMMEDIATE,
    customer_id uuid REFERENCES auth.accounts (id) ON DELETE SET NULL,
    email extensions.citext NOT NULL,
    amount bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Set when the order is cancelled: the redemption no longer counts towards the limits.
    released_at timestamptz,
    CONSTRAINT promotion_redemptions_promotion_id_order_id_key UNIQUE (promotion_id, order_id),
    CONSTRAINT promotion_redemptions_amount_check CHECK (amount >= 0)
);
CREATE INDEX promotion_redemptions_order_id_idx ON shop.promotion_redemptions (order_id);
CREATE INDEX promotion_redemptions_customer_idx ON shop.promotion_redemptions (promotion_id, customer_id)
WHERE released_at IS NULL;
CREATE INDEX promotion_redemptions_email_idx ON shop.promotion_redemptions (promotion_id, email)
WHERE released_at IS NULL;
CREATE INDEX promotion_redemptions_customer_id_idx ON shop.promotion_redemptions (customer_id);
COMMENT ON TABLE shop.promotion_redemptions IS
'One row per promotion used by an order, with the discount it gave (amount, minor units). Live while '
'released_at is NULL; cancelling the order releases it, giving the use back.';

CREATE TABLE shop.payments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id uuid NOT NULL REFERENCES shop.orders (id) ON DELETE RESTRICT,
    provider text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    amount bigint NOT NULL,
    currency char(3) NOT NULL,
    captured_amount bigint NOT NULL DEFAULT 0,
    refunded_amount bigint NOT NULL DEFAULT 0,
    provider_reference text,
    note text,
    staff_id uuid REFERENCES auth.accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_provider_check CHECK (provider ~ '^[a-z0-9]+(_[a-z0-9]+)*$' AND length(provider) <= 64),
    CONSTRAINT payments_status_check CHECK (
        status IN ('pending', 'authorized', 'captured', 'voided', 'failed', 'refunded', 'partially_refunded')
    ),
    CONSTRAINT payments_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT payments_amounts_check CHECK (
        amount > 0 AND captured_amount BETWEEN 0 AND amount AND refunded_amount BETWEEN 0 AND captured_amount
    ),
    CONSTRAINT payments_provider_reference_check CHECK (char_length(provider_reference) BETWEEN 1 AND 255),
    CONSTRAINT payments_note_check CHECK (char_length(note) BETWEEN 1 AND 1000)
);
CREATE INDEX payments_order_id_idx ON shop.payments (order_id);
CREATE INDEX payments_staff_id_idx ON shop.payments (staff_id) WHERE staff_id IS NOT NULL;
CREATE UNIQUE INDEX payments_provider_reference_key ON shop.payments (provider, provider_reference)
WHERE provider_reference IS NOT NULL;
COMMENT ON TABLE shop.payments IS
'Payments of an order, one per attempt: status pending -> authorized -> captured, or voided, failed, '
'refunded / partially_refunded. A manual payment is recorded by staff as captured. The order is paid when '
'its captured payments cover its total.';

CREATE TABLE shop.fulfillments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id uuid NOT NULL REFERENCES shop.orders (id) ON DELETE RESTRICT,
    carrier text,
    tracking_number text,
    staff_id uuid REFERENCES auth.accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fulfillments_carrier_check CHECK (char_length(btrim(carrier)) BETWEEN 1 AND 100),
    CONSTRAINT fulfillments_tracking_number_check CHECK (char_length(btrim(tracking_number)) BETWEEN 1 AND 100)
);
CREATE INDEX fulfillments_order_id_idx ON shop.fulfillments (order_id);
CREATE INDEX fulfillments_staff_id_idx ON shop.fulfillments (staff_id) WHERE staff_id IS NOT NULL;
COMMENT ON TABLE shop.fulfillments IS 'Shipments of an order, with carrier and tracking number when known.';

CREATE TABLE shop.fulfillment_items (
    fulfillment_id uuid NOT NULL REFERENCES shop.fulfillments (id) ON DELETE CASCADE,
    order_item_id uuid NOT NULL REFERENCES shop.order_items (id) ON DELETE CASCADE,
    warehouse_id uuid NOT NULL REFERENCES shop.warehouses (id),
    quantity integer NOT NULL,
    PRIMARY KEY (fulfillment_id, order_item_id, warehouse_id),
    CONSTRAINT fulfillment_items_quantity_check CHECK (quantity > 0)
);
CREATE INDEX fulfillment_items_order_item_id_idx ON shop.fulfillment_items (order_item_id);
CREATE INDEX fulfillment_items_warehouse_id_idx ON shop.fulfillment_items (warehouse_id);
COMMENT ON TABLE shop.fulfillment_items IS
'Units of an order line shipped in a fulfilment, from which warehouse (each wrote a sale movement).';

CREATE TABLE shop.returns (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id uuid NOT NULL REFERENCES shop.orders (id) ON DELETE RESTRICT,
    restock boolean NOT NULL,
    refund_amount bigint NOT NULL DEFAULT 0,
    reason text,
    staff_id uuid REFERENCES auth.accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT returns_refund_amount_check CHECK (refund_amount >= 0),
    CONSTRAINT returns_reason_check CHECK (char_length(btrim(reason)) BETWEEN 1 AND 1000)
);
CREATE INDEX returns_order_id_idx ON shop.returns (order_id);
CREATE INDEX returns_staff_id_idx ON shop.returns (staff_id) WHERE staff_id IS NOT NULL;
COMMENT ON TABLE shop.returns IS
'Returns of shipped lines: whether the goods went back into stock (restock: return movements) and the '
'refund recorded for them (minor units of the order''s currency).';

CREATE TABLE shop.return_items (
    return_id uuid NOT NULL REFERENCES shop.returns (id) ON DELETE CASCADE,
    order_item_id uuid NOT NULL REFERENCES shop.order_items (id) ON DELETE CASCADE,
    warehouse_id uuid REFERENCES shop.warehouses (id),
    quantity integer NOT NULL,
    PRIMARY KEY (return_id, order_item_id),
    CONSTRAINT return_items_quantity_check CHECK (quantity > 0)
);
CREATE INDEX return_items_order_item_id_idx ON shop.return_items (order_item_id);
CREATE INDEX return_items_warehouse_id_idx ON shop.return_items (warehouse_id);
COMMENT ON TABLE shop.return_items IS
'Units of an order line returned, and the warehouse they were restocked into (NULL: not restocked).';

-- == row-level security ==============================================================================
ALTER TABLE shop.payment_methods ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.payment_methods FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.promotions ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.promotions FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.promotion_targets ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.promotion_targets FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.carts ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.carts FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.cart_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.cart_items FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.order_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.order_numbers FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.orders FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.order_transitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.order_transitions FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.order_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.order_items FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.order_allocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.order_allocations FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.promotion_redemptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.promotion_redemptions FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.payments FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.fulfillments ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.fulfillments FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.fulfillment_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.fulfillment_items FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.returns ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.returns FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.return_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.return_items FORCE ROW LEVEL SECURITY;

-- The owner (SECURITY DEFINER functions, migrations) may do everything; the rules are in the functions,
-- the constraints and the triggers.
CREATE POLICY payment_methods_owner_all ON shop.payment_methods FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (
    TRUE
);
CREATE POLICY promotions_owner_all ON shop.promotions FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY promotion_targets_owner_all ON shop.promotion_targets
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY carts_owner_all ON shop.carts FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY cart_items_owner_all ON shop.cart_items FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY order_numbers_owner_all ON shop.order_numbers FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY orders_owner_all ON shop.orders FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY order_transitions_owner_all ON shop.order_transitions
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY order_items_owner_all ON shop.order_items FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY order_allocations_owner_all ON shop.order_allocations
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY promotion_redemptions_owner_all ON shop.promotion_redemptions
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY payments_owner_all ON shop.payments FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY fulfillments_owner_all ON shop.fulfillments FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY fulfillment_items_owner_all ON shop.fulfillment_items
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY returns_owner_all ON shop.returns FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY return_items_owner_all ON shop.return_items FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

-- Public facts of the store.
CREATE POLICY payment_methods_select_all ON shop.payment_methods
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
CREATE POLICY order_transitions_select_all ON shop.order_transitions
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);

-- Promotions: catalog managers manage them; order staff read them (to explain an order's discount).
CREATE POLICY promotions_write_catalog_manager ON shop.promotions
FOR ALL TO catalog_manager USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY promotions_select_order_staff ON shop.promotions
FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY promotion_targets_write_catalog_manager ON shop.promotion_targets
FOR ALL TO catalog_manager USING (TRUE) WITH CHECK (TRUE);

-- A customer reads its own carts and orders; support agents and order managers read all.
CREATE POLICY carts_select_customer ON shop.carts
FOR SELECT TO postcart_customer USING (customer_id = (SELECT auth.current_customer_id()));
CREATE POLICY carts_select_order_staff ON shop.carts FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY cart_items_select_customer ON shop.cart_items
FOR SELECT TO postcart_customer USING (
    cart_id IN (
        SELECT c.id
        FROM shop.carts AS c
        WHERE c.customer_id = (SELECT auth.current_customer_id())
    )
);
CREATE POLICY cart_items_select_order_staff ON shop.cart_items
FOR SELECT TO order_manager, support_agent USING (TRUE);

CREATE POLICY orders_select_customer ON shop.orders
FOR SELECT TO postcart_customer USING (customer_id = (SELECT auth.current_customer_id()));
CREATE POLICY orders_select_order_staff ON shop.orders FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY order_items_select_customer ON shop.order_items
FOR SELECT TO postcart_customer USING (
    order_id IN (
        SELECT o.id
        FROM shop.orders AS o
        WHERE o.customer_id = (SELECT auth.current_customer_id())
    )
);
CREATE POLICY order_items_select_order_staff ON shop.order_items
FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY payments_select_customer ON shop.payments
FOR SELECT TO postcart_customer USING (
    order_id IN (
        SELECT o.id
        FROM shop.orders AS o
        WHERE o.customer_id = (SELECT auth.current_customer_id())
    )
);
CREATE POLICY payments_select_order_staff ON shop.payments FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY fulfillments_select_customer ON shop.fulfillments
FOR SELECT TO postcart_customer USING (
    order_id IN (
        SELECT o.id
        FROM shop.orders AS o
        WHERE o.customer_id = (SELECT auth.current_customer_id())
    )
);
CREATE POLICY fulfillments_select_order_staff ON shop.fulfillments
FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY fulfillment_items_select_order_staff ON shop.fulfillment_items
FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY returns_select_order_staff ON shop.returns FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY return_items_select_order_staff ON shop.return_items
FOR SELECT TO order_manager, support_agent USING (TRUE);
CREATE POLICY order_allocations_select_order_staff ON shop.order_allocations
FOR SELECT TO order_manager, support_agent, inventory_manager USING (TRUE);
CREATE POLICY promotion_redemptions_select_staff ON shop.promotion_redemptions
FOR SELECT TO order_manager, support_agent, catalog_manager USING (TRUE);

-- == grants: reads only; every write goes through the api functions =================================
GRANT SELECT ON shop.payment_methods, shop.order_transitions TO postcart_anon, postcart_customer, postcart_staff;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.promotions, shop.promotion_targets TO catalog_manager;
GRANT SELECT ON shop.promotions TO order_manager, support_agent;
GRANT SELECT (
    id, customer_id, currency, status, email, coupon_id, shipping_address, shipping_method_id, order_id,
    merged_into, created_at, updated_at, expires_at, abandoned_at
) ON shop.carts TO postcart_customer, order_manager, support_agent;
GRANT SELECT ON shop.cart_items TO postcart_customer, order_manager, support_agent;
GRANT SELECT ON shop.orders, shop.order_items, shop.payments, shop.fulfillments TO postcart_customer;
GRANT SELECT ON
shop.orders, shop.order_items, shop.payments, shop.fulfillments, shop.fulfillment_items, shop.returns,
shop.return_items, shop.order_allocations
TO order_manager, support_agent;
GRANT SELECT ON shop.order_allocations TO inventory_manager;
GRANT SELECT ON shop.promotion_redemptions TO order_manager, support_agent, catalog_manager;

RESET ROLE;
