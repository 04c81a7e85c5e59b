-- Idempotency keys of the admin writes: CreateProduct and AdjustStock sent again with
-- the same key (the gateway scopes it to the admin who sent it) take effect once.
ALTER TABLE products ADD COLUMN request_key text;
CREATE UNIQUE INDEX products_request_key ON products (request_key)
    WHERE request_key IS NOT NULL;

ALTER TABLE stock_adjustments ADD COLUMN request_key text;
CREATE UNIQUE INDEX stock_adjustments_request_key ON stock_adjustments (request_key)
    WHERE request_key IS NOT NULL;
