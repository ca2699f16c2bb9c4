-- Recommendations (issue 10, part 3; docs/recommendations.md): "frequently bought together" and
-- "customers who viewed this also viewed", counted from orders and product views, kept incrementally by
-- the worker (shop.update_recommendations in sql/shop/recommendations.sql) and read by
-- GET /v1/products/{id}/recommendations (api.product_recommendations).
-- Checkout and POST /v1/events only append to a queue (shop.recommendation_inputs): pair counts of
-- popular products are hot rows, and updating them inside checkout would make checkouts wait on each other.
-- depends: 0042_behaviour_events 0043_reporting_materialized

SET LOCAL ROLE postcart_owner;

CREATE TABLE shop.recommendation_inputs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id uuid,
    session_id text,
    product_id uuid,
    CONSTRAINT recommendation_inputs_one_kind CHECK (
        (order_id IS NOT NULL AND session_id IS NULL AND product_id IS NULL)
        OR (order_id IS NULL AND session_id IS NOT NULL AND product_id IS NOT NULL)
    )
);
COMMENT ON TABLE shop.recommendation_inputs IS
'Queue of what the recommendations have not counted yet: an order placed (order_id), or a product viewed in '
'a browsing session (session_id, product_id). Appended by api.checkout and api.record_events, consumed (and '
'deleted) in id order by shop.update_recommendations.';
COMMENT ON COLUMN shop.recommendation_inputs.id IS 'Arrival order.';
COMMENT ON COLUMN shop.recommendation_inputs.order_id IS 'An order placed (its items are read when counted).';
COMMENT ON COLUMN shop.recommendation_inputs.session_id IS 'The browsing session of a product_view event.';
COMMENT ON COLUMN shop.recommendation_inputs.product_id IS 'The product of a product_view event.';

CREATE TABLE shop.recommendation_session_views (
    session_id text NOT NULL,
    product_id uuid NOT NULL REFERENCES shop.products (id) ON DELETE CASCADE,
    viewed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, product_id)
);
COMMENT ON TABLE shop.recommendation_session_views IS
'The distinct products each browsing session has viewed (at most 50 per session), so that a new view is '
'paired once with each product viewed before it. Forgotten 30 days after the view '
'(shop.sweep_recommendation_sessions). A session id is the storefront''s opaque id, not an account.';
COMMENT ON COLUMN shop.recommendation_session_views.session_id IS 'The client''s browsing-session id.';
COMMENT ON COLUMN shop.recommendation_session_views.product_id IS 'A product the session viewed.';
COMMENT ON COLUMN shop.recommendation_session_views.viewed_at IS 'When the view was counted.';
CREATE INDEX recommendation_session_views_viewed_at_idx ON shop.recommendation_session_views (viewed_at);

CREATE TABLE shop.product_affinities (
    product_id uuid NOT NULL REFERENCES shop.products (id) ON DELETE CASCADE,
    signal text NOT NULL,
    other_id uuid NOT NULL REFERENCES shop.products (id) ON DELETE CASCADE,
    score bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, signal, other_id),
    CONSTRAINT product_affinities_signal_check CHECK (signal IN ('bought_together', 'viewed_together')),
    CONSTRAINT product_affinities_other_check CHECK (other_id <> product_id),
    CONSTRAINT product_affinities_score_check CHECK (score > 0)
);
COMMENT ON TABLE shop.product_affinities IS
'Co-occurrence counts, both directions stored: score is the number of orders that held both products '
'(bought_together) or of browsing sessions that viewed both (viewed_together). Written only by '
'shop.update_recommendations.';
COMMENT ON COLUMN shop.product_affinities.product_id IS 'The product recommendations are asked for.';
COMMENT ON COLUMN shop.product_affinities.signal IS 'bought_together or viewed_together.';
COMMENT ON COLUMN shop.product_affinities.other_id IS 'A product that went with it.';
COMMENT ON COLUMN shop.product_affinities.score IS 'Orders, or sessions, that held both.';
COMMENT ON COLUMN shop.product_affinities.updated_at IS 'When the score last grew.';
-- A product's strongest partners first: the recommendation read walks this index and stops.
CREATE INDEX product_affinities_ranking_idx ON shop.product_affinities (product_id, signal, score DESC, other_id);

CREATE TABLE shop.product_sales_counts (
    product_id uuid PRIMARY KEY REFERENCES shop.products (id) ON DELETE CASCADE,
    units bigint NOT NULL,
    orders bigint NOT NULL,
    CONSTRAINT product_sales_counts_check CHECK (units >= orders AND orders > 0)
);
COMMENT ON TABLE shop.product_sales_counts IS
'Units and orders per product over every order counted so far: what "bestseller" means for the category '
'fallback. Written only by shop.update_recommendations.';
COMMENT ON COLUMN shop.product_sales_counts.product_id IS 'The product.';
COMMENT ON COLUMN shop.product_sales_counts.units IS 'Units ordered.';
COMMENT ON COLUMN shop.product_sales_counts.orders IS 'Orders that held it.';

CREATE TABLE shop.category_bestsellers (
    category_id uuid NOT NULL REFERENCES shop.categories (id) ON DELETE CASCADE,
    rank integer NOT NULL,
    product_id uuid NOT NULL REFERENCES shop.products (id) ON DELETE CASCADE,
    PRIMARY KEY (category_id, rank),
    CONSTRAINT category_bestsellers_rank_check CHECK (rank BETWEEN 1 AND 100)
);
COMMENT ON TABLE shop.category_bestsellers IS
'The 100 products with the most units ordered under each category (its subcategories included), best first; '
'recomputed by shop.update_recommendations for the categories of the products it has just counted. The '
'fallback of the recommendations reads it, so that no request sorts a large category by sales.';
COMMENT ON COLUMN shop.category_bestsellers.category_id IS 'The category (products of its subtree count).';
COMMENT ON COLUMN shop.category_bestsellers.rank IS '1 is the bestseller.';
COMMENT ON COLUMN shop.category_bestsellers.product_id IS 'The product.';

ALTER TABLE shop.recommendation_inputs ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.recommendation_inputs FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.recommendation_session_views ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.recommendation_session_views FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_affinities ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_affinities FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_sales_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_sales_counts FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.category_bestsellers ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.category_bestsellers FORCE ROW LEVEL SECURITY;

-- Nobody but the owner (the SECURITY DEFINER functions) reads or writes them.
CREATE POLICY owner_all ON shop.recommendation_inputs
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY owner_all ON shop.recommendation_session_views
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY owner_all ON shop.product_affinities
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY owner_all ON shop.product_sales_counts
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY owner_all ON shop.category_bestsellers
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

REVOKE ALL ON shop.recommendation_inputs, shop.recommendation_session_views, shop.product_affinities,
shop.product_sales_counts, shop.category_bestsellers FROM PUBLIC;

INSERT INTO audit.unaudited_tables (table_name, reason) VALUES
('shop.recommendation_inputs', 'a queue of orders and product views derived from audited writes and events'),
('shop.recommendation_session_views', 'derived from behaviour events, which are not audited either'),
('shop.product_affinities', 'counts derived from orders and events by the worker; nobody decides a row'),
('shop.product_sales_counts', 'counts derived from orders by the worker; nobody decides a row'),
('shop.category_bestsellers', 'a ranking derived from shop.product_sales_counts by the worker');

-- An existing shop starts with what it already has: every order, and the product views of the last 30 days
-- (older sessions would be forgotten at once). The worker counts them in batches after the migration.
INSERT INTO shop.recommendation_inputs (order_id)
SELECT o.id FROM shop.orders AS o
ORDER BY o.created_at, o.id;
INSERT INTO shop.recommendation_inputs (session_id, product_id)
SELECT e.session_id, e.product_id
FROM shop.behaviour_events AS e
WHERE
    e.type = 'product_view' AND e.session_id IS NOT NULL AND e.product_id IS NOT NULL
    AND e.occurred_at > now() - interval '30 days'
ORDER BY e.occurred_at;

RESET ROLE;
