//! UUID newtypes, so an order id cannot be passed where a saga or user id is expected.

use std::fmt;

use uuid::Uuid;

macro_rules! uuid_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    )*};
}

uuid_id!(
    /// The owner of a wallet and of coupons (the gateway's JWT `sub`).
    UserId,
    /// An order of order-svc; payment-svc only keeps it as a reference.
    OrderId,
    /// One run of the gateway's pay saga for an order.
    SagaId,
    CouponId,
    PaymentId,
);

impl CouponId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl PaymentId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for CouponId {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for PaymentId {
    fn default() -> Self {
        Self::new()
    }
}
