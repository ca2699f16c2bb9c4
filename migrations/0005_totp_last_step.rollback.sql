SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS auth.spend_totp_step(uuid, bigint);
ALTER TABLE auth.accounts DROP COLUMN IF EXISTS totp_last_step;

RESET ROLE;
