//! `GET /_local/changes`: the counter-change notices as a Server-Sent Events stream
//! (`text/event-stream`), which the dashboard page follows with `EventSource`.
//!
//! Each notice is an event `counted` whose `id` is its sequence number and whose data is the
//! notice as JSON; the stream starts with the last notice, if there was one. A page that fell
//! more than the hub's backlog behind gets an event `lagged` and refreshes everything. A
//! comment line every 15 s keeps proxies from closing an idle stream. The stream ends when the
//! stack stops, so shutdown does not wait for open pages.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame};
use tokio::sync::{broadcast, watch};

use super::HttpResponse;
use crate::changes::{ChangeNotice, CounterChanges};

/// How often an idle stream carries a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How long a browser waits before it reconnects a dropped stream, in milliseconds.
const RECONNECT_MS: u32 = 1000;

struct Listening {
    opening: Option<Bytes>,
    notices: broadcast::Receiver<Arc<ChangeNotice>>,
    stop: watch::Receiver<bool>,
}

fn counted(notice: &ChangeNotice) -> Bytes {
    let data = serde_json::to_string(notice).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!(
        "event: counted\nid: {}\ndata: {data}\n\n",
        notice.sequence
    ))
}

/// The stream of `changes` until `stop` turns true.
pub(super) fn change_stream(changes: &CounterChanges, stop: watch::Receiver<bool>) -> HttpResponse {
    let (last, notices) = changes.subscribe();
    let mut opening = format!("retry: {RECONNECT_MS}\n\n").into_bytes();
    if let Some(last) = last {
        opening.extend_from_slice(&counted(&last));
    }
    let listening = Listening {
        opening: Some(Bytes::from(opening)),
        notices,
        stop,
    };
    let stream = futures_util::stream::unfold(listening, |mut listening| async move {
        if let Some(opening) = listening.opening.take() {
            return Some((Ok::<_, Infallible>(Frame::data(opening)), listening));
        }
        if *listening.stop.borrow() {
            return None;
        }
        let chunk = tokio::select! {
            received = listening.notices.recv() => match received {
                Ok(notice) => counted(&notice),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Bytes::from(format!("event: lagged\ndata: {{\"missed\":{missed}}}\n\n"))
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
            _ = tokio::time::sleep(KEEP_ALIVE) => Bytes::from_static(b": keep-alive\n\n"),
            _ = listening.stop.changed() => return None,
        };
        Some((Ok(Frame::data(chunk)), listening))
    });
    let mut response = hyper::Response::new(StreamBody::new(stream).boxed_unsync());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
