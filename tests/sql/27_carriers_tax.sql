-- Carriers and the tax service (migration 0032, sql/shop/carriers.sql, sql/shop/tax_quotes.sql): the tracking
-- state machine (forward only, never back to an older report), each carrier event applied once, the order
-- completed when every shipment is delivered, a tax quote used only for what it priced (else the built-in
-- pricing, flagged) with the totals rule kept, the flag part of the snapshot, and grants.
BEGIN;
SELECT plan(27);

-- == an order fully shipped in two parcels (NOK: no other test uses it; inserted as the superuser) ===
CREATE FUNCTION pg_temp.apply(p_id text, p_tracking text, p_status text, p_at text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    result jsonb;
BEGIN
    PERFORM set_config('role', 'postcart_carrier', TRUE);
    result := shop.apply_carrier_event('http', jsonb_build_object(
        'id', p_id, 'tracking_number', p_tracking, 'provider', 'usps', 'status', p_status, 'status_at', p_at
    ));
    PERFORM set_config('role', 'none', TRUE);
    RETURN result;
END
$$;

SET CONSTRAINTS ALL DEFERRED;
INSERT INTO shop.carts (id, token_hash, currency, status, order_id)
VALUES ('c2700000-0000-4000-8000-000000000001', sha256('tst27'::bytea), 'NOK', 'ordered',
        'c2700000-0000-4000-8000-0000000000a1');
INSERT INTO shop.orders (id, number, cart_id, email, currency, status, fulfillment_status, payment_method,
                         prices_include_tax, subtotal, discount_total, shipping_total, tax_total, total,
                         shipping_address, shipping_method_code, shipping_method_name)
VALUES ('c2700000-0000-4000-8000-0000000000a1', -2701, 'c2700000-0000-4000-8000-000000000001', 'tst27@example.com',
        'NOK', 'fulfilled', 'fulfilled', 'cash_on_delivery', TRUE, 1000, 0, 0, 0, 1000, '{"country": "NO"}',
        'standard', 'Standard');
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO shop.fulfillments (id, order_id, carrier, tracking_number, label_provider) VALUES
('c2700000-0000-4000-8000-0000000000f1', 'c2700000-0000-4000-8000-0000000000a1', 'http', 'TST27-ONE', 'usps'),
('c2700000-0000-4000-8000-0000000000f2', 'c2700000-0000-4000-8000-0000000000a1', 'DHL', 'TST27-TWO', NULL);
CREATE TEMP VIEW parcels AS
SELECT f.tracking_number, f.tracking_status FROM shop.fulfillments AS f
WHERE f.order_id = 'c2700000-0000-4000-8000-0000000000a1';

-- == tracking, once per event, forward only ==========================================================
SELECT is(pg_temp.apply('e1', 'TST27-ONE', 'in_transit', '2026-01-02T10:00:00Z') ->> 'moved', '1', 'a report moves its parcel');
SELECT is((SELECT tracking_status FROM parcels WHERE tracking_number = 'TST27-ONE'), 'in_transit', 'shipped -> in_transit');
SELECT is(pg_temp.apply('e1', 'TST27-ONE', 'in_transit', '2026-01-02T10:00:00Z'), '{"duplicate": true}', 'the same event again changes nothing');
SELECT is(pg_temp.apply('e2', 'TST27-ONE', 'delivered', '2026-01-03T10:00:00Z') ->> 'moved', '1', 'delivered');
SELECT is((SELECT status FROM shop.orders WHERE number = -2701), 'fulfilled', 'one parcel of two delivered: the order waits');
SELECT is(pg_temp.apply('e3', 'TST27-ONE', 'in_transit', '2026-01-02T18:00:00Z') ->> 'moved', '0', 'a late TRANSIT after DELIVERED is ignored');
SELECT is((SELECT tracking_status FROM parcels WHERE tracking_number = 'TST27-ONE'), 'delivered', 'delivered stays delivered');
SELECT is((SELECT outcome FROM integration.carrier_events WHERE carrier = 'http' AND event_id = 'e3'), 'ignored', 'recorded as ignored');
SELECT is(pg_temp.apply('e4', 'TST27-TWO', 'in_transit', '2026-01-03T12:00:00Z') ->> 'moved', '1', 'a typed tracking number is tracked too');
SELECT is(pg_temp.apply('e5', 'TST27-TWO', 'failure', '2026-01-03T08:00:00Z') ->> 'moved', '0', 'a report older than the current one is ignored');
SELECT is(pg_temp.apply('e6', 'TST27-ONE', 'returned', '2026-01-05T08:00:00Z') ->> 'moved', '0', 'delivered is final');
SELECT is(pg_temp.apply('e7', 'TST27-TWO', 'delivered', '2026-01-04T08:00:00Z') ->> 'moved', '1', 'the second parcel delivered');
SELECT is((SELECT status FROM shop.orders WHERE number = -2701), 'completed', 'every parcel delivered: the order is completed');
SELECT is(
    (SELECT array_agg(type ORDER BY type) FROM integration.events WHERE subject_id IN (
        'c2700000-0000-4000-8000-0000000000a1', 'c2700000-0000-4000-8000-0000000000f1',
        'c2700000-0000-4000-8000-0000000000f2')),
    ARRAY['fulfillment.delivered', 'fulfillment.delivered', 'order.completed'],
    'two fulfillment.delivered and one order.completed'
);
SELECT is(pg_temp.apply('e8', 'NOBODY-27', 'delivered', NULL) ->> 'fulfillments', '0', 'an unknown tracking number matches nothing');
SELECT is((SELECT outcome FROM integration.carrier_events WHERE event_id = 'e8'), 'unknown', 'and is recorded as unknown');

-- == tax quotes ======================================================================================
CREATE TEMP TABLE q AS
SELECT
    '{"currency": "USD", "prices_include_tax": false, "subtotal": 1000, "discount_total": 0, "shipping_total": 500,
      "tax_total": 0, "total": 1500,
      "lines": [{"item_id": "i1", "sku": "S27", "quantity": 2, "line_total": 1000, "tax_class": "standard",
                 "tax": 0, "tax_rate_percent": 0}],
      "shipping": {"amount": 500, "tax_class": "standard", "tax": 0}}'::jsonb AS quote,
    '{"country": "us", "region": "CA", "postal_code": "90001", "city": "LA", "line1": "1 Main"}'::jsonb AS address;
SELECT is(
    (SELECT shop.apply_tax_quote(quote, address, jsonb_build_object(
        'basis', shop.tax_basis(quote, address), 'lines', '[{"tax": 73, "rate_percent": 7.25}]'::jsonb, 'shipping_tax', 36
    )) - 'lines' - 'shipping' FROM q),
    (SELECT quote - 'lines' - 'shipping' FROM q)
    || '{"tax_total": 109, "total": 1609, "tax_source": "external"}',
    'a quote for exactly these lines replaces the tax, and the total adds it (prices exclude tax)'
);
SELECT is(
    (SELECT shop.apply_tax_quote(quote, address, jsonb_build_object(
        'basis', shop.tax_basis(quote || '{"lines": [{"item_id": "i1", "sku": "S27", "quantity": 2, "line_total": 900, "tax_class": "standard"}]}', address),
        'lines', '[{"tax": 73, "rate_percent": 7.25}]'::jsonb, 'shipping_tax', 36)) FROM q),
    (SELECT quote || '{"tax_source": "builtin_fallback", "tax_fallback_reason": "quote_mismatch"}' FROM q),
    'a quote for other amounts is not charged: the built-in pricing, flagged'
);
SELECT is(
    (SELECT shop.apply_tax_quote(quote, address, '{"error": "timeout"}') ->> 'tax_fallback_reason' FROM q),
    'timeout', 'no quote: the reason is kept'
);
SELECT is(
    (SELECT shop.apply_tax_quote(quote, address, jsonb_build_object(
        'basis', shop.tax_basis(quote, address), 'lines', '[{"tax": -1, "rate_percent": 7.25}]'::jsonb, 'shipping_tax', 36
    )) ->> 'tax_fallback_reason' FROM q),
    'bad_answer', 'a negative tax is a bad answer'
);
SELECT is(
    (SELECT shop.apply_tax_quote(quote || '{"prices_include_tax": true}', address, jsonb_build_object(
        'basis', shop.tax_basis(quote || '{"prices_include_tax": true}', address),
        'lines', '[{"tax": 1001, "rate_percent": 7.25}]'::jsonb, 'shipping_tax', 0
    )) ->> 'tax_fallback_reason' FROM q),
    'bad_answer', 'included tax above its line is a bad answer'
);
SELECT throws_ok(
    $$UPDATE shop.orders SET tax_source = 'external' WHERE number = -2701$$,
    'PT409', NULL, 'where the tax came from is part of the snapshot'
);
SELECT throws_ok(
    $$UPDATE shop.orders SET tax_source = 'builtin_fallback' WHERE false; INSERT INTO shop.orders SELECT (o).* FROM
      (SELECT (jsonb_populate_record(o, '{"id": "c2700000-0000-4000-8000-0000000000a9", "number": -2702,
       "tax_source": "builtin_fallback"}')) AS o FROM shop.orders AS o WHERE number = -2701) AS x$$,
    '23514', NULL, 'a fallback without its reason is refused (CHECK)'
);

-- == grants ==========================================================================================
SELECT ok(
    NOT has_function_privilege('order_manager', 'shop.apply_carrier_event(text, jsonb)', 'EXECUTE')
    AND NOT has_function_privilege('postcart_anon', 'shop.label_purchased(uuid, jsonb)', 'EXECUTE')
    AND has_function_privilege('postcart_carrier', 'shop.label_failed(uuid, text, boolean)', 'EXECUTE'),
    'only postcart_carrier reports what a carrier said'
);
SELECT ok(
    has_function_privilege('order_manager', 'api.admin_prepare_label(jsonb)', 'EXECUTE')
    AND NOT has_function_privilege('support_agent', 'api.admin_order_parcel(jsonb)', 'EXECUTE')
    AND NOT has_function_privilege('postcart_customer', 'api.admin_create_labelled_fulfillment(jsonb)', 'EXECUTE'),
    'labels and rates are order_manager''s'
);
SELECT ok(
    NOT has_table_privilege('postcart_customer', 'integration.carrier_events', 'SELECT')
    AND has_table_privilege('support_agent', 'integration.carrier_events', 'SELECT')
    AND NOT has_table_privilege('order_manager', 'integration.carrier_events', 'INSERT'),
    'carrier events: staff read them, nobody writes them but the function'
);
SELECT ok(
    (SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'integration.carrier_events'::regclass)
    AND (SELECT relrowsecurity AND relforcerowsecurity FROM pg_class
         WHERE oid = 'shop.fulfillment_tracking_transitions'::regclass),
    'row-level security is on and forced on the new tables'
);

SELECT * FROM finish();
ROLLBACK;
