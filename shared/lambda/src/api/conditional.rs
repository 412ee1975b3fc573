//! Conditional reads (RFC 9110 §13.1.2): an answer carries a strong `ETag` derived from its
//! body, and a request whose `If-None-Match` names that tag gets `304 Not Modified` without a
//! body. A page that polls the analytics then pays for a body only when a number moved.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};

use super::entity_tags::entity_tags;

/// How caches may keep a conditional answer: only the caller's own, revalidated every time.
const CACHE_CONTROL: &str = "private, no-cache";

/// `body` as a JSON answer with its entity tag, or `304` if the request's `If-None-Match`
/// already names it.
pub(super) fn conditional_json(if_none_match: Option<&str>, body: String) -> Response<Body> {
    let tag = entity_tag(&body);
    let not_modified = if_none_match.is_some_and(|list| matches_any(list, &tag));
    let mut response = if not_modified {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(Body::from(body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response
}

/// A strong tag: the first 128 bits of the body's SHA-256, quoted.
fn entity_tag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// `If-None-Match` uses the weak comparison: `W/"x"` matches `"x"`; `*` matches any answer.
/// A value that is no entity-tag list names no answer: the whole answer is sent.
fn matches_any(list: &str, tag: &str) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let opaque = tag.trim_matches('"');
    entity_tags(list).is_some_and(|tags| tags.iter().any(|held| held.opaque == opaque))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(if_none_match: Option<&str>, body: &str) -> Response<Body> {
        conditional_json(if_none_match, body.to_owned())
    }

    #[test]
    fn an_unchanged_body_is_304_without_a_body_and_a_changed_one_is_200() {
        let first = ask(None, r#"{"created":1}"#);
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_eq!(tag.len(), 34, "{tag}");
        assert_eq!(first.headers()[header::CACHE_CONTROL], CACHE_CONTROL);

        for held in [
            tag.clone(),
            format!("W/{tag}"),
            format!("\"other\", {tag}"),
            "*".into(),
        ] {
            let again = ask(Some(&held), r#"{"created":1}"#);
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{held}");
            assert!(again.body().is_empty());
            assert_eq!(again.headers()[header::ETAG], tag.as_str());
        }
        let moved = ask(Some(&tag), r#"{"created":2}"#);
        assert_eq!(moved.status(), StatusCode::OK);
        assert_ne!(moved.headers()[header::ETAG], tag.as_str());
        assert_eq!(moved.body().as_ref(), br#"{"created":2}"#);
    }
}
