SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS api.update_address(jsonb);
DROP FUNCTION IF EXISTS api.delete_address(jsonb);
DROP FUNCTION IF EXISTS auth.address_errors(jsonb, boolean);
ALTER TABLE shop.addresses DROP CONSTRAINT IF EXISTS addresses_country_fkey;
DROP TABLE IF EXISTS shop.countries;
COMMENT ON TABLE shop.addresses IS
'A customer''s address book; country is an upper-case ISO 3166-1 alpha-2 code. Each customer sees and '
'changes only its own rows (RLS).';

RESET ROLE;
