//! Idempotency keys of public calls, like Stripe's: the same key (per user) with the
//! same request returns the same order; the same key with another request is
//! IDEMPOTENCY_KEY_REUSED; a key whose first request is still running is
//! IDEMPOTENCY_KEY_IN_USE. Keys live 24 h. This module owns claiming a key, settling it
//! once the request ends and marking a replayed answer; the SQL is `store::keys`.
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
use sqlx::PgPool;
use tonic::{Response, metadata::MetadataMap};

use crate::ids::OrderId;
use crate::{
    auth::Caller,
    clients::Deadline,
    error::{Error, Result},
    store::keys::{self, NewKey},
};

/// How long a key is remembered.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);
/// Added to a request's remaining budget for its key's lock: the answer and the
/// settling of the key happen after the budget.
const LOCK_SLACK: Duration = Duration::from_secs(10);
const MAX_KEY_LEN: usize = 255;
/// Keys one purge statement deletes at most; the periodic job runs again at once
/// while a round is full.
pub const PURGE_BATCH: i64 = 1000;

/// Response metadata (and, over REST, header) on an answer replayed for an
/// idempotency key, as Stripe marks it.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// What to do with a request that carries a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First use: run it for this order id.
    Fresh(OrderId),
    /// Seen before and finished: answer with this order as it is now.
    Finished(OrderId),
    /// Seen before, abandoned mid-way: run it again (every step is idempotent).
    Resume(OrderId),
}

impl Claim {
    pub fn order_id(self) -> OrderId {
        match self {
            Claim::Fresh(id) | Claim::Finished(id) | Claim::Resume(id) => id,
        }
    }
}

/// A request's claim on its key (or, without a key, a fresh run).
pub struct Keyed {
    pub claim: Claim,
    key: Option<String>,
}

/// The `idempotency-key` of a request, if any; malformed keys are refused.
pub fn key(metadata: &MetadataMap) -> Result<Option<String>> {
    let Some(raw) = metadata.get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::invalid(
            "idempotency-key",
            format!("must be 1..={MAX_KEY_LEN} printable ASCII characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// The answer to a keyed call; a key seen finished before makes it a replay.
pub fn respond<T>(value: T, claim: Claim) -> Response<T> {
    let mut response = Response::new(value);
    if matches!(claim, Claim::Finished(_)) {
        response.metadata_mut().insert(
            IDEMPOTENT_REPLAYED,
            tonic::metadata::MetadataValue::from_static("true"),
        );
    }
    response
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

    /// Claims the request's idempotency key (if it has one) for `operation`, for as
    /// long as the request may run; `order_id` is the order a first use runs for.
    pub async fn claim_request(
        &self,
        caller: &Caller,
        metadata: &MetadataMap,
        operation: &str,
        request: &impl prost::Message,
        order_id: OrderId,
        deadline: Deadline,
    ) -> Result<Keyed> {
        let Some(key) = key(metadata)? else {
            return Ok(Keyed {
                claim: Claim::Fresh(order_id),
                key: None,
            });
        };
        let new = NewKey {
            user: caller.user_id,
            key: &key,
            operation,
            fingerprint: &self.fingerprint(operation, request),
            order_id,
            lock: deadline.remaining() + LOCK_SLACK,
            ttl: KEY_TTL,
        };
        let claim = self.claim(&new).await?;
        Ok(Keyed {
            claim,
            key: Some(key),
        })
    }

    /// Claims `new.key` for its user and request.
    pub async fn claim(&self, new: &NewKey<'_>) -> Result<Claim> {
        let db = Error::database("the gateway database");
        if let Some(id) = keys::insert(&self.pool, new).await.map_err(db)? {
            return Ok(Claim::Fresh(id));
        }
        // The key is live: same request? finished? still running?
        let live = keys::get(&self.pool, new.user, new.key)
            .await
            .map_err(Error::database("the gateway database"))?;
        let Some(live) = live else {
            return Err(Error::KeyInUse);
        };
        if live.operation != new.operation || live.fingerprint != new.fingerprint {
            conflict("reused");
            return Err(Error::KeyReused);
        }
        if live.done {
            metrics::counter!("shop_idempotency_replays_total").increment(1);
            return Ok(Claim::Finished(live.order_id));
        }
        if live.locked {
            conflict("in_use");
            return Err(Error::KeyInUse);
        }
        // Abandoned: take it over, unless another retry just did, or a saga the first
        // request started is still unfinished (recovery may yet compensate it).
        let taken = keys::take_over(&self.pool, new.user, new.key, new.lock)
            .await
            .map_err(Error::database("the gateway database"))?;
        if taken {
            Ok(Claim::Resume(live.order_id))
        } else {
            conflict("in_use");
            Err(Error::KeyInUse)
        }
    }

    /// Records how a keyed operation ended. A success, or a refusal after the order
    /// was created, is final: a retry answers with that order. An unknown outcome lets
    /// a retry take over once no saga of the order is running. A refusal before
    /// anything was created forgets the key, so it can be used again (say, with a
    /// corrected body).
    pub async fn settle<T>(
        &self,
        caller: &Caller,
        keyed: &Keyed,
        result: &Result<T>,
        created: bool,
    ) {
        let Some(key) = &keyed.key else { return };
        let user = caller.user_id;
        let (written, failure) = match result {
            Ok(_) => (
                keys::mark_done(&self.pool, user, key).await,
                "cannot mark idempotency key done; a retry will re-run idempotent steps",
            ),
            Err(err) if err.outcome_unknown() => (
                keys::unlock(&self.pool, user, key).await,
                "cannot unlock idempotency key; a retry waits for its lock",
            ),
            Err(_) if created => (
                keys::mark_done(&self.pool, user, key).await,
                "cannot mark idempotency key done; a retry will re-run idempotent steps",
            ),
            Err(_) => (
                keys::delete_in_progress(&self.pool, user, key).await,
                "cannot forget idempotency key",
            ),
        };
        if let Err(err) = written {
            tracing::warn!(error = %err, "{failure}");
        }
    }

    /// Deletes up to [`PURGE_BATCH`] expired keys, except one whose order a saga is
    /// still driving (its lock must outlive the saga); returns how many.
    pub async fn purge_expired(&self) -> sqlx::Result<u64> {
        keys::purge_expired(&self.pool, PURGE_BATCH).await
    }
}

/// A request that met its key in a state that refuses it: `reused` (another body) or
/// `in_use` (its first request is still running).
fn conflict(reason: &'static str) {
    metrics::counter!("shop_idempotency_conflicts_total", "reason" => reason).increment(1);
}
