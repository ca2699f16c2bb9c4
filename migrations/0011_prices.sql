-- Prices beyond the base price: customer groups (and which group a customer account is in), price lists
-- for a customer group and/or a time window with quantity tiers, and percent markdowns on a category
-- subtree or a product for a time window. Tables, constraints, indexes, RLS and grants; the resolution
-- functions, triggers and admin API live in sql/shop/prices.sql and sql/api/prices.sql. docs/pricing.md
-- explains the precedence.
-- depends: 0009_compact_search

SET LOCAL ROLE postcart_owner;

-- == tables ==========================================================================================
CREATE TABLE shop.customer_groups (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customer_groups_code_key UNIQUE (code),
    CONSTRAINT customer_groups_code_check CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 64),
    CONSTRAINT customer_groups_name_check CHECK (btrim(name) <> '' AND length(name) <= 200)
);
COMMENT ON TABLE shop.customer_groups IS
'Customer groups (e.g. wholesale) that price lists can be restricted to. Staff read them; catalog '
'managers and store admins create them. Customers never read this table: their group reaches pricing '
'through shop.current_customer_group().';

-- A customer is in at most one group. Only staff functions change it (no column grant to anyone).
ALTER TABLE auth.accounts
ADD COLUMN customer_group_id uuid REFERENCES shop.customer_groups (id) ON DELETE SET NULL,
ADD CONSTRAINT accounts_customer_group_id_check CHECK (kind = 'customer' OR customer_group_id IS NULL);
CREATE INDEX accounts_customer_group_id_idx ON auth.accounts (customer_group_id)
WHERE customer_group_id IS NOT NULL;
COMMENT ON COLUMN auth.accounts.customer_group_id IS
'Customers only: the customer group whose price lists apply to this customer (NULL: none). Set by staff '
'with catalog_manager or store_admin through api.set_customer_group; never writable by the customer.';

CREATE TABLE shop.price_lists (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    customer_group_id uuid REFERENCES shop.customer_groups (id) ON DELETE RESTRICT,
    starts_at timestamptz,
    ends_at timestamptz,
    priority integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT price_lists_name_key UNIQUE (name),
    CONSTRAINT price_lists_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT price_lists_window_check CHECK (ends_at > starts_at),
    CONSTRAINT price_lists_priority_check CHECK (priority BETWEEN -1000000 AND 1000000)
);
CREATE INDEX price_lists_customer_group_id_idx ON shop.price_lists (customer_group_id);
COMMENT ON TABLE shop.price_lists IS
'Price lists: prices that replace the base price for a customer group (customer_group_id) and/or a time '
'window [starts_at, ends_at) (NULL = unbounded). Among lists that apply, a customer group''s list beats '
'a list for everyone, then higher priority wins (docs/pricing.md). Staff only; everyone else reads '
'prices through the resolution functions.';

CREATE TABLE shop.price_list_prices (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    price_list_id uuid NOT NULL REFERENCES shop.price_lists (id) ON DELETE CASCADE,
    variant_id uuid NOT NULL REFERENCES shop.product_variants (id) ON DELETE CASCADE,
    currency char(3) NOT NULL,
    min_quantity integer NOT NULL DEFAULT 1,
    amount bigint NOT NULL,
    -- The price's own window inside the list's (NULL = the list's bound).
    starts_at timestamptz,
    ends_at timestamptz,
    -- Derived by triggers from the list (sql/shop/prices.sql), never written by hand: the window in which
    -- this price applies (the list's window intersected with the price's own), the list's customer group
    -- and priority. They are here so that the exclusion constraint compares real windows and the
    -- resolution reads one index without joining the lists.
    valid_during tstzrange NOT NULL,
    customer_group_id uuid,
    priority integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT price_list_prices_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT price_list_prices_amount_check CHECK (amount >= 0),
    CONSTRAINT price_list_prices_min_quantity_check CHECK (min_quantity BETWEEN 1 AND 1000000),
    CONSTRAINT price_list_prices_window_check CHECK (ends_at > starts_at),
    CONSTRAINT price_list_prices_valid_during_check CHECK (NOT isempty(valid_during)),
    -- Two prices of one list never apply at the same instant to one variant, currency and tier.
    CONSTRAINT price_list_prices_no_overlap EXCLUDE USING gist (
        price_list_id WITH =, variant_id WITH =, currency WITH =, min_quantity WITH =, valid_during WITH &&
    )
);
-- The resolution: the candidate prices of a variant in a currency.
CREATE INDEX price_list_prices_variant_id_currency_idx ON shop.price_list_prices (variant_id, currency);
-- The catalog: which prices may apply to a caller (its group's and everyone's, customer_group_id NULL).
CREATE INDEX price_list_prices_currency_customer_group_id_idx
ON shop.price_list_prices (currency, customer_group_id, min_quantity);
COMMENT ON TABLE shop.price_list_prices IS
'The prices of a price list: amount (minor units) for a variant in a currency from min_quantity units '
'up (quantity tiers), optionally inside a narrower window than the list''s. valid_during, '
'customer_group_id and priority are copied from the list by triggers; an exclusion constraint keeps two '
'prices of one list from overlapping in time for one variant, currency and min_quantity. Staff only.';

CREATE TABLE shop.markdowns (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    percent_off numeric(5, 2) NOT NULL,
    category_id uuid REFERENCES shop.categories (id) ON DELETE CASCADE,
    product_id uuid REFERENCES shop.products (id) ON DELETE CASCADE,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    active_during tstzrange GENERATED ALWAYS AS (tstzrange(starts_at, ends_at, '[)')) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT markdowns_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT markdowns_percent_off_check CHECK (percent_off > 0 AND percent_off <= 100),
    -- Scope: exactly one of a category (with its descendants) or a product. Collections join here when
    -- they exist.
    CONSTRAINT markdowns_scope_check CHECK (num_nonnulls(category_id, product_id) = 1),
    CONSTRAINT markdowns_window_check CHECK (ends_at > starts_at)
);
CREATE INDEX markdowns_category_id_idx ON shop.markdowns (category_id);
CREATE INDEX markdowns_product_id_idx ON shop.markdowns (product_id);
-- The resolution looks for markdowns active at an instant.
CREATE INDEX markdowns_active_during_idx ON shop.markdowns USING gist (active_during);
COMMENT ON TABLE shop.markdowns IS
'Scheduled markdowns: percent_off off the resolved price of every variant of a product, or of every '
'product in a category and its descendants, during [starts_at, ends_at). When several apply, the largest '
'percentage wins (they do not stack). Staff only.';

-- == row-level security ==============================================================================
ALTER TABLE shop.customer_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.customer_groups FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.price_lists ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.price_lists FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.price_list_prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.price_list_prices FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.markdowns ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.markdowns FORCE ROW LEVEL SECURITY;

CREATE POLICY customer_groups_owner_all ON shop.customer_groups
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY customer_groups_select_staff ON shop.customer_groups
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY customer_groups_insert_managers ON shop.customer_groups
FOR INSERT TO catalog_manager, store_admin WITH CHECK (TRUE);

CREATE POLICY price_lists_owner_all ON shop.price_lists
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY price_lists_select_staff ON shop.price_lists
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY price_lists_write_catalog_manager ON shop.price_lists
FOR ALL TO catalog_manager USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY price_list_prices_owner_all ON shop.price_list_prices
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY price_list_prices_select_staff ON shop.price_list_prices
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY price_list_prices_write_catalog_manager ON shop.price_list_prices
FOR ALL TO catalog_manager USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY markdowns_owner_all ON shop.markdowns
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY markdowns_select_staff ON shop.markdowns
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY markdowns_write_catalog_manager ON shop.markdowns
FOR ALL TO catalog_manager USING (TRUE) WITH CHECK (TRUE);

-- == grants ==========================================================================================
-- Anonymous callers and customers get nothing here: they read resolved prices only.
GRANT SELECT (id, code, name, created_at) ON shop.customer_groups TO postcart_staff;
GRANT INSERT (code, name) ON shop.customer_groups TO catalog_manager, store_admin;

GRANT SELECT (id, name, customer_group_id, starts_at, ends_at, priority, created_at, updated_at)
ON shop.price_lists TO postcart_staff;
GRANT INSERT (name, customer_group_id, starts_at, ends_at, priority) ON shop.price_lists TO catalog_manager;
GRANT UPDATE (name, customer_group_id, starts_at, ends_at, priority) ON shop.price_lists TO catalog_manager;
GRANT DELETE ON shop.price_lists TO catalog_manager;

GRANT SELECT (
    id, price_list_id, variant_id, currency, min_quantity, amount, starts_at, ends_at, valid_during,
    customer_group_id, priority, created_at
) ON shop.price_list_prices TO postcart_staff;
GRANT INSERT (price_list_id, variant_id, currency, min_quantity, amount, starts_at, ends_at)
ON shop.price_list_prices TO catalog_manager;
-- price_list_id is listed so the list trigger can re-derive its rows (a no-op assignment).
GRANT UPDATE (price_list_id, amount, starts_at, ends_at) ON shop.price_list_prices TO catalog_manager;
GRANT DELETE ON shop.price_list_prices TO catalog_manager;

GRANT SELECT (id, name, percent_off, category_id, product_id, starts_at, ends_at, active_during, created_at)
ON shop.markdowns TO postcart_staff;
GRANT INSERT (name, percent_off, category_id, product_id, starts_at, ends_at) ON shop.markdowns TO catalog_manager;
GRANT UPDATE (name, percent_off, starts_at, ends_at) ON shop.markdowns TO catalog_manager;
GRANT DELETE ON shop.markdowns TO catalog_manager;

RESET ROLE;
