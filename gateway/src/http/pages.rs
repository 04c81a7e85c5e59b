//! The pages the gateway serves beside the API, embedded in the binary (no build
//! step, no CDN): the storefront at `/`, the operator console at `/admin`, the API
//! docs at `/docs` (Swagger UI, vendored from npm's `swagger-ui-dist`), and their
//! assets. The pages are plain HTML and a little JavaScript over the public REST API;
//! they hold no secret and mint no token (one is pasted in).

use axum::{
    http::{HeaderValue, Method, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::route::Route;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr, $file:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../../assets/", $file)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("/", HTML, "storefront.html"),
    asset!("/admin", HTML, "console.html"),
    asset!("/docs", HTML, "docs.html"),
    asset!("/assets/shop.css", CSS, "shop.css"),
    asset!("/assets/api.js", JS, "api.js"),
    asset!("/assets/storefront.js", JS, "storefront.js"),
    asset!("/assets/console.js", JS, "console.js"),
    asset!("/assets/docs.js", JS, "docs.js"),
    asset!(
        "/assets/swagger-ui/swagger-ui-bundle.js",
        JS,
        "swagger-ui/swagger-ui-bundle.js"
    ),
    asset!(
        "/assets/swagger-ui/swagger-ui.css",
        CSS,
        "swagger-ui/swagger-ui.css"
    ),
    asset!("/assets/swagger-ui/LICENSE", TEXT, "swagger-ui/LICENSE"),
    asset!("/assets/swagger-ui/NOTICE", TEXT, "swagger-ui/NOTICE"),
];

/// Scripts and styles from this origin only; Swagger UI sets inline styles and shows
/// `data:` images.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn routes() -> Vec<Route> {
    ASSETS
        .iter()
        .map(|asset| {
            Route::plain(
                Method::GET,
                asset.path,
                get(move || async move { serve(asset) }),
                None,
            )
        })
        .collect()
}

fn serve(asset: &'static Asset) -> Response {
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Embedded in the binary: a new gateway may bring new pages.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_known_type_and_a_body() {
        for asset in ASSETS {
            assert!(
                [HTML, JS, CSS, TEXT].contains(&asset.content_type),
                "{}",
                asset.path
            );
            assert!(!asset.body.is_empty(), "{}", asset.path);
        }
        // What the pages load is served.
        for page in ["/", "/admin", "/docs"] {
            let html = ASSETS.iter().find(|a| a.path == page).unwrap().body;
            let html = String::from_utf8_lossy(html);
            for src in html
                .split(['"', '\''])
                .filter(|s| s.starts_with("/assets/"))
            {
                assert!(ASSETS.iter().any(|a| a.path == src), "{page} loads {src}");
            }
        }
    }
}
