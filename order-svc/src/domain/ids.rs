//! UUID newtypes, so an order id cannot be passed where a product or saga id is meant.

shop_common::uuid_id!(
    /// An order.
    OrderId,
    /// A product of the catalog.
    ProductId,
    /// The user who placed an order (the gateway's JWT `sub`).
    UserId,
    /// One run of the gateway's pay or cancel saga for an order.
    SagaId,
    /// The payment (owned by payment-svc) that paid for an order.
    PaymentId,
);
