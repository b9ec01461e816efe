//! Who may act for a tenant, and what they may do. In the deployed stack API
//! Gateway's JWT authorizer has validated the token; the handler then insists
//! that the token's tenant claim names the tenant in `X-TWC-Tenant`, and reads the
//! OAuth scopes the token grants. Anything missing fails closed.
//!
//! The tenant claim must be one the tenant cannot edit (an `org_id` your identity
//! provider sets, never a Cognito `custom:` attribute a user may write).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use super::rate::{RateSettings, TenantRate};
pub use super::scopes::Scope;
use crate::config::{ConfigError, Environment};
use crate::error::ApiError;
use crate::tenant::{TENANT_HEADER, TenantId};

/// The scopes' defaults (template parameters `WriteScope`, `AdminScope`).
pub const DEFAULT_WRITE_SCOPE: &str = Scope::Write.default_name();
pub const DEFAULT_ADMIN_SCOPE: &str = Scope::Admin.default_name();

#[derive(Debug, Clone)]
pub enum Authentication {
    /// Deployed functions: JWT authorizer claims are required, the named claim
    /// must equal the tenant header, and what a call changes or reveals needs
    /// the named scopes.
    JwtClaims {
        tenant_claim: String,
        scopes: ScopeNames,
        rate: Rate,
    },
    /// Only the local runner builds this, when started without authentication:
    /// every caller may do everything.
    DisabledForLocalRun,
}

/// The per-tenant request rate (rate.rs): off, as configured (until the
/// function connects it to its SDK configuration), or counting.
#[derive(Debug, Clone)]
pub enum Rate {
    Off,
    Configured(RateSettings),
    Counting(Arc<TenantRate>),
}

/// The OAuth scope names this deployment uses, each from its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeNames(BTreeMap<Scope, String>);

impl ScopeNames {
    /// Each scope's variable, else its default.
    pub fn read(env: &Environment) -> Self {
        Self(
            Scope::ALL
                .into_iter()
                .map(|scope| (scope, env.string_or(scope.variable(), scope.default_name())))
                .collect(),
        )
    }

    pub fn name(&self, scope: Scope) -> &str {
        self.0.get(&scope).map_or(scope.default_name(), String::as_str)
    }
}

/// What the caller's token grants beyond reading its tenant's data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(BTreeSet<Scope>);

impl Grants {
    pub fn all() -> Self {
        Self(Scope::ALL.into_iter().collect())
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }
}

impl FromIterator<Scope> for Grants {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        Self(scopes.into_iter().collect())
    }
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
    /// A 403 naming the scope unless the token grants it.
    pub fn may(&self, scope: Scope) -> Result<(), ApiError> {
        self.may_for(scope, scope.guards())
    }

    /// As `may`, the refusal saying what the call was doing in `doing` (the
    /// field that needs the scope).
    pub fn may_for(&self, scope: Scope, doing: impl fmt::Display) -> Result<(), ApiError> {
        match &self.scopes {
            Some(names) if !self.grants.has(scope) => Err(ApiError::Forbidden(format!(
                "{doing}: it needs the OAuth scope {:?}, which the token does not grant",
                names.name(scope)
            ))),
            _ => Ok(()),
        }
    }

    /// Whether answers may show personal data (`isPsiData` fields) in the clear.
    pub fn sees_personal_data(&self) -> bool {
        self.may(Scope::PersonalData).is_ok()
    }
}

impl Authentication {
    /// The variable naming the JWT claim that carries the tenant.
    pub const VARIABLE: &str = "TENANT_CLAIM";

    /// What deployed functions use: claims required, claim name from `TENANT_CLAIM`
    /// (default `tenant`), each scope's name from its variable (`WRITE_SCOPE`, …).
    /// There is no environment switch that turns this off.
    pub fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self::JwtClaims {
            tenant_claim: env.string_or(Self::VARIABLE, "tenant"),
            scopes: ScopeNames::read(env),
            rate: RateSettings::read(env)?.map_or(Rate::Off, Rate::Configured),
        })
    }

    /// The same authentication with its request rate counting through `sdk`'s
    /// DynamoDB: every API function's constructor calls this once.
    #[must_use]
    pub fn connect(self, sdk: &SdkConfig) -> Self {
        match self {
            Self::JwtClaims {
                tenant_claim,
                scopes,
                rate: Rate::Configured(settings),
            } => Self::JwtClaims {
                tenant_claim,
                scopes,
                rate: Rate::Counting(TenantRate::new(settings, sdk)),
            },
            other => other,
        }
    }

    /// Counts `tenant`'s request against its rate; a 429 past it.
    pub async fn admit(&self, tenant: &TenantId) -> Result<(), ApiError> {
        match self {
            Self::JwtClaims {
                rate: Rate::Counting(rate),
                ..
            } => rate.admit(tenant).await,
            Self::JwtClaims {
                rate: Rate::Configured(_),
                ..
            } => Err(ApiError::Internal(
                "the request rate was configured but never connected".into(),
            )),
            _ => Ok(()),
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
                return Ok(Caller {
                    tenant,
                    grants: Grants::all(),
                    scopes: None,
                });
            }
            Self::JwtClaims {
                tenant_claim, scopes, ..
            } => (tenant_claim, scopes),
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
        let grants = Scope::ALL
            .into_iter()
            .filter(|scope| granted.contains(&names.name(*scope)))
            .collect();
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

    fn caller(req: &Request) -> Caller {
        let no_rate = |name: &str| (name == crate::http::rate::RATE_VARIABLE).then(|| "0".to_owned());
        let auth = Authentication::read(&Environment::new(no_rate)).expect("settings");
        auth.caller(req).expect("caller")
    }

    fn grants(scopes: &[Scope]) -> Grants {
        scopes.iter().copied().collect()
    }

    #[test]
    fn scopes_come_from_api_gateway_or_the_tokens_scope_claims() {
        let every = Scope::ALL.map(Scope::default_name);
        let from_gateway = request(serde_json::json!({"tenant": "acme"}), serde_json::json!(every));
        assert_eq!(caller(&from_gateway).grants, Grants::all());
        let from_claim = request(
            serde_json::json!({"tenant": "acme", "scope": format!("openid {DEFAULT_WRITE_SCOPE}")}),
            serde_json::Value::Null,
        );
        assert_eq!(caller(&from_claim).grants, grants(&[Scope::Write]));
        let from_list = request(
            serde_json::json!({"tenant": "acme", "scp": format!("[{DEFAULT_ADMIN_SCOPE} event-collector/points]")}),
            serde_json::Value::Null,
        );
        assert_eq!(caller(&from_list).grants, grants(&[Scope::Admin, Scope::Points]));
        let none = request(serde_json::json!({"tenant": "acme"}), serde_json::Value::Null);
        assert_eq!(caller(&none).grants, Grants::default());
    }

    #[test]
    fn a_missing_scope_is_a_403_naming_it_as_this_deployment_spells_it() {
        // GIVEN a deployment that renames the points scope, and a token with the events scope only
        let env = Environment::new(|name| match name {
            "POINTS_SCOPE" => Some("shop/loyalty".to_owned()),
            crate::http::rate::RATE_VARIABLE => Some("0".to_owned()),
            _ => None,
        });
        let req = request(
            serde_json::json!({"tenant": "acme", "scope": "event-collector/events"}),
            serde_json::Value::Null,
        );
        let caller = Authentication::read(&env)
            .expect("settings")
            .caller(&req)
            .expect("caller");
        // THEN it may store events, but not move points nor read personal data
        assert!(caller.may(Scope::Events).is_ok());
        let refused = caller.may(Scope::Points).expect_err("no points scope");
        assert_eq!(refused.status(), 403);
        assert!(refused.to_string().contains("\"shop/loyalty\""), "{refused}");
        assert!(!caller.sees_personal_data());
    }

    #[test]
    fn without_authentication_everything_is_granted_as_before() {
        let req = request(serde_json::json!({}), serde_json::Value::Null);
        let caller = Authentication::DisabledForLocalRun.caller(&req).expect("caller");
        assert!(Scope::ALL.into_iter().all(|scope| caller.may(scope).is_ok()));
        assert!(caller.sees_personal_data());
    }
}
