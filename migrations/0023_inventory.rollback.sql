-- Takes inventory (0023) off again: the ledger, the low-stock state and the outbox with their rows, the
-- warehouse priority and the variants' backorder limits and thresholds. on_hand and reserved stay as they
-- are; the stock CHECK goes back to reserved <= on_hand, so this fails while a reservation is backordered.
-- Drops the functions of sql/shop/inventory.sql, sql/integration/events.sql, sql/api/inventory.sql and
-- the view of sql/reporting/inventory.sql. sql/shop/demo.sql and seed.sql of the matching release must be
-- applied again afterwards.
SET LOCAL ROLE postcart_owner;

DROP VIEW IF EXISTS reporting.low_stock;
DROP FUNCTION IF EXISTS api.admin_get_inventory(jsonb);
DROP FUNCTION IF EXISTS api.admin_set_inventory(jsonb);
DROP FUNCTION IF EXISTS api.admin_update_inventory(jsonb);
DROP FUNCTION IF EXISTS api.admin_record_stock_movement(jsonb);
DROP FUNCTION IF EXISTS api.admin_list_stock_movements(jsonb);
DROP FUNCTION IF EXISTS api.admin_list_warehouses(jsonb);
DROP FUNCTION IF EXISTS api.admin_update_warehouse(jsonb);

DROP TRIGGER IF EXISTS _200_backorder_limit ON shop.stock_levels;
DROP TRIGGER IF EXISTS _100_ledger_balance_insert ON shop.stock_levels;
DROP TRIGGER IF EXISTS _100_ledger_balance_update ON shop.stock_levels;
DROP TRIGGER IF EXISTS _100_ledger_balance_delete ON shop.stock_levels;
DROP TRIGGER IF EXISTS _100_truncate ON shop.stock_levels;
DROP TRIGGER IF EXISTS _500_low_stock_insert ON shop.stock_levels;
DROP TRIGGER IF EXISTS _500_low_stock_update ON shop.stock_levels;
DROP TRIGGER IF EXISTS _500_low_stock_delete ON shop.stock_levels;
DROP TRIGGER IF EXISTS _600_low_stock_insert ON shop.product_variants;
DROP TRIGGER IF EXISTS _600_low_stock_update ON shop.product_variants;

DROP FUNCTION IF EXISTS shop.stock_movement_json(shop.stock_movements);
DROP FUNCTION IF EXISTS shop.record_stock_movement(shop.product_variants, shop.warehouses, text, bigint, text, text);
-- The ledger's own triggers go with the table.
DROP TABLE IF EXISTS shop.stock_movements;
DROP FUNCTION IF EXISTS shop.tg_stock_movements__append_only();
DROP FUNCTION IF EXISTS shop.tg_stock_movements__apply();
DROP FUNCTION IF EXISTS shop.tg_stock__truncate();
DROP FUNCTION IF EXISTS shop.tg_stock_levels__backorder_limit();
DROP FUNCTION IF EXISTS shop.tg_stock_levels__ledger_balance();
DROP FUNCTION IF EXISTS shop.ledger_on_hand(uuid, uuid);
DROP FUNCTION IF EXISTS shop.tg_stock_levels__low_stock();
DROP FUNCTION IF EXISTS shop.tg_product_variants__low_stock();
DROP FUNCTION IF EXISTS shop.refresh_low_stock(uuid[]);
DROP FUNCTION IF EXISTS shop.lock_stock_level(uuid, uuid);
DROP FUNCTION IF EXISTS shop.whole_number_error(jsonb, text, boolean, bigint, bigint);
DROP FUNCTION IF EXISTS shop.inventory_variant(text);
DROP FUNCTION IF EXISTS shop.inventory_warehouse(text);
DROP FUNCTION IF EXISTS shop.stock_level_json(uuid, uuid);
DROP FUNCTION IF EXISTS shop.inventory_json(uuid);
DROP FUNCTION IF EXISTS shop.warehouse_json(shop.warehouses);
DROP FUNCTION IF EXISTS integration.emit(text, uuid, jsonb);

DROP TABLE IF EXISTS integration.events;
DROP FUNCTION IF EXISTS integration.tg_events__notify();
DROP TABLE IF EXISTS shop.low_stock_alerts;

ALTER TABLE shop.stock_levels
DROP CONSTRAINT IF EXISTS stock_levels_reserved_within_backorder_limit,
ADD CONSTRAINT stock_levels_reserved_le_on_hand CHECK (reserved <= on_hand),
DROP CONSTRAINT IF EXISTS stock_levels_variant_fkey,
ADD CONSTRAINT stock_levels_variant_id_fkey FOREIGN KEY (variant_id)
REFERENCES shop.product_variants (id) ON DELETE CASCADE,
DROP COLUMN IF EXISTS backorder_limit;
COMMENT ON COLUMN shop.stock_levels.on_hand IS NULL;
COMMENT ON COLUMN shop.stock_levels.reserved IS NULL;
COMMENT ON TABLE shop.stock_levels IS
'Stock of a variant in a warehouse: on_hand is physically there, reserved is promised to orders; '
'available = on_hand - reserved. Staff only; the storefront sees availability through '
'shop.variant_availability() and shop.product_availability().';

DROP POLICY IF EXISTS product_variants_update_inventory_manager ON shop.product_variants;
REVOKE UPDATE ON shop.product_variants FROM inventory_manager;
DROP INDEX IF EXISTS shop.product_variants_low_stock_idx;
ALTER TABLE shop.product_variants
DROP CONSTRAINT IF EXISTS product_variants_id_backorder_limit_key,
DROP COLUMN IF EXISTS backorder_limit,
DROP COLUMN IF EXISTS low_stock_threshold;

DROP POLICY IF EXISTS warehouses_update_inventory_manager ON shop.warehouses;
REVOKE UPDATE ON shop.warehouses FROM inventory_manager;
ALTER TABLE shop.warehouses DROP COLUMN IF EXISTS priority;

RESET ROLE;
