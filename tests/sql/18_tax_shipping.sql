-- Tax and shipping (migration 0024, sql/shop/tax_shipping.sql): every constraint, the worked examples of
-- docs/tax-and-shipping.md exactly, rounding at .5, region fallback, validity windows, shipping at the
-- exact free threshold and tier boundaries, zones by region, RLS and grants, the demo data.
-- The fixture replaces whatever rates, zones and methods the database holds, inside this transaction.
BEGIN;
SELECT plan(133);

-- One line's (net, tax, gross) as text, for compact comparisons.
CREATE FUNCTION pg_temp.line(amount bigint, tax_class text, country char(2), region text, incl boolean,
                             at timestamptz DEFAULT now())
RETURNS text
LANGUAGE sql
AS $$
    SELECT format('net %s tax %s gross %s', t.net, t.tax, t.gross)
    FROM shop.compute_tax(ARRAY[amount], ARRAY[tax_class], country, region, incl, at) AS t
$$;
GRANT EXECUTE ON FUNCTION pg_temp.line(bigint, text, char, text, boolean, timestamptz) TO PUBLIC;

-- The codes and amounts of the methods that apply, cheapest first, as text.
CREATE FUNCTION pg_temp.options(country char(2), region text, grams bigint, subtotal bigint, currency char(3))
RETURNS text
LANGUAGE sql
AS $$
    SELECT coalesce(string_agg(o.code || '=' || o.amount, ' '), '')
    FROM shop.shipping_options(country, region, grams, subtotal, currency) AS o
$$;
GRANT EXECUTE ON FUNCTION pg_temp.options(char, text, bigint, bigint, char) TO PUBLIC;

-- == fixture ========================================================================================
DELETE FROM shop.shipping_method_tiers;
DELETE FROM shop.shipping_methods;
DELETE FROM shop.shipping_zones;
DELETE FROM shop.tax_rates;

INSERT INTO shop.tax_rates (country, region, tax_class, rate_percent, name, valid_from, valid_to) VALUES
('DE', NULL, 'standard', 19, 'MwSt. 19 %', NULL, '2020-07-01 00:00+02'),
('DE', NULL, 'standard', 16, 'MwSt. 16 %', '2020-07-01 00:00+02', '2021-01-01 00:00+01'),
('DE', NULL, 'standard', 19, 'MwSt. 19 %', '2021-01-01 00:00+01', NULL),
('DE', NULL, 'reduced', 7, 'MwSt. 7 %', NULL, NULL),
('FR', NULL, 'standard', 20, 'TVA 20 %', NULL, NULL),
('US', 'CA', 'standard', 7.25, 'CA sales tax', NULL, NULL),
-- Canada: a country-wide rate (GST) and one province's combined rate that replaces it.
('CA', NULL, 'standard', 5, 'GST', NULL, NULL),
('CA', 'QC', 'standard', 14.975, 'GST + QST', NULL, NULL);

INSERT INTO shop.shipping_zones (id, code, name) VALUES
('e1800000-0000-4000-8000-000000000001', 'tst18-de', 'Tst18 Germany'),
('e1800000-0000-4000-8000-000000000002', 'tst18-us', 'Tst18 US'),
('e1800000-0000-4000-8000-000000000003', 'tst18-us-remote', 'Tst18 Hawaii');
INSERT INTO shop.shipping_zone_countries (zone_id, country, region) VALUES
('e1800000-0000-4000-8000-000000000001', 'DE', NULL),
('e1800000-0000-4000-8000-000000000002', 'US', NULL),
('e1800000-0000-4000-8000-000000000003', 'US', 'HI');
INSERT INTO shop.shipping_methods (
    id, zone_id, code, name, currency, rate_kind, flat_amount, free_from_subtotal, active, position
) VALUES
('e18a0000-0000-4000-8000-000000000001', 'e1800000-0000-4000-8000-000000000001', 'tst18-parcel', 'Parcel', 'EUR',
 'weight_tiered', NULL, 5000, TRUE, 1),
('e18a0000-0000-4000-8000-000000000002', 'e1800000-0000-4000-8000-000000000001', 'tst18-express', 'Express', 'EUR',
 'flat', 1490, NULL, TRUE, 2),
('e18a0000-0000-4000-8000-000000000003', 'e1800000-0000-4000-8000-000000000001', 'tst18-courier', 'Courier', 'EUR',
 'flat', 990, NULL, FALSE, 3),
('e18a0000-0000-4000-8000-000000000004', 'e1800000-0000-4000-8000-000000000002', 'tst18-ground', 'Ground', 'USD',
 'flat', 599, 7500, TRUE, 1),
('e18a0000-0000-4000-8000-000000000005', 'e1800000-0000-4000-8000-000000000003', 'tst18-island', 'Island', 'USD',
 'flat', 2999, NULL, TRUE, 1),
-- Same price as Express: position decides.
('e18a0000-0000-4000-8000-000000000006', 'e1800000-0000-4000-8000-000000000001', 'tst18-bike', 'Bike', 'EUR',
 'flat', 1490, NULL, TRUE, 0);
-- Parcel: up to 1 kg 499, 1001 g to 5 kg 699, a gap, then 10 to 20 kg 1299.
INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount) VALUES
('e18a0000-0000-4000-8000-000000000001', 0, 1000, 499),
('e18a0000-0000-4000-8000-000000000001', 1001, 5000, 699),
('e18a0000-0000-4000-8000-000000000001', 10000, 20000, 1299);

-- == worked examples (docs/tax-and-shipping.md) =====================================================
-- Example 1: Germany, prices include tax: two T-shirts at 24.90, a book at 19.90 (reduced), shipping 4.99.
SELECT is(
    (SELECT array_agg(format('%s %s: net %s tax %s gross %s', t.line, t.tax_name, t.net, t.tax, t.gross) ORDER BY t.line)
     FROM shop.compute_tax(ARRAY[4980, 1990, 499], ARRAY['standard', 'reduced', 'standard'], 'DE', NULL, TRUE) AS t),
    ARRAY['1 MwSt. 19 %: net 4185 tax 795 gross 4980', '2 MwSt. 7 %: net 1860 tax 130 gross 1990',
          '3 MwSt. 19 %: net 419 tax 80 gross 499'],
    'example 1 (DE, prices include tax): each line''s tax is taken out of its amount and rounded'
);
SELECT is(
    (SELECT DISTINCT format('net %s tax %s gross %s', t.net_total, t.tax_total, t.gross_total)
     FROM shop.compute_tax(ARRAY[4980, 1990, 499], ARRAY['standard', 'reduced', 'standard'], 'DE', NULL, TRUE) AS t),
    'net 6464 tax 1005 gross 7469',
    'example 1: the totals are the sums of the rounded lines, and the customer pays the shown prices'
);
-- Example 2: California, prices exclude tax: two at 26.99 and one at 12.50.
SELECT is(
    (SELECT array_agg(format('%s %s %s%%: net %s tax %s gross %s', t.line, t.tax_name, t.rate_percent, t.net, t.tax, t.gross)
                      ORDER BY t.line)
     FROM shop.compute_tax(ARRAY[5398, 1250], ARRAY['standard', 'standard'], 'US', 'CA', FALSE) AS t),
    ARRAY['1 CA sales tax 7.2500%: net 5398 tax 391 gross 5789', '2 CA sales tax 7.2500%: net 1250 tax 91 gross 1341'],
    'example 2 (US-CA, prices exclude tax): the tax is added on top of each line'
);
SELECT is(
    (SELECT DISTINCT format('net %s tax %s gross %s', t.net_total, t.tax_total, t.gross_total)
     FROM shop.compute_tax(ARRAY[5398, 1250], ARRAY['standard', 'standard'], 'US', 'CA', FALSE) AS t),
    'net 6648 tax 482 gross 7130', 'example 2: totals'
);
-- Example 3: the reduced rate on its own.
SELECT is(pg_temp.line(1990, 'reduced', 'DE', NULL, TRUE), 'net 1860 tax 130 gross 1990',
          'example 3: a book at 19.90 in Germany carries 7 % (1.30)');
-- Example 4: a 10 % discount comes off the line before tax.
SELECT is(pg_temp.line(4980 - 498, 'standard', 'DE', NULL, TRUE), 'net 3766 tax 716 gross 4482',
          'example 4 (DE): 49.80 less 10 % is 44.82, whose tax is 7.16');
SELECT is(pg_temp.line(5398 - 500, 'standard', 'US', 'CA', FALSE), 'net 4898 tax 355 gross 5253',
          'example 4 (US-CA): 53.98 less a 5.00 coupon is 48.98, plus 3.55 tax');

-- == rounding =======================================================================================
SELECT is(pg_temp.line(200, 'standard', 'US', 'CA', FALSE), 'net 200 tax 15 gross 215',
          'exclusive: 7.25 % of 2.00 is 14.5 cents, rounded half up to 15');
SELECT is(pg_temp.line(1000, 'standard', 'US', 'CA', FALSE), 'net 1000 tax 73 gross 1073',
          'exclusive: 72.5 cents becomes 73');
SELECT is(pg_temp.line(1803, 'standard', 'FR', NULL, TRUE), 'net 1502 tax 301 gross 1803',
          'inclusive: 18.03 at 20 % holds exactly 300.5 cents of tax, rounded up to 301');
SELECT is(pg_temp.line(3, 'standard', 'FR', NULL, TRUE), 'net 2 tax 1 gross 3',
          'inclusive: 3 cents at 20 % hold 0.5 cents of tax: 1');
SELECT is(pg_temp.line(4500, 'standard', 'DE', NULL, TRUE), 'net 3782 tax 718 gross 4500',
          'inclusive: 718.49 cents rounds down to 718');
SELECT is(pg_temp.line(6, 'standard', 'US', 'CA', FALSE), 'net 6 tax 0 gross 6',
          'exclusive: 0.435 cents rounds down to 0');
SELECT is(pg_temp.line(0, 'standard', 'DE', NULL, TRUE), 'net 0 tax 0 gross 0', 'a free line carries no tax');
SELECT is(
    (SELECT bool_and(t.net + t.tax = t.gross)
     FROM generate_series(0, 2000) AS a
     CROSS JOIN LATERAL shop.compute_tax(ARRAY[a::bigint], ARRAY['standard'], 'CA', 'QC', TRUE) AS t),
    TRUE, 'net + tax = gross on every line (every amount to 20.00 at 14.975 % inclusive)'
);
SELECT is(
    (SELECT count(*) FILTER (WHERE t.tax <> round(a * 14.975 / 114.975))
     FROM generate_series(0, 2000) AS a
     CROSS JOIN LATERAL shop.compute_tax(ARRAY[a::bigint], ARRAY['standard'], 'CA', 'QC', TRUE) AS t),
    0::bigint, 'inclusive tax is the exact share of the amount rounded half up, for every amount to 20.00'
);

-- == which rate ====================================================================================
SELECT is(pg_temp.line(10000, 'standard', 'CA', 'QC', FALSE), 'net 10000 tax 1498 gross 11498',
          'a region''s rate beats its country''s (Quebec: 14.975 %)');
SELECT is(pg_temp.line(10000, 'standard', 'CA', 'ON', FALSE), 'net 10000 tax 500 gross 10500',
          'a region without a rate falls back to the country''s (Ontario: 5 %)');
SELECT is(pg_temp.line(10000, 'standard', 'CA', NULL, FALSE), 'net 10000 tax 500 gross 10500',
          'no region: the country''s rate');
SELECT is(pg_temp.line(10000, 'standard', 'US', 'OR', FALSE), 'net 10000 tax 0 gross 10000',
          'a US state without a rate, in a country without one, is not taxed (Oregon)');
SELECT is(
    (SELECT row(t.tax_rate_id, t.tax_name, t.rate_percent)::text
     FROM shop.compute_tax(ARRAY[10000::bigint], ARRAY['standard'], 'US', 'OR', FALSE) AS t),
    row(NULL::uuid, NULL::text, 0::numeric)::text, 'an untaxed line says so: no rate id, no name, 0 %'
);
SELECT is(pg_temp.line(10000, 'reduced', 'US', 'CA', FALSE), 'net 10000 tax 0 gross 10000',
          'a class without a rate in the place is not taxed there');
SELECT is(pg_temp.line(11900, 'standard', 'JP', NULL, TRUE), 'net 11900 tax 0 gross 11900',
          'a country without rates: inclusive prices are all net');
SELECT is(pg_temp.line(11600, 'standard', 'DE', NULL, TRUE, '2020-06-30 23:59:59.999999+02'),
          'net 9748 tax 1852 gross 11600', 'one microsecond before the 2020 cut: 19 %');
SELECT is(pg_temp.line(11600, 'standard', 'DE', NULL, TRUE, '2020-07-01 00:00:00+02'),
          'net 10000 tax 1600 gross 11600', 'at the cut''s valid_from exactly: 16 % (inclusive bound)');
SELECT is(pg_temp.line(11600, 'standard', 'DE', NULL, TRUE, '2020-12-31 23:59:59.999999+01'),
          'net 10000 tax 1600 gross 11600', 'one microsecond before valid_to: still 16 %');
SELECT is(pg_temp.line(11600, 'standard', 'DE', NULL, TRUE, '2021-01-01 00:00:00+01'),
          'net 9748 tax 1852 gross 11600', 'at valid_to exactly: 19 % again (exclusive bound)');
SELECT is(
    (SELECT count(*) FROM shop.compute_tax('{}', '{}', 'DE', NULL, TRUE)), 0::bigint, 'no lines, no rows'
);
SELECT throws_ok(
    $$SELECT * FROM shop.compute_tax(ARRAY[100, -1, NULL], ARRAY['standard', 'luxury'], 'DE', NULL, NULL)$$,
    'PT422', 'validation_failed', 'bad arguments are 422 validation_failed (test_tax_shipping.py checks the fields)'
);
SELECT throws_ok(
    $$SELECT * FROM shop.compute_tax(ARRAY[100], ARRAY['standard'], NULL, NULL, TRUE, NULL)$$,
    'PT422', 'validation_failed', 'country and instant are required'
);

-- == tax constraints ===============================================================================
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('FR', 'reduced', -0.0001, 'x')$$,
    '23514', NULL, 'a rate below 0 % is refused'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('FR', 'reduced', 100.0001, 'x')$$,
    '23514', NULL, 'a rate above 100 % is refused'
);
SELECT lives_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('FR', 'zero', 0, 'TVA 0 %'),
      ('GB', 'standard', 100, 'bounds')$$,
    '0 % and 100 % are accepted'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, region, tax_class, rate_percent, name) VALUES ('US', 'ca', 'standard', 1, 'x')$$,
    '23514', NULL, 'a region is an upper-case subdivision code'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('FR', 'reduced', 5.5, ' ')$$,
    '23514', NULL, 'a rate has a name'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name, valid_from, valid_to)
      VALUES ('FR', 'reduced', 5.5, 'x', '2030-01-01', '2030-01-01')$$,
    '23514', NULL, 'a validity window ends after it starts'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name, valid_from, valid_to)
      VALUES ('FR', 'reduced', 5.5, 'x', '2030-01-02', '2030-01-01')$$,
    '23514', NULL, 'a reversed window is refused by the same check'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('ZZ', 'standard', 5, 'x')$$,
    '23503', NULL, 'a rate names a known country'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('FR', 'luxury', 5, 'x')$$,
    '23503', NULL, 'a rate names a known tax class'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('FR', 'standard', 21, 'x')$$,
    '23P01', NULL, 'two country-wide rates for one class cannot overlap'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, region, tax_class, rate_percent, name) VALUES ('CA', 'QC', 'standard', 9, 'x')$$,
    '23P01', NULL, 'two rates of one region and class cannot overlap'
);
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name, valid_from)
      VALUES ('DE', 'standard', 20, 'x', '2020-12-31 00:00+01')$$,
    '23P01', NULL, 'a new rate cannot start inside an existing window'
);
SELECT lives_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name, valid_from, valid_to)
      VALUES ('FR', 'reduced', 5.5, 'TVA 5,5 %', NULL, '2031-01-01 00:00+01'),
      ('FR', 'reduced', 6, 'TVA 6 %', '2031-01-01 00:00+01', NULL)$$,
    'a rate may start exactly where the previous one ends'
);
SELECT lives_ok(
    $$INSERT INTO shop.tax_rates (country, region, tax_class, rate_percent, name) VALUES ('CA', 'ON', 'standard', 13, 'HST')$$,
    'a region''s rate coexists with its country''s'
);
SELECT is(pg_temp.line(10000, 'standard', 'CA', 'ON', FALSE), 'net 10000 tax 1300 gross 11300',
          'and replaces it for that region at once');
SELECT throws_ok(
    $$INSERT INTO shop.tax_classes (code, name) VALUES ('Luxury Goods', 'Luxury')$$, '23514', NULL,
    'a tax class code is lower-case words joined by hyphens'
);
SELECT throws_matching(
    -- 23503 up to PostgreSQL 17, 23001 (restrict_violation) from 18: the message names the constraint in both.
    $$DELETE FROM shop.tax_classes WHERE code = 'reduced'$$, 'violates (RESTRICT setting of )?foreign key constraint',
    'a class with rates cannot be deleted'
);
SELECT is(
    (SELECT array_agg(code ORDER BY code) FROM shop.tax_classes WHERE code IN ('standard', 'reduced', 'zero')),
    ARRAY['reduced', 'standard', 'zero'], 'the migration provides the standard, reduced and zero classes'
);

-- == the product's class and the variant's weight ===================================================
INSERT INTO shop.products (id, slug, name, status) VALUES
('e18b0000-0000-4000-8000-000000000001', 'tst18-book', 'Tst18 Book', 'published');
INSERT INTO shop.product_variants (id, product_id, sku, name) VALUES
('e18c0000-0000-4000-8000-000000000001', 'e18b0000-0000-4000-8000-000000000001', 'TST18-BOOK', 'Paperback');
SELECT is(
    (SELECT p.tax_class FROM shop.products AS p WHERE p.id = 'e18b0000-0000-4000-8000-000000000001'), 'standard',
    'an insert that names no class gets the standard class'
);
SELECT is(
    (SELECT v.weight_grams FROM shop.product_variants AS v WHERE v.id = 'e18c0000-0000-4000-8000-000000000001'), 0,
    'an insert that names no weight gets 0 g'
);
SELECT throws_ok(
    $$UPDATE shop.products SET tax_class = 'luxury' WHERE id = 'e18b0000-0000-4000-8000-000000000001'$$,
    '23503', NULL, 'a product''s class must exist'
);
SELECT throws_ok(
    $$UPDATE shop.product_variants SET weight_grams = -1 WHERE id = 'e18c0000-0000-4000-8000-000000000001'$$,
    '23514', NULL, 'a weight is not negative'
);
SELECT throws_ok(
    $$UPDATE shop.product_variants SET weight_grams = 10000001 WHERE id = 'e18c0000-0000-4000-8000-000000000001'$$,
    '23514', NULL, 'a unit weighs at most 10 t'
);
SELECT throws_ok(
    $$UPDATE shop.products SET tax_class = NULL WHERE id = 'e18b0000-0000-4000-8000-000000000001'$$,
    '23502', NULL, 'every product has a class'
);

-- == the store setting =============================================================================
SELECT is(shop.prices_include_tax(), TRUE, 'by default catalog prices include tax');
SELECT throws_ok(
    $$INSERT INTO shop.store_settings (id, prices_include_tax) VALUES (TRUE, FALSE)$$, '23505', NULL,
    'there is one settings row: no second'
);
SELECT throws_ok(
    $$INSERT INTO shop.store_settings (id, prices_include_tax) VALUES (FALSE, FALSE)$$, '23514', NULL,
    'not even under another id'
);
SELECT throws_ok($$DELETE FROM shop.store_settings$$, 'PT409', 'store_settings_required', 'the row cannot be deleted');
SELECT throws_ok($$TRUNCATE shop.store_settings$$, 'PT409', 'store_settings_required', 'nor truncated');
UPDATE shop.store_settings SET prices_include_tax = FALSE;
SELECT is(shop.prices_include_tax(), FALSE, 'one UPDATE switches the store to prices without tax');
UPDATE shop.store_settings SET prices_include_tax = TRUE;

-- == shipping ======================================================================================
SELECT is(pg_temp.options('DE', NULL, 500, 1000, 'EUR'), 'tst18-parcel=499 tst18-bike=1490 tst18-express=1490',
          'cheapest first; equal prices by position; the inactive courier is left out');
SELECT is(pg_temp.options('DE', NULL, 1000, 1000, 'EUR'), 'tst18-parcel=499 tst18-bike=1490 tst18-express=1490',
          'exactly 1000 g is the "up to 1 kg" tier (upper bound inclusive)');
SELECT is(pg_temp.options('DE', NULL, 1001, 1000, 'EUR'), 'tst18-parcel=699 tst18-bike=1490 tst18-express=1490',
          '1001 g is the next tier');
SELECT is(pg_temp.options('DE', NULL, 0, 1000, 'EUR'), 'tst18-parcel=499 tst18-bike=1490 tst18-express=1490',
          'a weightless parcel takes the first tier');
SELECT is(pg_temp.options('DE', NULL, 5001, 1000, 'EUR'), 'tst18-bike=1490 tst18-express=1490',
          'a weight in a gap between tiers: the tiered method does not apply');
SELECT is(pg_temp.options('DE', NULL, 10000, 1000, 'EUR'), 'tst18-parcel=1299 tst18-bike=1490 tst18-express=1490',
          'exactly the lower bound of a tier is in it');
SELECT is(pg_temp.options('DE', NULL, 20001, 1000, 'EUR'), 'tst18-bike=1490 tst18-express=1490',
          'heavier than the last tier: left out');
SELECT is(pg_temp.options('DE', NULL, 500, 4999, 'EUR'), 'tst18-parcel=499 tst18-bike=1490 tst18-express=1490',
          'one cent below the free threshold: full price');
SELECT is(pg_temp.options('DE', NULL, 500, 5000, 'EUR'), 'tst18-parcel=0 tst18-bike=1490 tst18-express=1490',
          'exactly at the threshold: free');
SELECT is(pg_temp.options('DE', NULL, 20001, 5000, 'EUR'), 'tst18-bike=1490 tst18-express=1490',
          'free shipping does not make a parcel no tier covers carriable');
SELECT is(pg_temp.options('US', 'CA', 500, 7499, 'USD'), 'tst18-ground=599', 'a flat method');
SELECT is(pg_temp.options('US', 'CA', 500, 7500, 'USD'), 'tst18-ground=0', 'a flat method free from its threshold');
SELECT is(pg_temp.options('US', 'HI', 500, 7500, 'USD'), 'tst18-island=2999',
          'a region listed in a zone of its own gets only that zone''s methods');
SELECT is(pg_temp.options('US', NULL, 500, 100, 'USD'), 'tst18-ground=599', 'no region: the country''s zone');
SELECT is(pg_temp.options('DE', NULL, 500, 1000, 'USD'), '', 'only methods in the cart''s currency');
SELECT is(pg_temp.options('JP', NULL, 500, 1000, 'EUR'), '', 'a country in no zone: no methods');
SELECT is(
    (SELECT row(o.method_id, o.zone_code, o.rate_kind, o.free_from_subtotal, o.tax_class)::text
     FROM shop.shipping_options('DE', NULL, 500, 1000, 'EUR') AS o WHERE o.code = 'tst18-parcel'),
    row('e18a0000-0000-4000-8000-000000000001'::uuid, 'tst18-de', 'weight_tiered', 5000::bigint, 'standard')::text,
    'a method comes with its id, zone, kind, threshold and tax class'
);
SELECT throws_ok(
    $$SELECT * FROM shop.shipping_options('DE', NULL, -1, NULL, 'EUR')$$, 'PT422', 'validation_failed',
    'a negative weight or a missing subtotal is 422'
);

-- == shipping constraints ==========================================================================
SELECT throws_ok(
    $$INSERT INTO shop.shipping_zone_countries (zone_id, country) VALUES ('e1800000-0000-4000-8000-000000000002', 'DE')$$,
    '23505', NULL, 'a country is in at most one zone'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_zone_countries (zone_id, country, region)
      VALUES ('e1800000-0000-4000-8000-000000000002', 'US', 'HI')$$,
    '23505', NULL, 'a region is in at most one zone'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_zone_countries (zone_id, country, region)
      VALUES ('e1800000-0000-4000-8000-000000000002', 'US', 'Hawaii')$$,
    '23514', NULL, 'a region is a subdivision code'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_zones (code, name) VALUES ('Tst18 Bad', 'Bad')$$, '23514', NULL,
    'a zone code is lower-case words joined by hyphens'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind)
      VALUES ('e1800000-0000-4000-8000-000000000001', 'tst18-x', 'X', 'EUR', 'flat')$$,
    '23514', NULL, 'a flat method has an amount'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind, flat_amount)
      VALUES ('e1800000-0000-4000-8000-000000000001', 'tst18-x', 'X', 'EUR', 'weight_tiered', 100)$$,
    '23514', NULL, 'a weight-tiered method has no flat amount'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind, flat_amount)
      VALUES ('e1800000-0000-4000-8000-000000000001', 'tst18-x', 'X', 'EUR', 'flat', -1)$$,
    '23514', NULL, 'a flat amount is not negative'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind, flat_amount, free_from_subtotal)
      VALUES ('e1800000-0000-4000-8000-000000000001', 'tst18-x', 'X', 'EUR', 'flat', 1, -1)$$,
    '23514', NULL, 'a free threshold is not negative'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind, flat_amount)
      VALUES ('e1800000-0000-4000-8000-000000000001', 'tst18-x', 'X', 'eur', 'flat', 1)$$,
    '23514', NULL, 'a currency is an upper-case ISO 4217 code'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind, flat_amount)
      VALUES ('e1800000-0000-4000-8000-000000000001', 'tst18-x', 'X', 'EUR', 'by_volume', 1)$$,
    '23514', NULL, 'the rate kind is flat or weight_tiered'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind, flat_amount)
      VALUES ('e1800000-0000-4000-8000-000000000002', 'tst18-express', 'X', 'USD', 'flat', 1)$$,
    '23505', NULL, 'method codes are unique across zones (a cart selects one by code)'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
      VALUES ('e18a0000-0000-4000-8000-000000000002', 0, 1000, 100)$$,
    '23503', NULL, 'a flat method has no tiers'
);
SELECT throws_ok(
    $$UPDATE shop.shipping_methods SET rate_kind = 'flat', flat_amount = 100
      WHERE id = 'e18a0000-0000-4000-8000-000000000001'$$,
    '23503', NULL, 'a method with tiers cannot become flat while it has them'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
      VALUES ('e18a0000-0000-4000-8000-000000000001', 5000, 6000, 100)$$,
    '23P01', NULL, 'a tier starting at another''s inclusive upper bound overlaps it'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
      VALUES ('e18a0000-0000-4000-8000-000000000001', 15000, NULL, 100)$$,
    '23P01', NULL, 'an open-ended tier overlapping another is refused'
);
SELECT lives_ok(
    $$INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
      VALUES ('e18a0000-0000-4000-8000-000000000001', 5001, 9999, 899)$$,
    'a tier filling the gap exactly fits'
);
SELECT is(pg_temp.options('DE', NULL, 5001, 1000, 'EUR'), 'tst18-parcel=899 tst18-bike=1490 tst18-express=1490',
          'and the method applies to that weight at once');
SELECT throws_ok(
    $$INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
      VALUES ('e18a0000-0000-4000-8000-000000000001', 30000, 29999, 100)$$,
    '23514', NULL, 'a tier''s upper bound is not below its lower bound'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
      VALUES ('e18a0000-0000-4000-8000-000000000001', 30000, NULL, -1)$$,
    '23514', NULL, 'a tier''s amount is not negative'
);
SELECT throws_ok(
    $$INSERT INTO shop.shipping_method_tiers (method_id, min_weight_grams, max_weight_grams, amount)
      VALUES ('e18a0000-0000-4000-8000-000000000001', -1, 0, 1)$$,
    '23514', NULL, 'a tier''s lower bound is not negative'
);
SELECT throws_matching(
    $$DELETE FROM shop.shipping_zones WHERE id = 'e1800000-0000-4000-8000-000000000001'$$,
    'violates (RESTRICT setting of )?foreign key constraint', 'a zone with methods cannot be deleted'
);

-- == who reads and writes ==========================================================================
SELECT policies_are('shop', 'tax_classes', ARRAY['tax_classes_owner_all', 'tax_classes_select_all', 'tax_classes_write_store_admin']);
SELECT policies_are('shop', 'tax_rates', ARRAY['tax_rates_owner_all', 'tax_rates_select_all', 'tax_rates_write_store_admin']);
SELECT policies_are('shop', 'store_settings',
                    ARRAY['store_settings_owner_all', 'store_settings_select_all', 'store_settings_update_store_admin']);
SELECT policies_are('shop', 'shipping_zones',
                    ARRAY['shipping_zones_owner_all', 'shipping_zones_select_all', 'shipping_zones_write_store_admin']);
SELECT policies_are('shop', 'shipping_zone_countries', ARRAY[
    'shipping_zone_countries_owner_all', 'shipping_zone_countries_select_all', 'shipping_zone_countries_write_store_admin'
]);
SELECT policies_are('shop', 'shipping_methods', ARRAY[
    'shipping_methods_owner_all', 'shipping_methods_select_active', 'shipping_methods_select_staff',
    'shipping_methods_write_store_admin'
]);
SELECT policies_are('shop', 'shipping_method_tiers', ARRAY[
    'shipping_method_tiers_owner_all', 'shipping_method_tiers_select_all', 'shipping_method_tiers_write_store_admin'
]);

CREATE ROLE tst18_admin NOLOGIN IN ROLE postcart_staff, store_admin;
CREATE ROLE tst18_catalog NOLOGIN IN ROLE postcart_staff, catalog_manager;

SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT is(pg_temp.line(4980, 'standard', 'DE', NULL, shop.prices_include_tax()), 'net 4185 tax 795 gross 4980',
          'an anonymous caller computes tax with the store setting (a guest cart)');
SELECT is(pg_temp.options('DE', NULL, 500, 1000, 'EUR'), 'tst18-parcel=499 tst18-bike=1490 tst18-express=1490',
          'and lists shipping methods');
SELECT is((SELECT count(*) FROM shop.shipping_methods WHERE code = 'tst18-courier'), 0::bigint,
          'anonymous callers do not see inactive methods');
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('IT', 'standard', 22, 'IVA')$$,
    '42501', NULL, 'anonymous callers cannot write rates'
);
SELECT throws_ok($$UPDATE shop.store_settings SET prices_include_tax = FALSE$$, '42501', NULL,
                 'nor the store setting');
RESET ROLE;

SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims', '{"sub": "e18d0000-0000-4000-8000-000000000001", "kind": "customer"}', TRUE);
SELECT is(pg_temp.line(5398, 'standard', 'US', 'CA', FALSE), 'net 5398 tax 391 gross 5789', 'a customer computes tax');
SELECT throws_ok(
    $$UPDATE shop.shipping_methods SET flat_amount = 0 WHERE code = 'tst18-express'$$, '42501', NULL,
    'customers cannot change shipping prices'
);
RESET ROLE;

SET LOCAL ROLE tst18_catalog;
SELECT is((SELECT count(*) FROM shop.shipping_methods WHERE code = 'tst18-courier'), 1::bigint,
          'staff see inactive methods');
SELECT throws_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('IT', 'standard', 22, 'IVA')$$,
    '42501', NULL, 'a catalog manager cannot write tax rates'
);
SELECT lives_ok(
    $$UPDATE shop.products SET tax_class = 'reduced' WHERE id = 'e18b0000-0000-4000-8000-000000000001';
      UPDATE shop.product_variants SET weight_grams = 350 WHERE id = 'e18c0000-0000-4000-8000-000000000001'$$,
    'a catalog manager sets a product''s class and a variant''s weight'
);
RESET ROLE;

SET LOCAL ROLE tst18_admin;
SELECT lives_ok(
    $$INSERT INTO shop.tax_rates (country, tax_class, rate_percent, name) VALUES ('IT', 'standard', 22, 'IVA 22 %');
      INSERT INTO shop.shipping_zones (code, name) VALUES ('tst18-it', 'Italy');
      INSERT INTO shop.shipping_zone_countries (zone_id, country)
      SELECT z.id, 'IT' FROM shop.shipping_zones AS z WHERE z.code = 'tst18-it';
      INSERT INTO shop.shipping_methods (zone_id, code, name, currency, rate_kind)
      SELECT z.id, 'tst18-it-parcel', 'Pacco', 'EUR', 'weight_tiered' FROM shop.shipping_zones AS z WHERE z.code = 'tst18-it';
      INSERT INTO shop.shipping_method_tiers (method_id, max_weight_grams, amount)
      SELECT m.id, 2000, 890 FROM shop.shipping_methods AS m WHERE m.code = 'tst18-it-parcel';
      UPDATE shop.store_settings SET prices_include_tax = FALSE$$,
    'a store admin writes rates, zones, methods, tiers and the store setting'
);
SELECT is(pg_temp.options('IT', NULL, 2000, 0, 'EUR'), 'tst18-it-parcel=890', 'and what it wrote applies');
SELECT throws_ok(
    $$UPDATE shop.tax_rates SET country = 'FR' WHERE name = 'IVA 22 %'$$, '42501', NULL,
    'a rate''s place and class are fixed once written (delete and add instead)'
);
SELECT throws_ok(
    $$UPDATE shop.products SET tax_class = 'zero' WHERE id = 'e18b0000-0000-4000-8000-000000000001'$$, '42501', NULL,
    'a store admin does not edit products'
);
RESET ROLE;
SELECT is(pg_temp.line(10000, 'reduced', 'DE', NULL, shop.prices_include_tax()), 'net 10000 tax 700 gross 10700',
          'after the switch, the same call adds tax on top');

-- == the demo data =================================================================================
DELETE FROM shop.shipping_method_tiers;
DELETE FROM shop.shipping_methods;
DELETE FROM shop.shipping_zones;
DELETE FROM shop.tax_rates;
INSERT INTO shop.product_variants (product_id, sku, name, weight_grams) VALUES
('e18b0000-0000-4000-8000-000000000001', 'TS-98-S', 'Demo-like T-shirt', 0),
('e18b0000-0000-4000-8000-000000000001', 'MG-98-WHT', 'Demo-like mug', 55);
SELECT is(shop.load_demo_tax_shipping(), 24, 'the demo adds 17 tax rates and 7 shipping methods');
SELECT is(shop.load_demo_tax_shipping(), 0, 'and adds nothing the second time');
SELECT is(pg_temp.line(11900, 'standard', 'DE', NULL, TRUE), 'net 10000 tax 1900 gross 11900', 'demo: DE 19 %');
SELECT is(pg_temp.line(12000, 'standard', 'GB', NULL, TRUE), 'net 10000 tax 2000 gross 12000', 'demo: GB 20 %');
SELECT is(pg_temp.line(10550, 'reduced', 'FR', NULL, TRUE), 'net 10000 tax 550 gross 10550', 'demo: FR 5.5 %');
SELECT is(pg_temp.options('DE', NULL, 580, 3980, 'EUR'), 'de-parcel=499 de-express=1490',
          'demo (docs example): a T-shirt and a mug to Germany');
SELECT is(pg_temp.options('DE', NULL, 580, 5000, 'EUR'), 'de-parcel=0 de-express=1490',
          'demo: DHL Paket is free from 50.00 exactly');
SELECT is(pg_temp.options('DE', NULL, 2000, 4999, 'EUR'), 'de-parcel=499 de-express=1490', 'demo: 2000 g is 4.99');
SELECT is(pg_temp.options('DE', NULL, 2001, 4999, 'EUR'), 'de-parcel=699 de-express=1490', 'demo: 2001 g is 6.99');
SELECT is(
    (SELECT string_agg(v.sku || '=' || v.weight_grams, ' ' ORDER BY v.sku)
     FROM shop.product_variants AS v WHERE v.sku IN ('TS-98-S', 'MG-98-WHT')),
    'MG-98-WHT=55 TS-98-S=180', 'demo: a demo T-shirt without a weight gets 180 g; a weight already set is kept'
);
SELECT is(pg_temp.options('US', 'HI', 2000, 4999, 'USD'), 'us-remote-priority=2999', 'demo: Hawaii has its own zone');
SELECT is(pg_temp.options('FR', NULL, 2001, 15000, 'EUR'), 'eu-parcel=0', 'demo: EU parcel free from 150.00');

SELECT * FROM finish();
ROLLBACK;
