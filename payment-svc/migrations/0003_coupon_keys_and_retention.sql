-- IssueCoupon sent again with the same key (the gateway scopes it to the admin who
-- sent it) issues one coupon.
ALTER TABLE coupons ADD COLUMN request_key text;
CREATE UNIQUE INDEX coupons_request_key ON coupons (request_key)
    WHERE request_key IS NOT NULL;

-- Retention reads the oldest fences first.
CREATE INDEX saga_fences_by_time ON saga_fences (created_at);
