-- Undoes 0049: the memo keeps facets only. The previous sql/shop/product_listings.sql brings back the two
-- functions with their former signatures when applied.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS shop.remember_listing_facets(text, text, jsonb, uuid[], numeric[], bigint[]);
DROP FUNCTION IF EXISTS shop.await_listing_facets(text, text);
ALTER TABLE shop.listing_facets
DROP COLUMN candidates,
DROP COLUMN candidate_scores,
DROP COLUMN candidate_amounts;

RESET ROLE;
