-- The scaled-data run's order database (scripts/bench.sh --scaled): 100,000 products
-- and 1,000,000 orders of 100,000 users over the last 20 days, each with one line and
-- its ORDER_PLACED and ORDER_EXPIRED events (published). The orders are EXPIRED, so
-- they hold no stock and no payment: the invariant audit still holds, while every
-- table and index a checkout touches is as large as a busy shop's.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO products (id, name, price, stock, added, created_at, updated_at)
SELECT md5('product' || i)::uuid, 'Product ' || i, 100 + i % 900, 1000, 1000,
       now() - interval '20 days', now() - interval '20 days'
FROM generate_series(1, 100000) AS i;
INSERT INTO stock_adjustments (product_id, delta, reason, created_at)
SELECT md5('product' || i)::uuid, 1000, 'INITIAL', now() - interval '20 days'
FROM generate_series(1, 100000) AS i;

INSERT INTO orders (id, user_id, status, total_amount, created_at, expires_at, updated_at)
SELECT md5('order' || i)::uuid, md5('user' || (i % 100000))::uuid, 'EXPIRED', 100 + i % 900,
       now() - (i % 28800) * interval '1 minute',
       now() - (i % 28800) * interval '1 minute' + interval '30 minutes',
       now() - (i % 28800) * interval '1 minute' + interval '30 minutes'
FROM generate_series(1, 1000000) AS i;

INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price, name)
SELECT md5('order' || i)::uuid, 0, md5('product' || (1 + i % 100000))::uuid, 1, 100 + i % 900,
       'Product ' || (1 + i % 100000)
FROM generate_series(1, 1000000) AS i;

INSERT INTO order_events (event_id, order_id, kind, status, occurred_at, published_at,
                          user_id, total_amount, discount_amount, paid_amount)
SELECT md5('event' || i || kind)::uuid, md5('order' || i)::uuid, kind, status,
       now() - (i % 28800) * interval '1 minute', now(),
       md5('user' || (i % 100000))::uuid, 100 + i % 900, 0, 0
FROM generate_series(1, 1000000) AS i,
     (VALUES ('ORDER_PLACED', 'PENDING_PAYMENT'), ('ORDER_EXPIRED', 'EXPIRED')) AS e(kind, status);
COMMIT;
VACUUM ANALYZE;
