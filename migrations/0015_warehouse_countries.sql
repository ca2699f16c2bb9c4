-- Stores and warehouses name their country from the same ISO 3166-1 table as addresses (0008), not by
-- format alone. Rows that name no real country keep the constraint NOT VALID until a DBA fixes them.
-- depends: 0008_countries 0010_stores

SET LOCAL ROLE postcart_owner;

UPDATE shop.warehouses SET country = 'GB'
WHERE country = 'UK';
ALTER TABLE shop.warehouses
ADD CONSTRAINT warehouses_country_fkey FOREIGN KEY (country) REFERENCES shop.countries (code) NOT VALID;
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM shop.warehouses AS w
        WHERE w.country IS NOT NULL AND NOT EXISTS (SELECT FROM shop.countries AS c WHERE c.code = w.country)
    ) THEN
        ALTER TABLE shop.warehouses VALIDATE CONSTRAINT warehouses_country_fkey;
    END IF;
END
$$;
ALTER TABLE shop.warehouses DROP CONSTRAINT warehouses_country_check;

RESET ROLE;
