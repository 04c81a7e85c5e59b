//! Bad input through the gRPC face (the REST face is in rest.rs): malformed ids, bad
//! quantities and amounts, empty and huge orders, bad tokens, the wrong role and other
//! users' orders. Each gets its code and ErrorInfo reason, and nothing changes: stock,
//! wallets, order lists and delivery holds are as before.

use std::time::{Duration, Instant};

use shop_e2e::{Options, Stack, User, client};
use shop_proto::{
    common::OrderStatus,
    gateway::{
        AdjustStockRequest, CancelOrderRequest, CheckoutRequest, ConfirmReceiptRequest,
        CreateProductRequest, GetOrderRequest, GetProductRequest, IssueCouponRequest,
        ListOrdersRequest, ListSagasRequest, MarkDeliveredRequest, MarkShippedRequest,
        PayOrderRequest, PlaceOrderRequest, RetrySagaRequest, TopUpPointsRequest,
        admin_service_client::AdminServiceClient, issue_coupon_request::Discount,
        shop_service_client::ShopServiceClient,
    },
};
use shop_testkit::RedisServer;
use tonic::{
    Code, Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};
use uuid::Uuid;

use crate::support::{assert_error, assert_invalid, status_of};

/// Sends exactly this `authorization` header (or none).
#[derive(Clone)]
struct Authorization(Option<MetadataValue<Ascii>>);

impl Interceptor for Authorization {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type Shop = ShopServiceClient<InterceptedService<Channel, Authorization>>;
type Admin = AdminServiceClient<InterceptedService<Channel, Authorization>>;

async fn faces(stack: &Stack, header: Option<&str>) -> (Shop, Admin) {
    let channel = Channel::from_shared(stack.gateway.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let auth = Authorization(header.map(|h| h.parse().unwrap()));
    (
        ShopServiceClient::with_interceptor(channel.clone(), auth.clone()),
        AdminServiceClient::with_interceptor(channel, auth),
    )
}

fn place(items: Vec<shop_proto::common::OrderLine>) -> PlaceOrderRequest {
    PlaceOrderRequest {
        items,
        delivery: Some(client::address()),
    }
}

/// The number of delivery holds in a private Redis.
async fn holds(redis_url: &str) -> usize {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("delivery:hold:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.len()
}

#[track_caller]
fn denied<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>) {
    assert_error(result, Code::PermissionDenied, "PERMISSION_DENIED");
}

async fn order_count(user: &User) -> usize {
    user.shop
        .clone()
        .list_orders(ListOrdersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .orders
        .len()
}

#[tokio::test]
async fn bad_orders_over_grpc_are_refused_and_change_nothing() {
    // A private Redis, so the holds left behind can be counted.
    let redis = RedisServer::start().unwrap();
    let stack = Stack::with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Stool", 100, 5).await;
    admin.top_up(user.id, 1_000).await;
    let pending = user.place(&[(&product.id, 1)]).await.unwrap();
    let mut shop = user.shop.clone();
    let line = |product_id: &str, quantity: i32| client::lines(&[(product_id, quantity)]);

    for id in [
        "not-a-uuid",
        "",
        "0190c2a86b1e7c4e9f3a2d5b8e1f4a6c",
        "' OR 1=1 --",
    ] {
        assert_invalid(shop.place_order(place(line(id, 1))).await, "items");
    }
    for quantity in [0, -1, 1001, i32::MAX, i32::MIN] {
        assert_invalid(
            shop.place_order(place(line(&product.id, quantity))).await,
            "items",
        );
    }
    assert_invalid(shop.place_order(place(Vec::new())).await, "items");
    let many = vec![(product.id.as_str(), 1); 10_000];
    assert_invalid(shop.place_order(place(client::lines(&many))).await, "items");
    assert_invalid(
        shop.place_order(PlaceOrderRequest {
            items: line(&product.id, 1),
            delivery: None,
        })
        .await,
        "delivery",
    );
    assert_error(
        shop.place_order(place(line(&Uuid::now_v7().to_string(), 1)))
            .await,
        Code::NotFound,
        "PRODUCT_NOT_FOUND",
    );

    // Checkout refuses the same before anything is placed or charged.
    let checkout = |items, coupon_id: &str| CheckoutRequest {
        items,
        delivery: Some(client::address()),
        coupon_id: coupon_id.to_owned(),
    };
    assert_invalid(
        shop.checkout(checkout(line(&product.id, 0), "")).await,
        "items",
    );
    assert_invalid(shop.checkout(checkout(Vec::new(), "")).await, "items");
    assert_invalid(
        shop.checkout(checkout(line(&product.id, 1), "coupon-1"))
            .await,
        "coupon_id",
    );
    assert_invalid(
        shop.checkout(checkout(line("nope", 1_000_000), "")).await,
        "items",
    );

    // Paying, reading, cancelling and receiving with malformed or unknown ids.
    for id in ["12345", "", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"] {
        let pay = PayOrderRequest {
            order_id: id.into(),
            coupon_id: String::new(),
        };
        assert_invalid(shop.pay_order(pay).await, "order_id");
        let get = GetOrderRequest {
            order_id: id.into(),
        };
        assert_invalid(shop.get_order(get).await, "order_id");
        let cancel = CancelOrderRequest {
            order_id: id.into(),
            reason: String::new(),
        };
        assert_invalid(shop.cancel_order(cancel).await, "order_id");
        let receive = ConfirmReceiptRequest {
            order_id: id.into(),
        };
        assert_invalid(shop.confirm_receipt(receive).await, "order_id");
        let product = GetProductRequest { id: id.into() };
        assert_invalid(shop.get_product(product).await, "id");
    }
    assert_invalid(user.pay(&pending.id, "not-a-coupon").await, "coupon_id");
    assert_error(
        user.pay(&Uuid::now_v7().to_string(), "").await,
        Code::NotFound,
        "ORDER_NOT_FOUND",
    );
    assert_error(
        user.order(&Uuid::now_v7().to_string()).await,
        Code::NotFound,
        "ORDER_NOT_FOUND",
    );
    assert_error(
        shop.get_product(GetProductRequest {
            id: Uuid::now_v7().to_string(),
        })
        .await,
        Code::NotFound,
        "PRODUCT_NOT_FOUND",
    );
    let long_reason = CancelOrderRequest {
        order_id: pending.id.clone(),
        reason: "x".repeat(501),
    };
    assert_invalid(shop.cancel_order(long_reason).await, "reason");
    assert_error(
        shop.confirm_receipt(ConfirmReceiptRequest {
            order_id: pending.id.clone(),
        })
        .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );

    // Nothing changed: one order, still payable, its hold the only one; stock and
    // points untouched.
    assert_eq!(order_count(&user).await, 1);
    assert_eq!(
        status_of(&user.order(&pending.id).await.unwrap()),
        OrderStatus::PendingPayment
    );
    assert_eq!(holds(&redis.url()).await, 1, "refused orders left no hold");
    assert_eq!(user.stock_of(&product.id).await, 5);
    assert_eq!(user.wallet().await.balance, 1_000);
    let paid = user.pay(&pending.id, "").await.unwrap();
    assert_eq!(status_of(&paid), OrderStatus::Paid);
    stack.audit().await;
}

#[tokio::test]
async fn bad_admin_input_over_grpc_is_refused_and_changes_nothing() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Rug", 300, 4).await;
    admin.top_up(user.id, 500).await;
    let mut ops = admin.admin.clone();
    let top_up = |user_id: String, amount: i64| TopUpPointsRequest { user_id, amount };

    for amount in [0, -1, -500, i64::MIN, 1_000_000_001, i64::MAX] {
        assert_invalid(
            ops.top_up_points(top_up(user.id.to_string(), amount)).await,
            "amount",
        );
    }
    for id in ["", "me", "0190c2a86b1e7c4e9f3a2d5b8e1f4a6c"] {
        assert_invalid(ops.top_up_points(top_up(id.into(), 100)).await, "user_id");
    }

    let tomorrow = shop_common::time::to_timestamp(chrono::Utc::now() + chrono::Duration::days(1));
    let yesterday = shop_common::time::to_timestamp(chrono::Utc::now() - chrono::Duration::days(1));
    let coupon = |discount: Option<Discount>, min_order_amount: i64| IssueCouponRequest {
        user_id: user.id.to_string(),
        discount,
        min_order_amount,
        expires_at: Some(tomorrow),
    };
    for amount in [0, -1, i64::MIN, 1_000_000_001, i64::MAX] {
        assert_invalid(
            ops.issue_coupon(coupon(Some(Discount::DiscountAmount(amount)), 0))
                .await,
            "discount",
        );
    }
    for percent in [0, -1, 101, i32::MAX, i32::MIN] {
        assert_invalid(
            ops.issue_coupon(coupon(Some(Discount::DiscountPercent(percent)), 0))
                .await,
            "discount",
        );
    }
    assert_invalid(ops.issue_coupon(coupon(None, 0)).await, "discount");
    for min_order in [-1, i64::MIN, i64::MAX] {
        assert_invalid(
            ops.issue_coupon(coupon(Some(Discount::DiscountAmount(10)), min_order))
                .await,
            "min_order_amount",
        );
    }
    let mut expired = coupon(Some(Discount::DiscountAmount(10)), 0);
    expired.expires_at = Some(yesterday);
    assert_invalid(ops.issue_coupon(expired).await, "expires_at");
    let mut nobody = coupon(Some(Discount::DiscountAmount(10)), 0);
    nobody.user_id = "nobody".into();
    assert_invalid(ops.issue_coupon(nobody).await, "user_id");

    let create = |name: &str, price: i64, stock: i32| CreateProductRequest {
        name: name.into(),
        price,
        stock,
    };
    assert_invalid(ops.create_product(create("", 100, 1)).await, "name");
    for price in [-1, i64::MIN] {
        assert_invalid(ops.create_product(create("Cup", price, 1)).await, "price");
    }
    assert_invalid(ops.create_product(create("Cup", 100, -1)).await, "stock");
    let adjust = |product_id: &str, delta: i32| AdjustStockRequest {
        product_id: product_id.into(),
        delta,
    };
    assert_invalid(ops.adjust_stock(adjust("nope", 1)).await, "product_id");
    assert_error(
        ops.adjust_stock(adjust(&Uuid::now_v7().to_string(), 1))
            .await,
        Code::NotFound,
        "PRODUCT_NOT_FOUND",
    );
    for delta in [-5, i32::MIN] {
        assert_error(
            ops.adjust_stock(adjust(&product.id, delta)).await,
            Code::FailedPrecondition,
            "OUT_OF_STOCK",
        );
    }
    assert_invalid(
        ops.mark_shipped(MarkShippedRequest {
            order_id: "nope".into(),
        })
        .await,
        "order_id",
    );
    // An unknown order has no delivery to move on; an unpaid one has none yet.
    assert_error(
        ops.mark_delivered(MarkDeliveredRequest {
            order_id: Uuid::now_v7().to_string(),
        })
        .await,
        Code::NotFound,
        "ORDER_NOT_FOUND",
    );
    let unpaid = user.place(&[(&product.id, 1)]).await.unwrap();
    let status = assert_error(
        ops.mark_shipped(MarkShippedRequest {
            order_id: unpaid.id.clone(),
        })
        .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert!(status.message().contains("PENDING_PAYMENT"), "{status:?}");
    assert_invalid(
        ops.retry_saga(RetrySagaRequest {
            saga_id: "nope".into(),
        })
        .await,
        "saga_id",
    );
    assert_invalid(
        ops.list_sagas(ListSagasRequest {
            state: 99,
            page_size: -1,
            page_token: "x".into(),
        })
        .await,
        "state",
    );

    // Nothing changed.
    assert_eq!(user.wallet().await.balance, 500);
    assert!(user.wallet().await.coupons.is_empty(), "no coupon issued");
    assert_eq!(user.stock_of(&product.id).await, 4);
    let products = user
        .shop
        .clone()
        .list_products(shop_proto::gateway::ListProductsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .products;
    assert_eq!(products.len(), 1, "no product created: {products:?}");
    stack.audit().await;
}

#[tokio::test]
async fn bad_tokens_wrong_role_and_other_users_orders_over_grpc() {
    let stack = Stack::start().await.unwrap();
    // Expires at once; the gateway allows 5 s of clock skew, so it is used last.
    let expired_at = Instant::now();
    let expired = gateway::auth::Authenticator::new(&stack.jwt_secret)
        .mint(Uuid::now_v7(), gateway::auth::Role::User, Duration::ZERO)
        .unwrap();
    let (admin, user, other) = (stack.admin().await, stack.user().await, stack.user().await);
    let product = admin.create_product("Vase", 400, 3).await;
    admin.top_up(user.id, 1_000).await;
    admin.top_up(other.id, 1_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();
    let paid = user.checkout(&[(&product.id, 1)], "").await.unwrap();

    let forged_admin = gateway::auth::Authenticator::new("not-the-gateway-secret!")
        .mint(
            Uuid::now_v7(),
            gateway::auth::Role::Admin,
            Duration::from_secs(600),
        )
        .unwrap();
    let bad_headers = [
        None,
        Some(String::new()),
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some("Bearer not.a.jwt".to_owned()),
        Some(format!("Basic {}", user.token)),
        Some(format!("Bearer {forged_admin}")),
        Some(format!("Bearer {}x", user.token)),
        Some("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.".to_owned()),
    ];
    for header in &bad_headers {
        let (mut shop, mut ops) = faces(&stack, header.as_deref()).await;
        let what = format!("authorization {header:?}");
        let refused = shop.list_orders(ListOrdersRequest::default()).await;
        assert_eq!(
            refused.as_ref().err().map(Status::code),
            Some(Code::Unauthenticated),
            "{what}"
        );
        assert_error(refused, Code::Unauthenticated, "UNAUTHENTICATED");
        assert_error(
            shop.place_order(place(client::lines(&[(&product.id, 1)])))
                .await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
        assert_error(
            shop.pay_order(PayOrderRequest {
                order_id: order.id.clone(),
                coupon_id: String::new(),
            })
            .await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
        assert_error(
            ops.top_up_points(TopUpPointsRequest {
                user_id: user.id.to_string(),
                amount: 1_000_000,
            })
            .await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
    }

    // A shopper's token on every AdminService call.
    let mut ops = user.admin.clone();
    denied(
        ops.create_product(CreateProductRequest {
            name: "Free stuff".into(),
            price: 1,
            stock: 1,
        })
        .await,
    );
    denied(
        ops.adjust_stock(AdjustStockRequest {
            product_id: product.id.clone(),
            delta: 100,
        })
        .await,
    );
    denied(
        ops.top_up_points(TopUpPointsRequest {
            user_id: user.id.to_string(),
            amount: 1_000_000,
        })
        .await,
    );
    denied(
        ops.issue_coupon(IssueCouponRequest {
            user_id: user.id.to_string(),
            discount: Some(Discount::DiscountPercent(100)),
            min_order_amount: 0,
            expires_at: None,
        })
        .await,
    );
    denied(
        ops.mark_shipped(MarkShippedRequest {
            order_id: paid.id.clone(),
        })
        .await,
    );
    denied(
        ops.mark_delivered(MarkDeliveredRequest {
            order_id: paid.id.clone(),
        })
        .await,
    );
    denied(ops.list_sagas(ListSagasRequest::default()).await);
    denied(
        ops.retry_saga(RetrySagaRequest {
            saga_id: Uuid::now_v7().to_string(),
        })
        .await,
    );

    // Another user's orders do not exist for them, whatever they try.
    for id in [&order.id, &paid.id] {
        assert_error(other.order(id).await, Code::NotFound, "ORDER_NOT_FOUND");
        assert_error(other.pay(id, "").await, Code::NotFound, "ORDER_NOT_FOUND");
        let mut shop = other.shop.clone();
        assert_error(
            shop.cancel_order(CancelOrderRequest {
                order_id: id.clone(),
                reason: "not mine".into(),
            })
            .await,
            Code::NotFound,
            "ORDER_NOT_FOUND",
        );
        assert_error(
            shop.confirm_receipt(ConfirmReceiptRequest {
                order_id: id.clone(),
            })
            .await,
            Code::NotFound,
            "ORDER_NOT_FOUND",
        );
    }

    // The expired token, once past the allowed skew.
    let skew = Duration::from_millis(6_500);
    tokio::time::sleep(skew.saturating_sub(expired_at.elapsed())).await;
    let (mut shop, _) = faces(&stack, Some(&format!("Bearer {expired}"))).await;
    let refused = assert_error(
        shop.list_orders(ListOrdersRequest::default()).await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
    assert_eq!(refused.message(), "token expired");

    // Nothing changed.
    assert_eq!(
        status_of(&user.order(&order.id).await.unwrap()),
        OrderStatus::PendingPayment
    );
    assert_eq!(
        status_of(&user.order(&paid.id).await.unwrap()),
        OrderStatus::Paid
    );
    assert_eq!(user.wallet().await.balance, 600);
    assert_eq!(other.wallet().await.balance, 1_000);
    assert!(user.wallet().await.coupons.is_empty());
    assert_eq!(order_count(&user).await, 2);
    assert_eq!(order_count(&other).await, 0);
    assert_eq!(user.stock_of(&product.id).await, 2);
    stack.audit().await;
}

/// A product may be created with price 0; an order of it is paid with a payment of 0.
#[tokio::test]
async fn a_free_product_is_refused_or_can_be_bought() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let created = admin
        .admin
        .clone()
        .create_product(CreateProductRequest {
            name: "Free sticker".into(),
            price: 0,
            stock: 5,
        })
        .await;
    let Ok(product) = created.map(tonic::Response::into_inner) else {
        stack.audit().await;
        return;
    };
    admin.top_up(user.id, 100).await;
    let order = user.checkout(&[(&product.id, 1)], "").await;
    let order = order.expect("a free order is paid");
    assert_eq!(status_of(&order), OrderStatus::Paid);
    assert_eq!(user.wallet().await.balance, 100);
    stack.audit().await;
}
