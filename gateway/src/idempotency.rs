//! Idempotency keys of public calls, like Stripe's: the same key (per user) with the
//! same request returns the same order; the same key with another request is
//! IDEMPOTENCY_KEY_REUSED; a key whose first request is still running is
//! IDEMPOTENCY_KEY_IN_USE. Keys live 24 h.
//!
//! A key's lock outlives the request and the saga it started: it is taken for the
//! request's whole budget (plus slack), and a retry takes over an abandoned key only
//! once no saga of its order is unfinished (one deferred to recovery may still
//! compensate it).
//!
//! The request is remembered by a fingerprint only, and the fingerprint is a keyed
//! HMAC-SHA256, not a plain hash: a body holds the delivery details, and a plain hash
//! of it would let anyone who reads the table confirm a guessed address. The key is
//! derived from `JWT_SECRET` (HMAC of a fixed label), so there is no extra secret to
//! deploy and the two uses stay independent; rotating `JWT_SECRET` also changes the
//! fingerprints, so a key in flight across a rotation answers IDEMPOTENCY_KEY_REUSED
//! (its client must log in again anyway).

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use shop_common::status;
use shop_proto::common::ErrorReason;
use sqlx::PgPool;
use tonic::{Code, Status, metadata::MetadataMap};
use uuid::Uuid;

/// How long a key is remembered.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);
/// Added to a request's remaining budget for its key's lock: the answer and the
/// settling of the key happen after the budget.
const LOCK_SLACK: Duration = Duration::from_secs(10);
const MAX_KEY_LEN: usize = 255;

/// What to do with a request that carries a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First use: run it for this order id.
    Fresh(Uuid),
    /// Seen before and finished: answer with this order as it is now.
    Finished(Uuid),
    /// Seen before, abandoned mid-way: run it again (every step is idempotent).
    Resume(Uuid),
}

impl Claim {
    pub fn order_id(self) -> Uuid {
        match self {
            Claim::Fresh(id) | Claim::Finished(id) | Claim::Resume(id) => id,
        }
    }
}

/// The `idempotency-key` of a request, if any; malformed keys are refused.
pub fn key(metadata: &MetadataMap) -> Result<Option<String>, Status> {
    let Some(raw) = metadata.get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(status::validation(&[(
            "idempotency-key".into(),
            format!("must be 1..={MAX_KEY_LEN} printable ASCII characters"),
        )]));
    }
    Ok(Some(key.to_owned()))
}

/// The label the fingerprint key is derived with from the server secret.
const FINGERPRINT_LABEL: &[u8] = b"shop idempotency fingerprint v1";

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Keys {
    pool: PgPool,
    /// The HMAC of the fingerprints, keyed (once, at start) with a key derived from the
    /// server secret; cloned for each fingerprint.
    fingerprints: HmacSha256,
}

impl Keys {
    /// `secret` is the gateway's `JWT_SECRET`.
    pub fn new(pool: PgPool, secret: &str) -> anyhow::Result<Self> {
        let mut derive = HmacSha256::new_from_slice(secret.as_bytes())?;
        derive.update(FINGERPRINT_LABEL);
        let key = derive.finalize().into_bytes();
        Ok(Self {
            pool,
            fingerprints: HmacSha256::new_from_slice(&key)?,
        })
    }

    /// A keyed digest of the operation and its request, to tell a retry from a reuse.
    pub fn fingerprint(&self, operation: &str, request: &impl prost::Message) -> Vec<u8> {
        let mut mac = self.fingerprints.clone();
        mac.update(operation.as_bytes());
        mac.update(&[0]);
        mac.update(&request.encode_to_vec());
        mac.finalize().into_bytes().to_vec()
    }

    /// Claims `key` for `user` and this request, for `budget` (what the request may
    /// still run) plus slack; `order_id` is used on first use.
    pub async fn claim(
        &self,
        user: Uuid,
        key: &str,
        operation: &str,
        fingerprint: &[u8],
        order_id: Uuid,
        budget: Duration,
    ) -> Result<Claim, Status> {
        let lock = shop_common::db::interval(budget + LOCK_SLACK);
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (user_id, key, operation, request_hash, order_id, state, locked_until, expires_at) \
             VALUES ($1, $2, $3, $4, $5, 'IN_PROGRESS', now() + $6, now() + $7) \
             ON CONFLICT (user_id, key) DO UPDATE \
               SET operation = EXCLUDED.operation, request_hash = EXCLUDED.request_hash, order_id = EXCLUDED.order_id, \
                   state = 'IN_PROGRESS', locked_until = EXCLUDED.locked_until, created_at = now(), \
                   expires_at = EXCLUDED.expires_at \
               WHERE idempotency_keys.expires_at < now() \
             RETURNING order_id",
        )
        .bind(user)
        .bind(key)
        .bind(operation)
        .bind(fingerprint)
        .bind(order_id)
        .bind(lock)
        .bind(KEY_TTL)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_down)?;
        if let Some(id) = inserted {
            return Ok(Claim::Fresh(id));
        }

        // The key is live: same request? finished? still running?
        let row: Option<(String, Vec<u8>, Uuid, String, bool)> = sqlx::query_as(
            "SELECT operation, request_hash, order_id, state, locked_until > now() FROM idempotency_keys \
             WHERE user_id = $1 AND key = $2",
        )
        .bind(user)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_down)?;
        let Some((op, hash, existing, state, locked)) = row else {
            return Err(in_use());
        };
        if op != operation || hash != fingerprint {
            conflict("reused");
            return Err(status::error(
                Code::FailedPrecondition,
                ErrorReason::IdempotencyKeyReused,
                "this idempotency key was used with a different request",
            ));
        }
        if state == "DONE" {
            metrics::counter!("shop_idempotency_replays_total").increment(1);
            return Ok(Claim::Finished(existing));
        }
        if locked {
            conflict("in_use");
            return Err(in_use());
        }
        // Abandoned: take it over, unless another retry just did, or a saga the first
        // request started is still unfinished (recovery may yet compensate it).
        let taken = sqlx::query(
            "UPDATE idempotency_keys k SET locked_until = now() + $3 \
             WHERE k.user_id = $1 AND k.key = $2 AND k.state = 'IN_PROGRESS' AND k.locked_until <= now() \
               AND NOT EXISTS (SELECT 1 FROM sagas s WHERE s.order_id = k.order_id \
                               AND s.state IN ('RUNNING', 'COMPENSATING'))",
        )
        .bind(user)
        .bind(key)
        .bind(lock)
        .execute(&self.pool)
        .await
        .map_err(db_down)?
        .rows_affected();
        if taken == 1 {
            Ok(Claim::Resume(existing))
        } else {
            conflict("in_use");
            Err(in_use())
        }
    }

    /// The request finished (well or with a business answer): later retries replay it.
    pub async fn finish(&self, user: Uuid, key: &str) {
        let result = sqlx::query(
            "UPDATE idempotency_keys SET state = 'DONE' WHERE user_id = $1 AND key = $2",
        )
        .bind(user)
        .bind(key)
        .execute(&self.pool)
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "cannot mark idempotency key done; a retry will re-run idempotent steps");
        }
    }

    /// The request failed before changing anything: forget the key so it can be used
    /// again (for instance with a corrected body).
    pub async fn forget(&self, user: Uuid, key: &str) {
        let result = sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND state = 'IN_PROGRESS'")
            .bind(user)
            .bind(key)
            .execute(&self.pool)
            .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "cannot forget idempotency key");
        }
    }

    /// The request stopped with an unknown outcome: a retry may take over at once.
    pub async fn unlock(&self, user: Uuid, key: &str) {
        let result = sqlx::query(
            "UPDATE idempotency_keys SET locked_until = now() WHERE user_id = $1 AND key = $2",
        )
        .bind(user)
        .bind(key)
        .execute(&self.pool)
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "cannot unlock idempotency key; a retry waits for its lock");
        }
    }

    /// Deletes up to [`PURGE_BATCH`] expired keys, except one whose order a saga is
    /// still driving (its lock must outlive the saga); returns how many.
    pub async fn purge_expired(&self) -> sqlx::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM idempotency_keys WHERE ctid IN \
             (SELECT k.ctid FROM idempotency_keys k WHERE k.expires_at < now() \
              AND NOT EXISTS (SELECT 1 FROM sagas s WHERE s.order_id = k.order_id \
                              AND s.state IN ('RUNNING', 'COMPENSATING')) \
              LIMIT $1)",
        )
        .bind(PURGE_BATCH)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// Keys one purge statement deletes at most; the periodic job runs again at once
/// while a round is full.
pub const PURGE_BATCH: i64 = 1000;

/// A request that met its key in a state that refuses it: `reused` (another body) or
/// `in_use` (its first request is still running).
fn conflict(reason: &'static str) {
    metrics::counter!("shop_idempotency_conflicts_total", "reason" => reason).increment(1);
}

fn in_use() -> Status {
    status::error(
        Code::Aborted,
        ErrorReason::IdempotencyKeyInUse,
        "a request with this idempotency key is still running; retry later",
    )
}

fn db_down(err: sqlx::Error) -> Status {
    status::unavailable("the gateway database", &err)
}
