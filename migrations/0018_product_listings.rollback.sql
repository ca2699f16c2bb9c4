ALTER ROLE postcart_authenticator RESET jit;

SET LOCAL ROLE postcart_owner;

-- The triggers and functions of sql/shop/product_listings.sql go with the tables they feed.
DROP TRIGGER IF EXISTS listing_insert ON shop.products;
DROP TRIGGER IF EXISTS listing_update ON shop.products;
DROP TRIGGER IF EXISTS listing_insert ON shop.product_variants;
DROP TRIGGER IF EXISTS listing_update ON shop.product_variants;
DROP TRIGGER IF EXISTS listing_delete ON shop.product_variants;
DROP TRIGGER IF EXISTS listing_insert ON shop.variant_prices;
DROP TRIGGER IF EXISTS listing_update ON shop.variant_prices;
DROP TRIGGER IF EXISTS listing_delete ON shop.variant_prices;
DROP TRIGGER IF EXISTS listing_insert ON shop.price_list_prices;
DROP TRIGGER IF EXISTS listing_update ON shop.price_list_prices;
DROP TRIGGER IF EXISTS listing_delete ON shop.price_list_prices;
DROP TRIGGER IF EXISTS listing_insert ON shop.markdowns;
DROP TRIGGER IF EXISTS listing_update ON shop.markdowns;
DROP TRIGGER IF EXISTS listing_delete ON shop.markdowns;
DROP TRIGGER IF EXISTS listing_update ON shop.categories;
DROP TRIGGER IF EXISTS listing_insert ON shop.collection_products;
DROP TRIGGER IF EXISTS listing_update ON shop.collection_products;
DROP TRIGGER IF EXISTS listing_delete ON shop.collection_products;
DROP TRIGGER IF EXISTS listing_available_insert ON shop.stock_levels;
DROP TRIGGER IF EXISTS listing_available_update ON shop.stock_levels;
DROP TRIGGER IF EXISTS listing_available_delete ON shop.stock_levels;
DROP TRIGGER IF EXISTS product_listings_flush ON shop.product_listing_flushes;
DROP FUNCTION IF EXISTS shop.tg_products__queue_listing();
DROP FUNCTION IF EXISTS shop.tg__queue_product_listings();
DROP FUNCTION IF EXISTS shop.tg_price_list_prices__queue_listing();
DROP FUNCTION IF EXISTS shop.tg_markdowns__queue_listing();
DROP FUNCTION IF EXISTS shop.tg_categories__queue_listing();
DROP FUNCTION IF EXISTS shop.tg_stock_levels__listing_available();
DROP FUNCTION IF EXISTS shop.tg_product_listing_flushes__flush();
DROP FUNCTION IF EXISTS shop.queue_listing_refresh(uuid[]);
DROP FUNCTION IF EXISTS shop.refresh_product_listings(uuid[]);
DROP FUNCTION IF EXISTS shop.listing_price_spans(uuid[]);
DROP FUNCTION IF EXISTS shop.remember_listing_facets(text, text, jsonb);
DROP TABLE IF EXISTS shop.listing_facets;
DROP TABLE IF EXISTS shop.product_listing_flushes;
DROP TABLE IF EXISTS shop.product_listing_queue;
DROP TABLE IF EXISTS shop.product_listing_prices;
DROP TABLE IF EXISTS shop.product_listings;

CREATE INDEX products_search_description_idx ON shop.products
USING gin (search_description extensions.gin_trgm_ops);

RESET ROLE;
