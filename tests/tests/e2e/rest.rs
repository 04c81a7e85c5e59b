//! The REST facade: the pinned paths, proto3 JSON bodies, the pinned error body and
//! status mapping, and every kind of bad request changing nothing.

use serde_json::json;
use shop_e2e::{Rest, Stack};

fn order_body(product_id: &str, quantity: serde_json::Value) -> serde_json::Value {
    json!({
        "items": [{"productId": product_id, "quantity": quantity}],
        "delivery": {"recipientName": "Lee", "address": "5 Jong-ro, Seoul", "contact": "+82 10 5555 0000"}
    })
}

#[tokio::test]
async fn place_pay_and_read_over_rest() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let admin_rest = stack.rest(&admin);
    let rest = stack.rest(&user);

    let (status, product) = admin_rest
        .post(
            "/v1/admin/products",
            json!({"name": "Kettle", "price": "2500", "stock": 3}),
        )
        .await;
    assert_eq!(status, 201, "{product}");
    let product_id = product["id"].as_str().unwrap().to_owned();
    let (status, wallet) = admin_rest
        .post(
            &format!("/v1/admin/wallets/{}/top-up", user.id),
            json!({"amount": 10000}),
        )
        .await;
    assert_eq!(status, 200, "{wallet}");
    assert_eq!(
        wallet["balance"], "10000",
        "int64 is a string in proto3 JSON"
    );

    let (status, order) = rest
        .post("/v1/orders", order_body(&product_id, json!(2)))
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "ORDER_STATUS_PENDING_PAYMENT");
    assert_eq!(order["totalAmount"], "5000");
    let order_id = order["id"].as_str().unwrap().to_owned();

    let (status, paid) = rest
        .post(&format!("/v1/orders/{order_id}/pay"), json!({}))
        .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "ORDER_STATUS_PAID");
    assert_eq!(paid["delivery"]["status"], "DELIVERY_STATUS_PREPARING");

    let (status, read) = rest.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["payment"]["paidAmount"], "5000");
    // Times in the canonical proto3 JSON form: UTC with a Z.
    for time in [&read["createdAt"], &read["expiresAt"]] {
        let time = time.as_str().unwrap_or_default();
        assert!(time.ends_with('Z') && time.contains('T'), "{read}");
    }
    let (status, list) = rest.get("/v1/orders?pageSize=10").await;
    assert_eq!(status, 200);
    assert_eq!(list["orders"].as_array().unwrap().len(), 1);
    let (status, wallet) = rest.get("/v1/wallet").await;
    assert_eq!(status, 200);
    assert_eq!(wallet["balance"], "5000");
    let (status, products) = rest.get("/v1/products").await;
    assert_eq!(status, 200);
    assert_eq!(products["products"][0]["stock"], 1);

    // A business error in the pinned body.
    let (_, second) = rest
        .post("/v1/checkout", order_body(&product_id, json!(2)))
        .await;
    assert_eq!(second["error"]["code"], "FAILED_PRECONDITION", "{second}");
    assert_eq!(second["error"]["reason"], "OUT_OF_STOCK");
    stack.audit().await;
}

#[tokio::test]
async fn auth_failures_have_the_right_status() {
    let stack = Stack::start().await.unwrap();
    let (admin, user, other) = (stack.admin().await, stack.user().await, stack.user().await);
    let product = admin.create_product("Plant", 100, 5).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    let anonymous = Rest::without_token(stack.gateway_http);
    let (status, body) = anonymous.get("/v1/orders").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");

    let forged = Rest::new(
        stack.gateway_http,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
    );
    assert_eq!(forged.get("/v1/orders").await.0, 401);

    let (status, body) = stack
        .rest(&user)
        .post(
            "/v1/admin/products",
            json!({"name": "x", "price": 1, "stock": 1}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "PERMISSION_DENIED");

    let (status, body) = stack
        .rest(&other)
        .get(&format!("/v1/orders/{}", order.id))
        .await;
    assert_eq!(
        status, 404,
        "another user's order does not exist for them: {body}"
    );
    assert_eq!(body["error"]["reason"], "ORDER_NOT_FOUND");
    let (status, _) = stack
        .rest(&other)
        .post(&format!("/v1/orders/{}/cancel", order.id), json!({}))
        .await;
    assert_eq!(status, 404);
    stack.audit().await;
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Desk", 100, 5).await;
    let rest = stack.rest(&user);

    for quantity in [json!(0), json!(-1), json!(1001), json!(2147483648_i64)] {
        let (status, body) = rest
            .post("/v1/orders", order_body(&product.id, quantity.clone()))
            .await;
        assert_eq!(status, 400, "quantity {quantity}: {body}");
        assert_eq!(
            body["error"]["code"], "INVALID_ARGUMENT",
            "quantity {quantity}: {body}"
        );
    }
    let (status, body) = rest
        .post("/v1/orders", order_body(&product.id, json!(0)))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["reason"], "VALIDATION_FAILED");
    assert!(
        body["error"]["fieldViolations"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("items"),
        "{body}"
    );

    let (status, body) = rest
        .post("/v1/orders", order_body("not-a-uuid", json!(1)))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = rest
        .post(
            "/v1/orders",
            order_body(&uuid::Uuid::new_v4().to_string(), json!(1)),
        )
        .await;
    assert_eq!(status, 404, "unknown product: {body}");
    assert_eq!(body["error"]["reason"], "PRODUCT_NOT_FOUND");
    let (status, _) = rest
        .post(
            "/v1/orders",
            json!({"items": [], "delivery": order_body(&product.id, json!(1))["delivery"]}),
        )
        .await;
    assert_eq!(status, 400, "no lines");
    let (status, body) = rest
        .post(
            "/v1/orders",
            json!({"items": [{"productId": product.id, "quantity": 1}]}),
        )
        .await;
    assert_eq!(status, 400, "no delivery: {body}");
    let mut bad_contact = order_body(&product.id, json!(1));
    bad_contact["delivery"]["contact"] = json!("call me");
    let (status, body) = rest.post("/v1/orders", bad_contact).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["fieldViolations"]
            .to_string()
            .contains("delivery.contact"),
        "{body}"
    );

    let (status, _) = rest
        .send(
            reqwest::Method::POST,
            "/v1/orders",
            Some("{not json".into()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, 400, "invalid JSON");
    let (status, _) = rest
        .send(
            reqwest::Method::POST,
            "/v1/orders",
            Some(order_body(&product.id, json!(1)).to_string()),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(status, 415, "wrong content type");
    let many: Vec<_> = (0..10_000)
        .map(|_| json!({"productId": product.id, "quantity": 1}))
        .collect();
    let (status, _) = rest
        .post(
            "/v1/orders",
            json!({"items": many, "delivery": order_body(&product.id, json!(1))["delivery"]}),
        )
        .await;
    assert!(
        status == 413 || status == 400,
        "a 10,000-line order is refused: {status}"
    );
    let (status, _) = rest.get("/v1/orders/12345").await;
    assert_eq!(status, 400, "malformed id in the path");
    let (status, _) = rest.get("/v1/nothing-here").await;
    assert_eq!(status, 404);

    let (status, list) = rest.get("/v1/orders").await;
    assert_eq!(status, 200);
    assert!(
        list["orders"].as_array().is_none_or(|o| o.is_empty()),
        "no order was created: {list}"
    );
    assert_eq!(user.stock_of(&product.id).await, 5);
    stack.audit().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let stack = Stack::start().await.unwrap();
    let anonymous = Rest::without_token(stack.gateway_http);
    assert_eq!(anonymous.get("/healthz").await.0, 200);
    let (status, body) = anonymous.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
}
