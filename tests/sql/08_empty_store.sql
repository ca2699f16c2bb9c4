-- A store with no products yet (postcart up --no-demo) answers with empty lists, not errors.
BEGIN;
SELECT plan(3);

TRUNCATE shop.products, shop.categories CASCADE;

SET LOCAL ROLE postcart_anon;
SELECT set_config('request.claims', '{}', TRUE);
SELECT is(
    api.list_products('{}'),
    '{"items": [], "next_cursor": null, "facets": {"categories": [], "price_ranges": [], "attributes": []}}'::jsonb,
    'an empty store lists no products'
);
SELECT is(api.list_categories('{}'), '{"items": []}'::jsonb, 'an empty store has no categories');
SELECT throws_ok(
    $$SELECT api.list_products('{"currency": "euro"}')$$, 'PT400', 'validation_failed',
    'a malformed currency is still refused'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
