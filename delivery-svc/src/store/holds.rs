//! Holds in Redis: JSON `{user_id, info}` under `delivery:hold:{order_id}` with a TTL.
//! Each write is one atomic MULTI (write and read back together), so the answer
//! always describes the hold as it was when the write happened. A read is a plain
//! pipeline: Redis refuses MULTI at its memory limit, and holds already there must
//! stay readable (and payable) while new ones are refused. With a minimum of
//! replicas, each write is then acknowledged by that many replicas (`WAIT`) before it
//! is reported done, so a Sentinel failover cannot lose a hold a caller was told of.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::redis::Redis;
use crate::{
    domain::{DeliveryInfo, Hold, HoldTtl, OrderId, UserId},
    error::Error,
};
use shop_common::internal::InternalError;

/// The Redis form of a hold. Field names are part of the stored data: keep them.
#[derive(Serialize, Deserialize)]
struct Stored {
    user_id: Uuid,
    info: StoredInfo,
}

#[derive(Serialize, Deserialize)]
struct StoredInfo {
    recipient_name: String,
    address: String,
    contact: String,
    #[serde(default)]
    requirement: String,
}

/// What `put` did.
#[derive(Debug)]
pub enum Put {
    Created(Hold),
    /// A hold was already there (it may belong to another user).
    Existing(Hold),
}

#[derive(Clone)]
pub struct Holds {
    redis: Redis,
    /// Replicas each write waits for, and for how long (None: no wait).
    replicas: Option<(u32, u64)>,
}

fn key(order_id: OrderId) -> String {
    format!("delivery:hold:{order_id}")
}

impl Holds {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            replicas: None,
        }
    }

    /// Each write waits until `min` replicas have it, for at most `wait` (0: no wait).
    pub fn with_min_replicas(self, min: u32, wait: std::time::Duration) -> Self {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        Self {
            replicas: (min > 0).then_some((min, wait_ms)),
            ..self
        }
    }

    /// UNAVAILABLE unless the writes so far reached the minimum of replicas.
    async fn replicated(&self) -> Result<(), Error> {
        let Some((min, wait_ms)) = self.replicas else {
            return Ok(());
        };
        let acked: i64 = self
            .redis
            .query("hold wait", async |conn| {
                redis::cmd("WAIT")
                    .arg(min)
                    .arg(wait_ms)
                    .query_async(conn)
                    .await
            })
            .await?;
        if acked < i64::from(min) {
            count("unreplicated");
            return Err(Error::NotReplicated { acked, min });
        }
        Ok(())
    }

    /// `SET NX PX`: creates the hold unless one exists, and returns whichever is there.
    pub async fn put(
        &self,
        order_id: OrderId,
        user_id: UserId,
        info: &DeliveryInfo,
        ttl: HoldTtl,
    ) -> Result<Put, Error> {
        let json = encode(user_id, info)?;
        let key = key(order_id);
        let (previous, pttl): (Option<String>, i64) = self
            .redis
            .query("hold put", async |conn| {
                redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(&key)
                    .arg(&json)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl.millis())
                    .arg("GET")
                    .cmd("PTTL")
                    .arg(&key)
                    .query_async(conn)
                    .await
            })
            .await?;
        // A hold found there may be an earlier attempt's that never reached a
        // replica: it is waited for like a new one.
        self.replicated().await?;
        match previous {
            None => {
                count("created");
                Ok(Put::Created(Hold {
                    order_id,
                    user_id,
                    info: info.clone(),
                    expires_at: expires_at(pttl),
                }))
            }
            Some(existing) => Ok(Put::Existing(decode(order_id, &existing, pttl)?)),
        }
    }

    pub async fn get(&self, order_id: OrderId) -> Result<Option<Hold>, Error> {
        let key = key(order_id);
        let (value, pttl): (Option<String>, i64) = self
            .redis
            .query("hold get", async |conn| {
                redis::pipe()
                    .cmd("GET")
                    .arg(&key)
                    .cmd("PTTL")
                    .arg(&key)
                    .query_async(conn)
                    .await
            })
            .await?;
        value.map(|v| decode(order_id, &v, pttl)).transpose()
    }

    /// Moves the expiry to `at` if that is later (`PEXPIREAT ... GT`: never shortens,
    /// and a time in the past cannot delete the key). `None` when there is no hold.
    pub async fn extend_to(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Option<Hold>, Error> {
        let key = key(order_id);
        let at_ms = at.timestamp_millis().max(0);
        let (_extended, value, pttl): (i64, Option<String>, i64) = self
            .redis
            .query("hold extend", async |conn| {
                redis::pipe()
                    .atomic()
                    .cmd("PEXPIREAT")
                    .arg(&key)
                    .arg(at_ms)
                    .arg("GT")
                    .cmd("GET")
                    .arg(&key)
                    .cmd("PTTL")
                    .arg(&key)
                    .query_async(conn)
                    .await
            })
            .await?;
        // Gone means its TTL ran out: the only way a hold disappears before payment.
        count(if value.is_some() {
            "extended"
        } else {
            "expired"
        });
        if value.is_some() {
            self.replicated().await?;
        }
        value.map(|v| decode(order_id, &v, pttl)).transpose()
    }

    /// Sets the expiry to exactly `at` (`PEXPIREAT` without `GT`: earlier or later; at
    /// or before now deletes the hold). `None` when there is no hold.
    pub async fn expire_at(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Option<Hold>, Error> {
        let key = key(order_id);
        let at_ms = at.timestamp_millis().max(0);
        let (value, _set, pttl): (Option<String>, i64, i64) = self
            .redis
            .query("hold expire", async |conn| {
                redis::pipe()
                    .atomic()
                    .cmd("GET")
                    .arg(&key)
                    .cmd("PEXPIREAT")
                    .arg(&key)
                    .arg(at_ms)
                    .cmd("PTTL")
                    .arg(&key)
                    .query_async(conn)
                    .await
            })
            .await?;
        if value.is_some() {
            count("reset");
            self.replicated().await?;
        }
        value.map(|v| decode(order_id, &v, pttl)).transpose()
    }

    /// Deletes the hold; true when there was one.
    pub async fn delete(&self, order_id: OrderId) -> Result<bool, Error> {
        let key = key(order_id);
        let deleted: i64 = self
            .redis
            .query("hold delete", async |conn| {
                redis::cmd("DEL").arg(&key).query_async(conn).await
            })
            .await?;
        Ok(deleted > 0)
    }
}

/// `shop_holds_total{event}`: created, extended, expired (found gone when a payment
/// wanted it kept), confirmed (it became a delivery: counted once per delivery),
/// reset (its expiry set back, after a failed payment), unreplicated (a write not
/// acknowledged by HOLD_MIN_REPLICAS replicas in time).
pub fn count(event: &'static str) {
    metrics::counter!("shop_holds_total", "event" => event).increment(1);
}

fn encode(user_id: UserId, info: &DeliveryInfo) -> Result<String, Error> {
    let stored = Stored {
        user_id: user_id.0,
        info: StoredInfo {
            recipient_name: info.recipient_name.clone(),
            address: info.address.clone(),
            contact: info.contact.clone(),
            requirement: info.requirement.clone(),
        },
    };
    serde_json::to_string(&stored).map_err(|err| Error::internal("cannot encode a hold", err))
}

fn decode(order_id: OrderId, raw: &str, pttl: i64) -> Result<Hold, Error> {
    let stored: Stored =
        serde_json::from_str(raw).map_err(|err| Error::internal("corrupt hold in redis", err))?;
    let StoredInfo {
        recipient_name,
        address,
        contact,
        requirement,
    } = stored.info;
    Ok(Hold {
        order_id,
        user_id: UserId(stored.user_id),
        info: DeliveryInfo {
            recipient_name,
            address,
            contact,
            requirement,
        },
        expires_at: expires_at(pttl),
    })
}

/// PTTL is -1 for a key without expiry and -2 for a missing one.
fn expires_at(pttl: i64) -> Option<DateTime<Utc>> {
    match pttl {
        -1 => None,
        ms => Some(Utc::now() + chrono::Duration::milliseconds(ms.max(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips() {
        let order_id = OrderId(Uuid::now_v7());
        let user_id = UserId(Uuid::now_v7());
        let info = DeliveryInfo::parse("홍길동", "서울", "010-1234-5678", "").unwrap();
        let json = encode(user_id, &info).unwrap();
        assert!(json.contains("\"user_id\"") && json.contains("\"recipient_name\""));
        let hold = decode(order_id, &json, 1000).unwrap();
        assert_eq!((hold.user_id, hold.info), (user_id, info));
        assert!(hold.expires_at.is_some());
        assert!(decode(order_id, "{}", 1).is_err());
    }
}
