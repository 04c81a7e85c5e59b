-- order-svc: the catalog (products, stock and its audit trail), orders, the saga fences
-- and the order outbox. Every rule the code enforces has a CHECK here as a backstop.

CREATE TABLE products (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
    price       bigint      NOT NULL CHECK (price >= 0),
    stock       integer     NOT NULL CHECK (stock >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every change of stock that is not a reservation: the initial stock, then each
-- AdjustStock. Per product: sum(delta) = stock + reserved and not released.
CREATE TABLE stock_adjustments (
    id          bigserial   PRIMARY KEY,
    product_id  uuid        NOT NULL REFERENCES products (id),
    delta       integer     NOT NULL,
    reason      text        NOT NULL CHECK (reason IN ('INITIAL', 'ADJUSTMENT')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_adjustments_product ON stock_adjustments (product_id);

CREATE TABLE orders (
    id               uuid        PRIMARY KEY,
    user_id          uuid        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('PENDING_PAYMENT',
                         'PAYMENT_IN_PROGRESS', 'PAID', 'RECEIVED', 'CANCELLED',
                         'EXPIRED', 'FAILED')),
    total_amount     bigint      NOT NULL CHECK (total_amount >= 0),
    discount_amount  bigint      NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    paid_amount      bigint      NOT NULL DEFAULT 0 CHECK (paid_amount >= 0),
    -- The saga holding PAYMENT_IN_PROGRESS, or the last one that held it.
    saga_id          uuid,
    payment_id       uuid,
    last_error       text,
    cancel_reason    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_in_progress_has_saga
        CHECK (status <> 'PAYMENT_IN_PROGRESS' OR saga_id IS NOT NULL),
    CONSTRAINT orders_paid_has_payment
        CHECK (status NOT IN ('PAID', 'RECEIVED') OR payment_id IS NOT NULL)
);
CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_pending_by_expiry ON orders (expires_at)
    WHERE status = 'PENDING_PAYMENT';

-- Lines never change after CreateOrder; price and name are snapshots.
CREATE TABLE order_lines (
    order_id    uuid    NOT NULL REFERENCES orders (id),
    line_no     integer NOT NULL CHECK (line_no >= 0),
    product_id  uuid    NOT NULL REFERENCES products (id),
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price  bigint  NOT NULL CHECK (unit_price >= 0),
    name        text    NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_product ON order_lines (product_id);

-- TCC fence of BeginPayment / AbortPayment: an abort that arrives first leaves an
-- ABORTED row, so a late BeginPayment of that saga cannot lock the order.
CREATE TABLE payment_fences (
    order_id    uuid        NOT NULL REFERENCES orders (id),
    saga_id     uuid        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('BEGUN', 'ABORTED')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, saga_id)
);

-- TCC fence of ReserveStock / ReleaseStock. A RELEASED row with reserved_at NULL is a
-- tombstone: the release came before any reserve, and a late reserve is refused.
CREATE TABLE stock_reservations (
    order_id     uuid        NOT NULL REFERENCES orders (id),
    saga_id      uuid        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('RESERVED', 'RELEASED')),
    reserved_at  timestamptz,
    released_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, saga_id),
    CONSTRAINT stock_reservations_reserved_has_time
        CHECK (state <> 'RESERVED' OR reserved_at IS NOT NULL),
    CONSTRAINT stock_reservations_released_has_time
        CHECK (state <> 'RELEASED' OR released_at IS NOT NULL)
);

-- The outbox. Writers take an advisory lock right before inserting, so offsets commit
-- in order and a reader polling "offset > n" never skips a late commit.
CREATE TABLE order_events (
    "offset"     bigserial   PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    order_id     uuid        NOT NULL REFERENCES orders (id),
    kind         text        NOT NULL CHECK (kind IN ('ORDER_PLACED', 'ORDER_PAID',
                     'ORDER_CANCELLED', 'ORDER_EXPIRED', 'ORDER_RECEIVED',
                     'ORDER_FAILED')),
    status       text        NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);

-- Invariant 1 from SQL: initial + adjustments = stock + reserved and not released.
CREATE VIEW stock_audit AS
SELECT p.id AS product_id,
       p.stock,
       coalesce((SELECT sum(a.delta) FROM stock_adjustments a
                 WHERE a.product_id = p.id), 0)::bigint AS added,
       coalesce((SELECT sum(l.quantity)
                 FROM stock_reservations r
                 JOIN order_lines l ON l.order_id = r.order_id
                 WHERE r.state = 'RESERVED' AND l.product_id = p.id), 0)::bigint AS reserved
FROM products p;
