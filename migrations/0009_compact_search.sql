-- Search that ignores punctuation inside words: "tshirt", "t shirt" and "T-Shirt" all find a product named
-- "Classic T-Shirt". A second, compact search form of the product name and description keeps the letters,
-- digits and spaces of the search form and drops everything else ("classic tshirt"), with trigram
-- indexes beside those of migration 0003. api.list_products (sql/api/catalog.sql) matches both forms.
-- depends: 0003_catalog

SET LOCAL ROLE postcart_owner;

-- Stored generated columns and their indexes freeze this function's results (see shop.search_key): it is
-- part of the stored schema, and changing it needs a migration that recomputes them.
CREATE FUNCTION shop.compact_search_key(input text)
RETURNS text
LANGUAGE sql
IMMUTABLE
STRICT
PARALLEL SAFE
AS $$
    SELECT pg_catalog.regexp_replace(shop.search_key(input), '[^[:alnum:][:space:]]+', '', 'g')
$$;
COMMENT ON FUNCTION shop.compact_search_key(text) IS
'Compact search form of a text: shop.search_key without anything but letters, digits and white space, '
'so words written with hyphens, apostrophes or dots become one word ("Classic T-Shirt" -> "classic '
'tshirt", "Crème Brûlée" -> "creme brulee"). Immutable, for generated columns and trigram indexes. '
'Returns text.';
REVOKE ALL ON FUNCTION shop.compact_search_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.compact_search_key(text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.compact_search_key(text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.compact_search_key(text) TO postcart_staff;

ALTER TABLE shop.products
ADD COLUMN search_name_compact text GENERATED ALWAYS AS (shop.compact_search_key(name)) STORED,
ADD COLUMN search_description_compact text GENERATED ALWAYS AS (shop.compact_search_key(description)) STORED;
COMMENT ON COLUMN shop.products.search_name_compact IS
'shop.compact_search_key(name): the name in search form without punctuation ("classic tshirt").';
COMMENT ON COLUMN shop.products.search_description_compact IS
'shop.compact_search_key(description): the description in search form without punctuation.';

-- Typo-tolerant matching of whole words (word similarity) on the name, substrings on the description.
CREATE INDEX products_search_name_compact_idx ON shop.products
USING gin (search_name_compact extensions.gin_trgm_ops);
CREATE INDEX products_search_description_compact_idx ON shop.products
USING gin (search_description_compact extensions.gin_trgm_ops);

GRANT SELECT (search_name_compact, search_description_compact) ON shop.products TO postcart_anon;
GRANT SELECT (search_name_compact, search_description_compact) ON shop.products TO postcart_customer;
GRANT SELECT (search_name_compact, search_description_compact) ON shop.products TO postcart_staff;

RESET ROLE;
