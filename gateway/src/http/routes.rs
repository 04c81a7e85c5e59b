//! The route table: every path the facade answers, the one source of both the router
//! and the OpenAPI document (DESIGN.md "REST facade" pins the RPC paths).

use axum::{
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    routing::get as get_page,
};
use shop_proto::gateway::{admin_service_server::AdminService, shop_service_server::ShopService};

use super::{
    AppState, openapi, pages,
    route::{Route, get, post},
};

/// An RPC of the public services as a [`super::route::Call`].
macro_rules! call {
    ($service:ident :: $method:ident) => {
        |gateway, request| Box::pin(async move { $service::$method(&gateway, request).await })
    };
}

const ORDER_ID: &[(&str, &str)] = &[("id", "order_id")];
const PRODUCT_ID: &[(&str, &str)] = &[("id", "product_id")];
const SAGA_ID: &[(&str, &str)] = &[("id", "saga_id")];

/// Every route, RPCs first, then what the facade serves itself.
pub fn table() -> Vec<Route> {
    let mut routes: Vec<Route> = vec![
        get(
            "/v1/products",
            "ShopService/ListProducts",
            call!(ShopService::list_products),
        )
        .into(),
        get(
            "/v1/products/{id}",
            "ShopService/GetProduct",
            call!(ShopService::get_product),
        )
        .path_fields(&[("id", "id")])
        .may(&[404])
        .into(),
        post(
            "/v1/orders",
            "ShopService/PlaceOrder",
            call!(ShopService::place_order),
        )
        .created()
        .keyed()
        .may(&[404, 409])
        .into(),
        get(
            "/v1/orders",
            "ShopService/ListOrders",
            call!(ShopService::list_orders),
        )
        .into(),
        get(
            "/v1/orders/{id}",
            "ShopService/GetOrder",
            call!(ShopService::get_order),
        )
        .path_fields(ORDER_ID)
        .may(&[404])
        .into(),
        post(
            "/v1/orders/{id}/pay",
            "ShopService/PayOrder",
            call!(ShopService::pay_order),
        )
        .path_fields(ORDER_ID)
        .keyed()
        .may(&[404, 409, 429])
        .into(),
        post(
            "/v1/orders/{id}/cancel",
            "ShopService/CancelOrder",
            call!(ShopService::cancel_order),
        )
        .path_fields(ORDER_ID)
        .may(&[404, 409])
        .into(),
        post(
            "/v1/orders/{id}/confirm-receipt",
            "ShopService/ConfirmReceipt",
            call!(ShopService::confirm_receipt),
        )
        .path_fields(ORDER_ID)
        .may(&[404, 409])
        .into(),
        post(
            "/v1/checkout",
            "ShopService/Checkout",
            call!(ShopService::checkout),
        )
        .created()
        .keyed()
        .may(&[404, 409, 429])
        .into(),
        get(
            "/v1/wallet",
            "ShopService/GetWallet",
            call!(ShopService::get_wallet),
        )
        .into(),
        post(
            "/v1/admin/products",
            "AdminService/CreateProduct",
            call!(AdminService::create_product),
        )
        .created()
        .keyed()
        .may(&[403, 409])
        .into(),
        post(
            "/v1/admin/products/{id}/stock",
            "AdminService/AdjustStock",
            call!(AdminService::adjust_stock),
        )
        .path_fields(PRODUCT_ID)
        .keyed()
        .may(&[403, 404, 409])
        .into(),
        post(
            "/v1/admin/wallets/{user_id}/top-up",
            "AdminService/TopUpPoints",
            call!(AdminService::top_up_points),
        )
        .path_fields(&[("user_id", "user_id")])
        .keyed()
        .may(&[403, 409])
        .into(),
        post(
            "/v1/admin/coupons",
            "AdminService/IssueCoupon",
            call!(AdminService::issue_coupon),
        )
        .created()
        .may(&[403, 404])
        .into(),
        post(
            "/v1/admin/orders/{id}/ship",
            "AdminService/MarkShipped",
            call!(AdminService::mark_shipped),
        )
        .path_fields(ORDER_ID)
        .may(&[403, 404, 409])
        .into(),
        post(
            "/v1/admin/orders/{id}/deliver",
            "AdminService/MarkDelivered",
            call!(AdminService::mark_delivered),
        )
        .path_fields(ORDER_ID)
        .may(&[403, 404, 409])
        .into(),
        get(
            "/v1/admin/sagas",
            "AdminService/ListSagas",
            call!(AdminService::list_sagas),
        )
        .may(&[403])
        .into(),
        get(
            "/v1/admin/sagas/{id}",
            "AdminService/GetSaga",
            call!(AdminService::get_saga),
        )
        .path_fields(SAGA_ID)
        .may(&[403, 404])
        .into(),
        post(
            "/v1/admin/sagas/{id}/retry",
            "AdminService/RetrySaga",
            call!(AdminService::retry_saga),
        )
        .path_fields(SAGA_ID)
        .may(&[403, 404])
        .into(),
        get(
            "/v1/admin/parked-events",
            "AdminService/ListParkedEvents",
            call!(AdminService::list_parked_events),
        )
        .may(&[403])
        .into(),
        get(
            "/v1/admin/audit",
            "AdminService/ListAuditEvents",
            call!(AdminService::list_audit_events),
        )
        .may(&[403])
        .into(),
        Route::plain(
            Method::GET,
            "/healthz",
            get_page(|| async { "ok" }),
            Some(openapi::Plain::Health),
        ),
        Route::plain(
            Method::GET,
            "/readyz",
            get_page(ready),
            Some(openapi::Plain::Readiness),
        ),
        Route::plain(
            Method::GET,
            openapi::PATH,
            get_page(openapi::serve),
            Some(openapi::Plain::Document),
        ),
    ];
    routes.extend(pages::routes());
    routes
}

async fn ready(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    let report = s.readiness.check().await;
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}
