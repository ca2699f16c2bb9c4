-- Demo tax rates, shipping zones and methods, and weights for the demo catalog's variants. Called by
-- shop.load_demo_catalog(). Demo values: the rates were the countries' (and the US states' base) rates
-- when written, not tax advice; a real store sets the rates of the places it must collect tax for.

CREATE OR REPLACE FUNCTION shop.load_demo_tax_shipping()
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    rates integer;
    methods integer;
BEGIN
    -- Germany shows a validity window: the cut of the second half of 2020 (16 % and 5 %).
    INSERT INTO shop.tax_rates (country, region, tax_class, rate_percent, name, valid_from, valid_to)
    SELECT r.country, r.region, r.tax_class, r.rate_percent, r.name, r.valid_from, r.valid_to
    FROM (VALUES
        ('DE', NULL, 'standard', 19, 'MwSt. 19 %', NULL, timestamptz '2020-07-01 00:00+02'),
        ('DE', NULL, 'standard', 16, 'MwSt. 16 %', timestamptz '2020-07-01 00:00+02', timestamptz '2021-01-01 00:00+01'),
        ('DE', NULL, 'standard', 19, 'MwSt. 19 %', timestamptz '2021-01-01 00:00+01', NULL),
        ('DE', NULL, 'reduced', 7, 'MwSt. 7 %', NULL, timestamptz '2020-07-01 00:00+02'),
        ('DE', NULL, 'reduced', 5, 'MwSt. 5 %', timestamptz '2020-07-01 00:00+02', timestamptz '2021-01-01 00:00+01'),
        ('DE', NULL, 'reduced', 7, 'MwSt. 7 %', timestamptz '2021-01-01 00:00+01', NULL),
        ('DE', NULL, 'zero', 0, 'MwSt. 0 %', NULL, NULL),
        ('FR', NULL, 'standard', 20, 'TVA 20 %', NULL, NULL),
        ('FR', NULL, 'reduced', 5.5, 'TVA 5,5 %', NULL, NULL),
        ('FR', NULL, 'zero', 0, 'TVA 0 %', NULL, NULL),
        ('GB', NULL, 'standard', 20, 'VAT 20%', NULL, NULL),
        ('GB', NULL, 'reduced', 5, 'VAT 5%', NULL, NULL),
        ('GB', NULL, 'zero', 0, 'VAT 0%', NULL, NULL),
        -- State base rates only (local sales taxes come on top in reality). No US-wide rate: a state
        -- without a row (Oregon, say) is not taxed.
        ('US', 'CA', 'standard', 7.25, 'CA sales tax', NULL, NULL),
        ('US', 'NY', 'standard', 4, 'NY sales tax', NULL, NULL),
        ('US', 'TX', 'standard', 6.25, 'TX sales tax', NULL, NULL),
        ('US', 'WA', 'standard', 6.5, 'WA sales tax', NULL, NULL)
    ) AS r (country, region, tax_class, rate_percent, name, valid_from, valid_to)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS rates = ROW_COUNT;

    INSERT INTO shop.shipping_zones (code, name) VALUES
    ('de', 'Germany'),
    ('eu', 'European Union'),
    ('gb', 'United Kingdom'),
    ('us', 'United States'),
    ('us-remote', 'Alaska and Hawaii')
    ON CONFLICT (code) DO NOTHING;
    INSERT INTO shop.shipping_zone_countries (zone_id, country, region)
    SELECT z.id, p.country, p.region
    FROM (VALUES
        ('de', 'DE', NULL), ('gb', 'GB', NULL), ('us', 'US', NULL), ('us-remote', 'US', 'AK'),
        ('us-remote', 'US', 'HI'),
        ('eu', 'AT', NULL), ('eu', 'BE', NULL), ('eu', 'BG', NULL), ('eu', 'CY', NULL), ('eu', 'CZ', NULL),
        ('eu', 'DK', NULL), ('eu', 'EE', NULL), ('eu', 'ES', NULL), ('eu', 'FI', NULL), ('eu', 'FR', NULL),
        ('eu', 'GR', NULL), ('eu', 'HR', NULL), ('eu', 'HU', NULL), ('eu', 'IE', NULL), ('eu', 'IT', NULL),
        ('eu', 'LT', NULL), ('eu', 'LU', NULL), ('eu', 'LV', NULL), ('eu', 'MT', NULL), ('eu', 'NL', NULL),
        ('eu', 'PL', NULL), ('eu', 'PT', NULL), ('eu', 'RO', NULL), ('eu', 'SE', NULL), ('eu', 'SI', NULL),
        ('eu', 'SK', NULL)
    ) AS p (zone_code, country, region)
    INNER JOIN shop.shipping_zones AS z ON p.zone_code = z.code
    ON CONFLICT DO NOTHING;

    INSERT INTO shop.shipping_methods (
        zone_id, code, name, currency, rate_kind, flat_amount, free_from_subtotal, position
    )
    SELECT z.id, m.code, m.name, m.currency, m.rate_kind, m.flat_amount, m.free_from_subtotal, m.position
    FROM (VALUES
        ('de', 'de-parcel', 'DHL Paket', 'EUR', 'weight_tiered', NULL, 5000, 1),
        ('de', 'de-express', 'DHL Express (next day)', 'EUR', 'flat', 1490, NULL, 2),
        ('eu', 'eu-parcel', 'EU parcel', 'EUR', 'weight_tiered', NULL, 15000, 1),
        ('gb', 'gb-parcel', 'UK parcel (duties paid)', 'EUR', 'flat', 1490, NULL, 1),
        ('us', 'us-ground', 'USPS Ground Advantage', 'USD', 'weight_tiered', NULL, 7500, 1),
        ('us', 'us-two-day', 'UPS 2nd Day Air', 'USD', 'flat', 2499, NULL, 2),
        ('us-remote', 'us-remote-priority', 'USPS Priority Mail (AK, HI)', 'USD', 'flat', 2999, NULL, 1)
    ) AS m (zone_code, code, name, currency, rate_kind, flat_amount, free_from_subtotal, position)
    INNER JOIN shop.shipping_zones AS z ON m.zone_code = z.code
    ON CONFLICT (code) DO NOTHING;
    GET DIAGNOSTICS methods = ROW_COUNT;

    INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
    SELECT m.id, t.min_weight_grams, t.max_weight_grams, t.amount
    FROM (VALUES
        ('de-parcel', 0, 2000, 499), ('de-parcel', 2001, 5000, 699), ('de-parcel', 5001, 10000, 999),
        ('de-parcel', 10001, 31500, 1699),
        ('eu-parcel', 0, 2000, 1290), ('eu-parcel', 2001, 10000, 1990), ('eu-parcel', 10001, 31500, 3490),
        ('us-ground', 0, 450, 599), ('us-ground', 451, 2270, 999), ('us-ground', 2271, 9070, 1899),
        ('us-ground', 9071, 31750, 3499)
    ) AS t (method_code, min_weight_grams, max_weight_grams, amount)
    INNER JOIN shop.shipping_methods AS m ON t.method_code = m.code
    ON CONFLICT DO NOTHING;

    -- One weight per product line of the demo catalog (the SKU's prefix), for variants still without one.
    UPDATE shop.product_variants AS v SET weight_grams = w.grams
    FROM (VALUES ('TS', 180), ('HD', 650), ('MG', 400), ('PS', 300), ('BG', 450), ('CP', 110)) AS w (prefix, grams)
    WHERE split_part(v.sku, '-', 1) = w.prefix AND v.weight_grams = 0;

    RETURN rates + methods;
END
$$;
COMMENT ON FUNCTION shop.load_demo_tax_shipping() IS
'Adds the demo tax rates (DE with its 2020 cut, FR, GB, and the base rates of CA, NY, TX and WA: demo '
'values, not tax advice), the shipping zones de, eu, gb, us and us-remote (AK, HI) with their methods and '
'weight tiers, and a weight to each demo variant without one. Rows already present are kept. Returns the '
'number of tax rates and shipping methods added. Called by shop.load_demo_catalog().';
REVOKE ALL ON FUNCTION shop.load_demo_tax_shipping() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.load_demo_tax_shipping() TO postcart_owner;
