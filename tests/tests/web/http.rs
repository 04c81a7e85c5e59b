//! Plain HTTP for these tests: a request with its status, headers and JSON body, and
//! the shape every refusal of the facade has.

use reqwest::{Method, header::HeaderMap};
use serde_json::Value;
use uuid::Uuid;

/// One request; the status, headers and JSON body (Null when not JSON).
pub async fn send(
    method: Method,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, HeaderMap, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[track_caller]
pub fn assert_json_error(
    status: u16,
    headers: &HeaderMap,
    body: &Value,
    expected: u16,
    code: &str,
) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        header(headers, "content-type").is_some_and(|t| t.starts_with("application/json")),
        "{headers:?}"
    );
    let id = header(headers, "x-request-id").unwrap_or_default();
    assert!(
        Uuid::try_parse(id).is_ok(),
        "a request id on every answer: {headers:?}"
    );
}
