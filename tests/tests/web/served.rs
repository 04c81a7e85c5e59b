//! What is served is what is documented: every operation of the document answers
//! (and at each path only its documented methods), and the pages and their assets
//! come from the gateway with their security headers.

use reqwest::Method;
use shop_e2e::Stack;
use uuid::Uuid;

use crate::http::{header, send};

#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else_at_its_path() {
    let stack = Stack::start().await.unwrap();
    let admin = stack.admin().await;
    let base = format!("http://{}", stack.gateway_http);
    let (s, _, doc) = send(
        Method::GET,
        &format!("{base}/v1/openapi.json"),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{}", paths.len());
    let json = [("content-type", "application/json")];
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &Uuid::new_v4().to_string())
            .replace("{user_id}", &Uuid::new_v4().to_string());
        let url = format!("{base}{concrete}");
        let methods: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        for method in &methods {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let body = (method == Method::POST).then_some("{}");
            let (s, _, b) = send(method.clone(), &url, Some(&admin.token), &json, body).await;
            assert!(
                s != 405 && b["error"]["message"] != "no such path",
                "{method} {path} is documented but not served: {s} {b}"
            );
        }
        let (s, h, _) = send(Method::PUT, &url, Some(&admin.token), &json, Some("{}")).await;
        assert_eq!(s, 405, "PUT {path}");
        let mut allowed: Vec<&str> = header(&h, "allow")
            .unwrap()
            .split(',')
            .filter(|m| *m != "HEAD")
            .collect();
        allowed.sort_unstable();
        let mut documented: Vec<&str> = methods.iter().map(String::as_str).collect();
        documented.sort_unstable();
        assert_eq!(allowed, documented, "{path}: served methods vs documented");
    }
    stack.audit().await;
}

#[tokio::test]
async fn the_pages_and_their_assets_are_served_from_the_gateway() {
    let stack = Stack::start().await.unwrap();
    let base = format!("http://{}", stack.gateway_http);
    for (path, kind) in [
        ("/", "text/html"),
        ("/admin", "text/html"),
        ("/docs", "text/html"),
        ("/assets/storefront.js", "text/javascript"),
        ("/assets/console.js", "text/javascript"),
        ("/assets/swagger-ui/swagger-ui-bundle.js", "text/javascript"),
        ("/assets/swagger-ui/swagger-ui.css", "text/css"),
        ("/assets/swagger-ui/NOTICE", "text/plain"),
    ] {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert!(
            header(&headers, "content-type").unwrap().starts_with(kind),
            "{path}"
        );
        let csp = header(&headers, "content-security-policy").unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("https://cdn") && !text.contains("unpkg.com"),
            "{path} loads nothing from elsewhere"
        );
    }
}
