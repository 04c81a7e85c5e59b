//! Coupons: issuing, listing, the conditional claim by an order, and freeing.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{Coupon, CouponId, CouponRejection, Discount, NewCoupon, OrderId, UserId},
    error::Error,
};
use shop_common::internal::InternalError;

const COLUMNS: &str = "id, user_id, discount_amount, discount_percent, min_order_amount, \
                       expires_at, used_order_id, created_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    user_id: Uuid,
    discount_amount: Option<i64>,
    discount_percent: Option<i32>,
    min_order_amount: i64,
    expires_at: DateTime<Utc>,
    used_order_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

fn discount(amount: Option<i64>, percent: Option<i32>) -> Result<Discount, Error> {
    match (amount, percent) {
        (Some(points), None) => Ok(Discount::Fixed(points)),
        (None, Some(percent)) => Ok(Discount::Percent(percent)),
        _ => Err(Error::internal(
            "inconsistent data",
            anyhow::anyhow!("coupon without exactly one discount kind"),
        )),
    }
}

impl TryFrom<Row> for Coupon {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        Ok(Coupon {
            id: CouponId(row.id),
            user_id: UserId(row.user_id),
            discount: discount(row.discount_amount, row.discount_percent)?,
            min_order_amount: row.min_order_amount,
            expires_at: row.expires_at,
            used_order_id: row.used_order_id.map(OrderId),
            created_at: row.created_at,
        })
    }
}

/// The unique index that makes a keyed issue happen once.
const KEY_INDEX: &str = "coupons_request_key";

/// Issues the coupon. With a request key, a repeat returns the first coupon (another
/// body with the key is refused).
pub async fn insert(conn: &mut PgConnection, coupon: &NewCoupon) -> Result<Coupon, Error> {
    let key = coupon.request_key.as_ref().map(|k| k.as_str());
    if let Some(key) = key
        && let Some(first) = by_key(conn, key).await?
    {
        return same_coupon(first, coupon);
    }
    let (amount, percent) = match coupon.discount {
        Discount::Fixed(points) => (Some(points), None),
        Discount::Percent(percent) => (None, Some(percent)),
    };
    let inserted: Result<Row, sqlx::Error> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO coupons
            (id, user_id, discount_amount, discount_percent, min_order_amount, expires_at,
             request_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING {COLUMNS}"
    )))
    .bind(coupon.id.0)
    .bind(coupon.user_id.0)
    .bind(amount)
    .bind(percent)
    .bind(coupon.min_order_amount)
    .bind(coupon.expires_at)
    .bind(key)
    .fetch_one(&mut *conn)
    .await;
    match (inserted, key) {
        (Ok(row), _) => row.try_into(),
        // A concurrent issue with the same key committed first: answer with its coupon.
        (Err(err), Some(key)) if shop_common::db::unique_violation(&err) == Some(KEY_INDEX) => {
            let first = by_key(conn, key).await?.ok_or_else(|| {
                Error::internal(
                    "inconsistent data",
                    anyhow::anyhow!("coupon key taken without a coupon"),
                )
            })?;
            same_coupon(first, coupon)
        }
        (Err(err), _) => Err(err.into()),
    }
}

async fn by_key(conn: &mut PgConnection, key: &str) -> Result<Option<Coupon>, Error> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM coupons WHERE request_key = $1"
    )))
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.map(Coupon::try_from).transpose()
}

fn same_coupon(first: Coupon, asked: &NewCoupon) -> Result<Coupon, Error> {
    if asked.same_as(&first) {
        Ok(first)
    } else {
        Err(Error::CouponKeyReused(first.id))
    }
}

/// Every coupon of `user`, used and expired ones included, oldest first.
pub async fn of_user(conn: &mut PgConnection, user: UserId) -> Result<Vec<Coupon>, Error> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM coupons WHERE user_id = $1 ORDER BY created_at, id"
    )))
    .bind(user.0)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Coupon::try_from).collect()
}

async fn find(conn: &mut PgConnection, id: CouponId) -> Result<Option<Coupon>, Error> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM coupons WHERE id = $1"
    )))
    .bind(id.0)
    .fetch_optional(conn)
    .await?;
    row.map(Coupon::try_from).transpose()
}

/// Marks the coupon used by `order` if `user` may use it on an order of `amount` now,
/// in one conditional statement so two orders racing for it cannot both win. On
/// refusal, says which rule failed.
pub async fn claim(
    conn: &mut PgConnection,
    id: CouponId,
    user: UserId,
    order: OrderId,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<Discount, Error> {
    let claimed: Option<(Option<i64>, Option<i32>)> = sqlx::query_as(
        "UPDATE coupons SET used_order_id = $3
         WHERE id = $1 AND user_id = $2 AND used_order_id IS NULL
           AND expires_at > $5 AND min_order_amount <= $4
         RETURNING discount_amount, discount_percent",
    )
    .bind(id.0)
    .bind(user.0)
    .bind(order.0)
    .bind(amount)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((amount, percent)) = claimed {
        return discount(amount, percent);
    }
    let rejection = match find(conn, id).await? {
        None => CouponRejection::Missing,
        Some(coupon) => coupon
            .rejection(user, amount, now)
            .unwrap_or(CouponRejection::Contended),
    };
    Err(Error::CouponInvalid {
        coupon_id: id,
        rejection,
    })
}

/// Frees the coupon again if `order` holds it (the order's charge was refunded).
pub async fn release(
    conn: &mut PgConnection,
    id: CouponId,
    order: OrderId,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE coupons SET used_order_id = NULL WHERE id = $1 AND used_order_id = $2")
        .bind(id.0)
        .bind(order.0)
        .execute(conn)
        .await?;
    Ok(())
}
