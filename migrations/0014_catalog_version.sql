-- The catalog version: a number that changes exactly when a catalog write commits, so anonymous catalog
-- responses can be cached and revalidated (ETag, 304) without a catalog query. Sixteen shards, each
-- bumped by the writers whose backend falls on it, so concurrent writers (checkouts reserving stock)
-- do not queue on one row; the version is their sum.
-- depends: 0009_compact_search

SET LOCAL ROLE postcart_owner;

CREATE TABLE shop.catalog_version_shards (
    shard smallint PRIMARY KEY,
    version bigint NOT NULL DEFAULT 0,
    CONSTRAINT catalog_version_shards_shard_check CHECK (shard BETWEEN 0 AND 15),
    CONSTRAINT catalog_version_shards_version_check CHECK (version >= 0)
);
COMMENT ON TABLE shop.catalog_version_shards IS
'Sixteen counters whose sum is the catalog version (shop.catalog_version()); statement triggers on every '
'table a catalog response reads bump one of them in the writing transaction. No personal data.';
INSERT INTO shop.catalog_version_shards (shard) SELECT generate_series(0, 15);

ALTER TABLE shop.catalog_version_shards ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.catalog_version_shards FORCE ROW LEVEL SECURITY;
CREATE POLICY catalog_version_shards_owner_all ON shop.catalog_version_shards
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

-- The HTTP layer reads the version as the authenticator, before any role switch (shop.catalog_version()).
GRANT USAGE ON SCHEMA shop TO postcart_authenticator;

RESET ROLE;
