-- Deliveries exist only for paid orders: the hold (address, contact) stays in Redis until
-- ConfirmDelivery copies it here, so no unpaid order's delivery info is ever stored.
CREATE TABLE deliveries (
    id             uuid        PRIMARY KEY,
    order_id       uuid        NOT NULL UNIQUE,
    user_id        uuid        NOT NULL,
    saga_id        uuid        NOT NULL,
    payment_id     uuid,
    status         text        NOT NULL
        CHECK (status IN ('PREPARING', 'SHIPPED', 'DELIVERED', 'RECEIVED', 'CANCELLED')),
    recipient_name text        NOT NULL CHECK (char_length(recipient_name) BETWEEN 1 AND 100),
    address        text        NOT NULL CHECK (char_length(address) BETWEEN 1 AND 500),
    contact        text        NOT NULL CHECK (char_length(contact) BETWEEN 7 AND 20),
    requirement    text        NOT NULL DEFAULT '' CHECK (char_length(requirement) <= 500),
    auto_received  boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    shipped_at     timestamptz,
    delivered_at   timestamptz,
    received_at    timestamptz,
    cancelled_at   timestamptz,
    cancel_reason  text,
    -- The durable automatic-receipt timer: claimed by the worker once due.
    receive_due_at timestamptz NOT NULL,
    CHECK ((status = 'RECEIVED') = (received_at IS NOT NULL)),
    CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL)),
    CHECK (NOT auto_received OR status = 'RECEIVED')
);

-- Only open deliveries are ever due; the worker's claim reads this index.
CREATE INDEX deliveries_open_due ON deliveries (receive_due_at)
    WHERE status IN ('PREPARING', 'SHIPPED', 'DELIVERED');

-- Cancel fences: a CancelDelivery that found no delivery leaves a tombstone so that a
-- late ConfirmDelivery of the same saga is refused instead of creating one.
CREATE TABLE delivery_cancel_fences (
    order_id   uuid        NOT NULL,
    saga_id    uuid        NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, saga_id)
);

-- The outbox, read by StreamEvents in offset order. No address or contact in here.
CREATE TABLE delivery_events (
    "offset"      bigserial   PRIMARY KEY,
    event_id      uuid        NOT NULL UNIQUE,
    delivery_id   uuid        NOT NULL REFERENCES deliveries (id),
    order_id      uuid        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('DELIVERY_CREATED', 'DELIVERY_SHIPPED',
                      'DELIVERY_DELIVERED', 'DELIVERY_RECEIVED', 'DELIVERY_CANCELLED')),
    status        text        NOT NULL,
    auto_received boolean     NOT NULL DEFAULT false,
    occurred_at   timestamptz NOT NULL DEFAULT now()
);
