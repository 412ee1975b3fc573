//! Request bodies, read the way API Gateway reads them: a declared length over the limit is
//! refused before anything is read, a body that grows past it is refused as soon as it does,
//! one that stops arriving is refused after [`BODY_READ_TIMEOUT`], and one whose framing is
//! broken (a malformed chunk) is a bad request, not a size problem.

use std::time::Duration;

use http::{StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use tokio::sync::watch;

use super::{HttpResponse, problem};

/// How long a client may take to send a whole body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The body, or the answer that refuses it.
pub(super) async fn read_body(
    headers: &http::HeaderMap,
    body: Incoming,
    limit: usize,
    mut stop: watch::Receiver<bool>,
) -> Result<Bytes, HttpResponse> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large(limit));
    }
    let reading = tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, limit).collect());
    tokio::select! {
        read = reading => match read {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
                Err(too_large(limit))
            }
            Ok(Err(error)) => Err(problem(
                StatusCode::BAD_REQUEST,
                &format!("the request body is malformed: {error}"),
            )),
            Err(_) => Err(problem(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "the request body did not arrive within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )),
        },
        // A body still arriving when the stack stops does not hold the stop.
        _ = stopping(&mut stop) => Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "the local stack is stopping",
        )),
    }
}

/// Resolves when the stack stops (never, if nothing can stop it any more).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stopping| *stopping).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn too_large(limit: usize) -> HttpResponse {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is larger than {limit} bytes"),
    )
}
