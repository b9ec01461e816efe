//! The harness's client of the public API, over real HTTP: the local run's
//! gateway or a deployed stack's URL (https), with a tenant and, deployed, a
//! bearer token.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::SoakError;

/// The longest one API call may take before the harness counts it as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Api {
    base: String,
    token: Option<String>,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// An answer: its status and JSON body (`Null` when it has none).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Api {
    /// A client of the API at `base` (`http://127.0.0.1:3000`, or a deployed
    /// stack's `https://…` URL), sending `token` as bearer when there is one.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, SoakError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| SoakError::Setup(format!("TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    pub async fn post(&self, tenant: &str, path: &str, body: &Value) -> Result<Answer, SoakError> {
        self.call("POST", tenant, path, Some(body)).await
    }

    pub async fn get(&self, tenant: &str, path: &str) -> Result<Answer, SoakError> {
        self.call("GET", tenant, path, None).await
    }

    /// Every item of a listing at `path` (which has its query, `limit` at least),
    /// following `next_token` to the end.
    pub async fn get_all(&self, tenant: &str, path: &str) -> Result<Vec<Value>, SoakError> {
        let mut items = Vec::new();
        let mut page = path.to_owned();
        loop {
            let answer = self.get(tenant, &page).await?;
            if answer.status != 200 {
                return Err(SoakError::Api(format!("{page}: {} {}", answer.status, answer.body)));
            }
            let found = answer.body["items"].as_array().cloned().unwrap_or_default();
            let done = found.is_empty();
            items.extend(found);
            match answer.body["next_token"].as_str() {
                Some(next) if !done => {
                    let token: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                    page = format!("{path}&next_token={token}");
                }
                _ => return Ok(items),
            }
        }
    }

    async fn call(&self, method: &str, tenant: &str, path: &str, body: Option<&Value>) -> Result<Answer, SoakError> {
        let failed = |e: String| SoakError::Api(format!("{method} {path}: {e}"));
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("x-twc-tenant", tenant);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = Full::new(Bytes::from(body.map(Value::to_string).unwrap_or_default()));
        let request = request.body(body).map_err(|e| failed(e.to_string()))?;
        let response = tokio::time::timeout(CALL_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| failed("timed out".into()))?
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }
}
