-- Undoes 0047. The functions of sql/shop/recommendations.sql and sql/api/recommendations.sql go first.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS api.product_recommendations(jsonb);
DROP FUNCTION IF EXISTS shop.update_recommendations(integer);
DROP FUNCTION IF EXISTS shop.sweep_recommendation_sessions(integer);
DELETE FROM audit.unaudited_tables
WHERE table_name IN (
    'shop.recommendation_inputs', 'shop.recommendation_session_views', 'shop.product_affinities',
    'shop.product_sales_counts', 'shop.category_bestsellers'
);
DROP TABLE shop.category_bestsellers;
DROP TABLE shop.product_sales_counts;
DROP TABLE shop.product_affinities;
DROP TABLE shop.recommendation_session_views;
DROP TABLE shop.recommendation_inputs;

RESET ROLE;
