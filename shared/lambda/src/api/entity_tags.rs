//! Entity-tag lists (RFC 9110 §8.8.3, §13.1.1–2): `*`, or comma-separated entity tags, each
//! `"opaque"` or weak `W/"opaque"`. `If-Match` and `If-None-Match` are read with one parser.
//!
//! A task's `ETag` is its version, quoted (`"3"`). Writes use the strong comparison, so a weak
//! tag (`W/"3"`) never matches, and neither does a tag that is no version as this API spells
//! it (`"03"`, `"abc"`); both are valid syntax, which fails the precondition (412) once the
//! task is found, never before (404 first). Only a value that is no entity-tag list at all is
//! refused (400), with the request's other fields: a precondition the server cannot read is
//! never ignored.

use taskpulse_app::IfMatch;

/// What an `If-Match` value that is not `*` nor an entity-tag list is told.
pub(super) const IF_MATCH_EXPECTED: &str =
    "must be * or a comma-separated list of entity tags such as \"3\"";

/// One entity tag of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EntityTag<'a> {
    pub(super) weak: bool,
    /// Between the quotes.
    pub(super) opaque: &'a str,
}

/// The tags of a list, or `None` if `raw` is not one (at least one tag; empty elements are
/// allowed, RFC 9110 §5.6.1.2). `*` is no list: callers look for it first.
pub(super) fn entity_tags(raw: &str) -> Option<Vec<EntityTag<'_>>> {
    let mut tags = vec![];
    let mut rest = raw.trim_matches(is_whitespace);
    loop {
        rest = rest.trim_start_matches(|c| c == ',' || is_whitespace(c));
        if rest.is_empty() {
            break;
        }
        let (weak, after) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let quoted = after.strip_prefix('"')?;
        let end = quoted.find('"')?;
        let opaque = &quoted[..end];
        if !opaque.bytes().all(is_etag_char) {
            return None;
        }
        tags.push(EntityTag { weak, opaque });
        rest = quoted[end + 1..].trim_start_matches(is_whitespace);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
    (!tags.is_empty()).then_some(tags)
}

/// Parses an `If-Match` value; `None` if it is not one.
pub(super) fn if_match(raw: &str) -> Option<IfMatch> {
    if raw.trim_matches(is_whitespace) == "*" {
        return Some(IfMatch::Any);
    }
    let versions = entity_tags(raw)?
        .into_iter()
        .filter(|tag| !tag.weak)
        .filter_map(|tag| version_of(tag.opaque))
        .collect();
    Some(IfMatch::Versions(versions))
}

/// The version a tag names when it is spelled as the API writes versions (no sign, no
/// leading zero): under the strong comparison `"03"` is not `"3"`.
fn version_of(tag: &str) -> Option<u64> {
    let version: u64 = tag.parse().ok()?;
    (version.to_string() == tag).then_some(version)
}

/// `etagc` without `obs-text`: header values here are visible ASCII.
fn is_etag_char(byte: u8) -> bool {
    byte == 0x21 || (0x23..=0x7e).contains(&byte)
}

fn is_whitespace(c: char) -> bool {
    c == ' ' || c == '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keep_their_weakness_and_may_hold_commas() {
        assert_eq!(
            entity_tags("W/\"a,b\", \"c\""),
            Some(vec![
                EntityTag {
                    weak: true,
                    opaque: "a,b"
                },
                EntityTag {
                    weak: false,
                    opaque: "c"
                },
            ])
        );
        assert_eq!(entity_tags(" , "), None);
    }

    fn versions(list: &[u64]) -> Option<IfMatch> {
        Some(IfMatch::Versions(list.to_vec()))
    }

    #[test]
    fn star_and_lists_of_strong_tags() {
        assert_eq!(if_match("*"), Some(IfMatch::Any));
        assert_eq!(if_match(" \"3\" "), versions(&[3]));
        assert_eq!(if_match("\"1\", \"3\",\"7\""), versions(&[1, 3, 7]));
        assert_eq!(if_match("\"1\",,\t,\"2\","), versions(&[1, 2]));
    }

    #[test]
    fn weak_and_foreign_tags_are_valid_but_name_no_version() {
        assert_eq!(if_match("W/\"3\""), versions(&[]));
        assert_eq!(if_match("W/\"3\", \"4\""), versions(&[4]));
        for tag in ["\"abc\"", "\"03\"", "\"-1\"", "\"+3\"", "\"\"", "\"a,b\""] {
            assert_eq!(if_match(tag), versions(&[]), "{tag}");
        }
    }

    #[test]
    fn what_is_no_entity_tag_list_is_refused() {
        for raw in [
            "",
            "3",
            "\"3",
            "3\"",
            "\"3\" \"4\"",
            "w/\"3\"",
            "*, \"3\"",
            "\"a b\"",
            "\"a\"b",
            ",",
            "\"ä\"",
        ] {
            assert_eq!(if_match(raw), None, "{raw:?}");
        }
    }

    mod through_the_api {
        use http::StatusCode;
        use serde_json::json;

        use crate::api::test_support::{api, create, fields, post, send};

        #[tokio::test]
        async fn writes_compare_strongly_and_accept_lists_and_star() {
            let api = api();
            let id = create(&api, "u").await;
            let path = format!("/tasks/{id}/priority");
            let change = |if_match: &str, priority: &str| {
                post(&path, "u", json!({ "priority": priority })).header("if-match", if_match)
            };
            for (if_match, status) in [
                ("W/\"1\"", StatusCode::PRECONDITION_FAILED),
                ("\"01\"", StatusCode::PRECONDITION_FAILED),
                ("\"abc\"", StatusCode::PRECONDITION_FAILED),
                ("\"7\", \"1\"", StatusCode::OK),
                ("\"2\"", StatusCode::OK),
                ("*", StatusCode::OK),
            ] {
                let priority = if status == StatusCode::OK {
                    "low"
                } else {
                    "high"
                };
                let priority = if if_match == "\"2\"" {
                    "critical"
                } else {
                    priority
                };
                let r = send(&api, change(if_match, priority)).await;
                assert_eq!(r.status, status, "{if_match}: {}", r.body);
            }
            for malformed in ["1", "\"1", "W/1", "\"1\" \"2\""] {
                let r = send(&api, change(malformed, "low")).await;
                assert_eq!(r.status, StatusCode::BAD_REQUEST, "{malformed}");
                assert_eq!(fields(&r.body), ["If-Match"]);
            }
        }

        #[tokio::test]
        async fn a_task_the_caller_cannot_see_is_404_whatever_the_precondition() {
            let api = api();
            let theirs = create(&api, "owner").await;
            let unknown = "00000000-0000-7000-8000-000000000000";
            for id in [theirs.as_str(), unknown] {
                for if_match in ["\"1\"", "\"abc\"", "W/\"1\"", "*"] {
                    let r = send(
                        &api,
                        post(
                            &format!("/tasks/{id}/status"),
                            "u",
                            json!({"status": "on_hold"}),
                        )
                        .header("if-match", if_match),
                    )
                    .await;
                    assert_eq!(r.status, StatusCode::NOT_FOUND, "{id} {if_match}");
                }
            }
        }
    }
}
