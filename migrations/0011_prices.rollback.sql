-- Drops price lists, markdowns and customer groups (with their data), the customer_group_id column of
-- auth.accounts, and the functions of sql/shop/prices.sql and sql/api/prices.sql, which `postcart
-- migrate` re-creates.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS api.create_customer_group(jsonb);
DROP FUNCTION IF EXISTS api.set_customer_group(jsonb);
DROP FUNCTION IF EXISTS api.create_price_list(jsonb);
DROP FUNCTION IF EXISTS api.replace_price_list_prices(jsonb);
DROP FUNCTION IF EXISTS api.create_markdown(jsonb);
DROP FUNCTION IF EXISTS shop.price_list_json(uuid);
DROP FUNCTION IF EXISTS shop.price_rows(jsonb, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS shop.timestamp_field_error(jsonb, text);
DROP FUNCTION IF EXISTS shop.caller_product_prices(char);
DROP FUNCTION IF EXISTS shop.caller_prices(uuid[], integer[], char);
DROP FUNCTION IF EXISTS shop.resolve_price(uuid, char, uuid, integer, timestamptz);
DROP FUNCTION IF EXISTS shop.resolve_prices(uuid[], integer[], char, uuid, timestamptz);
DROP FUNCTION IF EXISTS shop.current_customer_group();
DROP FUNCTION IF EXISTS shop.product_markdowns(timestamptz);
DROP FUNCTION IF EXISTS shop.apply_percent_off(bigint, numeric);

DROP TABLE IF EXISTS shop.markdowns CASCADE;
DROP TABLE IF EXISTS shop.price_list_prices CASCADE;
DROP TABLE IF EXISTS shop.price_lists CASCADE;
ALTER TABLE auth.accounts DROP COLUMN IF EXISTS customer_group_id;
DROP TABLE IF EXISTS shop.customer_groups CASCADE;

DROP FUNCTION IF EXISTS shop.tg_price_list_prices__from_list();
DROP FUNCTION IF EXISTS shop.tg_price_lists__sync_prices();

RESET ROLE;
