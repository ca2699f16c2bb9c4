-- Drops the compact search forms (columns, their indexes and grants go with them). sql/api/catalog.sql
-- of the matching release must be applied again afterwards.
SET LOCAL ROLE postcart_owner;

ALTER TABLE shop.products DROP COLUMN IF EXISTS search_name_compact;
ALTER TABLE shop.products DROP COLUMN IF EXISTS search_description_compact;
DROP FUNCTION IF EXISTS shop.compact_search_key(text);

RESET ROLE;
