-- The scaled-data run's payment database (scripts/bench.sh --scaled): 100,000 wallets,
-- each with the top-up that explains its balance.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO wallets (user_id, balance, created_at, updated_at)
SELECT md5('user' || i)::uuid, 1000 + i % 5000, now() - interval '20 days', now() - interval '20 days'
FROM generate_series(0, 99999) AS i;
INSERT INTO ledger (user_id, kind, amount, balance_after, created_at)
SELECT md5('user' || i)::uuid, 'TOP_UP', 1000 + i % 5000, 1000 + i % 5000, now() - interval '20 days'
FROM generate_series(0, 99999) AS i;
COMMIT;
VACUUM ANALYZE;
