//! Paths -> RPCs.

use std::future::Future;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State},
    http::{HeaderMap, StatusCode, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use shop_common::detach::DetachLayer;
use shop_proto::gateway::{
    AdjustStockRequest, CancelOrderRequest, CheckoutRequest, ConfirmReceiptRequest,
    CreateProductRequest, GetOrderRequest, GetProductRequest, GetSagaRequest, GetWalletRequest,
    IssueCouponRequest, ListOrdersRequest, ListParkedEventsRequest, ListProductsRequest,
    ListSagasRequest, MarkDeliveredRequest, MarkShippedRequest, PayOrderRequest, PlaceOrderRequest,
    RetrySagaRequest, SagaState, TopUpPointsRequest, admin_service_server::AdminService,
    shop_service_server::ShopService,
};
use tonic::{Code, Status, metadata::MetadataMap};

use super::{
    error::{ApiError, plain},
    json::{MAX_BODY, ProtoJson, respond},
    telemetry,
};
use crate::{api::Gateway, readiness::Readiness};

#[derive(Clone)]
struct AppState {
    gateway: Gateway,
    readiness: Readiness,
}

pub fn router(gateway: Gateway, readiness: Readiness) -> Router {
    Router::new()
        .route("/v1/products", get(list_products))
        .route("/v1/products/{id}", get(get_product))
        .route("/v1/orders", post(place_order).get(list_orders))
        .route("/v1/orders/{id}", get(get_order))
        .route("/v1/orders/{id}/pay", post(pay_order))
        .route("/v1/orders/{id}/cancel", post(cancel_order))
        .route("/v1/orders/{id}/confirm-receipt", post(confirm_receipt))
        .route("/v1/checkout", post(checkout))
        .route("/v1/wallet", get(get_wallet))
        .route("/v1/admin/products", post(create_product))
        .route("/v1/admin/products/{id}/stock", post(adjust_stock))
        .route("/v1/admin/wallets/{user_id}/top-up", post(top_up))
        .route("/v1/admin/coupons", post(issue_coupon))
        .route("/v1/admin/orders/{id}/ship", post(mark_shipped))
        .route("/v1/admin/orders/{id}/deliver", post(mark_delivered))
        .route("/v1/admin/sagas", get(list_sagas))
        .route("/v1/admin/sagas/{id}", get(get_saga))
        .route("/v1/admin/sagas/{id}/retry", post(retry_saga))
        .route("/v1/admin/parked-events", get(list_parked_events))
        .route("/v1/admin/audit", get(list_audit_events))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .fallback(|| async {
            plain(
                StatusCode::NOT_FOUND,
                Code::NotFound,
                "NOT_FOUND",
                "no such path",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(DetachLayer)
        .layer(telemetry::spans())
        .layer(axum::middleware::from_fn(telemetry::record))
        .with_state(AppState { gateway, readiness })
}

/// Calls one RPC with the HTTP headers as metadata and answers in JSON.
async fn unary<Req, Resp, F, Fut>(
    headers: HeaderMap,
    message: Req,
    ok: StatusCode,
    call: F,
) -> Response
where
    F: FnOnce(tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    Resp: Serialize,
{
    let request = tonic::Request::from_parts(
        MetadataMap::from_headers(headers),
        Default::default(),
        message,
    );
    match call(request).await {
        Ok(response) => respond(ok, response.get_ref()),
        Err(status) => ApiError(status).into_response(),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PageQuery {
    page_size: i32,
    page_token: String,
    state: String,
    include_resolved: bool,
}

/// Query parameters of list calls; a malformed one is a 400 in the pinned error body.
struct Page(PageQuery);

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<PageQuery>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Page(q))
            .map_err(|rejection| {
                plain(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidArgument,
                    "VALIDATION_FAILED",
                    rejection.body_text(),
                )
            })
    }
}

async fn list_products(State(s): State<AppState>, headers: HeaderMap, Page(q): Page) -> Response {
    let message = ListProductsRequest {
        page_size: q.page_size,
        page_token: q.page_token,
    };
    unary(headers, message, StatusCode::OK, |r| async move {
        ShopService::list_products(&s.gateway, r).await
    })
    .await
}

async fn get_product(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    unary(
        headers,
        GetProductRequest { id },
        StatusCode::OK,
        |r| async move { ShopService::get_product(&s.gateway, r).await },
    )
    .await
}

async fn place_order(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: ProtoJson<PlaceOrderRequest>,
) -> Response {
    unary(headers, body.0, StatusCode::CREATED, |r| async move {
        ShopService::place_order(&s.gateway, r).await
    })
    .await
}

async fn checkout(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: ProtoJson<CheckoutRequest>,
) -> Response {
    unary(headers, body.0, StatusCode::CREATED, |r| async move {
        ShopService::checkout(&s.gateway, r).await
    })
    .await
}

async fn pay_order(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ProtoJson<PayOrderRequest>,
) -> Response {
    let message = PayOrderRequest {
        order_id: id,
        ..body.0
    };
    unary(headers, message, StatusCode::OK, |r| async move {
        ShopService::pay_order(&s.gateway, r).await
    })
    .await
}

async fn cancel_order(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ProtoJson<CancelOrderRequest>,
) -> Response {
    let message = CancelOrderRequest {
        order_id: id,
        ..body.0
    };
    unary(headers, message, StatusCode::OK, |r| async move {
        ShopService::cancel_order(&s.gateway, r).await
    })
    .await
}

async fn confirm_receipt(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let message = ConfirmReceiptRequest { order_id: id };
    unary(headers, message, StatusCode::OK, |r| async move {
        ShopService::confirm_receipt(&s.gateway, r).await
    })
    .await
}

async fn list_orders(State(s): State<AppState>, headers: HeaderMap, Page(q): Page) -> Response {
    let message = ListOrdersRequest {
        page_size: q.page_size,
        page_token: q.page_token,
    };
    unary(headers, message, StatusCode::OK, |r| async move {
        ShopService::list_orders(&s.gateway, r).await
    })
    .await
}

async fn get_order(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    unary(
        headers,
        GetOrderRequest { order_id: id },
        StatusCode::OK,
        |r| async move { ShopService::get_order(&s.gateway, r).await },
    )
    .await
}

async fn get_wallet(State(s): State<AppState>, headers: HeaderMap) -> Response {
    unary(
        headers,
        GetWalletRequest {},
        StatusCode::OK,
        |r| async move { ShopService::get_wallet(&s.gateway, r).await },
    )
    .await
}

async fn create_product(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: ProtoJson<CreateProductRequest>,
) -> Response {
    unary(headers, body.0, StatusCode::CREATED, |r| async move {
        AdminService::create_product(&s.gateway, r).await
    })
    .await
}

async fn adjust_stock(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ProtoJson<AdjustStockRequest>,
) -> Response {
    let message = AdjustStockRequest {
        product_id: id,
        ..body.0
    };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::adjust_stock(&s.gateway, r).await
    })
    .await
}

async fn top_up(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: ProtoJson<TopUpPointsRequest>,
) -> Response {
    let message = TopUpPointsRequest { user_id, ..body.0 };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::top_up_points(&s.gateway, r).await
    })
    .await
}

async fn issue_coupon(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: ProtoJson<IssueCouponRequest>,
) -> Response {
    unary(headers, body.0, StatusCode::CREATED, |r| async move {
        AdminService::issue_coupon(&s.gateway, r).await
    })
    .await
}

async fn mark_shipped(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let message = MarkShippedRequest { order_id: id };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::mark_shipped(&s.gateway, r).await
    })
    .await
}

async fn mark_delivered(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let message = MarkDeliveredRequest { order_id: id };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::mark_delivered(&s.gateway, r).await
    })
    .await
}

async fn list_sagas(State(s): State<AppState>, headers: HeaderMap, Page(q): Page) -> Response {
    let state = if q.state.is_empty() {
        SagaState::Unspecified as i32
    } else {
        let name = q.state.to_ascii_uppercase();
        let full = if name.starts_with("SAGA_STATE_") {
            name
        } else {
            format!("SAGA_STATE_{name}")
        };
        match SagaState::from_str_name(&full) {
            Some(state) => state as i32,
            None => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidArgument,
                    "VALIDATION_FAILED",
                    format!("unknown saga state {:?}", q.state),
                );
            }
        }
    };
    let message = ListSagasRequest {
        state,
        page_size: q.page_size,
        page_token: q.page_token,
    };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::list_sagas(&s.gateway, r).await
    })
    .await
}

async fn retry_saga(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let message = RetrySagaRequest { saga_id: id };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::retry_saga(&s.gateway, r).await
    })
    .await
}

async fn get_saga(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let message = GetSagaRequest { saga_id: id };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::get_saga(&s.gateway, r).await
    })
    .await
}

async fn list_parked_events(
    State(s): State<AppState>,
    headers: HeaderMap,
    Page(q): Page,
) -> Response {
    let message = ListParkedEventsRequest {
        include_resolved: q.include_resolved,
        page_size: q.page_size,
        page_token: q.page_token,
    };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::list_parked_events(&s.gateway, r).await
    })
    .await
}

async fn list_audit_events(
    State(s): State<AppState>,
    headers: HeaderMap,
    Page(q): Page,
) -> Response {
    let message = shop_proto::gateway::ListAuditEventsRequest {
        page_size: q.page_size,
        page_token: q.page_token,
        admin_id: String::new(),
    };
    unary(headers, message, StatusCode::OK, |r| async move {
        AdminService::list_audit_events(&s.gateway, r).await
    })
    .await
}

async fn ready(State(s): State<AppState>) -> Response {
    let report = s.readiness.check().await;
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}
