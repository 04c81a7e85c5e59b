//! UUID newtypes, so an order id cannot be passed where a user id is meant.

shop_common::uuid_id!(
    /// An order (owned by order-svc); one delivery per order.
    OrderId,
    /// The user who placed the order.
    UserId,
    /// The gateway saga that created or cancelled a delivery.
    SagaId,
    /// The payment (owned by payment-svc) that paid for the order.
    PaymentId,
    /// A delivery.
    DeliveryId,
);
