-- Opaque keyset cursors, the one encoding every list endpoint uses for next_cursor.

CREATE OR REPLACE FUNCTION shop.encode_cursor(page_position jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
STRICT
PARALLEL SAFE
AS $$
    SELECT rtrim(
        translate(encode(convert_to(page_position::text, 'UTF8'), 'base64'), E'+/\n', '-_'),
        '='
    )
$$;
COMMENT ON FUNCTION shop.encode_cursor(jsonb) IS
'Turns a page position (a JSON object) into an opaque, URL-safe cursor: unpadded base64url of the JSON. '
'Returns text; shop.decode_cursor() reverses it.';
REVOKE ALL ON FUNCTION shop.encode_cursor(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.encode_cursor(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.encode_cursor(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.encode_cursor(jsonb) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.fail_invalid_cursor()
RETURNS void
LANGUAGE plpgsql
VOLATILE  -- a raise behind an IMMUTABLE call with constant arguments would fire while planning
AS $$
BEGIN
    PERFORM shop.fail(
        400, 'invalid_cursor',
        jsonb_build_object('fields', jsonb_build_object('cursor', 'is not a cursor from this list')),
        'Pass back next_cursor exactly as a previous page returned it, or omit cursor.'
    );
END
$$;
COMMENT ON FUNCTION shop.fail_invalid_cursor() IS
'Raises the one PT400 invalid_cursor error (details.fields.cursor) of every list. Never returns.';
REVOKE ALL ON FUNCTION shop.fail_invalid_cursor() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.fail_invalid_cursor() TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.fail_invalid_cursor() TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.fail_invalid_cursor() TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.decode_cursor(cursor text)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
STRICT
PARALLEL SAFE
AS $$
DECLARE
    b64 text := translate(cursor, '-_', '+/');
    decoded jsonb;
BEGIN
    BEGIN
        IF b64 !~ '^[A-Za-z0-9+/]{2,}$' OR length(b64) > 2000 THEN
            RAISE EXCEPTION 'not base64url';
        END IF;
        b64 := b64 || repeat('=', (4 - length(b64) % 4) % 4);
        decoded := convert_from(decode(b64, 'base64'), 'UTF8')::jsonb;
        IF jsonb_typeof(decoded) <> 'object' THEN
            RAISE EXCEPTION 'not an object';
        END IF;
    EXCEPTION WHEN OTHERS THEN
        PERFORM shop.fail_invalid_cursor();
    END;
    RETURN decoded;
END
$$;
COMMENT ON FUNCTION shop.decode_cursor(text) IS
'Reverses shop.encode_cursor(): returns the page position as a jsonb object, or raises PT400 '
'invalid_cursor when the text is not such a cursor.';
REVOKE ALL ON FUNCTION shop.decode_cursor(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.decode_cursor(text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.decode_cursor(text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.decode_cursor(text) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.page_size(args jsonb)
RETURNS integer
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE
        WHEN nullif(btrim(args ->> 'limit'), '') IS NULL THEN 20
        WHEN btrim(args ->> 'limit') ~ '^[0-9]{1,4}$' THEN
            CASE WHEN btrim(args ->> 'limit')::integer BETWEEN 1 AND 100 THEN btrim(args ->> 'limit')::integer END
    END
$$;
COMMENT ON FUNCTION shop.page_size(jsonb) IS
'The page size a list request asks for with args.limit: 20 when absent, the number when it is 1..100, '
'NULL when it is anything else (the caller reports details.fields.limit). Returns integer.';
REVOKE ALL ON FUNCTION shop.page_size(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.page_size(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.page_size(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.page_size(jsonb) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.name_keyset(
    args jsonb, OUT page_size integer, OUT after_name text, OUT after_id uuid
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    last_seen jsonb;
BEGIN
    page_size := shop.page_size(args);
    IF page_size IS NULL THEN
        PERFORM shop.fail(
            400, 'validation_failed', '{"fields": {"limit": "must be between 1 and 100"}}',
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        last_seen := shop.decode_cursor(args ->> 'cursor');
        after_name := last_seen ->> 'name';
        IF last_seen ->> 'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
            after_id := (last_seen ->> 'id')::uuid;
        END IF;
        IF after_name IS NULL OR after_id IS NULL THEN
            PERFORM shop.fail_invalid_cursor();
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION shop.name_keyset(jsonb) IS
'The page a list by (name, id) asks for with args.limit and args.cursor (a cursor encoding {name, id}): '
'page_size, and after_name and after_id (NULL for the first page). Raises PT400 validation_failed (limit) '
'or PT400 invalid_cursor.';
REVOKE ALL ON FUNCTION shop.name_keyset(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.name_keyset(jsonb) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.cursor_after(args jsonb, fields jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    page_position jsonb;
    field record;
BEGIN
    IF nullif(args ->> 'cursor', '') IS NULL THEN
        RETURN NULL;
    END IF;
    page_position := shop.decode_cursor(args ->> 'cursor');
    BEGIN
        FOR field IN SELECT f.key, f.value AS type FROM jsonb_each_text(fields) AS f LOOP
            IF page_position ->> field.key IS NULL THEN
                RAISE EXCEPTION 'missing %', field.key;
            END IF;
            -- Cast once here, so the caller's own cast of a tampered value cannot fail later.
            EXECUTE format('SELECT %L::%s', page_position ->> field.key, field.type::regtype);
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        PERFORM shop.fail_invalid_cursor();
    END;
    RETURN page_position;
END
$$;
COMMENT ON FUNCTION shop.cursor_after(jsonb, jsonb) IS
'The page position a list request continues after: NULL without args.cursor, else the decoded cursor, '
'checked to hold every member of fields ({"name": "type"}, e.g. {"id": "uuid"}) as a value of that type; '
'raises PT400 invalid_cursor otherwise. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.cursor_after(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.cursor_after(jsonb, jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.cursor_after(jsonb, jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.cursor_after(jsonb, jsonb) TO postcart_staff;
