//! Authorization against access policies, and the audit record every operation leaves.

use atrest_identity::Principal;
use atrest_store::AuditRecord;

use super::Vaults;
use crate::model::{audit_resource, Operation, Vault};
use crate::Error;

/// An authorized data-plane request: the vault, who asked and for what.
pub(super) struct Access {
    pub(super) vault: Vault,
    pub(super) caller: Principal,
    pub(super) op: Operation,
}

/// What the audit log records about a successful result.
pub(super) trait Audited {
    /// The key version the operation acted on, if any.
    fn audit_version(&self) -> Option<&str> {
        None
    }
}

impl Audited for () {}
impl Audited for Vec<u8> {}
impl<T> Audited for crate::model::Page<T> {}
impl Audited for crate::model::KeyBundle {
    fn audit_version(&self) -> Option<&str> {
        Some(&self.version)
    }
}
impl Audited for crate::model::DeletedKey {
    fn audit_version(&self) -> Option<&str> {
        Some(&self.bundle.version)
    }
}

impl Vaults {
    /// Loads the vault and checks the caller may do `op`. A refusal is audited here.
    pub(super) async fn begin(
        &self,
        caller: &Principal,
        vault_name: &str,
        op: Operation,
        key: Option<&str>,
    ) -> Result<Access, Error> {
        let vault = self
            .vault_by_name(vault_name)
            .await?
            .filter(|v| v.deleted_at.is_none())
            .ok_or_else(|| Error::VaultNotFound {
                name: vault_name.to_owned(),
            })?;
        let refusal = if !caller.tenant_id.eq_ignore_ascii_case(&vault.tenant_id) {
            Some(Error::WrongTenant {
                expected: vault.tenant_id.clone(),
            })
        } else {
            let allowed = match op.permission() {
                Some(permission) => vault.permits(&caller.tenant_id, &caller.object_id, permission),
                None => vault.has_policy_for(&caller.tenant_id, &caller.object_id),
            };
            (!allowed).then(|| Error::AccessDenied {
                app_id: caller.client_id.clone(),
                object_id: caller.object_id.clone(),
                tenant_id: caller.tenant_id.clone(),
                permission: op.permission(),
                vault: vault.name.clone(),
            })
        };
        let access = Access {
            vault,
            caller: caller.clone(),
            op,
        };
        match refusal {
            None => Ok(access),
            Some(err) => {
                self.audit(&access, key, None, Err(&err)).await?;
                Err(err)
            }
        }
    }

    /// Audits the outcome of an authorized operation and passes it on. If the audit record
    /// cannot be written, the operation fails.
    pub(super) async fn end<T: Audited>(
        &self,
        access: &Access,
        key: Option<&str>,
        version: Option<&str>,
        result: Result<T, Error>,
    ) -> Result<T, Error> {
        let audited_version = match &result {
            Ok(value) => value.audit_version().or(version),
            Err(_) => version,
        };
        let outcome = result.as_ref().map(|_| ());
        self.audit(access, key, audited_version, outcome).await?;
        result
    }

    async fn audit(
        &self,
        access: &Access,
        key: Option<&str>,
        version: Option<&str>,
        outcome: Result<(), &Error>,
    ) -> Result<(), Error> {
        let (result, status, detail) = match outcome {
            Ok(()) => (
                "ok",
                if access.op == Operation::Purge {
                    204
                } else {
                    200
                },
                None,
            ),
            Err(err) => (err.audit_result(), err.status(), Some(audit_detail(err))),
        };
        self.inner
            .audit
            .append(AuditRecord {
                tenant_id: access.vault.tenant_id.clone(),
                principal_id: access.caller.object_id.clone(),
                resource: audit_resource(&access.vault.name),
                key_name: key.map(str::to_owned),
                key_version: version.filter(|v| !v.is_empty()).map(str::to_owned),
                operation: access.op.audit_name().to_owned(),
                result: result.to_owned(),
                status,
                detail,
            })
            .await?;
        Ok(())
    }

    /// Audits an action taken by the service itself (the scheduler).
    pub(super) async fn audit_system(
        &self,
        vault: &Vault,
        key: Option<&str>,
        version: Option<&str>,
        operation: &str,
        detail: Option<String>,
    ) -> Result<(), Error> {
        self.inner
            .audit
            .append(AuditRecord {
                tenant_id: vault.tenant_id.clone(),
                principal_id: "atrest-scheduler".to_owned(),
                resource: audit_resource(&vault.name),
                key_name: key.map(str::to_owned),
                key_version: version.map(str::to_owned),
                operation: operation.to_owned(),
                result: "ok".to_owned(),
                status: 200,
                detail,
            })
            .await?;
        Ok(())
    }
}

/// A secret-free description of a failure: code, plus the message for client errors.
fn audit_detail(err: &Error) -> String {
    if err.is_internal() {
        err.code().to_owned()
    } else {
        let mut message = err.to_string();
        message.truncate(300);
        format!("{}: {message}", err.code())
    }
}
