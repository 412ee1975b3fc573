//! The opaque cursor of `GET /tasks`: where the next page starts.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use taskpulse_app::ListCursor;

/// The cursor is opaque to clients: the position after the last task of the page.
pub(super) fn encode_cursor(cursor: &ListCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        cursor
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        cursor.task_id
    ))
}

pub(super) fn decode_cursor(raw: &str) -> Option<ListCursor> {
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (at, id) = decoded.split_once('|')?;
    Some(ListCursor {
        created_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        task_id: id.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_decodes_to_the_position_it_encoded_and_nothing_else_decodes() {
        let cursor = ListCursor {
            created_at: "2026-11-30T08:15:42.123Z".parse().unwrap(),
            task_id: "0193a1c2-0000-7000-8000-000000000002".parse().unwrap(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&cursor)), Some(cursor));
        for raw in [
            "",
            "zzz",
            "not|base64",
            &URL_SAFE_NO_PAD.encode("2026-11-30|x"),
        ] {
            assert_eq!(decode_cursor(raw), None, "{raw}");
        }
    }
}
