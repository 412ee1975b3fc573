//! Query parameters: the page of `GET /tasks` (status filter, size, opaque cursor) and the day
//! range of the analytics. Unknown parameters are refused, and every invalid one is named.

use chrono::NaiveDate;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::{Request, RequestExt};
use taskpulse_app::ListQuery;
use taskpulse_domain::TaskStatus;
use taskpulse_domain::analytics::Granularity;

use super::cursor::decode_cursor;
use super::problem::{FieldErrors, Problem};

/// Page size of `GET /tasks` when the caller gives none, and the largest it may ask for.
pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: usize = 100;

/// The query parameters, with an error already recorded for each one not among `known`.
fn parameters(request: &Request, known: &[&str]) -> (QueryMap, FieldErrors) {
    let parameters = request.query_string_parameters();
    let errors = FieldErrors::unknown(
        parameters.iter().map(|(name, _)| name),
        known,
        "unknown query parameter",
    );
    (parameters, errors)
}

pub(super) fn list_query(request: &Request) -> Result<ListQuery, Problem> {
    let (parameters, mut errors) = parameters(request, &["status", "limit", "cursor"]);
    let status = match parameters.first("status") {
        None => None,
        Some(raw) => raw
            .parse::<TaskStatus>()
            .map_err(|e| errors.push("status", e.to_string()))
            .ok(),
    };
    let limit = match parameters.first("limit") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(limit) if (1..=MAX_PAGE_SIZE).contains(&limit) => limit,
            _ => {
                errors.push(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                );
                DEFAULT_PAGE_SIZE
            }
        },
    };
    let after = match parameters.first("cursor") {
        None => None,
        Some(raw) => {
            let cursor = decode_cursor(raw);
            if cursor.is_none() {
                errors.push("cursor", "is not a cursor this API returned");
            }
            cursor
        }
    };
    errors.finish(Some(ListQuery {
        status,
        limit,
        after,
    }))
}

/// What an analytics request asks for: the days `from` through `to` (inclusive), cut into
/// periods of `granularity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AnalyticsQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
}

/// The analytics parameters as written, before the range is placed: where it ends by default
/// depends on the caller's today, which may take a read to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AnalyticsParameters {
    from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    granularity: Granularity,
}

/// `from`, `to` (`YYYY-MM-DD`) and `granularity` (`day`, `week`, `month`; default `day`), each
/// well formed; no parameter besides them.
pub(super) fn analytics_parameters(request: &Request) -> Result<AnalyticsParameters, Problem> {
    let (parameters, mut errors) = parameters(request, &["from", "to", "granularity"]);
    let granularity = match parameters.first("granularity") {
        None => Granularity::Day,
        Some(raw) => Granularity::from_name(raw).unwrap_or_else(|| {
            errors.push(
                "granularity",
                format!("must be day, week or month (got '{raw}')"),
            );
            Granularity::Day
        }),
    };
    let mut date = |name: &str| match parameters.first(name) {
        None => None,
        Some(raw) => match full_date(raw) {
            Some(day) => Some(day),
            None => {
                errors.push(name, format!("must be a date YYYY-MM-DD (got '{raw}')"));
                None
            }
        },
    };
    let (from, to) = (date("from"), date("to"));
    errors.finish(Some(AnalyticsParameters {
        from,
        to,
        granularity,
    }))
}

impl AnalyticsParameters {
    /// The range: by default it ends `today` and starts so that it holds the granularity's
    /// default periods (30 days, 12 weeks, 12 months); it may touch at most its most periods
    /// (a year of days, three years of weeks, five years of months).
    pub(super) fn range(self, today: NaiveDate) -> Result<AnalyticsQuery, Problem> {
        let granularity = self.granularity;
        let to = self.to.unwrap_or(today);
        let from = self.from.unwrap_or_else(|| {
            let periods = granularity.default_periods() as u32;
            granularity.start_before(to, periods - 1).unwrap_or(to)
        });
        let mut errors = FieldErrors::default();
        let periods = granularity.periods_between(from, to);
        let most = granularity.max_periods();
        if from > to {
            errors.push("from", "must not be after 'to'");
        } else if periods > most {
            errors.push(
                "from",
                format!(
                    "the range touches {periods} periods of granularity={}; at most {most} are allowed",
                    granularity.name()
                ),
            );
        }
        errors.finish(Some(AnalyticsQuery {
            from,
            to,
            granularity,
        }))
    }
}

/// A `full-date` of RFC 3339 (JSON Schema's `date` format): four-digit year, two-digit month
/// and day. The parser alone would also take `2026-1-1`.
fn full_date(raw: &str) -> Option<NaiveDate> {
    let digits_where_due = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    digits_where_due
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use serde_json::{Value, json};

    use crate::api::test_support::{api, assert_queries_refused, create, get, post, send};

    fn item_ids(page: &Value) -> Vec<&str> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn listing_pages_with_an_opaque_cursor_and_filters_by_status() {
        let api = api();
        let mut ids = vec![];
        for _ in 0..3 {
            ids.push(create(&api, "u").await);
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        create(&api, "someone-else").await;
        send(
            &api,
            post(
                &format!("/tasks/{}/status", ids[0]),
                "u",
                json!({"status": "on_hold"}),
            ),
        )
        .await;

        let page = send(&api, get("/tasks", "u", "limit=2")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(item_ids(&page.body), [ids[2].as_str(), ids[1].as_str()]);
        let cursor = page.body["nextCursor"].as_str().unwrap();

        let page = send(
            &api,
            get("/tasks", "u", &format!("limit=2&cursor={cursor}")),
        )
        .await;
        assert_eq!(item_ids(&page.body), [ids[0].as_str()]);
        assert!(page.body["nextCursor"].is_null());

        let page = send(&api, get("/tasks", "u", "status=on_hold")).await;
        assert_eq!(page.body["items"].as_array().unwrap().len(), 1);

        assert_queries_refused(
            &api,
            "/tasks",
            "u",
            &[
                "limit=0",
                "limit=101",
                "status=done",
                "cursor=zzz",
                "cursor=",
                "color=red",
            ],
        )
        .await;
    }
}
