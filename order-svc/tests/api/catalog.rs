//! CreateProduct, GetProduct, ListProducts and AdjustStock.

use shop_proto::order as pb;
use tonic::Code;

use crate::helpers::{assert_error, new_id, spawn_app, violated_fields};

#[tokio::test]
async fn created_product_can_be_read_back_with_a_trimmed_name() {
    let app = spawn_app().await;
    let created = app.product("  Blue mug ", 1200, 7).await;
    assert_eq!(created.name, "Blue mug");
    let read = app
        .client()
        .get_product(pb::GetProductRequest {
            product_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read, created);
    assert_eq!((read.price, read.stock), (1200, 7));
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn bad_products_are_refused_and_nothing_is_created() {
    let app = spawn_app().await;
    let cases = [
        ("", 1, 1, "name"),
        ("   ", 1, 1, "name"),
        (&*"x".repeat(201), 1, 1, "name"),
        ("mug", -1, 1, "price"),
        ("mug", 1, -1, "stock"),
    ];
    for (name, price, stock, field) in cases {
        let status = assert_error(
            app.client()
                .create_product(pb::CreateProductRequest {
                    name: name.to_owned(),
                    price,
                    stock,
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
            "VALIDATION_FAILED",
        );
        assert_eq!(violated_fields(&status), vec![field.to_owned()]);
    }
    let listed = app
        .client()
        .list_products(pb::ListProductsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.products.is_empty());
}

#[tokio::test]
async fn unknown_or_malformed_product_ids() {
    let app = spawn_app().await;
    let missing = new_id();
    let status = assert_error(
        app.client()
            .get_product(pb::GetProductRequest {
                product_id: missing.clone(),
            })
            .await,
        Code::NotFound,
        "PRODUCT_NOT_FOUND",
    );
    assert!(status.message().contains(&missing));
    assert_error(
        app.client()
            .get_product(pb::GetProductRequest {
                product_id: "not-a-uuid".into(),
            })
            .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
}

#[tokio::test]
async fn products_are_listed_in_pages_with_opaque_tokens() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.product(&format!("p{i}"), 10, 1).await.id);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .client()
            .list_products(pb::ListProductsRequest {
                page_size: 2,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.products.len() <= 2);
        seen.extend(page.products.into_iter().map(|p| p.id));
        token = page.next_page_token;
        if token.is_empty() || pages > 5 {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every product once, in creation order");

    let everything = app
        .client()
        .list_products(pb::ListProductsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(everything.products.len(), 5);
    assert!(everything.next_page_token.is_empty());

    for (page_size, page_token) in [(0, "garbage"), (-1, ""), (0, created[0].as_str())] {
        assert_error(
            app.client()
                .list_products(pb::ListProductsRequest {
                    page_size,
                    page_token: page_token.to_owned(),
                })
                .await,
            Code::InvalidArgument,
            "VALIDATION_FAILED",
        );
    }
}

#[tokio::test]
async fn adjust_stock_never_goes_below_zero() {
    let app = spawn_app().await;
    let product = app.product("mug", 10, 5).await;
    let adjust = |delta: i32| {
        let mut client = app.client();
        let product_id = product.id.clone();
        async move {
            client
                .adjust_stock(pb::AdjustStockRequest {
                    product_id,
                    delta,
                    ..Default::default()
                })
                .await
        }
    };
    assert_eq!(adjust(-3).await.unwrap().into_inner().stock, 2);
    let status = assert_error(adjust(-3).await, Code::FailedPrecondition, "OUT_OF_STOCK");
    assert!(status.message().contains(&product.id), "{status:?}");
    assert_eq!(app.stock(&product.id).await, 2);
    assert_error(adjust(0).await, Code::InvalidArgument, "VALIDATION_FAILED");
    assert_eq!(adjust(10).await.unwrap().into_inner().stock, 12);
    assert_eq!(adjust(-12).await.unwrap().into_inner().stock, 0);
    assert_eq!(adjust(i32::MAX).await.unwrap().into_inner().stock, i32::MAX);
    assert_error(adjust(1).await, Code::InvalidArgument, "VALIDATION_FAILED");
    assert_eq!(app.stock(&product.id).await, i32::MAX);

    assert_error(
        app.client()
            .adjust_stock(pb::AdjustStockRequest {
                product_id: new_id(),
                delta: 1,
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "PRODUCT_NOT_FOUND",
    );
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn keyed_creates_and_adjustments_count_once() {
    let app = spawn_app().await;
    let create = |name: &str, stock: i32, key: &str| {
        let mut client = app.client();
        let request = pb::CreateProductRequest {
            name: name.to_owned(),
            price: 100,
            stock,
            request_key: key.to_owned(),
        };
        async move { client.create_product(request).await }
    };
    let first = create("kettle", 5, "admin-1:new-kettle")
        .await
        .unwrap()
        .into_inner();
    let again = create("kettle", 5, "admin-1:new-kettle")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        again.id, first.id,
        "a repeat answers with the first product"
    );
    assert_error(
        create("kettle", 6, "admin-1:new-kettle").await,
        Code::FailedPrecondition,
        "IDEMPOTENCY_KEY_REUSED",
    );

    let adjust = |delta: i32, key: &str| {
        let mut client = app.client();
        let request = pb::AdjustStockRequest {
            product_id: first.id.clone(),
            delta,
            request_key: key.to_owned(),
        };
        async move { client.adjust_stock(request).await }
    };
    // Ten concurrent repeats of one keyed restock: it happens once.
    let mut repeats = tokio::task::JoinSet::new();
    for _ in 0..10 {
        repeats.spawn(adjust(3, "admin-1:restock"));
    }
    while let Some(answer) = repeats.join_next().await {
        assert_eq!(answer.unwrap().unwrap().into_inner().stock, 8);
    }
    assert_error(
        adjust(4, "admin-1:restock").await,
        Code::FailedPrecondition,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(
        adjust(-2, "admin-1:sold-offline")
            .await
            .unwrap()
            .into_inner()
            .stock,
        6
    );
    assert_eq!(app.stock(&first.id).await, 6);
    let products = app
        .client()
        .list_products(pb::ListProductsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .products;
    assert_eq!(products.len(), 1, "one product created");
    app.assert_stock_conserved().await;
}
