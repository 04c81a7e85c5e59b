-- The stock a product has been given in all (initial + adjustments = stock on hand +
-- reserved and not released; see stock_audit). AdjustStock keeps it within the range
-- of `stock`, so putting reserved units back can never overflow the column.
ALTER TABLE products ADD COLUMN added bigint;
UPDATE products p SET added = coalesce(
    (SELECT sum(a.delta) FROM stock_adjustments a WHERE a.product_id = p.id), 0);
ALTER TABLE products ALTER COLUMN added SET NOT NULL;
ALTER TABLE products ADD CONSTRAINT products_added_in_range
    CHECK (added BETWEEN 0 AND 2147483647);

-- A user's unpaid orders, counted against MAX_OPEN_ORDERS when they place another.
CREATE INDEX orders_open_by_user ON orders (user_id, expires_at)
    WHERE status IN ('PENDING_PAYMENT', 'PAYMENT_IN_PROGRESS');

-- What each named reader of the outbox has read (StreamEvents `consumer`): retention
-- deletes only events every named reader is past.
CREATE TABLE outbox_cursors (
    consumer    text        PRIMARY KEY,
    read_offset bigint      NOT NULL CHECK (read_offset >= 0),
    seen_at     timestamptz NOT NULL DEFAULT now()
);

-- Retention reads the oldest events and fences first.
CREATE INDEX order_events_by_time ON order_events (occurred_at);
CREATE INDEX payment_fences_by_time ON payment_fences (updated_at);
CREATE INDEX stock_reservations_released ON stock_reservations (released_at)
    WHERE state = 'RELEASED';
