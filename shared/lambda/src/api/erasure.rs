//! The erasure routes: `DELETE /me` (the caller erases themself) and `DELETE /users/{userId}`
//! (an operator, with the `users:erase` scope), each answered `202` with the erasure's
//! status; the status at `GET /me/erasure` and `GET /users/{userId}/erasure`. Asking again
//! changes nothing and answers the same status (and sends the eraser another work message,
//! so a lost one is recovered by asking again).
//!
//! Every other route refuses an identity with an erasure record: `410 Gone`, so that a
//! command never recreates what the erasure removes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use percent_encoding::percent_decode_str;
use serde::Serialize;
use taskpulse_app::erasure::request_erasure;
use taskpulse_app::{CommandQueues, SendWork};
use taskpulse_domain::UserId;
use taskpulse_domain::erasure::Erasure;

use super::identity::caller;
use super::problem::{FieldError, Problem};
use super::response::json_response;
use super::{Api, ApiTaskTable};
use crate::erasure::work::ErasureWork;

/// The OAuth scope that lets a caller erase another user.
pub const USERS_ERASE_SCOPE: &str = "users:erase";

/// Whose erasure a route names.
#[derive(Debug, Clone, Copy)]
pub(super) enum ErasureTarget<'a> {
    /// The caller's own.
    Me,
    /// The user of the path's `{userId}` (still percent-encoded).
    User(&'a str),
}

/// The status resource of an erasure. It names no user and no pseudonym.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErasureView {
    /// `inProgress` or `complete`.
    state: &'static str,
    /// The step under way (`settling`, `tasks`, `idempotencyRecords`, `archiveFanOut`,
    /// `archiveRewrites`, `analytics`), or `erased`.
    step: &'static str,
    requested_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    erased: ErasedView,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErasedView {
    tasks: u64,
    pending_events_published: u64,
    idempotency_records: u64,
    archive_days_rewritten: u64,
    archive_objects_rewritten: u64,
    counter_items_moved: u64,
}

impl ErasureView {
    fn of(erasure: &Erasure) -> Self {
        let progress = &erasure.progress;
        Self {
            state: if erasure.is_complete() {
                "complete"
            } else {
                "inProgress"
            },
            step: erasure.step.as_str(),
            requested_at: erasure.requested_at,
            updated_at: erasure.updated_at,
            erased: ErasedView {
                tasks: progress.tasks_deleted,
                pending_events_published: progress.pending_events_published,
                idempotency_records: progress.idempotency_records_deleted,
                archive_days_rewritten: progress.archive_days_rewritten,
                archive_objects_rewritten: progress.archive_objects_rewritten,
                counter_items_moved: progress.counter_items_moved,
            },
        }
    }
}

impl<S, P, R, W> Api<S, P, R, W>
where
    S: ApiTaskTable,
    P: CommandQueues,
    W: SendWork,
{
    /// Records the erasure request (unless there is one) and hands it to the eraser.
    pub(super) async fn request_erasure(
        &self,
        request: &Request,
        target: ErasureTarget<'_>,
    ) -> Result<Response<Body>, Problem> {
        let (user, location) = self.erasure_subject(request, target)?;
        let erasure = request_erasure(self.commands.store(), &user, Utc::now()).await?;
        if !erasure.is_complete() {
            self.erasure_work
                .send_work(&[ErasureWork::Advance(user.clone()).body()], Duration::ZERO)
                .await?;
        }
        let mut response = json_response(StatusCode::ACCEPTED, &ErasureView::of(&erasure));
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    }

    pub(super) async fn erasure_status(
        &self,
        request: &Request,
        target: ErasureTarget<'_>,
    ) -> Result<Response<Body>, Problem> {
        let (user, _) = self.erasure_subject(request, target)?;
        match self.erasure_of(&user).await? {
            Some(erasure) => Ok(json_response(StatusCode::OK, &ErasureView::of(&erasure))),
            None => Err(Problem::new(
                StatusCode::NOT_FOUND,
                "no erasure was requested for this user",
            )),
        }
    }

    /// `410 Gone` if `user` has an erasure record, requested or complete.
    pub(super) async fn refuse_erased(&self, user: &UserId) -> Result<(), Problem> {
        match self.erasure_of(user).await? {
            None => Ok(()),
            Some(erasure) if erasure.is_complete() => Err(Problem::new(
                StatusCode::GONE,
                "this identity was erased; its data is gone and it can store nothing new",
            )),
            Some(_) => Err(Problem::new(
                StatusCode::GONE,
                "this identity is being erased; see /me/erasure",
            )),
        }
    }

    async fn erasure_of(&self, user: &UserId) -> Result<Option<Erasure>, Problem> {
        let store = self.commands.store();
        Ok(store
            .load_erasures(std::slice::from_ref(user))
            .await?
            .remove(user))
    }

    /// The user a route names, and the path of their erasure's status.
    fn erasure_subject(
        &self,
        request: &Request,
        target: ErasureTarget<'_>,
    ) -> Result<(UserId, String), Problem> {
        let caller = caller(request, self.caller_source)?;
        match target {
            ErasureTarget::Me => Ok((caller.user_id, "/me/erasure".to_owned())),
            ErasureTarget::User(raw) => {
                caller.require_scope(USERS_ERASE_SCOPE, "other users' erasures")?;
                let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| {
                    Problem::validation(vec![FieldError::new(
                        "userId",
                        "must be percent-encoded UTF-8",
                    )])
                })?;
                // A path segment names one user: a decoded '/' would name a path instead.
                if decoded.contains('/') {
                    return Err(Problem::validation(vec![FieldError::new(
                        "userId",
                        "must not contain '/'",
                    )]));
                }
                let user = UserId::parse(&decoded).map_err(|error| {
                    Problem::validation(vec![FieldError::new("userId", error.to_string())])
                })?;
                Ok((user, format!("/users/{raw}/erasure")))
            }
        }
    }
}

#[cfg(test)]
mod tests;
