//! The dashboard page (`dashboard/` at the workspace root), embedded in the binary so the
//! local stack serves it with no network and no build step: `GET /` and the files it loads.

use http::{HeaderValue, StatusCode, header};
use hyper::body::Bytes;

use super::{HttpResponse, full};

/// The page's files: path, media type, contents. `dashboard/` holds the same files, for a
/// static host in front of a deployed API.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../../../dashboard/index.html"),
    ),
    (
        "/dashboard.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../dashboard/dashboard.css"),
    ),
    (
        "/dashboard.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../dashboard/dashboard.js"),
    ),
    (
        "/vendor/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../dashboard/vendor/uPlot.iife.min.js"),
    ),
    (
        "/vendor/uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../dashboard/vendor/uPlot.min.css"),
    ),
];

/// Scripts and styles from the page's own origin only; requests to any API the page is
/// pointed at.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The bytes the page transfers with all its files, uncompressed.
pub fn transfer_size() -> usize {
    ASSETS.iter().map(|(_, _, body)| body.len()).sum()
}

/// The file at `path` (`/index.html` is `/`), if it is one of the page's.
pub(super) fn asset(path: &str) -> Option<HttpResponse> {
    let path = if path == "/index.html" { "/" } else { path };
    let (_, media_type, body) = ASSETS.iter().find(|(p, _, _)| *p == path)?;
    let mut response = hyper::Response::new(full(Bytes::from_static(body)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_names_is_served_and_the_page_stays_small() {
        let page = std::str::from_utf8(ASSETS[0].2).unwrap();
        for (path, _, _) in &ASSETS[1..] {
            let relative = path.trim_start_matches('/');
            assert!(
                page.contains(&format!("\"{relative}\"")),
                "index.html loads {relative}"
            );
        }
        assert_eq!(asset("/index.html").unwrap().status(), StatusCode::OK);
        assert!(asset("/tasks").is_none());
        // The budget: the whole page under 200 KB uncompressed.
        assert!(transfer_size() < 200 * 1024, "{} bytes", transfer_size());
    }
}
