//! A local stand-in for SendGrid's `/v3/mail/send`: answers with scripted
//! statuses (202 once the script runs out) and records every request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

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
}

/// A status and the headers to answer it with.
type Answer = (u16, Vec<(&'static str, String)>);

#[derive(Clone, Default)]
struct State {
    script: Arc<Mutex<VecDeque<Answer>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

pub struct SendGridStub {
    pub url: String,
    state: State,
}

impl SendGridStub {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
        let url = format!("http://{}", listener.local_addr().expect("stub address"));
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
        Self { url, state }
    }

    /// The next answers, in order, before the default 202.
    pub fn answer_with(&self, status: u16, headers: Vec<(&'static str, String)>) {
        self.state.script.lock().expect("script").push_back((status, headers));
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("received").clone()
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
    state.received.lock().expect("received").push(Received {
        path,
        authorization,
        body,
    });
    let (status, headers) = state
        .script
        .lock()
        .expect("script")
        .pop_front()
        .unwrap_or((202, Vec::new()));
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    let body = if status >= 400 {
        r#"{"errors":[{"message":"scripted"}]}"#
    } else {
        ""
    };
    Ok(response.body(Full::new(Bytes::from(body))).expect("response"))
}
