DROP TABLE IF EXISTS integration.idempotency_keys;
