-- An order of free products (price 0) is paid with a payment of 0 points, so that a
-- paid order always has exactly one charged payment.
ALTER TABLE payments DROP CONSTRAINT payments_amount_check;
ALTER TABLE payments ADD CONSTRAINT payments_amount_not_negative CHECK (amount >= 0);
