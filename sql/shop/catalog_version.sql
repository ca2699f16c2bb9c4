-- The catalog version (migrations/0014_catalog_version.sql): read by the HTTP layer before every anonymous
-- catalog read, bumped by a statement trigger on every table such a read depends on.

CREATE OR REPLACE FUNCTION shop.catalog_version()
RETURNS bigint
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT sum(s.version)::bigint FROM shop.catalog_version_shards AS s
$$;
COMMENT ON FUNCTION shop.catalog_version() IS
'The catalog version: a bigint that grows whenever a write to any table the storefront reads commits '
'(and only then: it is the sum of counters bumped inside the writing transactions). Equal versions mean '
'equal catalogs, so cached anonymous responses stay valid while it does not change.';

CREATE OR REPLACE FUNCTION shop.tg__bump_catalog_version()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    UPDATE shop.catalog_version_shards SET version = version + 1 WHERE shard = pg_backend_pid() % 16;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg__bump_catalog_version() IS
'AFTER … FOR EACH STATEMENT trigger on the tables catalog responses read: bumps this backend''s shard of '
'the catalog version in the writing transaction (visible exactly when the write commits). Returns NULL.';

REVOKE EXECUTE ON FUNCTION shop.catalog_version() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION shop.tg__bump_catalog_version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.catalog_version() TO postcart_authenticator;

-- Every table whose rows reach a storefront catalog response. tests/sql/11_catalog_version.sql lists them
-- too: a new table feeding the catalog must be added in both places.
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.categories
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.products
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.product_variants
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.variant_prices
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.stock_levels
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.warehouses
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
