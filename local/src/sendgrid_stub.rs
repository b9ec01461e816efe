//! A local stand-in for SendGrid's `/v3/mail/send`: answers with scripted
//! statuses (202 once the script runs out), records every request, and logs
//! what would have been sent (the local run's "outbox").

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: String,
    pub body: Value,
    /// What the stub answered.
    pub status: u16,
}

/// A status and the headers to answer it with.
type Answer = (u16, Vec<(&'static str, String)>);

#[derive(Clone, Default)]
struct State {
    script: Arc<Mutex<VecDeque<Answer>>>,
    /// Shares of 429 and 503 answers once the script is out (the load harness's faults).
    odds: Arc<Mutex<(f64, f64)>>,
    received: Arc<Mutex<Vec<Received>>>,
}

pub struct SendGridStub {
    pub url: String,
    state: State,
}

impl SendGridStub {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = State::default();
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(request, state.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { url, state })
    }

    /// The next answers, in order, before the default 202.
    pub fn answer_with(&self, status: u16, headers: Vec<(&'static str, String)>) {
        self.state
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back((status, headers));
    }

    /// Once the script runs out, answers a share `rate_limited` of requests with
    /// 429 (Retry-After 0) and a share `unavailable` with 503; the rest 202.
    pub fn answer_randomly(&self, rate_limited: f64, unavailable: f64) {
        *self.state.odds.lock().unwrap_or_else(PoisonError::into_inner) = (rate_limited, unavailable);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn answer(request: Request<Incoming>, state: State) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = request.uri().path().to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = request.into_body().collect().await?.to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let recipients: Vec<&str> = body["personalizations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["to"][0]["email"].as_str())
        .collect();
    tracing::info!(template_id = %body["template_id"], ?recipients, custom_args = %body["custom_args"], "SendGrid stub: would send");
    let scripted = state.script.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
    let (status, headers) = scripted.unwrap_or_else(|| {
        let (rate_limited, unavailable) = *state.odds.lock().unwrap_or_else(PoisonError::into_inner);
        let draw = fastrand::f64();
        if draw < rate_limited {
            (429, vec![("retry-after", "0".to_owned())])
        } else if draw < rate_limited + unavailable {
            (503, Vec::new())
        } else {
            (202, Vec::new())
        }
    });
    state
        .received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Received {
            path,
            authorization,
            body,
            status,
        });
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    let body = if status >= 400 {
        r#"{"errors":[{"message":"scripted"}]}"#
    } else {
        ""
    };
    // A scripted status that is not one falls back to a plain 500.
    Ok(response.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| {
        let mut fallback = Response::new(Full::new(Bytes::new()));
        *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    }))
}
