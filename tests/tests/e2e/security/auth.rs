//! Tokens used before their `nbf`, or from another issuer or audience when the gateway
//! names its own, are refused; an internal service that would listen beyond loopback
//! without INTERNAL_TOKEN does not start.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use shop_e2e::{
    Options, Rest, Stack,
    process::{Binary, Process},
};

#[derive(Serialize)]
struct Claims {
    sub: String,
    role: &'static str,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'static str>,
}

fn token(
    secret: &str,
    nbf_in: Option<u64>,
    iss: Option<&'static str>,
    aud: Option<&'static str>,
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = Claims {
        sub: uuid::Uuid::now_v7().to_string(),
        role: "user",
        exp: now + 600,
        nbf: nbf_in.map(|n| now + n),
        iss,
        aud,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn wallet_status(stack: &Stack, token: &str) -> (u16, serde_json::Value) {
    Rest::new(stack.gateway_http, token).get("/v1/wallet").await
}

#[tokio::test]
async fn a_token_before_its_not_before_time_is_refused() {
    let stack = Stack::start().await.unwrap();
    let early = token(&stack.jwt_secret, Some(3600), None, None);
    let (status, body) = wallet_status(&stack, &early).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["message"], "token not valid yet");
    let ready = token(&stack.jwt_secret, Some(0), None, None);
    assert_eq!(wallet_status(&stack, &ready).await.0, 200);
}

#[tokio::test]
async fn issuer_and_audience_are_required_when_configured() {
    let stack = Stack::with(Options {
        gateway_config: |config| {
            config.jwt_issuer = Some("https://login.shop.example".into());
            config.jwt_audience = Some("shop-api".into());
        },
        ..Options::default()
    })
    .await
    .unwrap();
    let secret = &stack.jwt_secret;
    let iss = Some("https://login.shop.example");
    for (bad_iss, bad_aud) in [
        (None, None),
        (Some("https://evil.example"), Some("shop-api")),
        (iss, Some("another-api")),
        (iss, None),
    ] {
        let (status, body) = wallet_status(&stack, &token(secret, None, bad_iss, bad_aud)).await;
        assert_eq!(status, 401, "{bad_iss:?} {bad_aud:?}: {body}");
    }
    assert_eq!(
        wallet_status(&stack, &token(secret, None, iss, Some("shop-api")))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn an_internal_service_open_beyond_loopback_needs_its_token_to_start() {
    let database = shop_testkit::PgServer::shared().fresh_database().await;
    // Not bound: the binary refuses its settings before it listens.
    let everywhere = std::net::SocketAddr::from(([0, 0, 0, 0], shop_testkit::free_port()));
    for binary in [Binary::Order, Binary::Payment, Binary::Delivery] {
        let env = [
            ("DATABASE_URL", database.clone()),
            ("REDIS_URL", "redis://127.0.0.1:1".to_owned()),
        ];
        let env = if binary == Binary::Delivery {
            &env[..]
        } else {
            &env[..1]
        };
        let refused = Process::spawn(binary, everywhere, env)
            .await
            .err()
            .unwrap_or_else(|| panic!("{} started without INTERNAL_TOKEN", binary.name()))
            .to_string();
        assert!(
            refused.contains("exit status: 2")
                && refused.contains("INTERNAL_TOKEN")
                && refused.contains("LISTEN_ADDR"),
            "{}: {refused}",
            binary.name()
        );
    }
}
