-- Idempotency keys: the first response to a state-changing POST, replayed for the same key and body.
-- Written in the same transaction as the call it records, so a crash can never separate the two.
-- depends: 0001_roles_and_schemas

SET LOCAL ROLE postcart_owner;

CREATE TABLE integration.idempotency_keys (
    owner_id text NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint bytea NOT NULL,
    status smallint NOT NULL CHECK (status BETWEEN 200 AND 299),
    body jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, key)
);
COMMENT ON TABLE integration.idempotency_keys IS
'First successful response per (caller, Idempotency-Key); owner_id is the account id or "anonymous". '
'Rows older than 24 hours no longer replay. Reached only through integration.claim_idempotency_key '
'and integration.save_idempotent_response.';
CREATE INDEX idempotency_keys_created_at_idx ON integration.idempotency_keys (created_at);

ALTER TABLE integration.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.idempotency_keys FORCE ROW LEVEL SECURITY;
-- Only the SECURITY DEFINER functions (running as the owner) touch it.
CREATE POLICY owner_all ON integration.idempotency_keys
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

GRANT USAGE ON SCHEMA integration TO postcart_anon;
GRANT USAGE ON SCHEMA integration TO postcart_customer;
GRANT USAGE ON SCHEMA integration TO postcart_staff;

RESET ROLE;
