//! `shop.order.v1.OrderService`: decodes and validates each request, calls its use
//! case, and converts the answer. No SQL, no transactions; errors become statuses
//! through `From<Error>` only.

use chrono::Utc;
use shop_common::CancellationToken;
use shop_proto::{
    common::Product as PbProduct,
    order::{self as pb, order_service_server::OrderService},
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{
    domain::{Command, OrderId, page},
    grpc::{convert, stream},
    usecase::{catalog as products, events, orders, stock, transitions},
};

#[derive(Clone)]
pub struct OrderApi {
    pool: PgPool,
    /// Ends open event streams when the service stops.
    shutdown: CancellationToken,
    /// Most unpaid orders a user may have open (0: no limit).
    max_open_orders: u32,
}

impl OrderApi {
    pub fn new(pool: PgPool, shutdown: CancellationToken, max_open_orders: u32) -> Self {
        Self {
            pool,
            shutdown,
            max_open_orders,
        }
    }

    async fn apply(
        &self,
        order_id: OrderId,
        command: Command,
    ) -> Result<Response<pb::Order>, Status> {
        let order = transitions::apply(&self.pool, order_id, &command).await?;
        Ok(Response::new(convert::order(order)))
    }
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    async fn create_product(
        &self,
        request: Request<pb::CreateProductRequest>,
    ) -> Result<Response<PbProduct>, Status> {
        let new = convert::new_product(request.get_ref())?;
        let product = products::create(&self.pool, &new).await?;
        Ok(Response::new(convert::product(product)))
    }

    async fn get_product(
        &self,
        request: Request<pb::GetProductRequest>,
    ) -> Result<Response<PbProduct>, Status> {
        let id = convert::id("product_id", &request.get_ref().product_id)?;
        let product = products::get(&self.pool, id).await?;
        Ok(Response::new(convert::product(product)))
    }

    async fn list_products(
        &self,
        request: Request<pb::ListProductsRequest>,
    ) -> Result<Response<pb::ListProductsResponse>, Status> {
        let (size, after) = convert::product_page(request.get_ref())?;
        // One extra row tells whether another page follows.
        let mut found = products::list(&self.pool, after, size + 1).await?;
        let next_page_token = next_page(&mut found, size)
            .map(|last| page::product_token(last.id))
            .unwrap_or_default();
        Ok(Response::new(pb::ListProductsResponse {
            products: found.into_iter().map(convert::product).collect(),
            next_page_token,
        }))
    }

    async fn adjust_stock(
        &self,
        request: Request<pb::AdjustStockRequest>,
    ) -> Result<Response<PbProduct>, Status> {
        let change = convert::adjust_stock(request.get_ref())?;
        let product = products::adjust_stock(&self.pool, &change).await?;
        Ok(Response::new(convert::product(product)))
    }

    async fn create_order(
        &self,
        request: Request<pb::CreateOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let new = convert::new_order(request.get_ref(), Utc::now())?;
        let order = orders::create(&self.pool, &new, self.max_open_orders).await?;
        Ok(Response::new(convert::order(order)))
    }

    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let id = convert::id("order_id", &request.get_ref().order_id)?;
        let order = orders::get(&self.pool, id).await?;
        Ok(Response::new(convert::order(order)))
    }

    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        let (user, size, after) = convert::order_page(request.get_ref())?;
        let mut found = orders::list_for_user(&self.pool, user, after, size + 1).await?;
        let next_page_token = next_page(&mut found, size)
            .map(|last| {
                page::order_token(page::OrderCursor {
                    created_at: last.created_at,
                    id: last.id,
                })
            })
            .unwrap_or_default();
        Ok(Response::new(pb::ListOrdersResponse {
            orders: found.into_iter().map(convert::order).collect(),
            next_page_token,
        }))
    }

    async fn check_stock(
        &self,
        request: Request<pb::CheckStockRequest>,
    ) -> Result<Response<pb::CheckStockResponse>, Status> {
        let lines = convert::stock_check(request.get_ref())?;
        stock::check(&self.pool, &lines).await?;
        Ok(Response::new(pb::CheckStockResponse {}))
    }

    async fn begin_payment(
        &self,
        request: Request<pb::BeginPaymentRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let req = request.get_ref();
        let (order, saga) = convert::order_and_saga(&req.order_id, &req.saga_id)?;
        self.apply(order, Command::BeginPayment { saga }).await
    }

    async fn abort_payment(
        &self,
        request: Request<pb::AbortPaymentRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let req = request.get_ref();
        let (order, saga) = convert::order_and_saga(&req.order_id, &req.saga_id)?;
        let reason = convert::reason(&req.reason);
        self.apply(order, Command::AbortPayment { saga, reason })
            .await
    }

    async fn reserve_stock(
        &self,
        request: Request<pb::ReserveStockRequest>,
    ) -> Result<Response<pb::ReserveStockResponse>, Status> {
        let req = request.get_ref();
        let (order, saga) = convert::order_and_saga(&req.order_id, &req.saga_id)?;
        stock::reserve(&self.pool, order, saga).await?;
        Ok(Response::new(pb::ReserveStockResponse { reserved: true }))
    }

    async fn release_stock(
        &self,
        request: Request<pb::ReleaseStockRequest>,
    ) -> Result<Response<pb::ReleaseStockResponse>, Status> {
        let req = request.get_ref();
        let (order, saga) = convert::order_and_saga(&req.order_id, &req.saga_id)?;
        let released = stock::release(&self.pool, order, saga).await?;
        Ok(Response::new(pb::ReleaseStockResponse { released }))
    }

    async fn mark_paid(
        &self,
        request: Request<pb::MarkPaidRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let (order, command) = convert::mark_paid(request.get_ref())?;
        self.apply(order, command).await
    }

    async fn mark_failed(
        &self,
        request: Request<pb::MarkFailedRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let req = request.get_ref();
        let (order, saga) = convert::order_and_saga(&req.order_id, &req.saga_id)?;
        let reason = convert::reason(&req.reason);
        self.apply(order, Command::MarkFailed { saga, reason })
            .await
    }

    async fn expire_order(
        &self,
        request: Request<pb::ExpireOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let (order, command) = convert::expire(request.get_ref())?;
        self.apply(order, command).await
    }

    async fn cancel_order(
        &self,
        request: Request<pb::CancelOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let req = request.get_ref();
        let order = convert::id("order_id", &req.order_id)?;
        let reason = convert::reason(&req.reason);
        self.apply(order, Command::Cancel { reason }).await
    }

    async fn mark_received(
        &self,
        request: Request<pb::MarkReceivedRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let order = convert::id("order_id", &request.get_ref().order_id)?;
        self.apply(order, Command::MarkReceived).await
    }

    type StreamEventsStream = stream::EventStream;

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        let (after, consumer) = convert::stream_request(request.get_ref())?;
        if let Some(consumer) = consumer {
            events::remember_cursor(&self.pool, &consumer, after).await?;
        }
        let events = stream::follow(self.pool.clone(), after, self.shutdown.clone());
        Ok(Response::new(events))
    }
}

/// Trims the look-ahead row; returns the last item kept when another page follows.
fn next_page<T>(found: &mut Vec<T>, size: i64) -> Option<&T> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if found.len() > size {
        found.truncate(size);
        found.last()
    } else {
        None
    }
}
