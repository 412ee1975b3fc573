//! A minimal Lambda Runtime API on 127.0.0.1 for one start of a function: it hands out one
//! event and records when the function asked for it and what it answered.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

const RUNTIME_PREFIX: &str = "/2018-06-01/runtime";
const REQUEST_ID: &str = "0b5e8a5c-3f2d-4c1e-9a7b-c01d57a27000";

#[derive(Debug)]
pub enum Answer {
    Response(Bytes),
    InvocationError(Bytes),
    InitError(Bytes),
}

/// What the Runtime API saw of one start.
pub enum Observed {
    Ready(Instant),
    Answered(Instant, Answer),
}

/// The Runtime API of one start: the first `next` gets the event, later ones wait until the
/// run is over (the function is killed then).
pub struct RuntimeApi {
    pub event: Bytes,
    pub deadline_epoch_ms: u128,
    pub invoked_function_arn: String,
    pub observed: mpsc::UnboundedSender<Observed>,
    pub event_served: AtomicBool,
    pub run_over: watch::Receiver<bool>,
}

impl RuntimeApi {
    async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let at = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let Some(route) = path.strip_prefix(RUNTIME_PREFIX) else {
            return Ok(status(StatusCode::NOT_FOUND));
        };
        if method == Method::GET && route == "/invocation/next" {
            return Ok(self.next_invocation(at).await);
        }
        if method != Method::POST {
            return Ok(status(StatusCode::METHOD_NOT_ALLOWED));
        }
        let body = request
            .into_body()
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .unwrap_or_default();
        let answer = if route == "/init/error" {
            Answer::InitError(body)
        } else if route == format!("/invocation/{REQUEST_ID}/response") {
            Answer::Response(body)
        } else if route == format!("/invocation/{REQUEST_ID}/error") {
            Answer::InvocationError(body)
        } else {
            return Ok(status(StatusCode::NOT_FOUND));
        };
        let _ = self.observed.send(Observed::Answered(at, answer));
        Ok(status(StatusCode::ACCEPTED))
    }

    async fn next_invocation(&self, at: Instant) -> Response<Full<Bytes>> {
        if self.event_served.swap(true, Ordering::SeqCst) {
            let mut run_over = self.run_over.clone();
            let _ = run_over.wait_for(|over| *over).await;
            return status(StatusCode::GONE);
        }
        let _ = self.observed.send(Observed::Ready(at));
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", REQUEST_ID)
            .header(
                "lambda-runtime-deadline-ms",
                self.deadline_epoch_ms.to_string(),
            )
            .header(
                "lambda-runtime-invoked-function-arn",
                &self.invoked_function_arn,
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-67654321-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0",
            )
            .body(Full::new(self.event.clone()))
            .expect("valid response")
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

/// Serves the Runtime API until the returned task is aborted (which drops every connection).
pub async fn serve(listener: TcpListener, api: Arc<RuntimeApi>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let api = Arc::clone(&api);
        connections.spawn(async move {
            let service = service_fn(move |request| Arc::clone(&api).handle(request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
