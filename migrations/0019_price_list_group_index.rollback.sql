SET LOCAL ROLE postcart_owner;

DROP INDEX IF EXISTS shop.price_list_prices_currency_customer_group_id_idx;
-- Functions of sql/shop/prices.sql and sql/api/prices.sql written after 0011: they go before its tables.
DROP FUNCTION IF EXISTS shop.price_rows(jsonb, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS shop.timestamp_field_error(jsonb, text);
DROP FUNCTION IF EXISTS shop.caller_product_prices(char);
DROP FUNCTION IF EXISTS shop.product_markdowns(timestamptz);

RESET ROLE;
