-- stock_audit with the same columns, computed by joins instead of two subqueries per
-- product: reading it costs one pass over products, adjustments and reserved lines,
-- so it stays quick with a large catalogue and order history.
CREATE OR REPLACE VIEW stock_audit AS
WITH added AS (
    SELECT product_id, sum(delta) AS added FROM stock_adjustments GROUP BY product_id),
reserved AS (
    SELECT l.product_id, sum(l.quantity) AS reserved
    FROM stock_reservations r JOIN order_lines l ON l.order_id = r.order_id
    WHERE r.state = 'RESERVED' GROUP BY l.product_id)
SELECT p.id AS product_id,
       p.stock,
       coalesce(a.added, 0)::bigint AS added,
       coalesce(r.reserved, 0)::bigint AS reserved
FROM products p
LEFT JOIN added a ON a.product_id = p.id
LEFT JOIN reserved r ON r.product_id = p.id;
