-- Takes the store columns off shop.warehouses again (addresses, coordinates, pickup and listed are lost;
-- the places themselves and their stock stay) and drops the functions of sql/shop/stores.sql and
-- sql/api/stores.sql. Refuses (the lower-case code check fails) while a code has upper-case letters.
-- sql/shop/demo.sql of the matching release must be applied again afterwards.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS api.list_stores(jsonb);
DROP FUNCTION IF EXISTS api.create_store(jsonb);
DROP FUNCTION IF EXISTS shop.stores_near(double precision, double precision, integer);
DROP FUNCTION IF EXISTS shop.store_json(
    uuid, text, text, text, text, text, text, text, double precision, double precision, boolean, double precision
);
DROP FUNCTION IF EXISTS shop.load_demo_stores();
DROP TRIGGER IF EXISTS _900_updated_at ON shop.warehouses;

DROP POLICY IF EXISTS warehouses_select_listed ON shop.warehouses;
DROP POLICY IF EXISTS warehouses_insert_catalog_manager ON shop.warehouses;
DROP POLICY IF EXISTS warehouses_update_catalog_manager ON shop.warehouses;
REVOKE INSERT, UPDATE ON shop.warehouses FROM catalog_manager;
REVOKE SELECT ON shop.warehouses FROM postcart_anon, postcart_customer;

DROP INDEX IF EXISTS shop.warehouses_listed_location_idx;
DROP INDEX IF EXISTS shop.warehouses_listed_name_id_idx;
DROP INDEX IF EXISTS shop.warehouses_code_upper_key;
ALTER TABLE shop.warehouses
DROP CONSTRAINT IF EXISTS warehouses_public_place_check,
DROP COLUMN IF EXISTS location,
DROP COLUMN IF EXISTS line1,
DROP COLUMN IF EXISTS line2,
DROP COLUMN IF EXISTS city,
DROP COLUMN IF EXISTS postal_code,
DROP COLUMN IF EXISTS country,
DROP COLUMN IF EXISTS latitude,
DROP COLUMN IF EXISTS longitude,
DROP COLUMN IF EXISTS pickup,
DROP COLUMN IF EXISTS listed,
DROP COLUMN IF EXISTS updated_at,
DROP CONSTRAINT warehouses_code_check,
ADD CONSTRAINT warehouses_code_check CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 32);
COMMENT ON TABLE shop.warehouses IS 'Places that hold stock. Staff only.';
COMMENT ON COLUMN shop.warehouses.code IS NULL;

DROP FUNCTION IF EXISTS shop.earth_point(double precision, double precision);

RESET ROLE;

-- Other databases' objects never depend on these; anything else of this one that does makes this fail.
DROP EXTENSION IF EXISTS earthdistance;
DROP EXTENSION IF EXISTS cube;
