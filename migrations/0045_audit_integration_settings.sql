-- The audit trail (migration 0036) covers every shop and auth table. Three integration tables hold
-- decisions a person makes and an attacker would love to make quietly: where order data is sent
-- (webhook subscriptions), how hard clients are throttled (rate limit rules) and whether marketing mail
-- needs consent (mail settings). They are audited too; the queues and logs of integration stay out.
-- depends: 0036_audit 0029_webhooks 0031_mail 0038_rate_limits 0041_audit_erasure

SET LOCAL ROLE postcart_owner;

SELECT audit.enable_for('integration.webhook_subscriptions');
SELECT audit.enable_for('integration.rate_limit_rules');
SELECT audit.enable_for('integration.mail_settings');

RESET ROLE;
