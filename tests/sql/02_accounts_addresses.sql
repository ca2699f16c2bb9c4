-- The address book: RLS keeps each customer to its own rows in plain SQL, and the api functions
-- validate, paginate newest first and reject bad limits and cursors.
BEGIN;
SELECT plan(35);

-- Two customers and one address each (as the superuser, who bypasses RLS).
INSERT INTO auth.accounts (id, email, full_name) VALUES
('00000000-0000-4000-8000-00000000000a', 'alice@example.com', 'Alice'),
('00000000-0000-4000-8000-00000000000b', 'bob@example.com', 'Bob');
INSERT INTO shop.addresses (id, customer_id, full_name, line1, city, postal_code, country, created_at) VALUES
('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-00000000000a', 'Alice', 'A street 1', 'Paris',
 '75001', 'FR', now() - interval '1 day'),
('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-00000000000b', 'Bob', 'B street 1', 'Rome',
 '00100', 'IT', now() - interval '1 day');

CREATE FUNCTION pg_temp.error_detail(p_sql text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_detail text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN v_detail::jsonb;
END
$$;

-- Alice, in plain SQL
SET LOCAL ROLE postcart_customer;
SELECT set_config('request.claims',
    '{"sub": "00000000-0000-4000-8000-00000000000a", "role": "postcart_customer", '
    '"sid": "00000000-0000-4000-8000-0000000000aa", "kind": "customer"}', true);

SELECT results_eq(
    $$SELECT id FROM shop.addresses$$,
    $$VALUES ('00000000-0000-4000-8000-0000000000a1'::uuid)$$,
    'a customer sees its own address and only that'
);
SELECT is_empty(
    $$SELECT id FROM shop.addresses WHERE customer_id = '00000000-0000-4000-8000-00000000000b'$$,
    'a customer cannot read another customer''s address'
);
SELECT is_empty(
    $$UPDATE shop.addresses SET city = 'Hacked' WHERE id = '00000000-0000-4000-8000-0000000000b1' RETURNING id$$,
    'a customer cannot update another customer''s address'
);
SELECT is_empty(
    $$DELETE FROM shop.addresses WHERE id = '00000000-0000-4000-8000-0000000000b1' RETURNING id$$,
    'a customer cannot delete another customer''s address'
);
SELECT throws_ok(
    $$INSERT INTO shop.addresses (customer_id, full_name, line1, city, postal_code, country)
      VALUES ('00000000-0000-4000-8000-00000000000b', 'X', 'X', 'X', 'X', 'DE')$$,
    '42501', NULL, 'a customer cannot file an address under another customer'
);
SELECT results_eq(
    $$UPDATE shop.addresses SET city = 'Lyon' WHERE id = '00000000-0000-4000-8000-0000000000a1' RETURNING city$$,
    $$VALUES ('Lyon')$$,
    'a customer can update its own address'
);
SELECT results_eq(
    $$SELECT id, email::text FROM auth.accounts$$,
    $$VALUES ('00000000-0000-4000-8000-00000000000a'::uuid, 'alice@example.com')$$,
    'a customer sees only its own account'
);
SELECT throws_ok($$SELECT totp_secret FROM auth.accounts$$, '42501', NULL, 'a customer cannot read TOTP secrets');
SELECT is_empty(
    $$UPDATE auth.accounts SET full_name = 'Mallory' WHERE id = '00000000-0000-4000-8000-00000000000b' RETURNING id$$,
    'a customer cannot rename another account'
);

-- Through the API
SELECT is(
    (api.add_address('{"full_name": " Alice ", "line1": "Rue 2", "city": "Paris", "postal_code": "75002",
                       "country": "fr", "phone": "+33 1 23 45 67 89"}') - 'id' - 'created_at'),
    '{"full_name": "Alice", "line1": "Rue 2", "line2": null, "city": "Paris", "region": null,
      "postal_code": "75002", "country": "FR", "phone": "+33 1 23 45 67 89"}'::jsonb,
    'add_address trims, upper-cases the country and returns the address'
);
SELECT throws_ok(
    $$SELECT api.add_address('{"line1": "x", "country": "France", "phone": "call me"}')$$,
    'PT422', 'validation_failed', 'add_address rejects invalid input'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.add_address('{"line1": "x", "country": "France", "phone": "call me"}')$$),
    '{"fields": {"full_name": "is required", "city": "is required", "postal_code": "is required",
                 "country": "must be at most 2 characters", "phone": "is not a valid phone number"}}'::jsonb,
    'validation_failed names every offending field'
);
SELECT is(
    (SELECT count(api.add_address(jsonb_build_object(
        'full_name', 'Alice', 'line1', 'Street ' || i, 'city', 'Paris', 'postal_code', '75003', 'country', 'FR'
    ))) FROM generate_series(3, 5) AS i),
    3::bigint,
    'three more addresses added'
);

CREATE TEMP TABLE page1 AS SELECT api.list_addresses('{"limit": "2"}') AS body;
SELECT is(jsonb_array_length((SELECT body -> 'items' FROM page1)), 2, 'limit is honoured');
SELECT isnt((SELECT body ->> 'next_cursor' FROM page1), NULL, 'a full page has a next_cursor');
CREATE TEMP TABLE page2 AS
SELECT api.list_addresses(jsonb_build_object('limit', 2, 'cursor', (SELECT body ->> 'next_cursor' FROM page1))) AS body;
CREATE TEMP TABLE page3 AS
SELECT api.list_addresses(jsonb_build_object('limit', '2', 'cursor', (SELECT body ->> 'next_cursor' FROM page2))) AS body;
SELECT is(
    (SELECT body ->> 'next_cursor' FROM page3), NULL, 'the last page has no next_cursor'
);
SELECT is(
    (SELECT array_agg(e.item ->> 'id' ORDER BY p.page, e.n)
     FROM (SELECT 1 AS page, body FROM page1 UNION ALL SELECT 2, body FROM page2 UNION ALL SELECT 3, body FROM page3)
          AS p,
          jsonb_array_elements(p.body -> 'items') WITH ORDINALITY AS e (item, n)),
    (SELECT array_agg(a.id::text ORDER BY a.created_at DESC, a.id DESC) FROM shop.addresses AS a),
    'pages walk all of the caller''s addresses newest first (created_at, id) without repeats'
);
SELECT is(
    jsonb_array_length(api.list_addresses('{}') -> 'items'), 5, 'the default limit (20) covers all five'
);
SELECT throws_ok($$SELECT api.list_addresses('{"limit": "0"}')$$, 'PT400', 'validation_failed', 'limit 0 is rejected');
SELECT throws_ok($$SELECT api.list_addresses('{"limit": 101}')$$, 'PT400', 'validation_failed', 'limit 101 is rejected');
SELECT throws_ok($$SELECT api.list_addresses('{"limit": "ten"}')$$, 'PT400', 'validation_failed', 'limit must be a number');
SELECT throws_ok(
    $$SELECT api.list_addresses('{"cursor": "not a cursor!"}')$$, 'PT400', 'invalid_cursor', 'a garbage cursor is rejected'
);
SELECT throws_ok(
    $$SELECT api.list_addresses('{"cursor": "aGVsbG8gd29ybGQ"}')$$, 'PT400', 'invalid_cursor',
    'well-formed base64 that is not a cursor is rejected'
);

-- Change and remove: RLS decides, another customer's address is simply not found
SELECT is(
    api.update_address('{"id": "00000000-0000-4000-8000-0000000000a1", "city": " Nice ", "country": "fr",
                         "phone": "+33 4 93 00 00 00"}') - 'created_at',
    '{"id": "00000000-0000-4000-8000-0000000000a1", "full_name": "Alice", "line1": "A street 1", "line2": null,
      "city": "Nice", "region": null, "postal_code": "75001", "country": "FR", "phone": "+33 4 93 00 00 00"}'::jsonb,
    'update_address changes only the members sent, trimmed and upper-cased like add_address'
);
SELECT is(
    api.update_address('{"id": "00000000-0000-4000-8000-0000000000a1", "phone": null}') ->> 'phone', NULL,
    'null clears an optional member'
);
SELECT throws_ok(
    $$SELECT api.update_address('{"id": "00000000-0000-4000-8000-0000000000b1", "city": "Hacked"}')$$,
    'PT404', 'address_not_found', 'another customer''s address cannot be changed through the API'
);
SELECT throws_ok(
    $$SELECT api.update_address('{"id": "not-a-uuid", "city": "X"}')$$,
    'PT404', 'address_not_found', 'an id that is no uuid is simply not found'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.update_address('{"id": "00000000-0000-4000-8000-0000000000a1",
                                                        "country": "ZZ", "city": ""}')$$),
    '{"fields": {"country": "is not an ISO 3166-1 alpha-2 country code", "city": "is required"}}'::jsonb,
    'update_address validates the members sent like add_address'
);
SELECT is(
    pg_temp.error_detail($$SELECT api.add_address('{"full_name": "A", "line1": "L", "city": "C", "postal_code": "1",
                                                     "country": "uk"}')$$),
    '{"fields": {"country": "is not an ISO 3166-1 alpha-2 country code"}}'::jsonb,
    'two letters that are no ISO 3166-1 code are refused'
);
SELECT throws_ok(
    $$INSERT INTO shop.addresses (full_name, line1, city, postal_code, country) VALUES ('A', 'L', 'C', '1', 'ZZ')$$,
    '23503', NULL, 'the foreign key holds for plain SQL too'
);
SELECT throws_ok(
    $$SELECT api.delete_address('{"id": "00000000-0000-4000-8000-0000000000b1"}')$$,
    'PT404', 'address_not_found', 'another customer''s address cannot be removed through the API'
);
SELECT is(
    api.delete_address((SELECT jsonb_build_object('id', max(id::text)) FROM shop.addresses WHERE line1 = 'Street 3')),
    NULL,
    'delete_address removes the caller''s own address'
);
SELECT is((SELECT count(*) FROM shop.addresses), 4::bigint, 'one fewer');

-- Bob, through the API, still sees only his own address
SELECT set_config('request.claims',
    '{"sub": "00000000-0000-4000-8000-00000000000b", "role": "postcart_customer", '
    '"sid": "00000000-0000-4000-8000-0000000000bb", "kind": "customer"}', true);
SELECT is(
    (SELECT array_agg(i ->> 'city') FROM jsonb_array_elements(api.list_addresses('{}') -> 'items') AS i),
    ARRAY['Rome'],
    'another customer''s listing is unaffected by Alice''s attempts'
);

-- A staff token (kind staff) never counts as a customer for addresses
SELECT set_config('request.claims',
    '{"sub": "00000000-0000-4000-8000-00000000000a", "role": "postcart_customer", "kind": "staff"}', true);
SELECT is_empty($$SELECT id FROM shop.addresses$$, 'claims of kind staff see no customer addresses');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
