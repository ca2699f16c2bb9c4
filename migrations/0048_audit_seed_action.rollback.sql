-- Undoes 0048: seed records cannot stay under the old rule, so they leave the trail first.
SET LOCAL ROLE postcart_owner;

ALTER TABLE audit.records DROP CONSTRAINT records_action_check;
ALTER TABLE audit.records DISABLE TRIGGER records_append_only;
DELETE FROM audit.records
WHERE action = 'seed';
ALTER TABLE audit.records ENABLE TRIGGER records_append_only;
ALTER TABLE audit.records ADD CONSTRAINT records_action_check CHECK (
    action IN ('insert', 'update', 'delete', 'truncate', 'login', 'login_failed', 'purge', 'erase')
);

RESET ROLE;
