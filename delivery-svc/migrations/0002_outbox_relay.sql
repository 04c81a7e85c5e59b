-- The event relay (on when AMQP_URL is set) publishes the outbox to RabbitMQ and marks
-- in published_at what the broker confirmed; it reads the rest in offset order through
-- the partial index.
ALTER TABLE delivery_events ADD COLUMN published_at timestamptz;

CREATE INDEX delivery_events_unpublished ON delivery_events ("offset")
    WHERE published_at IS NULL;
