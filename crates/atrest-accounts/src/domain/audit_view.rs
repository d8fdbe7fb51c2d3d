//! Reading an account's audit records: its CMK changes, key checks and revocations, for the
//! Owners of its subscription (as a vault's records are for the vault's).

use atrest_identity::{Principal, Role};
use atrest_store::{AuditEntry, AuditQuery};

use super::manage::scope;
use super::Accounts;
use crate::Error;

impl Accounts {
    /// The account's audit records after sequence number `after`, at most `top` (1–1000,
    /// default 100), oldest first.
    pub async fn audit_records(
        &self,
        caller: &Principal,
        sub: &str,
        group: &str,
        name: &str,
        after: Option<i64>,
        top: Option<u32>,
    ) -> Result<Vec<AuditEntry>, Error> {
        self.authorize_mgmt(
            caller,
            sub,
            Role::Owner,
            "Microsoft.CognitiveServices/accounts/auditRecords/read",
            scope(sub, group, name),
        )
        .await?;
        let account = self.account_in_group(sub, group, name).await?;
        let query =
            AuditQuery::page(account.audit_resource(), after, top).map_err(Error::BadRequest)?;
        Ok(self.inner.audit.list(&query).await?)
    }
}
