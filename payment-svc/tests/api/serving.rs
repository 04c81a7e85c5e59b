//! What every internal server offers: health and the internal token check.

use shop_proto::payment::{GetWalletRequest, payment_service_client::PaymentServiceClient};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{TestApp, assert_refused, id};

#[tokio::test]
async fn health_reports_the_payment_service_serving() {
    let app = TestApp::spawn().await;
    let channel = tonic::transport::Endpoint::from_shared(app.running.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let status = health
        .check(HealthCheckRequest {
            service: "shop.payment.v1.PaymentService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);
    app.assert_invariants().await;
}

#[tokio::test]
async fn with_an_internal_token_calls_without_it_are_unauthenticated() {
    let app = TestApp::spawn_with(|config| config.internal_token = Some("s3cret".into())).await;
    let err = app
        .client
        .clone()
        .get_wallet(GetWalletRequest { user_id: id() })
        .await
        .unwrap_err();
    assert_refused(&err, Code::Unauthenticated, "UNAUTHENTICATED");

    let channel = tonic::transport::Endpoint::from_shared(app.running.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = PaymentServiceClient::with_interceptor(
        channel,
        shop_common::auth::BearerToken::new(Some(&"s3cret".into())).unwrap(),
    );
    let wallet = client
        .get_wallet(GetWalletRequest { user_id: id() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wallet.balance, 0);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_unavailable_and_passes() {
    // A private server, so stopping it does not disturb the other tests.
    let pg = shop_testkit::PgServer::start().unwrap();
    let url = pg.fresh_database().await;
    let app = TestApp::spawn_with(|config| config.database_url = url.into()).await;
    let user = id();
    app.top_up(&user, 100).await;

    // The test server runs with synchronous_commit=off, so a crash may lose the last
    // commits (here: the schema); a checkpoint makes them durable first.
    sqlx::query("CHECKPOINT").execute(&app.db).await.unwrap();
    pg.stop().unwrap();
    let err = app
        .client
        .clone()
        .get_wallet(GetWalletRequest {
            user_id: user.clone(),
        })
        .await
        .unwrap_err();
    assert_refused(&err, Code::Unavailable, "UNAVAILABLE");

    pg.start_again().unwrap();
    let mut balance = None;
    for _ in 0..50 {
        let answer = app
            .client
            .clone()
            .get_wallet(GetWalletRequest {
                user_id: user.clone(),
            })
            .await;
        if let Ok(wallet) = answer {
            balance = Some(wallet.into_inner().balance);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(balance, Some(100), "served again once the database is back");
    app.assert_invariants().await;
}
