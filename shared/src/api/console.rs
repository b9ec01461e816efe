//! The tenant console's static files (`GET /console`, `/console/{asset}`):
//! a page, a script and a style sheet, built into the binary. Public like any
//! web page: the console itself calls the API with the user's token and
//! tenant, and holds nothing of anyone's.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

/// Each asset's name, type and content.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../console/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../console/style.css"),
    ),
];

/// Only these, from this origin; the page's script calls the API on the same origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

pub async fn console(req: Request) -> Response<Body> {
    let asset = req
        .path_parameters_ref()
        .and_then(|p| p.first("asset"))
        .unwrap_or("index.html");
    let response = match ASSETS.iter().find(|(name, _, _)| *name == asset) {
        Some((_, content_type, content)) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, *content_type)
            .header(header::CACHE_CONTROL, "no-cache")
            .header("content-security-policy", CONTENT_SECURITY_POLICY)
            .header("x-content-type-options", "nosniff")
            .body(Body::from(*content)),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from("no such console file")),
    };
    response.unwrap_or_else(|_| Response::new(Body::Empty))
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
        // The script reaches no other host: every call is a path on this origin
        // (SVG's namespace is a name, not a request).
        let (_, _, script) = ASSETS[1];
        let script = script.replace("\"http://www.w3.org/2000/svg\"", "");
        assert!(!script.contains("http://") && !script.contains("https://"));
    }
}
