//! The tenant console's static files (`GET /console`, `/console/{asset}`):
//! a page, a script and a style sheet, and the API reference (Redoc rendering
//! openapi.yaml), built into the binary. Public like any web page: the console
//! itself calls the API with the user's token and tenant, and holds nothing of
//! anyone's.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

/// What an asset holds.
enum Content {
    Text(&'static str),
    /// Stored gzip-compressed: answered with `Content-Encoding: gzip` (Redoc's
    /// bundle is a megabyte as text, a third of that compressed, in every function's binary).
    Gzip(&'static [u8]),
}

struct Asset {
    name: &'static str,
    /// Sent with `charset=utf-8`: every asset is UTF-8 text (one gzip-compressed).
    media_type: &'static str,
    content: Content,
}

const ASSETS: [Asset; 7] = [
    text("index.html", "text/html", include_str!("../../console/index.html")),
    text("app.js", "text/javascript", include_str!("../../console/app.js")),
    text("style.css", "text/css", include_str!("../../console/style.css")),
    text(
        "reference.html",
        "text/html",
        include_str!("../../console/reference.html"),
    ),
    text(
        "reference.js",
        "text/javascript",
        include_str!("../../console/reference.js"),
    ),
    text(
        "openapi.yaml",
        "application/yaml",
        include_str!("../../../openapi.yaml"),
    ),
    Asset {
        name: "redoc.standalone.js",
        media_type: "text/javascript",
        content: Content::Gzip(include_bytes!("../../console/vendor/redoc.standalone.js.gz")),
    },
];

const fn text(name: &'static str, media_type: &'static str, content: &'static str) -> Asset {
    Asset {
        name,
        media_type,
        content: Content::Text(content),
    }
}

/// Only these, from this origin; the page's script calls the API on the same origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The reference's: still nothing from another origin, but Redoc writes its
/// styles into the page and runs its search in a worker it makes from a blob.
const REFERENCE_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; worker-src blob:; \
    base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

pub async fn console(req: Request) -> Response<Body> {
    let name = req
        .path_parameters_ref()
        .and_then(|p| p.first("asset"))
        .unwrap_or("index.html");
    let response = match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => serve(asset, accepts_gzip(&req)),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from("no such console file")),
    };
    response.unwrap_or_else(|_| Response::new(Body::Empty))
}

fn serve(asset: &Asset, gzip: bool) -> lambda_http::http::Result<Response<Body>> {
    let policy = if asset.name == "reference.html" {
        REFERENCE_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY
    };
    let content_type = format!("{}; charset=utf-8", asset.media_type);
    let builder = Response::builder()
        .header(header::CACHE_CONTROL, "no-cache")
        .header("content-security-policy", policy)
        .header("x-content-type-options", "nosniff");
    match asset.content {
        Content::Text(text) => builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type.as_str())
            .body(Body::from(text)),
        Content::Gzip(bytes) if gzip => builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type.as_str())
            .header(header::CONTENT_ENCODING, "gzip")
            .header(header::VARY, "accept-encoding")
            .body(Body::from(bytes)),
        // Every browser asks for gzip; anything else is told so rather than sent bytes it cannot read.
        Content::Gzip(_) => builder
            .status(StatusCode::NOT_ACCEPTABLE)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(
                "this file is served gzip-compressed only (Accept-Encoding: gzip)",
            )),
    }
}

/// Whether the request's Accept-Encoding takes gzip: named (or `x-gzip`), else
/// through `*`, with a q-value above zero.
fn accepts_gzip(req: &Request) -> bool {
    let codings: Vec<(String, f32)> = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
                .map_or(1.0, |(_, value)| value.trim().parse().unwrap_or(0.0));
            (name, q)
        })
        .collect();
    let q_of = |name: &str| codings.iter().find(|(n, _)| n == name).map(|(_, q)| *q);
    q_of("gzip")
        .or_else(|| q_of("x-gzip"))
        .or_else(|| q_of("*"))
        .is_some_and(|q| q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_page_and_its_assets_are_served_and_nothing_else() {
        let get = |asset: Option<&str>| {
            let mut req = Request::default();
            if let Some(asset) = asset {
                req = req.with_path_parameters(std::collections::HashMap::from([(
                    "asset".to_owned(),
                    asset.to_owned(),
                )]));
            }
            console(req)
        };
        let page = get(None).await;
        assert_eq!(page.status(), 200);
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .is_ok_and(|p| p.contains("script-src 'self'"))
        );
        assert_eq!(
            get(Some("app.js")).await.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(get(Some("../Cargo.toml")).await.status(), 404);
        // The scripts reach no other host: every call is a path on this origin
        // (SVG's namespace is a name, not a request).
        for name in ["app.js", "reference.js"] {
            let script = match ASSETS.iter().find(|a| a.name == name).map(|a| &a.content) {
                Some(Content::Text(text)) => text.replace("\"http://www.w3.org/2000/svg\"", ""),
                _ => panic!("{name} is a text asset"),
            };
            assert!(!script.contains("http://") && !script.contains("https://"), "{name}");
        }
    }

    #[tokio::test]
    async fn the_reference_is_served_with_redoc_compressed_and_the_document_beside_it() {
        let get = |asset: &str, accept_encoding: Option<&str>| {
            let mut req = Request::default().with_path_parameters(std::collections::HashMap::from([(
                "asset".to_owned(),
                asset.to_owned(),
            )]));
            if let Some(value) = accept_encoding {
                req.headers_mut()
                    .insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).expect("header"));
            }
            console(req)
        };
        let page = get("reference.html", None).await;
        assert_eq!(page.status(), 200);
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .is_ok_and(|p| p.contains("script-src 'self';") && p.contains("default-src 'none'"))
        );
        let document = get("openapi.yaml", None).await;
        assert!(matches!(document.body(), Body::Text(t) if t.starts_with("openapi: 3.1.0")));
        let redoc = get("redoc.standalone.js", Some("gzip, deflate, br")).await;
        assert_eq!(redoc.status(), 200);
        assert_eq!(redoc.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(matches!(redoc.body(), Body::Binary(b) if b.starts_with(&[0x1f, 0x8b])));
        assert_eq!(get("redoc.standalone.js", None).await.status(), 406);
        assert_eq!(get("redoc.standalone.js", Some("gzip;q=0, br")).await.status(), 406);
        assert_eq!(get("redoc.standalone.js", Some("gzip; Q=0.000, *")).await.status(), 406);
        assert_eq!(get("redoc.standalone.js", Some("br, *;q=0.5")).await.status(), 200);
    }
}
