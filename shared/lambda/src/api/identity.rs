//! Who is calling: the JWT `sub` claim and the token's scopes, as API Gateway's JWT authorizer
//! put them in the request context. The caller is never read from the body.
//!
//! `sam local start-api` runs no JWT authorizer and puts no claims in the request context (SAM
//! CLI emulates Lambda authorizers only), so every request would be a 401 there. Under it, and
//! only when the function was told so at start-up (`CallerSource::SamLocalBearerToken`), a
//! request without authorizer claims is identified by its bearer token, unverified, as the
//! authorizer would have identified it.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use taskpulse_domain::UserId;

use super::bearer;
use super::problem::Problem;

/// The authenticated caller, as the JWT authorizer described them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    /// OAuth scopes of the token (from `scopes`, or the space-separated `scope` claim).
    pub scopes: Vec<String>,
}

impl Caller {
    /// 403 unless the token carries `scope`; `what` names what the scope guards.
    pub(super) fn require_scope(&self, scope: &str, what: &str) -> Result<(), Problem> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(Problem::missing_scope(scope, what))
        }
    }
}

/// Where a request's caller comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CallerSource {
    /// The claims API Gateway's JWT authorizer verified and put in the request context: the
    /// only source on AWS.
    #[default]
    JwtAuthorizer,
    /// Those claims, or else the claims of the request's `Authorization: Bearer` token, read
    /// without verification: for `sam local start-api`, which skips JWT authorizers. The API
    /// function chooses it only when SAM CLI runs it (`AWS_SAM_LOCAL=true`, a variable SAM CLI
    /// sets in its containers and Lambda never sets).
    SamLocalBearerToken,
}

/// The caller from the JWT authorizer's claims in the request context (or, for
/// [`CallerSource::SamLocalBearerToken`] and a request without them, from its bearer token);
/// 401 without one.
pub fn caller(request: &Request, source: CallerSource) -> Result<Caller, Problem> {
    let authorizer = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.authorizer.as_ref(),
        _ => None,
    };
    if authorizer.is_none() && source == CallerSource::SamLocalBearerToken {
        return unverified_bearer_caller(request);
    }
    let jwt = authorizer.and_then(|authorizer| authorizer.jwt.as_ref());
    let sub = jwt.and_then(|jwt| jwt.claims.get("sub")).ok_or_else(|| {
        Problem::unauthenticated("no authenticated caller: the request carries no JWT 'sub' claim")
    })?;
    let user_id = UserId::parse(sub).map_err(|e| {
        Problem::unauthenticated(format!("the JWT 'sub' claim is not a usable user id: {e}"))
    })?;
    let mut scopes: Vec<String> = jwt.and_then(|jwt| jwt.scopes.clone()).unwrap_or_default();
    if let Some(scope) = jwt.and_then(|jwt| jwt.claims.get("scope")) {
        scopes.extend(scope.split_whitespace().map(str::to_owned));
    }
    Ok(Caller { user_id, scopes })
}

fn unverified_bearer_caller(request: &Request) -> Result<Caller, Problem> {
    let (sub, scopes) = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer::unverified_claims)
        .ok_or_else(|| {
            Problem::unauthenticated(
                "no authenticated caller: sam local runs no JWT authorizer; send \
                 'Authorization: Bearer <JWT>' whose 'sub' claim names the caller",
            )
        })?;
    let user_id = UserId::parse(&sub).map_err(|e| {
        Problem::unauthenticated(format!("the JWT 'sub' claim is not a usable user id: {e}"))
    })?;
    Ok(Caller { user_id, scopes })
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;
    use crate::api::test_support::{VALID, api, create, request, send};
    use crate::gateway_request::GatewayRequest;

    #[tokio::test]
    async fn no_identity_is_401_on_every_route() {
        let api = api();
        let id = create(&api, "u").await;
        for (method, path) in [
            ("POST", "/tasks".to_owned()),
            ("GET", "/tasks".to_owned()),
            ("GET", format!("/tasks/{id}")),
            ("POST", format!("/tasks/{id}/status")),
            ("POST", format!("/tasks/{id}/priority")),
            ("POST", format!("/tasks/{id}/planned-date")),
        ] {
            let r = send(
                &api,
                request(method, &path, None, "application/json", VALID),
            )
            .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(r.body["title"], "Unauthorized");
        }
        assert_eq!(api.commands().store().len(), 1);
    }

    fn with_bearer(event: GatewayRequest, payload: &str) -> lambda_http::Request {
        use base64::Engine;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload);
        event
            .header(
                "authorization",
                &format!("Bearer eyJhbGciOiJub25lIn0.{token}."),
            )
            .to_request()
    }

    #[test]
    fn a_bearer_token_names_the_caller_only_under_sam_local_and_only_without_claims() {
        let payload = r#"{"sub":"ana","scope":"analytics:read"}"#;
        let anonymous = GatewayRequest::new("GET", "/tasks");

        // On AWS the token is never read: the authorizer's claims are the only source.
        let refused = caller(
            &with_bearer(anonymous.clone(), payload),
            CallerSource::JwtAuthorizer,
        )
        .unwrap_err();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

        let sam = caller(
            &with_bearer(anonymous.clone(), payload),
            CallerSource::SamLocalBearerToken,
        )
        .unwrap();
        assert_eq!(sam.user_id.as_str(), "ana");
        assert_eq!(sam.scopes, ["analytics:read"]);

        // Claims an authorizer did put there win over the header.
        let claimed = caller(
            &with_bearer(GatewayRequest::new("GET", "/tasks").caller("ben"), payload),
            CallerSource::SamLocalBearerToken,
        )
        .unwrap();
        assert_eq!(claimed.user_id.as_str(), "ben");

        let no_token =
            caller(&anonymous.to_request(), CallerSource::SamLocalBearerToken).unwrap_err();
        assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
        assert!(
            no_token.detail.contains("Authorization: Bearer"),
            "{}",
            no_token.detail
        );
    }

    #[test]
    fn scopes_come_from_the_scopes_list_and_the_scope_claim() {
        let mut event = GatewayRequest::new("GET", "/analytics/global").caller("ops");
        event.scopes = vec!["tasks:write".into()];
        if let Some(claims) = event.claims.as_mut() {
            claims.insert("scope".into(), "openid  analytics:read".into());
        }
        let caller = caller(&event.to_request(), CallerSource::JwtAuthorizer).unwrap();
        assert_eq!(caller.user_id.as_str(), "ops");
        assert_eq!(caller.scopes, ["tasks:write", "openid", "analytics:read"]);
        assert!(caller.require_scope("analytics:read", "x").is_ok());
        let refused = caller.require_scope("admin", "everything").unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.detail, "everything need the 'admin' scope");
    }
}
