//! Each job's schedule name: deterministic from (tenant, job id), within
//! Scheduler's 64 characters of `0-9 a-z A-Z - _ .`, readable where it can be.

use sha2::{Digest, Sha256};

use crate::tenant::TenantId;

const TENANT_CHARS: usize = 20;
const ID_CHARS: usize = 22;
const HASH_HEX: usize = 16;

/// `<tenant, clipped>.<job id, clipped, ':' and '@' as '_'>.<16 hex of SHA-256>`:
/// the hash of the full pair keeps clipped or rewritten names apart.
pub fn schedule_name(tenant: &TenantId, job_id: &str) -> String {
    let digest = Sha256::digest(format!("{tenant}\n{job_id}").as_bytes());
    let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let readable_id: String = job_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(ID_CHARS)
        .collect();
    let tenant: String = tenant.as_str().chars().take(TENANT_CHARS).collect();
    format!("{tenant}.{readable_id}.{}", &hash[..HASH_HEX])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    }

    #[test]
    fn names_are_stable_valid_and_distinct() {
        let acme = TenantId::parse("acme").expect("tenant");
        let long_tenant = TenantId::parse(&"t".repeat(64)).expect("tenant");
        let name = schedule_name(&acme, "job_01");
        assert!(name.starts_with("acme.job_01."), "{name}");
        assert_eq!(name, schedule_name(&acme, "job_01"), "deterministic");
        for (tenant, id) in [(&acme, "a:b@c"), (&long_tenant, &"x".repeat(128))] {
            assert!(valid(&schedule_name(tenant, id)), "{}", schedule_name(tenant, id));
        }
        // Ids that read the same after clipping or rewriting still differ.
        assert_ne!(schedule_name(&acme, "a:b"), schedule_name(&acme, "a@b"));
        assert_ne!(
            schedule_name(&acme, &format!("{}1", "x".repeat(30))),
            schedule_name(&acme, &format!("{}2", "x".repeat(30)))
        );
        let globex = TenantId::parse("globex").expect("tenant");
        assert_ne!(schedule_name(&acme, "job_01"), schedule_name(&globex, "job_01"));
    }
}
