//! A request rate per tenant for the whole API (`TENANT_API_RATE` requests a
//! second; 0 turns it off), held across every container of every API function
//! by one counter per tenant and second in the rates table (`pk =
//! T#<tenant>#<second>`, `used`, gone a few minutes later). A request over it is
//! a 429 with `Retry-After: 1`.
//!
//! Counting every request there would cost each one a write. Instead a container
//! serves a tenant's first few requests of a second on its own (its own share: a
//! twentieth of the rate, at least one) and past those leases more from the
//! counter in growing chunks (1, 2, 4, … up to a tenth of the rate), its first
//! lease also counting the ones it served on its own. A quiet tenant costs no
//! write; a busy one about one small write per chunk. The counter never grants
//! past the rate, so a tenant is served at most the rate plus one own share for
//! each container that served it that second; and, since a lease is counted
//! whole, a tenant spread over many containers may be refused a little below
//! its rate (each container may end the second holding up to a tenth of the
//! rate leased and unused). A counter that cannot be reached lets the container's
//! requests through for the rest of that second (and says so in the log): the
//! limit keeps tenants fair, and is not worth failing the API for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_config::SdkConfig;

use crate::config::{ConfigError, Environment};
use crate::error::ApiError;
use crate::storage::SecondCounter;
use crate::storage::schema::RATES;
use crate::tenant::TenantId;

/// Requests a second one tenant may make, unless the operator says otherwise
/// (`TenantApiRequestsPerSecond`).
pub const DEFAULT_RATE: u32 = 100;
pub const RATE_VARIABLE: &str = "TENANT_API_RATE";

/// The rate as configured: requests a second and the counters' table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateSettings {
    pub per_second: u32,
    pub table: String,
}

impl RateSettings {
    /// `TENANT_API_RATE` (0 to 100,000, default 100) and the rates table; `None`
    /// when the rate is 0.
    pub fn read(env: &Environment) -> Result<Option<Self>, ConfigError> {
        let per_second = env.count(RATE_VARIABLE, DEFAULT_RATE, 0..=100_000)?;
        if per_second == 0 {
            return Ok(None);
        }
        Ok(Some(Self {
            per_second,
            table: env.required(RATES.env_var)?,
        }))
    }

    /// Requests a container serves a tenant in a second before it asks the counter.
    fn own_share(&self) -> u32 {
        (self.per_second / 20).max(1)
    }

    /// The most a container leases at once.
    fn largest_lease(&self) -> u32 {
        (self.per_second / 10).max(1)
    }
}

/// The rate of one API function: its settings, the counters' client, and what
/// this container holds for each tenant in the current second.
#[derive(Debug)]
pub struct TenantRate {
    settings: RateSettings,
    counter: SecondCounter,
    seconds: Mutex<HashMap<TenantId, Second>>,
}

/// One tenant's current second in this container.
#[derive(Debug, Default, Clone, Copy)]
struct Second {
    at: i64,
    /// Requests served without the counter (before the first lease).
    own: u32,
    /// Whether this container has leased from the counter this second.
    leasing: bool,
    /// Leased and not yet used.
    left: u32,
    /// The next lease's size.
    next_lease: u32,
    /// The counter refused: the rest of the second is refused without asking.
    spent: bool,
    /// The counter could not be reached: the rest of the second is let through.
    unreachable: bool,
}

/// Tenants a container remembers before it forgets those not seen this second.
const REMEMBERED_TENANTS: usize = 1024;

/// What a container decides for a request before (or without) the counter.
enum Decision {
    Admit,
    Refuse,
    /// Ask the counter for `lease` more, counting `own` served before.
    Lease {
        lease: u32,
        own: u32,
    },
}

impl TenantRate {
    pub fn new(settings: RateSettings, sdk: &SdkConfig) -> Arc<Self> {
        Arc::new(Self {
            counter: SecondCounter::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table),
            settings,
            seconds: Mutex::default(),
        })
    }

    fn seconds(&self) -> MutexGuard<'_, HashMap<TenantId, Second>> {
        self.seconds.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets `tenant`'s request through, or refuses it (429) for the rest of the second.
    pub async fn admit(&self, tenant: &TenantId) -> Result<(), ApiError> {
        let now = chrono::Utc::now().timestamp();
        let decision = {
            let mut seconds = self.seconds();
            if seconds.len() >= REMEMBERED_TENANTS {
                seconds.retain(|_, second| second.at == now);
            }
            let second = seconds.entry(tenant.clone()).or_default();
            if second.at != now {
                *second = Second {
                    at: now,
                    next_lease: 1,
                    ..Second::default()
                };
            }
            decide(second, &self.settings)
        };
        match decision {
            Decision::Admit => Ok(()),
            Decision::Refuse => Err(too_many(self.settings.per_second)),
            Decision::Lease { lease, own } => {
                let leased = self.lease(tenant, now, lease, own).await;
                let mut seconds = self.seconds();
                let second = seconds.entry(tenant.clone()).or_default();
                let granted = match leased {
                    Ok(granted) => granted,
                    Err(err) => {
                        tracing::warn!(%tenant, error = %err, "the request rate counter failed; this second's requests are let through");
                        second.unreachable = second.at == now;
                        return Ok(());
                    }
                };
                if second.at == now {
                    if granted == 0 {
                        second.spent = true;
                    } else {
                        second.left += granted - 1;
                        second.next_lease = (lease * 2).min(self.settings.largest_lease());
                    }
                }
                if granted == 0 {
                    Err(too_many(self.settings.per_second))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Adds `lease + own` to the tenant's counter for second `at`; how many of
    /// the `lease` asked for fit under the rate.
    async fn lease(&self, tenant: &TenantId, at: i64, lease: u32, own: u32) -> Result<u32, String> {
        self.counter
            .take(&format!("T#{tenant}"), at, lease, own, self.settings.per_second)
            .await
    }
}

/// What `second` allows next: its own share first, then what it leased, then a lease.
fn decide(second: &mut Second, settings: &RateSettings) -> Decision {
    if second.unreachable {
        return Decision::Admit;
    }
    if second.spent {
        return Decision::Refuse;
    }
    if !second.leasing && second.own < settings.own_share() {
        second.own += 1;
        return Decision::Admit;
    }
    if second.left > 0 {
        second.left -= 1;
        return Decision::Admit;
    }
    let own = if second.leasing { 0 } else { second.own };
    second.leasing = true;
    Decision::Lease {
        lease: second.next_lease.max(1),
        own,
    }
}

fn too_many(per_second: u32) -> ApiError {
    ApiError::TooManyRequests {
        detail: format!(
            "this tenant may make {per_second} requests a second (TenantApiRequestsPerSecond); try again in a second"
        ),
        retry_after_seconds: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_second: u32) -> RateSettings {
        RateSettings {
            per_second,
            table: "rates".into(),
        }
    }

    fn fresh() -> Second {
        Second {
            next_lease: 1,
            ..Second::default()
        }
    }

    #[test]
    fn a_container_serves_its_own_share_before_asking_the_counter() {
        // GIVEN 100 a second: a container serves 5 on its own
        let (mut second, settings) = (fresh(), settings(100));
        for _ in 0..5 {
            assert!(matches!(decide(&mut second, &settings), Decision::Admit));
        }
        // WHEN a sixth comes THEN it leases one, counting the five
        assert!(matches!(
            decide(&mut second, &settings),
            Decision::Lease { lease: 1, own: 5 }
        ));
        // AND a later lease counts them no more
        second.next_lease = 2;
        assert!(matches!(
            decide(&mut second, &settings),
            Decision::Lease { lease: 2, own: 0 }
        ));
    }

    #[test]
    fn a_spent_second_is_refused_without_asking() {
        let mut second = Second { spent: true, ..fresh() };
        assert!(matches!(decide(&mut second, &settings(100)), Decision::Refuse));
    }

    #[test]
    fn leased_requests_are_used_before_another_lease() {
        let mut second = Second {
            leasing: true,
            left: 2,
            ..fresh()
        };
        let settings = settings(100);
        assert!(matches!(decide(&mut second, &settings), Decision::Admit));
        assert!(matches!(decide(&mut second, &settings), Decision::Admit));
        assert!(matches!(decide(&mut second, &settings), Decision::Lease { .. }));
    }

    #[test]
    fn shares_never_round_to_nothing() {
        assert_eq!((settings(1).own_share(), settings(1).largest_lease()), (1, 1));
        assert_eq!((settings(1000).own_share(), settings(1000).largest_lease()), (50, 100));
    }
}
