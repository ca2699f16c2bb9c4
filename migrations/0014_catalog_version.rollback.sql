SET LOCAL ROLE postcart_owner;

REVOKE USAGE ON SCHEMA shop FROM postcart_authenticator;

DROP FUNCTION IF EXISTS shop.catalog_version() CASCADE;
DROP FUNCTION IF EXISTS shop.tg__bump_catalog_version() CASCADE;
DROP TABLE IF EXISTS shop.catalog_version_shards;

RESET ROLE;
