-- The durable saga log: one row per saga with where it is, and every step written
-- before and after it runs, so a crash at any point is finished or compensated.
CREATE TABLE sagas (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL,
    user_id         uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('PAY', 'CANCEL')),
    state           text NOT NULL CHECK (state IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'STUCK')),
    -- The furthest forward step reached, and whether it finished.
    step            text NOT NULL,
    phase           text NOT NULL CHECK (phase IN ('STARTED', 'DONE')),
    -- What the order becomes when the saga is compensated: ABORT (back to
    -- PENDING_PAYMENT), EXPIRE or FAIL.
    outcome         text CHECK (outcome IN ('ABORT', 'EXPIRE', 'FAIL')),
    amount          bigint NOT NULL DEFAULT 0 CHECK (amount >= 0),
    coupon_id       uuid,
    payment_id      uuid,
    discount_amount bigint NOT NULL DEFAULT 0,
    paid_amount     bigint NOT NULL DEFAULT 0,
    -- For a CANCEL saga: the PAY saga whose charge and stock it gives back.
    target_saga_id  uuid,
    reason          text NOT NULL DEFAULT '',
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    lease_until     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sagas_unfinished ON sagas (lease_until) WHERE state IN ('RUNNING', 'COMPENSATING');
CREATE INDEX sagas_by_order ON sagas (order_id);
CREATE INDEX sagas_by_state ON sagas (state, created_at DESC);

CREATE TABLE saga_steps (
    seq      bigserial PRIMARY KEY,
    saga_id  uuid NOT NULL REFERENCES sagas (id),
    step     text NOT NULL,
    phase    text NOT NULL,
    detail   text NOT NULL DEFAULT '',
    at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX saga_steps_by_saga ON saga_steps (saga_id, seq);

-- Idempotency keys of public calls (PlaceOrder, Checkout, PayOrder, TopUpPoints):
-- the same key and body returns the same order; kept 24 h.
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL,
    key          text NOT NULL,
    operation    text NOT NULL,
    request_hash bytea NOT NULL,
    order_id     uuid NOT NULL,
    state        text NOT NULL CHECK (state IN ('IN_PROGRESS', 'DONE')),
    locked_until timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Where each event consumer is in the stream it follows.
CREATE TABLE consumer_offsets (
    name        text PRIMARY KEY,
    last_offset bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
