//! The local run over real HTTP, as `scripts/dev` serves it: the API Gateway
//! stand-in in front of a fresh stack's functions.

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use local::gateway::{self, Gateway, LocalAuth};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

use super::TestStack;

pub struct LocalRun {
    address: std::net::SocketAddr,
    pub stack: TestStack,
}

impl LocalRun {
    /// The local run as `scripts/dev` starts it with `AUTH=off` or `AUTH=jwt`.
    pub async fn start(auth: LocalAuth) -> Self {
        let stack = TestStack::new().await;
        let functions = match auth {
            LocalAuth::Off => stack.functions().without_authentication(),
            LocalAuth::DevTokens { .. } => stack.functions(),
        };
        let gateway = Arc::new(Gateway {
            functions,
            auth,
            jobs: None,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(gateway::serve(listener, gateway));
        Self { address, stack }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        tenant: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, hyper::HeaderMap, Value) {
        self.call_with(method, path, tenant, None, body).await
    }

    /// One HTTP/1.1 request on its own connection: (status, headers, JSON body).
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        tenant: Option<&str>,
        bearer: Option<&str>,
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
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = body.map(Value::to_string).unwrap_or_default();
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(body))).expect("request"))
            .await
            .expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, headers, json)
    }
}
