-- payment-svc schema: wallets with a ledger of every movement, coupons, payments and
-- the saga fences that make Charge/Refund safe to repeat and to reorder.

CREATE TABLE wallets (
    user_id    uuid PRIMARY KEY,
    balance    bigint NOT NULL CONSTRAINT wallets_balance_not_negative CHECK (balance >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per balance change; amount is signed, balance_after is the balance once
-- this row's change was applied.
CREATE TABLE ledger (
    id              bigserial PRIMARY KEY,
    user_id         uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('TOP_UP', 'CHARGE', 'REFUND')),
    amount          bigint NOT NULL,
    order_id        uuid,
    payment_id      uuid,
    balance_after   bigint NOT NULL CHECK (balance_after >= 0),
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_amount_sign CHECK (
        (kind = 'TOP_UP' AND amount > 0)
        OR (kind = 'CHARGE' AND amount < 0)
        OR (kind = 'REFUND' AND amount > 0)
    ),
    CONSTRAINT ledger_order_movements_name_the_order CHECK (
        kind = 'TOP_UP' OR (order_id IS NOT NULL AND payment_id IS NOT NULL)
    )
);
-- A top-up repeated with the same key must not add twice.
CREATE UNIQUE INDEX ledger_user_idempotency_key
    ON ledger (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX ledger_user_newest ON ledger (user_id, id DESC);

CREATE TABLE coupons (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL,
    discount_amount  bigint CHECK (discount_amount > 0),
    discount_percent integer CHECK (discount_percent BETWEEN 1 AND 100),
    min_order_amount bigint NOT NULL CHECK (min_order_amount >= 0),
    expires_at       timestamptz NOT NULL,
    -- The order whose charge used it; cleared again by that charge's refund.
    used_order_id    uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT coupons_exactly_one_discount_kind
        CHECK ((discount_amount IS NULL) <> (discount_percent IS NULL))
);
CREATE INDEX coupons_user ON coupons (user_id, created_at);

CREATE TABLE payments (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL,
    saga_id         uuid NOT NULL,
    user_id         uuid NOT NULL,
    status          text NOT NULL CHECK (status IN ('CHARGED', 'REFUNDED')),
    amount          bigint NOT NULL CHECK (amount > 0),
    discount_amount bigint NOT NULL CHECK (discount_amount >= 0),
    paid_amount     bigint NOT NULL CHECK (paid_amount >= 0),
    coupon_id       uuid REFERENCES coupons (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    refunded_at     timestamptz,
    refund_reason   text,
    CONSTRAINT payments_amounts_add_up CHECK (discount_amount + paid_amount = amount),
    CONSTRAINT payments_refunded_at_iff_refunded
        CHECK ((status = 'REFUNDED') = (refunded_at IS NOT NULL)),
    CONSTRAINT payments_one_per_saga UNIQUE (order_id, saga_id)
);
-- At most one charged payment per order, whichever saga tries.
CREATE UNIQUE INDEX payments_one_charged_per_order
    ON payments (order_id) WHERE status = 'CHARGED';
CREATE INDEX payments_order_newest ON payments (order_id, created_at DESC);

-- The TCC fence of each (order, saga): CHARGE once its charge committed, TOMBSTONE
-- when its refund came first. Inserted in the same transaction as the business change;
-- the primary key makes a concurrent Charge and Refund of one saga wait for each other.
CREATE TABLE saga_fences (
    order_id   uuid NOT NULL,
    saga_id    uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('CHARGE', 'TOMBSTONE')),
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, saga_id)
);
