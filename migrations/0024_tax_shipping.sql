-- Tax and shipping rules (issue 7, items 4 and 5): tax classes, tax rates per country (and region) and
-- class with validity windows, the store setting saying whether catalog prices include tax, a tax class
-- on products and a weight on variants; shipping zones (countries, optionally regions), methods per zone
-- (flat or weight-tiered, optionally free from a subtotal) and their weight tiers. Tables, constraints,
-- indexes, RLS and grants; the computing functions live in sql/shop/tax_shipping.sql, the demo rates,
-- zones and methods in sql/shop/demo_tax_shipping.sql. docs/tax-and-shipping.md explains the rules.
-- depends: 0017_catalog_schedule_instants

SET LOCAL ROLE postcart_owner;

-- == tax =============================================================================================
CREATE TABLE shop.tax_classes (
    code text PRIMARY KEY,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tax_classes_code_check CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 64),
    CONSTRAINT tax_classes_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT tax_classes_description_check CHECK (length(description) <= 2000)
);
COMMENT ON TABLE shop.tax_classes IS
'Tax classes (standard, reduced, zero, ...): what a product (shop.products.tax_class) or a shipping method '
'is taxed as. The rate of a class depends on the country and region (shop.tax_rates). Everyone reads '
'them; store admins add classes. A class in use cannot be deleted (foreign keys).';

-- Structural, not demo data: every product gets a class, and the default must exist.
INSERT INTO shop.tax_classes (code, name, description) VALUES
('standard', 'Standard rate', 'Most goods and services.'),
('reduced', 'Reduced rate', 'Goods a country taxes at a lower rate, e.g. books and food in the EU.'),
('zero', 'Zero rate', 'Goods taxed at 0 % where rates are set (zero-rated, not exempt from reporting).');

CREATE TABLE shop.tax_rates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    country char(2) NOT NULL REFERENCES shop.countries (code) ON DELETE RESTRICT,
    -- ISO 3166-2 subdivision code without the country prefix (CA for US-CA); NULL: the whole country.
    region text,
    tax_class text NOT NULL REFERENCES shop.tax_classes (code) ON DELETE RESTRICT,
    rate_percent numeric(7, 4) NOT NULL,
    name text NOT NULL,
    valid_from timestamptz,
    valid_to timestamptz,
    -- NULL only for a reversed window, which tax_rates_window_check then refuses (with 23514, not the
    -- range constructor's error).
    valid_during tstzrange GENERATED ALWAYS AS (
        CASE WHEN (valid_to < valid_from) IS NOT TRUE THEN tstzrange(valid_from, valid_to, '[)') END
    ) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tax_rates_region_check CHECK (region ~ '^[A-Z0-9]{1,3}$'),
    CONSTRAINT tax_rates_rate_percent_check CHECK (rate_percent >= 0 AND rate_percent <= 100),
    CONSTRAINT tax_rates_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT tax_rates_window_check CHECK (valid_to > valid_from),
    -- One rate per place and class at any instant: a new rate starts where the old one ends.
    CONSTRAINT tax_rates_no_overlap EXCLUDE USING gist (
        country WITH =, (coalesce(region, '')) WITH =, tax_class WITH =, valid_during WITH &&
    )
);
CREATE INDEX tax_rates_tax_class_idx ON shop.tax_rates (tax_class);
COMMENT ON TABLE shop.tax_rates IS
'Tax rates: rate_percent of a tax class in a country, or in one region of it (US states), during '
'[valid_from, valid_to) (NULL: unbounded). A region''s rate beats the country''s; no rate at all means 0 % '
'(shop.compute_tax). name is the label on receipts (VAT, MwSt., CA sales tax). Never two rates for one '
'place and class at one instant (exclusion constraint). Everyone reads them; store admins write them.';
COMMENT ON COLUMN shop.tax_rates.region IS
'ISO 3166-2 subdivision code without the country prefix (CA for California); NULL: the whole country.';
COMMENT ON COLUMN shop.tax_rates.rate_percent IS 'The rate in percent, 0 to 100, up to four decimals (8.875).';

-- One row (id is always TRUE): store-wide settings a DBA or store admin edits with one UPDATE.
CREATE TABLE shop.store_settings (
    id boolean PRIMARY KEY DEFAULT TRUE,
    prices_include_tax boolean NOT NULL DEFAULT TRUE,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT store_settings_one_row CHECK (id)
);
INSERT INTO shop.store_settings (id) VALUES (TRUE);
COMMENT ON TABLE shop.store_settings IS
'The store''s settings, one row. prices_include_tax: TRUE when catalog prices are entered with tax '
'included (EU style: the customer pays the shown price), FALSE when tax is added on top (US style). '
'Everyone reads it; store admins (or a DBA as the admin) change it with one UPDATE; the row cannot be '
'deleted.';

ALTER TABLE shop.products
ADD COLUMN tax_class text NOT NULL DEFAULT 'standard' REFERENCES shop.tax_classes (code) ON DELETE RESTRICT;
CREATE INDEX products_tax_class_idx ON shop.products (tax_class);
COMMENT ON COLUMN shop.products.tax_class IS
'The tax class the product''s variants are taxed as (shop.tax_classes); standard unless set.';

ALTER TABLE shop.product_variants
ADD COLUMN weight_grams integer NOT NULL DEFAULT 0,
ADD CONSTRAINT product_variants_weight_grams_check CHECK (weight_grams BETWEEN 0 AND 10000000);
COMMENT ON COLUMN shop.product_variants.weight_grams IS
'Shipping weight of one unit in grams, 0 to 10,000,000 (10 t); 0 when unknown or weightless. A cart''s '
'weight is the sum of weight_grams times quantity.';

-- == shipping ========================================================================================
CREATE TABLE shop.shipping_zones (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shipping_zones_code_key UNIQUE (code),
    CONSTRAINT shipping_zones_code_check CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 64),
    CONSTRAINT shipping_zones_name_check CHECK (btrim(name) <> '' AND length(name) <= 200)
);
COMMENT ON TABLE shop.shipping_zones IS
'Shipping zones: named sets of countries (and regions, shop.shipping_zone_countries) that share shipping '
'methods. Everyone reads them; store admins write them.';

CREATE TABLE shop.shipping_zone_countries (
    zone_id uuid NOT NULL REFERENCES shop.shipping_zones (id) ON DELETE CASCADE,
    country char(2) NOT NULL REFERENCES shop.countries (code) ON DELETE RESTRICT,
    -- As in tax_rates: an ISO 3166-2 subdivision code without the prefix; NULL: the whole country.
    region text,
    CONSTRAINT shipping_zone_countries_region_check CHECK (region ~ '^[A-Z0-9]{1,3}$'),
    -- A place is in at most one zone, so an address has exactly one zone or none.
    CONSTRAINT shipping_zone_countries_place_key UNIQUE NULLS NOT DISTINCT (country, region)
);
CREATE INDEX shipping_zone_countries_zone_id_idx ON shop.shipping_zone_countries (zone_id);
COMMENT ON TABLE shop.shipping_zone_countries IS
'The places of each shipping zone: a whole country (region NULL) or one region of it. A place is in at '
'most one zone; an address in a listed region belongs to that region''s zone, otherwise to its country''s. '
'Everyone reads them; store admins write them.';

CREATE TABLE shop.shipping_methods (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    zone_id uuid NOT NULL REFERENCES shop.shipping_zones (id) ON DELETE RESTRICT,
    code text NOT NULL,
    name text NOT NULL,
    currency char(3) NOT NULL,
    rate_kind text NOT NULL,
    flat_amount bigint,
    free_from_subtotal bigint,
    tax_class text NOT NULL DEFAULT 'standard' REFERENCES shop.tax_classes (code) ON DELETE RESTRICT,
    active boolean NOT NULL DEFAULT TRUE,
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shipping_methods_code_key UNIQUE (code),
    -- Target of the tiers' (method_id, rate_kind) foreign key: only weight-tiered methods have tiers.
    CONSTRAINT shipping_methods_id_rate_kind_key UNIQUE (id, rate_kind),
    CONSTRAINT shipping_methods_code_check CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 64),
    CONSTRAINT shipping_methods_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT shipping_methods_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT shipping_methods_rate_kind_check CHECK (rate_kind IN ('flat', 'weight_tiered')),
    -- A flat method has its amount; a weight-tiered one takes it from its tiers.
    CONSTRAINT shipping_methods_flat_amount_kind_check CHECK ((rate_kind = 'flat') = (flat_amount IS NOT NULL)),
    CONSTRAINT shipping_methods_flat_amount_check CHECK (flat_amount BETWEEN 0 AND 100000000000),
    CONSTRAINT shipping_methods_free_from_subtotal_check CHECK (free_from_subtotal BETWEEN 0 AND 100000000000),
    CONSTRAINT shipping_methods_position_check CHECK (position BETWEEN -1000000 AND 1000000)
);
CREATE INDEX shipping_methods_zone_id_currency_idx ON shop.shipping_methods (zone_id, currency);
CREATE INDEX shipping_methods_tax_class_idx ON shop.shipping_methods (tax_class);
COMMENT ON TABLE shop.shipping_methods IS
'Shipping methods of a zone, in one currency: flat (flat_amount) or weight_tiered (the tier covering the '
'cart''s weight, shop.shipping_method_tiers; no tier covering it: the method does not apply). From a '
'subtotal of free_from_subtotal (inclusive) the method is free. code is what a cart selects. tax_class: '
'what the shipping charge is taxed as. Anonymous callers and customers see active methods; store admins '
'write them.';

CREATE TABLE shop.shipping_method_tiers (
    method_id uuid NOT NULL,
    -- Always weight_tiered: with the foreign key below, a flat method can have no tiers.
    rate_kind text NOT NULL DEFAULT 'weight_tiered',
    min_weight_grams bigint NOT NULL DEFAULT 0,
    -- Inclusive ("up to 1 kg" is 1000); NULL: no upper limit.
    max_weight_grams bigint,
    amount bigint NOT NULL,
    -- NULL only for reversed bounds, which shipping_method_tiers_max_weight_grams_check then refuses.
    weights int8range GENERATED ALWAYS AS (
        CASE WHEN (max_weight_grams < min_weight_grams) IS NOT TRUE
            THEN int8range(min_weight_grams, max_weight_grams, '[]')
        END
    ) STORED,
    PRIMARY KEY (method_id, min_weight_grams),
    CONSTRAINT shipping_method_tiers_method_fkey FOREIGN KEY (method_id, rate_kind)
    REFERENCES shop.shipping_methods (id, rate_kind) ON DELETE CASCADE,
    CONSTRAINT shipping_method_tiers_rate_kind_check CHECK (rate_kind = 'weight_tiered'),
    CONSTRAINT shipping_method_tiers_min_weight_grams_check CHECK (min_weight_grams >= 0),
    CONSTRAINT shipping_method_tiers_max_weight_grams_check CHECK (max_weight_grams >= min_weight_grams),
    CONSTRAINT shipping_method_tiers_amount_check CHECK (amount BETWEEN 0 AND 100000000000),
    -- No weight is covered by two tiers of one method.
    CONSTRAINT shipping_method_tiers_no_overlap EXCLUDE USING gist (method_id WITH =, weights WITH &&)
);
COMMENT ON TABLE shop.shipping_method_tiers IS
'Weight tiers of a weight_tiered shipping method: amount for a total weight from min_weight_grams to '
'max_weight_grams, both inclusive (NULL max: no limit). Tiers of one method never overlap (exclusion '
'constraint); weights between tiers are not covered, so the method does not apply to them. Everyone '
'reads them; store admins write them.';

-- == row-level security ==============================================================================
ALTER TABLE shop.tax_classes ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.tax_classes FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.tax_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.tax_rates FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.store_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.store_settings FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.shipping_zones ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.shipping_zones FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.shipping_zone_countries ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.shipping_zone_countries FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.shipping_methods ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.shipping_methods FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.shipping_method_tiers ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.shipping_method_tiers FORCE ROW LEVEL SECURITY;

-- Rates, zones and settings are public facts of the store: the cart computes with them as its caller.
CREATE POLICY tax_classes_owner_all ON shop.tax_classes
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY tax_classes_select_all ON shop.tax_classes
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
CREATE POLICY tax_classes_write_store_admin ON shop.tax_classes
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY tax_rates_owner_all ON shop.tax_rates
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY tax_rates_select_all ON shop.tax_rates
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
CREATE POLICY tax_rates_write_store_admin ON shop.tax_rates
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY store_settings_owner_all ON shop.store_settings
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY store_settings_select_all ON shop.store_settings
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
CREATE POLICY store_settings_update_store_admin ON shop.store_settings
FOR UPDATE TO store_admin USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY shipping_zones_owner_all ON shop.shipping_zones
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY shipping_zones_select_all ON shop.shipping_zones
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
CREATE POLICY shipping_zones_write_store_admin ON shop.shipping_zones
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY shipping_zone_countries_owner_all ON shop.shipping_zone_countries
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY shipping_zone_countries_select_all ON shop.shipping_zone_countries
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
CREATE POLICY shipping_zone_countries_write_store_admin ON shop.shipping_zone_countries
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);

-- Inactive methods are staff's business only (one column of the row: O(1)).
CREATE POLICY shipping_methods_owner_all ON shop.shipping_methods
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY shipping_methods_select_active ON shop.shipping_methods
FOR SELECT TO postcart_anon, postcart_customer USING (active);
CREATE POLICY shipping_methods_select_staff ON shop.shipping_methods
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY shipping_methods_write_store_admin ON shop.shipping_methods
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY shipping_method_tiers_owner_all ON shop.shipping_method_tiers
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY shipping_method_tiers_select_all ON shop.shipping_method_tiers
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
CREATE POLICY shipping_method_tiers_write_store_admin ON shop.shipping_method_tiers
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);

-- == grants ==========================================================================================
-- Reads: every API role (public facts). Writes: store_admin, column by column; codes are stable (no
-- UPDATE on them), derived columns (valid_during, weights, rate_kind of tiers, timestamps) are never
-- written by callers. The product's class and the variant's weight belong to the catalog.
GRANT SELECT (code, name, description) ON shop.tax_classes TO postcart_anon, postcart_customer;
GRANT SELECT (code, name, description, created_at) ON shop.tax_classes TO postcart_staff;
GRANT INSERT (code, name, description) ON shop.tax_classes TO store_admin;
GRANT UPDATE (name, description) ON shop.tax_classes TO store_admin;
GRANT DELETE ON shop.tax_classes TO store_admin;

GRANT SELECT (id, country, region, tax_class, rate_percent, name, valid_from, valid_to, valid_during)
ON shop.tax_rates TO postcart_anon, postcart_customer;
GRANT SELECT (
    id, country, region, tax_class, rate_percent, name, valid_from, valid_to, valid_during, created_at, updated_at
) ON shop.tax_rates TO postcart_staff;
GRANT INSERT (country, region, tax_class, rate_percent, name, valid_from, valid_to) ON shop.tax_rates TO store_admin;
GRANT UPDATE (rate_percent, name, valid_from, valid_to) ON shop.tax_rates TO store_admin;
GRANT DELETE ON shop.tax_rates TO store_admin;

GRANT SELECT (id, prices_include_tax) ON shop.store_settings TO postcart_anon, postcart_customer;
GRANT SELECT (id, prices_include_tax, updated_at) ON shop.store_settings TO postcart_staff;
GRANT UPDATE (prices_include_tax) ON shop.store_settings TO store_admin;

GRANT SELECT (tax_class) ON shop.products TO postcart_anon, postcart_customer, postcart_staff;
GRANT INSERT (tax_class), UPDATE (tax_class) ON shop.products TO catalog_manager;
GRANT SELECT (weight_grams) ON shop.product_variants TO postcart_anon, postcart_customer, postcart_staff;
GRANT INSERT (weight_grams), UPDATE (weight_grams) ON shop.product_variants TO catalog_manager;

GRANT SELECT (id, code, name) ON shop.shipping_zones TO postcart_anon, postcart_customer;
GRANT SELECT (id, code, name, created_at, updated_at) ON shop.shipping_zones TO postcart_staff;
GRANT INSERT (code, name) ON shop.shipping_zones TO store_admin;
GRANT UPDATE (name) ON shop.shipping_zones TO store_admin;
GRANT DELETE ON shop.shipping_zones TO store_admin;

GRANT SELECT (zone_id, country, region) ON shop.shipping_zone_countries
TO postcart_anon, postcart_customer, postcart_staff;
GRANT INSERT (zone_id, country, region) ON shop.shipping_zone_countries TO store_admin;
GRANT DELETE ON shop.shipping_zone_countries TO store_admin;

GRANT SELECT (
    id, zone_id, code, name, currency, rate_kind, flat_amount, free_from_subtotal, tax_class, active, position
) ON shop.shipping_methods TO postcart_anon, postcart_customer;
GRANT SELECT (
    id, zone_id, code, name, currency, rate_kind, flat_amount, free_from_subtotal, tax_class, active, position,
    created_at, updated_at
) ON shop.shipping_methods TO postcart_staff;
GRANT INSERT (
    zone_id, code, name, currency, rate_kind, flat_amount, free_from_subtotal, tax_class, active, position
) ON shop.shipping_methods TO store_admin;
GRANT UPDATE (
    zone_id, name, currency, rate_kind, flat_amount, free_from_subtotal, tax_class, active, position
) ON shop.shipping_methods TO store_admin;
GRANT DELETE ON shop.shipping_methods TO store_admin;

GRANT SELECT (method_id, min_weight_grams, max_weight_grams, amount, weights) ON shop.shipping_method_tiers
TO postcart_anon, postcart_customer, postcart_staff;
GRANT INSERT (method_id, min_weight_grams, max_weight_grams, amount) ON shop.shipping_method_tiers TO store_admin;
GRANT UPDATE (min_weight_grams, max_weight_grams, amount) ON shop.shipping_method_tiers TO store_admin;
GRANT DELETE ON shop.shipping_method_tiers TO store_admin;

RESET ROLE;
