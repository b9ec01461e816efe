//! The local API Gateway stand-in over real HTTP: routing, query decoding,
//! fallback answers, and the handlers behind it against moto.

mod common;

use std::sync::Arc;

use common::{TestStack, order_event};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use local::functions::ApiFunctions;
use local::gateway;
use serde_json::{Value, json};
use shared::http::Authentication;
use tokio::net::{TcpListener, TcpStream};

struct Local {
    address: std::net::SocketAddr,
    _stack: TestStack,
}

impl Local {
    async fn start() -> Self {
        let stack = TestStack::new().await;
        let functions = Arc::new(ApiFunctions {
            events: stack.events_api_with(Authentication::DisabledForLocalRun),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(gateway::serve(listener, functions));
        Self {
            address,
            _stack: stack,
        }
    }

    /// One HTTP/1.1 request on its own connection: (status, headers, JSON body).
    async fn call(
        &self,
        method: &str,
        path: &str,
        tenant: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, hyper::HeaderMap, Value) {
        let stream = TcpStream::connect(self.address).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
        if let Some(tenant) = tenant {
            request = request.header("x-twc-tenant", tenant);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body.map(Value::to_string).unwrap_or_default();
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(body))).expect("request"))
            .await
            .expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, headers, json)
    }
}

#[tokio::test]
async fn serves_the_events_api_over_http() {
    let local = Local::start().await;
    let event = order_event("evt-http-1", "ORD 1/2");

    let (status, headers, created) = local
        .call("POST", "/api/v1/events", Some("acme"), Some(&event))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(headers["location"], "/api/v1/events/evt-http-1");

    let (status, _, read) = local
        .call("GET", "/api/v1/events/evt-http-1", Some("acme"), None)
        .await;
    assert_eq!((status, &read), (200, &created));

    // Query values arrive percent-decoded, as API Gateway delivers them.
    let (status, _, page) = local
        .call(
            "GET",
            "/api/v1/events?entity_name=order&entity_id=ORD%201%2F2",
            Some("acme"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], json!([created]));
    assert_eq!(page["next_token"], Value::Null);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problem_json() {
    let local = Local::start().await;

    let (status, headers, problem) = local
        .call("GET", "/api/v2/nothing", Some("acme"), None)
        .await;
    assert_eq!((status, problem["status"].as_u64()), (404, Some(404)));
    assert_eq!(headers["content-type"], "application/problem+json");

    let (status, headers, _) = local
        .call("DELETE", "/api/v1/events/evt-1", Some("acme"), None)
        .await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "GET");

    let (status, _, problem) = local
        .call("POST", "/api/v1/events", None, Some(&order_event("e", "o")))
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "X-TWC-Tenant");
}
