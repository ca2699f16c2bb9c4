-- The catalog version (migrations/0014_catalog_version.sql): read by the HTTP layer before every anonymous
-- catalog read, bumped by a statement trigger on every table such a read depends on.
-- Functions called on hot paths are PL/pgSQL even where one SELECT would do: a LANGUAGE sql function that
-- is SECURITY DEFINER or pins its search_path is never inlined, and PostgreSQL 15 parses and plans its body
-- on every call, while PL/pgSQL keeps its plans for the session.

CREATE OR REPLACE FUNCTION shop.catalog_schedule_instant()
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Each a backward scan of one index (migration 0016) stopping at its first row.
    RETURN greatest(
        (SELECT max(lower(p.valid_during)) FROM shop.price_list_prices AS p WHERE lower(p.valid_during) <= now()),
        (SELECT max(upper(p.valid_during)) FROM shop.price_list_prices AS p WHERE upper(p.valid_during) <= now()),
        (SELECT max(m.starts_at) FROM shop.markdowns AS m WHERE m.starts_at <= now()),
        (SELECT max(m.ends_at) FROM shop.markdowns AS m WHERE m.ends_at <= now()),
        -- Scheduled publication (publish_at), kept apart from shop.products by a trigger.
        (SELECT max(i.at) FROM shop.catalog_schedule_instants AS i WHERE i.at <= now())
    );
END
$$;
COMMENT ON FUNCTION shop.catalog_schedule_instant() IS
'The latest instant, up to now, at which a scheduled catalog change took effect (a price window or a '
'markdown starting or ending, a product''s publication); NULL when none has. Returns timestamptz.';

CREATE OR REPLACE FUNCTION shop.catalog_version()
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    RETURN (SELECT sum(s.version + s.stock_version) FROM shop.catalog_version_shards AS s)::text
        || '@' || coalesce(floor(extract(EPOCH FROM shop.catalog_schedule_instant()) * 1000000)::bigint::text, '0');
END
$$;
COMMENT ON FUNCTION shop.catalog_version() IS
'The catalog version, as text "<writes>@<microseconds>": the first part grows whenever a write to any '
'table the storefront reads commits (and only then: it sums counters bumped inside the writing '
'transactions); the second is shop.catalog_schedule_instant(), so the version also moves when a sale or '
'markdown starts or ends. Equal versions mean equal anonymous catalog responses.';

CREATE OR REPLACE FUNCTION shop.catalog_content_version()
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    RETURN 'content:' || (SELECT sum(s.version) FROM shop.catalog_version_shards AS s)::text
        || '@' || coalesce(floor(extract(EPOCH FROM shop.catalog_schedule_instant()) * 1000000)::bigint::text, '0');
END
$$;
COMMENT ON FUNCTION shop.catalog_content_version() IS
'The catalog version without stock: "content:<writes>@<microseconds>", moving like shop.catalog_version() '
'except on writes to shop.stock_levels. What depends on everything but stock (the facets api.list_products '
'memoises without an in_stock filter) is keyed by it, so that sales do not throw it away.';

CREATE OR REPLACE FUNCTION shop.tg__bump_catalog_version()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- A trigger given the argument 'stock' counts its writes apart (stock_version): they move
    -- shop.catalog_version() but not shop.catalog_content_version().
    IF TG_NARGS > 0 AND TG_ARGV[0] = 'stock' THEN
        UPDATE shop.catalog_version_shards SET stock_version = stock_version + 1 WHERE shard = pg_backend_pid() % 16;
    ELSE
        UPDATE shop.catalog_version_shards SET version = version + 1 WHERE shard = pg_backend_pid() % 16;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg__bump_catalog_version() IS
'AFTER … FOR EACH STATEMENT trigger on the tables catalog responses read: bumps this backend''s shard of '
'the catalog version in the writing transaction (visible exactly when the write commits); with the trigger '
'argument ''stock'' (shop.stock_levels) its stock_version instead. Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg_products__schedule_instant()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    IF NEW.status = 'published' AND NEW.published_at IS NOT NULL THEN
        INSERT INTO shop.catalog_schedule_instants (at) VALUES (NEW.published_at) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_products__schedule_instant() IS
'AFTER INSERT/UPDATE row trigger on shop.products: records the publication instant of a published product '
'in shop.catalog_schedule_instants, so the catalog version moves when that instant passes. Returns NULL.';

CREATE OR REPLACE TRIGGER _950_schedule_instant
AFTER INSERT OR UPDATE OF status, published_at ON shop.products
FOR EACH ROW EXECUTE FUNCTION shop.tg_products__schedule_instant();

REVOKE EXECUTE ON FUNCTION shop.tg_products__schedule_instant() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION shop.catalog_schedule_instant() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION shop.catalog_version() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION shop.tg__bump_catalog_version() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION shop.catalog_content_version() FROM PUBLIC;
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
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version('stock');
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.warehouses
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.price_lists
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.price_list_prices
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.markdowns
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.product_types
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.product_slugs
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.collections
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.collection_products
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.product_media
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version();
-- Recommendations (sql/shop/recommendations.sql) are part of catalog responses but, like stock, not of
-- the facets: their writes count as stock writes.
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.product_affinities
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version('stock');
CREATE OR REPLACE TRIGGER zz_catalog_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON shop.category_bestsellers
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg__bump_catalog_version('stock');
