-- The event relay (on when AMQP_URL is set) publishes the outbox to RabbitMQ and marks
-- in published_at what the broker confirmed; it reads the rest in offset order through
-- the partial index. Each event also carries the order's user and amounts as they were
-- when it was written, so a consumer (the exporter) needs no call back to us.
ALTER TABLE order_events
    ADD COLUMN published_at    timestamptz,
    ADD COLUMN user_id         uuid,
    ADD COLUMN total_amount    bigint,
    ADD COLUMN discount_amount bigint,
    ADD COLUMN paid_amount     bigint;

-- Events written before this migration get the order's current values.
UPDATE order_events e
SET user_id = o.user_id,
    total_amount = o.total_amount,
    discount_amount = o.discount_amount,
    paid_amount = o.paid_amount
FROM orders o
WHERE o.id = e.order_id;

ALTER TABLE order_events
    ALTER COLUMN user_id SET NOT NULL,
    ALTER COLUMN total_amount SET NOT NULL,
    ALTER COLUMN discount_amount SET NOT NULL,
    ALTER COLUMN paid_amount SET NOT NULL;

CREATE INDEX order_events_unpublished ON order_events ("offset")
    WHERE published_at IS NULL;
