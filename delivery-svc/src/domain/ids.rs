//! UUID newtypes, so an order id cannot be passed where a user id is meant.

use std::fmt;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// An order (owned by order-svc); one delivery per order.
    OrderId
);
uuid_id!(
    /// The user who placed the order.
    UserId
);
uuid_id!(
    /// The gateway saga that created or cancelled a delivery.
    SagaId
);
uuid_id!(
    /// The payment (owned by payment-svc) that paid for the order.
    PaymentId
);
uuid_id!(
    /// A delivery.
    DeliveryId
);

impl DeliveryId {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for DeliveryId {
    fn default() -> Self {
        Self::new()
    }
}
