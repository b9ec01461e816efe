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
use super::sender::ApiKey;

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
    retry: RetryPolicy,
}

impl std::fmt::Debug for SendGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendGrid")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("SendGrid client: {0}")]
pub struct ClientError(String);

/// The longest one request may take before it counts as failed (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `base_url` without its trailing slash, if it is https, or http to this very
/// host (a local stub): the API key must never cross a network in clear.
fn checked_base_url(base_url: &str) -> Result<String, ClientError> {
    let url = url::Url::parse(base_url).map_err(|e| ClientError(format!("{base_url:?} is not a URL: {e}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(ClientError(format!("{base_url:?} must be https"))),
    }
    Ok(base_url.trim_end_matches('/').to_owned())
}

impl SendGrid {
    /// A client for `base_url`; each request names the key it is sent with.
    pub fn new(base_url: impl Into<String>, retry: RetryPolicy) -> Result<Self, ClientError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| ClientError(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base_url: checked_base_url(&base_url.into())?,
            http: Client::builder(TokioExecutor::new()).build(https),
            retry,
        })
    }

    /// POSTs `mail` to `/v3/mail/send` with `key`; Ok once SendGrid accepted it (202).
    pub async fn send(&self, key: &ApiKey, mail: &Mail) -> Result<(), SendError> {
        // Serialising plain data cannot fail.
        let body = Bytes::from(serde_json::to_vec(mail).unwrap_or_default());
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            let wait = match self.post(key, body.clone()).await {
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

    /// Status, how long SendGrid asks us to wait (on 429), and the body (clipped);
    /// a request that takes longer than `REQUEST_TIMEOUT` fails.
    async fn post(&self, key: &ApiKey, body: Bytes) -> Result<(StatusCode, Option<Duration>, String), String> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.post_once(key, body))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())))
    }

    async fn post_once(&self, key: &ApiKey, body: Bytes) -> Result<(StatusCode, Option<Duration>, String), String> {
        let request = Request::post(format!("{}/v3/mail/send", self.base_url))
            .header("authorization", format!("Bearer {}", key.expose()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_only_travels_over_https_or_to_this_host() {
        assert!(checked_base_url("https://api.sendgrid.com/").is_ok());
        assert!(checked_base_url("http://127.0.0.1:8080").is_ok());
        assert!(checked_base_url("http://api.sendgrid.com").is_err());
        assert!(checked_base_url("http://127.0.0.1.evil.example").is_err());
        assert!(checked_base_url("ftp://api.sendgrid.com").is_err());
        assert!(checked_base_url("not a url").is_err());
    }
}
