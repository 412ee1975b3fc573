//! Connections of the local server: how many may be open, how long a client may take to send a
//! request head, and how the server stops. A server people leave running must not be held by
//! clients that connect and send nothing, or send a request a byte at a time.
//!
//! - At most `max_connections` ([`MAX_CONNECTIONS`] unless `--max-connections` says
//!   otherwise) are open; one more is answered `503` at once and closed, and past
//!   [`MAX_REFUSING`] such answers in flight a surplus connection is dropped unanswered.
//! - A request head must arrive within [`HEADER_READ_TIMEOUT`], also on a kept-alive
//!   connection waiting for its next request, or the connection is closed.
//! - On stop, idle connections close at once and one still sending a request head within
//!   [`FLUSH_GRACE`]; while a request is in progress its connection has up to
//!   [`DRAIN_TIMEOUT`] to finish it (a body still arriving is refused by the request's own
//!   stop check, see `body`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::{HttpResponse, problem_document};

/// Open connections at most: well under the usual limit of 1,024 open files per process,
/// which the stack's own SDK clients share.
pub const MAX_CONNECTIONS: u32 = 512;
/// How long a client may take to send a whole request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for requests in progress.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop lets a connection without a request in progress write what it has; also
/// how often it looks again whether one is in progress.
const FLUSH_GRACE: Duration = Duration::from_millis(250);
/// Surplus connections answered `503` at the same time at the most; past that they are closed
/// unanswered, so that a flood of connections costs no more than this many tasks.
const MAX_REFUSING: usize = 64;
/// How long a refused connection is read (and what it sent thrown away) after the answer:
/// closing a socket with unread data resets it, and the client could lose the answer.
const REFUSAL_LINGER: Duration = Duration::from_millis(200);

/// What a connection over the cap is told before it is closed.
fn over_capacity() -> Vec<u8> {
    let body = problem_document(
        http::StatusCode::SERVICE_UNAVAILABLE,
        "too many open connections; retry",
    )
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves each accepted connection with `respond` until `stop` turns true, then drains.
pub(super) async fn serve_connections<F, Fut>(
    listener: TcpListener,
    max_connections: usize,
    mut stop: watch::Receiver<bool>,
    respond: F,
) where
    F: Fn(hyper::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = HttpResponse> + Send + 'static,
{
    let open = Arc::new(Semaphore::new(max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let mut connections = JoinSet::new();
    loop {
        // Finished connections are reaped as the server goes, not kept until it stops.
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            // Dropped unanswered when too many are being refused already.
            if let Ok(refusal) = Arc::clone(&refusing).try_acquire_owned() {
                connections.spawn(async move {
                    refuse(stream).await;
                    drop(refusal);
                });
            }
            continue;
        };
        let connection = serve_connection(stream, stop.clone(), respond.clone());
        connections.spawn(async move {
            connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT + FLUSH_GRACE * 2, drained)
        .await
        .is_err()
    {
        tracing::warn!("requests still in progress after {DRAIN_TIMEOUT:?} were cut off");
    }
}

async fn refuse(mut stream: TcpStream) {
    let answer = async {
        stream.write_all(&over_capacity()).await?;
        stream.shutdown().await
    };
    if tokio::time::timeout(Duration::from_secs(1), answer)
        .await
        .is_ok_and(|written| written.is_ok())
    {
        let mut discarded = [0u8; 4096];
        let linger = async { while stream.read(&mut discarded).await.is_ok_and(|n| n > 0) {} };
        let _ = tokio::time::timeout(REFUSAL_LINGER, linger).await;
    }
}

async fn serve_connection<F, Fut>(stream: TcpStream, mut stop: watch::Receiver<bool>, respond: F)
where
    F: Fn(hyper::Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HttpResponse> + Send + 'static,
{
    // Requests of this connection whose answer is not written yet.
    let in_progress = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&in_progress);
    let service = service_fn(move |request| {
        let in_progress = InProgress::enter(&counted);
        let answer = respond(request);
        async move {
            let response = answer.await;
            drop(in_progress);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
            return;
        }
        _ = stop.changed() => {}
    }
    // Stopping: no further request on this connection; an idle one closes at once. It is
    // looked at again every FLUSH_GRACE, so that a request whose head arrived in the meantime
    // is waited for too.
    connection.as_mut().graceful_shutdown();
    let give_up = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    loop {
        if tokio::time::timeout(FLUSH_GRACE, connection.as_mut())
            .await
            .is_ok()
        {
            return;
        }
        if in_progress.load(Ordering::SeqCst) == 0 || tokio::time::Instant::now() >= give_up {
            return;
        }
    }
}

/// Counts a request as in progress until dropped.
struct InProgress(Arc<AtomicUsize>);

impl InProgress {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(counter))
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::over_capacity;

    #[test]
    fn the_over_capacity_answer_declares_its_body_length() {
        let answer = String::from_utf8(over_capacity()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(
            head.ends_with(&format!("\r\ncontent-length: {}", body.len())),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 503);
    }
}
