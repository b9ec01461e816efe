//! Who may act for a tenant, and what they may do. In the deployed stack API
//! Gateway's JWT authorizer has validated the token; the handler then insists
//! that the token's tenant claim names the tenant in `X-TWC-Tenant`, and reads the
//! OAuth scopes the token grants. Anything missing fails closed.
//!
//! The tenant claim must be one the tenant cannot edit (an `org_id` your identity
//! provider sets, never a Cognito `custom:` attribute a user may write).

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::config::Environment;
use crate::error::ApiError;
use crate::tenant::{TENANT_HEADER, TenantId};

/// The scopes' defaults (template parameters `WriteScope`, `AdminScope`).
pub const DEFAULT_WRITE_SCOPE: &str = "event-collector/write";
pub const DEFAULT_ADMIN_SCOPE: &str = "event-collector/admin";

#[derive(Debug, Clone)]
pub enum Authentication {
    /// Deployed functions: JWT authorizer claims are required, the named claim
    /// must equal the tenant header, and changes need the named scopes.
    JwtClaims { tenant_claim: String, scopes: ScopeNames },
    /// Only the local runner builds this, when started without authentication:
    /// every caller may do everything.
    DisabledForLocalRun,
}

/// The OAuth scopes that grant changes, and sending PII out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeNames {
    /// Creating or changing subscriptions, event definitions and jobs.
    pub write: String,
    /// Subscriptions with `includePsi: true`.
    pub admin: String,
}

/// What the caller's token grants beyond reading its tenant's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants {
    pub write: bool,
    pub admin: bool,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub grants: Grants,
    /// The scopes' names, for what a refusal says.
    pub scopes: Option<ScopeNames>,
}

impl Caller {
    /// A 403 unless the token grants changes.
    pub fn may_write(&self) -> Result<(), ApiError> {
        self.require(
            self.grants.write,
            |names| &names.write,
            "this route changes configuration",
        )
    }

    /// A 403 unless the token may send PII to a subscriber.
    pub fn may_include_psi(&self) -> Result<(), ApiError> {
        self.require(self.grants.admin, |names| &names.admin, "includePsi: true")
    }

    fn require(&self, granted: bool, name: impl Fn(&ScopeNames) -> &String, what: &str) -> Result<(), ApiError> {
        match (&self.scopes, granted) {
            (Some(names), false) => Err(ApiError::Forbidden(format!(
                "{what}: it needs the OAuth scope {:?}, which the token does not grant",
                name(names)
            ))),
            _ => Ok(()),
        }
    }
}

impl Authentication {
    /// The variables naming the JWT claim that carries the tenant, and the scopes.
    pub const VARIABLE: &str = "TENANT_CLAIM";
    pub const WRITE_SCOPE: &str = "WRITE_SCOPE";
    pub const ADMIN_SCOPE: &str = "ADMIN_SCOPE";

    /// What deployed functions use: claims required, claim name from `TENANT_CLAIM`
    /// (default `tenant`), scopes from `WRITE_SCOPE` and `ADMIN_SCOPE`. There is no
    /// environment switch that turns this off.
    pub fn read(env: &Environment) -> Self {
        Self::JwtClaims {
            tenant_claim: env.string_or(Self::VARIABLE, "tenant"),
            scopes: ScopeNames {
                write: env.string_or(Self::WRITE_SCOPE, DEFAULT_WRITE_SCOPE),
                admin: env.string_or(Self::ADMIN_SCOPE, DEFAULT_ADMIN_SCOPE),
            },
        }
    }

    /// The caller: the tenant it may act for, and what its token grants.
    pub fn caller(&self, req: &Request) -> Result<Caller, ApiError> {
        let header = req
            .headers()
            .get(TENANT_HEADER)
            .ok_or_else(|| ApiError::invalid_field(TENANT_HEADER, "the tenant header is required"));
        let (tenant_claim, names) = match self {
            Self::DisabledForLocalRun => {
                let tenant = TenantId::parse(header?.to_str().unwrap_or("\u{fffd}"))?;
                let grants = Grants {
                    write: true,
                    admin: true,
                };
                return Ok(Caller {
                    tenant,
                    grants,
                    scopes: None,
                });
            }
            Self::JwtClaims { tenant_claim, scopes } => (tenant_claim, scopes),
        };
        let (claims, granted) = jwt(req)?;
        let tenant = TenantId::parse(header?.to_str().unwrap_or("\u{fffd}"))?;
        match claims.get(tenant_claim.as_str()) {
            Some(claimed) if claimed == tenant.as_str() => {}
            Some(_) => {
                return Err(ApiError::Forbidden(format!(
                    "the token is not valid for tenant {tenant}"
                )));
            }
            None => {
                return Err(ApiError::Forbidden(format!(
                    "the token carries no {tenant_claim:?} claim"
                )));
            }
        }
        let grants = Grants {
            write: granted.contains(&names.write.as_str()),
            admin: granted.contains(&names.admin.as_str()),
        };
        Ok(Caller {
            tenant,
            grants,
            scopes: Some(names.clone()),
        })
    }
}

/// The authorizer's claims and the scopes the token grants: API Gateway's
/// `scopes`, else the token's `scope` (space-separated) or `scp` claim.
fn jwt(req: &Request) -> Result<(&HashMap<String, String>, Vec<&str>), ApiError> {
    let jwt = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref()),
        _ => None,
    };
    let Some(jwt) = jwt.filter(|jwt| !jwt.claims.is_empty()) else {
        return Err(ApiError::Unauthorized(
            "no verified bearer token reached the API".into(),
        ));
    };
    let mut scopes: Vec<&str> = jwt.scopes.iter().flatten().map(String::as_str).collect();
    for claim in ["scope", "scp"] {
        if let Some(value) = jwt.claims.get(claim) {
            // A list claim reaches Lambda flattened, as "[a b]".
            let value = value.trim_matches(|c| c == '[' || c == ']');
            // Space-separated (RFC 6749 §3.3: a scope may itself contain a comma).
            scopes.extend(value.split(' ').filter(|s| !s.is_empty()));
        }
    }
    Ok((&jwt.claims, scopes))
}

#[cfg(test)]
mod tests {
    use lambda_http::request::from_str;

    use super::*;

    fn request(claims: serde_json::Value, scopes: serde_json::Value) -> Request {
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "POST /x", "rawPath": "/x", "rawQueryString": "",
            "headers": {"x-twc-tenant": "acme"},
            "requestContext": {"http": {"method": "POST", "path": "/x", "protocol": "HTTP/1.1", "sourceIp": "1.1.1.1"},
                "requestId": "r", "stage": "$default", "timeEpoch": 0,
                "authorizer": {"jwt": {"claims": claims, "scopes": scopes}}},
            "isBase64Encoded": false
        });
        from_str(&event.to_string()).expect("request")
    }

    fn grants(req: &Request) -> Grants {
        let auth = Authentication::read(&Environment::new(|_| None));
        auth.caller(req).expect("caller").grants
    }

    #[test]
    fn scopes_come_from_api_gateway_or_the_tokens_scope_claims() {
        let all = Grants {
            write: true,
            admin: true,
        };
        let from_gateway = request(
            serde_json::json!({"tenant": "acme"}),
            serde_json::json!([DEFAULT_WRITE_SCOPE, DEFAULT_ADMIN_SCOPE]),
        );
        assert_eq!(grants(&from_gateway), all);
        let from_claim = request(
            serde_json::json!({"tenant": "acme", "scope": format!("openid {DEFAULT_WRITE_SCOPE}")}),
            serde_json::Value::Null,
        );
        assert_eq!(
            grants(&from_claim),
            Grants {
                write: true,
                admin: false
            }
        );
        let from_list = request(
            serde_json::json!({"tenant": "acme", "scp": format!("[{DEFAULT_ADMIN_SCOPE} {DEFAULT_WRITE_SCOPE}]")}),
            serde_json::Value::Null,
        );
        assert_eq!(grants(&from_list), all);
        let none = request(serde_json::json!({"tenant": "acme"}), serde_json::Value::Null);
        assert_eq!(
            grants(&none),
            Grants {
                write: false,
                admin: false
            }
        );
    }
}
