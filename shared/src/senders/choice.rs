//! Which sender a tenant's notification jobs use: the tenant's own, else the
//! stack's when the operator lists the tenant, else none (the run fails and says
//! how to set one).

use super::store::SenderStore;
use crate::routes::PUT_SENDGRID_SETTINGS;
use crate::sendgrid::Sender;
use crate::storage::StorageError;
use crate::tenant::{TenantId, TenantList};

pub struct SenderChoice<S> {
    pub store: S,
    /// The stack's sender; `None` when no tenant is granted it.
    pub stack: Option<Sender>,
    /// Tenants without a sender of their own that send as the stack.
    pub stack_tenants: TenantList,
}

#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("this tenant has no SendGrid key: {PUT_SENDGRID_SETTINGS} sets one")]
    NotSet,
    #[error("reading the tenant's SendGrid key: {0}")]
    Storage(#[from] StorageError),
}

impl<S: SenderStore> SenderChoice<S> {
    /// The sender `tenant`'s e-mails go out as.
    pub async fn for_tenant(&self, tenant: &TenantId) -> Result<Sender, SenderError> {
        if let Some(own) = self.store.get(tenant).await? {
            return Ok(own.sender);
        }
        match &self.stack {
            Some(stack) if self.stack_tenants.contains(tenant) => Ok(stack.clone()),
            _ => Err(SenderError::NotSet),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::senders::InMemorySenders;
    use crate::sendgrid::{Address, ApiKey};
    use crate::testing::tenant;

    fn sender(key: &str) -> Sender {
        Sender {
            key: ApiKey::new(key),
            from: Address {
                email: format!("{key}@example.com"),
                name: None,
            },
        }
    }

    #[tokio::test]
    async fn a_tenant_sends_as_itself_else_as_the_stack_only_when_listed() {
        // GIVEN acme set its own key; the stack's key is granted to acme and globex
        let choice = SenderChoice {
            store: InMemorySenders::default(),
            stack: Some(sender("SG.stack")),
            stack_tenants: TenantList::parse("acme,globex"),
        };
        choice
            .store
            .put(&tenant("acme"), &sender("SG.acme"))
            .await
            .expect("put");
        // THEN acme's own key wins, globex falls back, initech has none
        assert_eq!(
            choice.for_tenant(&tenant("acme")).await.expect("acme").key,
            ApiKey::new("SG.acme")
        );
        assert_eq!(
            choice.for_tenant(&tenant("globex")).await.expect("globex").key,
            ApiKey::new("SG.stack")
        );
        assert!(matches!(
            choice.for_tenant(&tenant("initech")).await,
            Err(SenderError::NotSet)
        ));
    }
}
