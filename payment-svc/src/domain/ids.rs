//! UUID newtypes, so an order id cannot be passed where a saga or user id is expected.

shop_common::uuid_id!(
    /// The owner of a wallet and of coupons (the gateway's JWT `sub`).
    UserId,
    /// An order of order-svc; payment-svc only keeps it as a reference.
    OrderId,
    /// One run of the gateway's pay saga for an order.
    SagaId,
    /// A coupon issued to a user.
    CouponId,
    /// A charge of an order (with its refund, if any).
    PaymentId,
);
