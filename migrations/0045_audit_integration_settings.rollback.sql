-- Undoes 0045: the three integration settings tables lose their audit triggers (their records stay).
SET LOCAL ROLE postcart_owner;

DROP TRIGGER audit_record_change ON integration.webhook_subscriptions;
DROP TRIGGER audit_record_truncate ON integration.webhook_subscriptions;
DROP TRIGGER audit_record_change ON integration.rate_limit_rules;
DROP TRIGGER audit_record_truncate ON integration.rate_limit_rules;
DROP TRIGGER audit_record_change ON integration.mail_settings;
DROP TRIGGER audit_record_truncate ON integration.mail_settings;

RESET ROLE;
