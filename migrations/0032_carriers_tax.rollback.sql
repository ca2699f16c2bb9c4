-- Undoes 0032 (the functions of sql/shop/carriers.sql, sql/shop/tax_quotes.sql, sql/api/carriers.sql and
-- sql/api/tax_quotes.sql go first). The role postcart_carrier stays (roles are cluster-wide).
SET LOCAL ROLE postcart_owner;

REVOKE USAGE ON SCHEMA shop FROM postcart_carrier;
DROP FUNCTION IF EXISTS api.admin_order_parcel(jsonb);
DROP FUNCTION IF EXISTS api.admin_create_labelled_fulfillment(jsonb);
DROP FUNCTION IF EXISTS api.admin_prepare_label(jsonb);
DROP FUNCTION IF EXISTS api.checkout_tax_basis(jsonb, jsonb);
DROP FUNCTION IF EXISTS shop.apply_carrier_event(text, jsonb);
DROP FUNCTION IF EXISTS shop.label_purchased(uuid, jsonb);
DROP FUNCTION IF EXISTS shop.label_failed(uuid, text, boolean);
DROP FUNCTION IF EXISTS shop.lock_fulfillment(uuid);
DROP FUNCTION IF EXISTS shop.fulfillment_parcel(shop.fulfillments);
DROP FUNCTION IF EXISTS shop.parcel_json(shop.orders, uuid[], integer[], uuid[]);
DROP TRIGGER IF EXISTS _110_tax_source_snapshot ON shop.orders;
DROP FUNCTION IF EXISTS shop.apply_tax_quote(jsonb, jsonb, jsonb);
DROP FUNCTION IF EXISTS shop.whole_amount(jsonb);
DROP FUNCTION IF EXISTS shop.tax_basis(jsonb, jsonb);
DROP VIEW IF EXISTS reporting.tax_sources_daily;

DELETE FROM integration.event_types
WHERE type IN ('fulfillment.label_purchased', 'fulfillment.delivered');
DROP TABLE integration.carrier_events;
DROP TABLE shop.fulfillment_tracking_transitions;
DROP INDEX shop.fulfillments_label_open_idx;
DROP INDEX shop.fulfillments_tracking_number_idx;
ALTER TABLE shop.fulfillments
DROP COLUMN carrier_service,
DROP COLUMN label_status,
DROP COLUMN label_attempt,
DROP COLUMN label_error,
DROP COLUMN label_url,
DROP COLUMN label_amount,
DROP COLUMN label_currency,
DROP COLUMN label_reference,
DROP COLUMN label_provider,
DROP COLUMN tracking_status,
DROP COLUMN tracking_status_at,
DROP COLUMN delivered_at,
DROP COLUMN updated_at;
DROP INDEX shop.orders_tax_fallback_idx;
ALTER TABLE shop.orders
DROP COLUMN tax_source,
DROP COLUMN tax_fallback_reason;

RESET ROLE;
