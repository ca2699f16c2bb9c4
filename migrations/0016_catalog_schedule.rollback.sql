SET LOCAL ROLE postcart_owner;

DROP INDEX IF EXISTS shop.price_list_prices_starts_idx;
DROP INDEX IF EXISTS shop.price_list_prices_ends_idx;
DROP INDEX IF EXISTS shop.markdowns_starts_at_idx;
DROP INDEX IF EXISTS shop.markdowns_ends_at_idx;

RESET ROLE;
