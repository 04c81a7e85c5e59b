//! Coupons: issuing one (once per request key) and listing a user's.

use sqlx::PgPool;

use crate::{
    domain::{Coupon, NewCoupon, UserId},
    error::Error,
    store::coupons,
};

/// Issues `coupon`; a repeat of its request key returns the first coupon.
pub async fn issue(pool: &PgPool, coupon: &NewCoupon) -> Result<Coupon, Error> {
    let mut conn = pool.acquire().await?;
    coupons::insert(&mut conn, coupon).await
}

/// Every coupon of `user`, used and expired ones included, oldest first.
pub async fn of_user(pool: &PgPool, user: UserId) -> Result<Vec<Coupon>, Error> {
    let mut conn = pool.acquire().await?;
    coupons::of_user(&mut conn, user).await
}
