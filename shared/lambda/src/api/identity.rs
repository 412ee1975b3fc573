//! Who is calling: the JWT `sub` claim and the token's scopes, as API Gateway's JWT authorizer
//! put them in the request context. The caller is never read from the body.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use taskpulse_domain::UserId;

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

/// The caller from the JWT authorizer's claims in the request context; 401 without one.
pub fn caller(request: &Request) -> Result<Caller, Problem> {
    let jwt = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref()),
        _ => None,
    };
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

    #[test]
    fn scopes_come_from_the_scopes_list_and_the_scope_claim() {
        let mut event = GatewayRequest::new("GET", "/analytics/global").caller("ops");
        event.scopes = vec!["tasks:write".into()];
        if let Some(claims) = event.claims.as_mut() {
            claims.insert("scope".into(), "openid  analytics:read".into());
        }
        let caller = caller(&event.to_request()).unwrap();
        assert_eq!(caller.user_id.as_str(), "ops");
        assert_eq!(caller.scopes, ["tasks:write", "openid", "analytics:read"]);
        assert!(caller.require_scope("analytics:read", "x").is_ok());
        let refused = caller.require_scope("admin", "everything").unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.detail, "everything need the 'admin' scope");
    }
}
