//! Who may act for a tenant. In the deployed stack API Gateway's JWT authorizer
//! has validated the token; the handler then insists that the token's tenant claim
//! names the tenant in `X-TWC-Tenant`. Anything missing fails closed.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::error::ApiError;
use crate::tenant::{TENANT_HEADER, TenantId};

#[derive(Debug, Clone)]
pub enum Authentication {
    /// Deployed functions: JWT authorizer claims are required and the named claim
    /// must equal the tenant header.
    JwtClaims { tenant_claim: String },
    /// Only the local runner builds this, when started without authentication.
    DisabledForLocalRun,
}

impl Authentication {
    /// The tenant the caller may act for.
    pub fn tenant(&self, req: &Request) -> Result<TenantId, ApiError> {
        let claims = match self {
            Self::JwtClaims { tenant_claim } => Some((jwt_claims(req)?, tenant_claim)),
            Self::DisabledForLocalRun => None,
        };
        let header = req
            .headers()
            .get(TENANT_HEADER)
            .ok_or_else(|| ApiError::invalid_field(TENANT_HEADER, "the tenant header is required"))?;
        let tenant = TenantId::parse(header.to_str().unwrap_or("\u{fffd}"))?;
        if let Some((claims, tenant_claim)) = claims {
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
        }
        Ok(tenant)
    }
}

fn jwt_claims(req: &Request) -> Result<&std::collections::HashMap<String, String>, ApiError> {
    let claims = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    };
    claims
        .filter(|claims| !claims.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("no verified bearer token reached the API".into()))
}

impl Authentication {
    /// The variable naming the JWT claim that carries the tenant.
    pub const VARIABLE: &str = "TENANT_CLAIM";

    /// What deployed functions use: claims required, claim name from `TENANT_CLAIM`
    /// (default `tenant`). There is no environment switch that turns this off.
    pub fn read(env: &crate::config::Environment) -> Self {
        Self::JwtClaims {
            tenant_claim: env.string_or(Self::VARIABLE, "tenant"),
        }
    }
}
