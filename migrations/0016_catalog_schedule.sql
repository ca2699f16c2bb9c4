-- The catalog version also moves when a scheduled change takes effect (a sale starts or ends, a markdown
-- begins or expires): it is "<writes>@<latest passed instant>" (sql/shop/catalog_version.sql), and the
-- instants are indexed so the latest passed one is a backward index scan.
-- depends: 0011_prices 0014_catalog_version

SET LOCAL ROLE postcart_owner;

CREATE INDEX price_list_prices_starts_idx ON shop.price_list_prices (lower(valid_during));
CREATE INDEX price_list_prices_ends_idx ON shop.price_list_prices (upper(valid_during));
CREATE INDEX markdowns_starts_at_idx ON shop.markdowns (starts_at);
CREATE INDEX markdowns_ends_at_idx ON shop.markdowns (ends_at);

RESET ROLE;
