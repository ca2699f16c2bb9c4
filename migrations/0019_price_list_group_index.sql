-- The catalog's question "which list prices may apply to this caller" (its group's and everyone's,
-- customer_group_id NULL) reads one index. Once added to 0011 after it had landed; databases that ran that
-- version of 0011 already have the index, hence IF NOT EXISTS.
-- depends: 0011_prices 0018_product_listings

SET LOCAL ROLE postcart_owner;

CREATE INDEX IF NOT EXISTS price_list_prices_currency_customer_group_id_idx
ON shop.price_list_prices (currency, customer_group_id, min_quantity);

RESET ROLE;
