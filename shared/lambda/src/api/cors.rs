//! Cross-origin access, for the dashboard page hosted on another origin than the API.
//!
//! The API function answers CORS itself rather than API Gateway's `CorsConfiguration`, so the
//! same policy runs in the local stack and in the tests. The template routes `OPTIONS` on every
//! path to the function without the JWT authorizer (a preflight carries no token), and the
//! allowed origins come from the `CORS_ALLOWED_ORIGINS` environment variable (the template's
//! `DashboardOrigins` parameter). Bearer tokens, not cookies, carry the identity, so no
//! credentials mode is needed.

use http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};

use super::problem::Problem;

/// The request headers a cross-origin page may send.
const ALLOWED_HEADERS: &str =
    "authorization, content-type, idempotency-key, if-match, if-none-match";

/// The response headers a cross-origin page may read besides the CORS-safelisted ones.
const EXPOSED_HEADERS: &str = "etag, location, idempotent-replayed, allow";

/// How long a browser may reuse a preflight answer, in seconds (Chromium caps it at 7200).
const PREFLIGHT_MAX_AGE_SECONDS: &str = "7200";

/// The origins allowed to call the API from a browser; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    origins: Vec<String>,
}

impl CorsPolicy {
    /// A comma-separated list of origins such as `https://dash.example.com,http://127.0.0.1:8080`
    /// (scheme, host and optional port; no path, no `*`). Empty text allows none.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = vec![];
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| format!("origin {origin:?} must start with https:// or http://"))?;
            let valid = !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if !valid {
                return Err(format!(
                    "origin {origin:?} must be scheme://host[:port], without a path or a trailing slash"
                ));
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(Self { origins })
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// The request's `Origin`, if the policy allows it.
    fn allowed_origin<'a>(&self, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(text))
            .then_some(origin)
    }

    /// The answer to a preflight request for a route that allows `methods`.
    pub(super) fn preflight(
        &self,
        headers: &HeaderMap,
        methods: &'static str,
    ) -> Result<Response<Body>, Problem> {
        if headers.get(header::ACCESS_CONTROL_REQUEST_METHOD).is_none() {
            // A plain OPTIONS request: say what the route allows.
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(methods));
            return Ok(response);
        }
        let Some(origin) = self.allowed_origin(headers) else {
            let origin = headers
                .get(header::ORIGIN)
                .and_then(|o| o.to_str().ok())
                .unwrap_or("(none)");
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "the origin {origin} may not call this API from a browser (DashboardOrigins)"
                ),
            ));
        };
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        let answer = response.headers_mut();
        answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        answer.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        answer.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        answer.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECONDS),
        );
        answer.insert(header::VARY, HeaderValue::from_static("origin"));
        Ok(response)
    }

    /// Lets an allowed origin read `response` (every answer, problems too, so the page can show
    /// why a request failed).
    pub(super) fn apply(&self, request: &HeaderMap, response: &mut Response<Body>) {
        if self.is_empty() {
            return;
        }
        let headers = response.headers_mut();
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = self.allowed_origin(request) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let policy =
            CorsPolicy::parse(" https://Dash.example.com , http://127.0.0.1:8080,").unwrap();
        assert_eq!(
            policy.origins,
            ["https://dash.example.com", "http://127.0.0.1:8080"]
        );
        assert!(CorsPolicy::parse("").unwrap().is_empty());
        for bad in [
            "*",
            "dash.example.com",
            "https://dash.example.com/",
            "https://dash.example.com/app",
            "ftp://x",
            "https://",
        ] {
            assert!(CorsPolicy::parse(bad).is_err(), "{bad}");
        }
    }
}
