SET LOCAL ROLE postcart_owner;

ALTER TABLE shop.warehouses DROP CONSTRAINT IF EXISTS warehouses_country_fkey;
ALTER TABLE shop.warehouses ADD CONSTRAINT warehouses_country_check CHECK (country ~ '^[A-Z]{2}$');

RESET ROLE;
