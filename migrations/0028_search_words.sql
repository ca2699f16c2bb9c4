-- Search at 100,000 products (issue 6, item 3): a dictionary of the words the listings' search documents
-- hold, so a typo is corrected against a few thousand distinct words instead of every product's name, and
-- an index on the name part of the search document, so name matches are found first. The read model's
-- triggers keep the dictionary (sql/shop/product_listings.sql); api.list_products expands each word of q
-- through it (sql/api/catalog.sql).
-- depends: 0018_product_listings

SET LOCAL ROLE postcart_owner;

CREATE TABLE shop.search_words (
    word text PRIMARY KEY,
    CONSTRAINT search_words_word_check CHECK (word ~ '^[[:alnum:]]{2,60}$' AND word ~ '[[:alpha:]]')
);
COMMENT ON TABLE shop.search_words IS
'The distinct words of the listings'' search documents (lower case, no accents, compact forms such as '
'"tshirt" included; numbers and one-letter words left out), with a trigram index: search expands each '
'word of q to the similar words here. Words are only added (by shop.refresh_product_listings); one no '
'product uses any more costs nothing but a row. No personal data.';
CREATE INDEX search_words_trgm_idx ON shop.search_words USING gin (word extensions.gin_trgm_ops);

ALTER TABLE shop.search_words ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.search_words FORCE ROW LEVEL SECURITY;
CREATE POLICY search_words_owner_all ON shop.search_words
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

-- Name matches (weight A) come first in a search: their own index, so they are found without visiting
-- the products that match only in a description.
CREATE INDEX product_listings_search_name_idx ON shop.product_listings
USING gin (ts_filter(search_document, '{a}'));

-- The search document gains the compact forms of words ("tshirt" for "T-Shirt"), and its words fill the
-- dictionary: the next deploy's sql/shop/product_listings.sql rewrites the listings marked here.
UPDATE shop.product_listings SET refreshed_at = '-infinity';

RESET ROLE;
