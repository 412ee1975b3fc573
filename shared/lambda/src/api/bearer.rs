//! `Authorization: Bearer <JWT>` where no JWT authorizer runs: the token's `sub` and scopes
//! are taken as API Gateway's JWT authorizer would pass them on, but without checking a
//! signature, issuer or expiry, for there is no identity provider there. So a client written
//! for the deployed API (the dashboard with a token, an API fuzzer, a script) runs unchanged
//! against the local stack (`taskpulse serve`) and under `sam local start-api`, which skips
//! JWT authorizers. Only those read tokens this way (see `CallerSource`); the deployed API
//! trusts the claims of verified JWTs alone.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The caller a bearer token names: its `sub`, and its scopes (`scope` as OAuth writes it, or
/// `scp`). `None` for anything that is not a JWT with a string `sub`.
pub fn unverified_claims(authorization: &str) -> Option<(String, Vec<String>)> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut segments = token.trim().split('.');
    let (_header, payload, _signature) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let sub = payload.get("sub")?.as_str()?.trim();
    if sub.is_empty() {
        return None;
    }
    let scopes = match payload.get("scope").or_else(|| payload.get("scp")) {
        Some(Value::String(scopes)) => scopes.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(scopes)) => scopes
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec![],
    };
    Some((sub.to_owned(), scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        format!(
            "Bearer eyJhbGciOiJub25lIn0.{}.",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn a_jwt_names_its_subject_and_scopes() {
        let named = unverified_claims(&token(r#"{"sub":"ana","scope":"analytics:read tasks"}"#));
        assert_eq!(
            named,
            Some(("ana".into(), vec!["analytics:read".into(), "tasks".into()]))
        );
        let listed = unverified_claims(&token(r#"{"sub":"ben","scp":["analytics:read"]}"#));
        assert_eq!(listed, Some(("ben".into(), vec!["analytics:read".into()])));
        assert_eq!(
            unverified_claims(&token(r#"{"sub":"cy"}"#).replace("Bearer", "bearer")),
            Some(("cy".into(), vec![]))
        );
    }

    #[test]
    fn anything_else_names_no_one() {
        for authorization in [
            "Bearer".to_owned(),
            "Bearer x".into(),
            "Basic YTpi".into(),
            "Bearer a.b.c".into(),
            token(r#"{"sub":""}"#),
            token(r#"{"sub":7}"#),
            token("not json"),
            format!("{}.extra", token(r#"{"sub":"ana"}"#)),
        ] {
            assert_eq!(unverified_claims(&authorization), None, "{authorization}");
        }
    }
}
