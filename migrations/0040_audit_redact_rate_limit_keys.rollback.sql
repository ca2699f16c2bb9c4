-- Undoes 0040.
SET LOCAL ROLE postcart_owner;

DELETE FROM audit.redacted_columns
WHERE table_name = 'integration.rate_limit_buckets' AND column_name = 'key_hash';

RESET ROLE;
