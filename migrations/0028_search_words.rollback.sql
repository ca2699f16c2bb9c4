-- Undoes 0028: the search dictionary and the index on the name part of the search document. The search
-- documents keep their compact words (the older search reads them as well).
SET LOCAL ROLE postcart_owner;

DROP INDEX IF EXISTS shop.product_listings_search_name_idx;
DROP TABLE IF EXISTS shop.search_words;

RESET ROLE;
