-- The exporter's own database: what an analyst queries about orders, fed by the events
-- on shop.events. Nothing here is ever read by the checkout path.

-- Deduplication by event id, written in the transaction of the facts it led to: an
-- event delivered twice (the broker delivers at least once) changes the facts once.
CREATE TABLE processed_events (
    event_id      uuid        PRIMARY KEY,
    routing_key   text        NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    -- How many more times the same event arrived and was skipped.
    duplicates    integer     NOT NULL DEFAULT 0
);

-- One row per order: who, how much, where it stands, and when each step happened.
-- Order and delivery events come from two services and may arrive in any order;
-- each status column follows the event with the highest offset of its service.
CREATE TABLE order_facts (
    order_id              uuid        PRIMARY KEY,
    user_id               uuid,
    status                text,
    total_amount          bigint,
    discount_amount       bigint,
    paid_amount           bigint,
    placed_at             timestamptz,
    paid_at               timestamptz,
    cancelled_at          timestamptz,
    expired_at            timestamptz,
    failed_at             timestamptz,
    received_at           timestamptz,
    delivery_status       text,
    delivery_created_at   timestamptz,
    shipped_at            timestamptz,
    delivered_at          timestamptz,
    delivery_received_at  timestamptz,
    delivery_cancelled_at timestamptz,
    auto_received         boolean     NOT NULL DEFAULT false,
    order_offset          bigint,
    delivery_offset       bigint,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_facts_by_user ON order_facts (user_id);
CREATE INDEX order_facts_by_status ON order_facts (status);

-- The status timeline: every event of every order, once.
CREATE TABLE order_timeline (
    event_id     uuid        PRIMARY KEY,
    order_id     uuid        NOT NULL,
    source       text        NOT NULL CHECK (source IN ('order', 'delivery')),
    kind         text        NOT NULL,
    status       text        NOT NULL,
    "offset"     bigint      NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_timeline_by_order ON order_timeline (order_id, occurred_at);
