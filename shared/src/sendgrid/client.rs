//! The SendGrid v3 mail client: rustls HTTPS, 429 and 5xx retried with backoff
//! (honouring SendGrid's rate-limit headers), other 4xx reported as rejections.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::mail::Mail;

/// Longest wait for a rate limit to reset before giving up on this request.
const MAX_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// SendGrid refused the request (4xx other than 429): not worth repeating.
    #[error("SendGrid rejected the request: {status} {body}")]
    Rejected { status: u16, body: String },
    /// Still failing (429, 5xx, network) after every attempt.
    #[error("SendGrid unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
}

/// Retries and waits; tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(500),
        }
    }
}

pub struct SendGrid {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// `https://api.sendgrid.com` in production; a local stub in tests.
    base_url: String,
    api_key: String,
    retry: RetryPolicy,
}

/// Never prints the API key.
impl std::fmt::Debug for SendGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendGrid")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("TLS roots: {0}")]
pub struct ClientError(String);

impl SendGrid {
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        retry: RetryPolicy,
    ) -> Result<Self, ClientError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| ClientError(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            http: Client::builder(TokioExecutor::new()).build(https),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: api_key.into(),
            retry,
        })
    }

    /// POSTs `mail` to `/v3/mail/send`; Ok once SendGrid accepted it (202).
    pub async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        // Serialising plain data cannot fail.
        let body = Bytes::from(serde_json::to_vec(mail).unwrap_or_default());
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            let wait = match self.post(body.clone()).await {
                Ok((status, _, _)) if status.is_success() => return Ok(()),
                Ok((StatusCode::TOO_MANY_REQUESTS, wait, text)) => {
                    last = format!("429 {text}");
                    wait.unwrap_or_else(|| self.backoff(attempt))
                }
                Ok((status, _, text)) if status.is_server_error() => {
                    last = format!("{status} {text}");
                    self.backoff(attempt)
                }
                Ok((status, _, text)) => {
                    return Err(SendError::Rejected {
                        status: status.as_u16(),
                        body: text,
                    });
                }
                Err(err) => {
                    last = err;
                    self.backoff(attempt)
                }
            };
            if attempt < self.retry.attempts {
                tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, reason = %last, "SendGrid busy; retrying");
                tokio::time::sleep(wait.min(MAX_WAIT)).await;
            }
        }
        Err(SendError::Unavailable {
            attempts: self.retry.attempts,
            last,
        })
    }

    /// Exponential with full jitter: up to base × 2^(attempt−1).
    fn backoff(&self, attempt: u32) -> Duration {
        self.retry
            .base_delay
            .mul_f64(f64::from(1u32 << (attempt - 1).min(10)) * fastrand::f64())
    }

    /// Status, how long SendGrid asks us to wait (on 429), and the body (clipped).
    async fn post(&self, body: Bytes) -> Result<(StatusCode, Option<Duration>, String), String> {
        let request = Request::post(format!("{}/v3/mail/send", self.base_url))
            .header("authorization", format!("Bearer {}", self.api_key))
            .header("content-type", "application/json")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let response = self.http.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let wait = rate_limit_wait(response.headers());
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let text: String = String::from_utf8_lossy(&bytes).chars().take(500).collect();
        Ok((status, wait, text))
    }
}

/// SendGrid's `X-RateLimit-Reset` (epoch seconds), else a standard `Retry-After` (seconds).
fn rate_limit_wait(headers: &hyper::HeaderMap) -> Option<Duration> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    if let Some(reset) = number("x-ratelimit-reset") {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        return Some(Duration::from_secs(reset.saturating_sub(now)));
    }
    number("retry-after").map(Duration::from_secs)
}
