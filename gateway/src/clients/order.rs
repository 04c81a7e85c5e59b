//! order-svc: catalog, orders and the order's side of the sagas.

use shop_proto::{
    common::{ErrorReason as R, OrderLine, Product},
    order::{
        self, AbortPaymentRequest, AdjustStockRequest, BeginPaymentRequest, CancelOrderRequest,
        CheckStockRequest, CreateOrderRequest, CreateProductRequest, ExpireOrderRequest,
        GetOrderRequest, GetProductRequest, ListOrdersRequest, ListOrdersResponse,
        ListProductsRequest, ListProductsResponse, MarkFailedRequest, MarkPaidRequest,
        MarkReceivedRequest, ReleaseStockRequest, ReserveStockRequest,
        order_service_client::OrderServiceClient,
    },
};
use uuid::Uuid;

use super::{
    Intercepted,
    call::{self, FORWARD_ATTEMPTS, PUBLIC_ATTEMPTS, STEP_ATTEMPTS, Spec},
    deadline::Deadline,
    outcome::Outcome,
};

const DEPENDENCY: &str = "order-svc";

/// What MarkPaid records.
#[derive(Debug, Clone, Copy)]
pub struct PaidWith {
    pub payment_id: Uuid,
    pub discount_amount: i64,
    pub paid_amount: i64,
}

#[derive(Clone)]
pub struct OrderClient {
    client: OrderServiceClient<Intercepted>,
}

impl OrderClient {
    pub(super) fn new(client: OrderServiceClient<Intercepted>) -> Self {
        Self { client }
    }

    pub async fn get_order(&self, order_id: Uuid, deadline: Deadline) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::read("GetOrder", &[R::OrderNotFound]);
        let request = GetOrderRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.get_order(r).await },
        )
        .await
    }

    pub async fn list_orders(
        &self,
        user_id: Uuid,
        page_size: i32,
        page_token: String,
        deadline: Deadline,
    ) -> Outcome<ListOrdersResponse> {
        const SPEC: Spec = Spec::read("ListOrders", &[]);
        let request = ListOrdersRequest {
            user_id: user_id.to_string(),
            page_size,
            page_token,
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.list_orders(r).await },
        )
        .await
    }

    pub async fn get_product(&self, product_id: Uuid, deadline: Deadline) -> Outcome<Product> {
        const SPEC: Spec = Spec::read("GetProduct", &[R::ProductNotFound]);
        let request = GetProductRequest {
            product_id: product_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.get_product(r).await },
        )
        .await
    }

    pub async fn list_products(
        &self,
        page_size: i32,
        page_token: String,
        deadline: Deadline,
    ) -> Outcome<ListProductsResponse> {
        const SPEC: Spec = Spec::read("ListProducts", &[]);
        let request = ListProductsRequest {
            page_size,
            page_token,
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.list_products(r).await },
        )
        .await
    }

    /// An admin write: retried only when `request_key` makes it count once.
    pub async fn create_product(
        &self,
        request: CreateProductRequest,
        deadline: Deadline,
    ) -> Outcome<Product> {
        const KEYED: Spec =
            Spec::write("CreateProduct", PUBLIC_ATTEMPTS, &[R::IdempotencyKeyReused]);
        const ONCE: Spec = Spec::write("CreateProduct", call::ONCE, &[R::IdempotencyKeyReused]);
        let spec = if request.request_key.is_empty() {
            &ONCE
        } else {
            &KEYED
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            spec,
            request,
            |mut c, r| async move { c.create_product(r).await },
        )
        .await
    }

    /// An admin write: retried only when `request_key` makes it count once.
    pub async fn adjust_stock(
        &self,
        request: AdjustStockRequest,
        deadline: Deadline,
    ) -> Outcome<Product> {
        const REFUSALS: &[R] = &[
            R::ProductNotFound,
            R::IdempotencyKeyReused,
            R::OutOfStock,
            R::InvalidState,
        ];
        const KEYED: Spec = Spec::write("AdjustStock", PUBLIC_ATTEMPTS, REFUSALS);
        const ONCE: Spec = Spec::write("AdjustStock", call::ONCE, REFUSALS);
        let spec = if request.request_key.is_empty() {
            &ONCE
        } else {
            &KEYED
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            spec,
            request,
            |mut c, r| async move { c.adjust_stock(r).await },
        )
        .await
    }

    /// Advisory and read-only: is the stock there right now?
    pub async fn check_stock(&self, lines: &[OrderLine], deadline: Deadline) -> Outcome<()> {
        const SPEC: Spec = Spec {
            attempts: call::ONCE,
            ..Spec::read("CheckStock", &[R::OutOfStock, R::ProductNotFound])
        };
        let request = CheckStockRequest {
            lines: lines.to_vec(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.check_stock(r).await },
        )
        .await
        .map(|_| ())
    }

    /// Idempotent by order id (a repeat by the same user returns the order).
    pub async fn create_order(
        &self,
        request: CreateOrderRequest,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "CreateOrder",
            PUBLIC_ATTEMPTS,
            &[
                R::ProductNotFound,
                R::IdempotencyKeyReused,
                R::TooManyOpenOrders,
            ],
        );
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.create_order(r).await },
        )
        .await
    }

    pub async fn begin_payment(
        &self,
        order_id: Uuid,
        saga_id: Uuid,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "BeginPayment",
            STEP_ATTEMPTS,
            &[
                R::OrderNotFound,
                R::OrderExpired,
                R::OrderNotPayable,
                R::PaymentInProgress,
                R::InvalidState,
            ],
        );
        let request = BeginPaymentRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.begin_payment(r).await },
        )
        .await
    }

    pub async fn abort_payment(
        &self,
        order_id: Uuid,
        saga_id: Uuid,
        reason: &str,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write("AbortPayment", STEP_ATTEMPTS, &[R::InvalidState]);
        let request = AbortPaymentRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
            reason: reason.to_owned(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.abort_payment(r).await },
        )
        .await
    }

    pub async fn reserve_stock(
        &self,
        order_id: Uuid,
        saga_id: Uuid,
        deadline: Deadline,
    ) -> Outcome<()> {
        const SPEC: Spec = Spec::write(
            "ReserveStock",
            STEP_ATTEMPTS,
            &[
                R::OutOfStock,
                R::OrderNotPayable,
                R::InvalidState,
                R::ProductNotFound,
            ],
        );
        let request = ReserveStockRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.reserve_stock(r).await },
        )
        .await
        .map(|_| ())
    }

    pub async fn release_stock(
        &self,
        order_id: Uuid,
        saga_id: Uuid,
        deadline: Deadline,
    ) -> Outcome<()> {
        const SPEC: Spec = Spec::write("ReleaseStock", FORWARD_ATTEMPTS, &[]);
        let request = ReleaseStockRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.release_stock(r).await },
        )
        .await
        .map(|_| ())
    }

    pub async fn mark_paid(
        &self,
        order_id: Uuid,
        saga_id: Uuid,
        paid: PaidWith,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write("MarkPaid", FORWARD_ATTEMPTS, &[R::OrderNotPayable]);
        let request = MarkPaidRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
            payment_id: paid.payment_id.to_string(),
            discount_amount: paid.discount_amount,
            paid_amount: paid.paid_amount,
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.mark_paid(r).await },
        )
        .await
    }

    pub async fn mark_failed(
        &self,
        order_id: Uuid,
        saga_id: Uuid,
        reason: &str,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write("MarkFailed", FORWARD_ATTEMPTS, &[R::InvalidState]);
        let request = MarkFailedRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
            reason: reason.to_owned(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.mark_failed(r).await },
        )
        .await
    }

    pub async fn expire_order(
        &self,
        order_id: Uuid,
        saga_id: Uuid,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "ExpireOrder",
            STEP_ATTEMPTS,
            &[R::PaymentInProgress, R::InvalidState],
        );
        let request = ExpireOrderRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.expire_order(r).await },
        )
        .await
    }

    pub async fn cancel_order(
        &self,
        order_id: Uuid,
        reason: &str,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "CancelOrder",
            FORWARD_ATTEMPTS,
            &[
                R::OrderNotCancellable,
                R::PaymentInProgress,
                R::InvalidState,
                R::OrderNotFound,
            ],
        );
        let request = CancelOrderRequest {
            order_id: order_id.to_string(),
            reason: reason.to_owned(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.cancel_order(r).await },
        )
        .await
    }

    pub async fn mark_received(&self, order_id: Uuid, deadline: Deadline) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "MarkReceived",
            PUBLIC_ATTEMPTS,
            &[R::InvalidState, R::OrderNotFound],
        );
        let request = MarkReceivedRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.mark_received(r).await },
        )
        .await
    }
}
