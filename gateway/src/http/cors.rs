//! CORS for browsers on other origins (`CORS_ALLOWED_ORIGINS`, a comma-separated list
//! of origins such as `https://shop.example.com`, or `*`). None by default: then no
//! CORS header is sent and a preflight is a 405 like any unknown method. Tokens travel
//! in `Authorization`, never in cookies, so credentials are not allowed.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use shop_common::config::{ConfigError, EnvSource};
use tower_http::cors::{AllowOrigin, CorsLayer};

const VARIABLE: &str = "CORS_ALLOWED_ORIGINS";

/// The allowed origins: empty (none), `["*"]` (any), or exact origins.
pub fn origins(env: &dyn EnvSource) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = shop_common::config::optional(env, VARIABLE) else {
        return Ok(Vec::new());
    };
    let origins: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    if origins.iter().any(|o| o == "*") {
        if origins.len() > 1 {
            return Err(invalid("`*` stands alone".into()));
        }
        return Ok(origins);
    }
    for origin in &origins {
        check(origin).map_err(invalid)?;
    }
    Ok(origins)
}

fn invalid(problem: String) -> ConfigError {
    ConfigError::Invalid {
        name: VARIABLE,
        problem,
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, nothing after.
fn check(origin: &str) -> Result<(), String> {
    let expected = || format!("expected origins like https://shop.example.com, got {origin:?}");
    let uri: Uri = origin.parse().map_err(|_| expected())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    // `http::Uri` reads a bare origin with the path `/`.
    let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/") && !origin.ends_with('/');
    if !scheme_ok || uri.host().is_none() || !bare {
        return Err(expected());
    }
    Ok(())
}

/// The layer for `origins` (checked by [`origins`]), or none.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("traceparent"),
            ])
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("idempotent-replayed"),
                header::RETRY_AFTER,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(raw: &str) -> Result<Vec<String>, ConfigError> {
        origins(&HashMap::from([(VARIABLE, raw.to_owned())]))
    }

    #[test]
    fn origins_are_checked() {
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse(" https://shop.example.com, http://127.0.0.1:3000 ").unwrap(),
            ["https://shop.example.com", "http://127.0.0.1:3000"]
        );
        assert_eq!(parse("*").unwrap(), ["*"]);
        for bad in [
            "shop.example.com",
            "https://shop.example.com/",
            "https://shop.example.com/path",
            "ftp://shop.example.com",
            "*, https://a.example",
            "https://",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(VARIABLE), "{bad}: {err}");
        }
    }

    #[test]
    fn no_origins_no_layer() {
        assert!(layer(&[]).is_none());
        assert!(layer(&["*".into()]).is_some());
    }
}
