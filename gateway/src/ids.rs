//! The gateway's typed ids, so an order id cannot be passed where a saga or user id
//! is expected. Parsed from the public requests' strings at the edge (`api/`),
//! printed back into the internal requests' strings in `clients/`.

shop_common::uuid_id!(
    /// An order (order-svc's).
    OrderId,
    /// A pay or cancel saga of the gateway's log.
    SagaId,
    /// A shopper or admin: the JWT `sub`.
    UserId,
    /// A payment (payment-svc's).
    PaymentId,
    /// A coupon (payment-svc's).
    CouponId,
    /// A product of the catalog (order-svc's).
    ProductId,
);
