//! The analytics routes: the caller's own counters (`/analytics/me`, over the caller's local
//! days where the active version counts them) and everyone's (`/analytics/global`, for tokens
//! with the analytics scope, over UTC days), by day, week or month. Each answer has an `ETag`;
//! asking again with `If-None-Match` costs no body while nothing moved. The answer's shape is
//! `view.rs`.

use chrono::{NaiveDate, Utc};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use taskpulse_app::analytics::HistoryRead;
use taskpulse_app::{LoadProjectionConfig, LoadUserSettings, RollUpMonths, analytics_report};
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::Scope;

mod view;

use view::AnalyticsView;

use super::Api;
use super::conditional::conditional_json;
use super::identity::Caller;
use super::problem::Problem;
use super::query::{AnalyticsParameters, analytics_parameters};
use super::request::header_text;

/// The OAuth scope that lets a caller read everyone's analytics.
pub const ANALYTICS_READ_SCOPE: &str = "analytics:read";

/// Which analytics a route shows.
#[derive(Debug, Clone, Copy)]
pub(super) enum AnalyticsRoute {
    /// The caller's own.
    Me,
    /// Everyone's together.
    Global,
}

/// An analytics request as read, before anything is: whose analytics, which range as written,
/// and the tag the client holds.
#[derive(Debug)]
pub(super) struct AnalyticsRequest {
    caller: UserId,
    scope: Scope,
    parameters: AnalyticsParameters,
    if_none_match: Option<String>,
}

impl AnalyticsRequest {
    pub(super) fn read(
        request: &Request,
        caller: Caller,
        route: AnalyticsRoute,
    ) -> Result<Self, Problem> {
        let scope = match route {
            AnalyticsRoute::Global => {
                caller.require_scope(ANALYTICS_READ_SCOPE, "everyone's analytics")?;
                Scope::Global
            }
            AnalyticsRoute::Me => Scope::User(caller.user_id.clone()),
        };
        Ok(Self {
            caller: caller.user_id,
            scope,
            parameters: analytics_parameters(request)?,
            if_none_match: header_text(request.headers(), "If-None-Match")?,
        })
    }

    /// Who asks (for a global report too, the caller, not everyone).
    pub(super) fn caller(&self) -> &UserId {
        &self.caller
    }
}

impl<S: LoadUserSettings, P, R: RollUpMonths + LoadProjectionConfig, W> Api<S, P, R, W> {
    pub(super) async fn analytics_report(
        &self,
        request: AnalyticsRequest,
    ) -> Result<Response<Body>, Problem> {
        let AnalyticsRequest {
            scope,
            parameters,
            if_none_match,
            ..
        } = request;
        // One configuration read per request: the whole answer comes from one version.
        let active = self.analytics.load_projection_config().await?.active;
        let local_days = active.projection.counts_local_days();
        let today = self.today_of(parameters, &scope, local_days).await?;
        let query = parameters.range(today)?;
        let read = HistoryRead {
            from: query.from,
            to: query.to,
            granularity: query.granularity,
            // The UTC date decides which months are sealed, whoever's days the range is in.
            today: chrono::Utc::now().date_naive(),
        };
        let report = analytics_report(&self.analytics, active, &scope, read).await?;
        let view = AnalyticsView::new(&scope, active.version, &report, query.granularity);
        let body = serde_json::to_string(&view).map_err(|error| {
            tracing::error!(%error, "an analytics answer could not be serialised");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the answer could not be written",
            )
        })?;
        Ok(conditional_json(if_none_match.as_deref(), body))
    }
}

impl<S: LoadUserSettings, P, R, W> Api<S, P, R, W> {
    /// The last day of a range that names none: the caller's local today for the caller's own
    /// analytics where the active version counts the caller's local days, the UTC today
    /// otherwise. The settings are read only when the range needs them.
    async fn today_of(
        &self,
        parameters: AnalyticsParameters,
        scope: &Scope,
        local_days: bool,
    ) -> Result<NaiveDate, Problem> {
        let now = Utc::now();
        let names_its_end = parameters.to.is_some();
        match scope {
            Scope::User(user) if local_days && !names_its_end => {
                let settings = self.commands.store().load_user_settings(user).await?;
                Ok(settings.unwrap_or_default().time_zone.local_day(now))
            }
            _ => Ok(now.date_naive()),
        }
    }
}

#[cfg(test)]
mod tests;
