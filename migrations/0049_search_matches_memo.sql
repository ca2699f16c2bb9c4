-- A search's matches are kept with its facets (shop.listing_facets), per catalog version: they depend on the
-- words of q, the filters, the currency and the customer group, the facets' key, and never on the sort or the
-- page. The next page, another sort or page size of the same search, or the same search by another shopper
-- then skips finding and ranking them. shop.remember_listing_facets takes them, and
-- shop.await_listing_facets returns the whole memo row: both are (re-)created by sql/shop/product_listings.sql
-- (on a new database they do not exist yet here).
-- depends: 0018_product_listings

SET LOCAL ROLE postcart_owner;

ALTER TABLE shop.listing_facets
ADD COLUMN candidates uuid[],
ADD COLUMN candidate_scores numeric[],
ADD COLUMN candidate_amounts bigint[];
COMMENT ON COLUMN shop.listing_facets.candidates IS
'For a search (q), its matches at this version in the order found (at most 100, the best tiers first); '
'NULL for a list without q.';
COMMENT ON COLUMN shop.listing_facets.candidate_scores IS
'Each match''s relevance score, rounded as cursors carry it; NULL without q.';
COMMENT ON COLUMN shop.listing_facets.candidate_amounts IS
'Each match''s price shown (minor units, the key''s currency and customer group); NULL without q.';

DROP FUNCTION IF EXISTS shop.remember_listing_facets(text, text, jsonb);
DROP FUNCTION IF EXISTS shop.await_listing_facets(text, text);

RESET ROLE;
