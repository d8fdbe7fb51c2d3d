//! Background work the server runs periodically: rotation policies, expiry notifications and
//! purging soft-deleted keys and vaults whose retention has elapsed.

use super::rotation::policy_of;
use super::Vaults;
use crate::events::VaultEventKind;
use crate::model::{RotationAction, RotationTrigger};
use crate::repo::vaults as vault_rows;
use crate::Error;

/// What one scheduler pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerReport {
    /// Keys given a new version by their rotation policy.
    pub rotated: Vec<(String, String)>,
    /// `KeyNearExpiry` events sent, as (vault, key).
    pub near_expiry: Vec<(String, String)>,
    /// `KeyExpired` events sent, as (vault, key).
    pub expired: Vec<(String, String)>,
    /// Keys purged after their retention, as (vault id, key).
    pub purged_keys: Vec<(String, String)>,
    /// Vaults purged after their retention.
    pub purged_vaults: Vec<String>,
}

impl Vaults {
    /// Applies rotation policies and sends expiry notifications as of `now` (unix seconds).
    /// Each key is handled on its own: one failure is logged and does not stop the others.
    pub async fn run_due_rotations(&self, now: i64) -> Result<SchedulerReport, Error> {
        let mut report = SchedulerReport::default();
        for (vault_name, key, mut current) in self.store().scheduler_candidates().await? {
            let Some(vault) = self.live_vault(&vault_name).await? else {
                continue;
            };
            let policy = match policy_of(&key) {
                Ok(policy) => policy,
                Err(err) => {
                    tracing::warn!(vault = %vault.name, key = %key.name, error = %err, "unreadable rotation policy");
                    continue;
                }
            };
            let mut rotate = false;
            let mut notify = false;
            for action in &policy.lifetime_actions {
                let due = match &action.trigger {
                    RotationTrigger::AfterCreate(d) => now >= current.created + d.seconds(),
                    RotationTrigger::BeforeExpiry(d) => {
                        current.exp.is_some_and(|exp| now >= exp - d.seconds())
                    }
                };
                match action.action {
                    RotationAction::Rotate => rotate |= due,
                    RotationAction::Notify => notify |= due,
                }
            }
            let mut flags_changed = false;
            if notify && !current.near_expiry_sent && current.exp.is_some_and(|exp| now < exp) {
                current.near_expiry_sent = true;
                flags_changed = true;
                self.emit(
                    VaultEventKind::KeyNearExpiry,
                    &vault,
                    Some(&key.name),
                    Some(&current.version),
                );
                report
                    .near_expiry
                    .push((vault.name.clone(), key.name.clone()));
            }
            if !current.expired_sent && current.exp.is_some_and(|exp| now >= exp) {
                current.expired_sent = true;
                flags_changed = true;
                self.emit(
                    VaultEventKind::KeyExpired,
                    &vault,
                    Some(&key.name),
                    Some(&current.version),
                );
                report.expired.push((vault.name.clone(), key.name.clone()));
            }
            if flags_changed {
                let mut tx = self.write_tx().await?;
                self.store().update_version(&mut tx, &current).await?;
                tx.commit().await?;
            }
            if rotate {
                match self.rotate_now(&vault, &key, &current).await {
                    Ok(bundle) => {
                        self.audit_system(
                            &vault,
                            Some(&key.name),
                            Some(&bundle.version),
                            "KeyRotateScheduled",
                            None,
                        )
                        .await?;
                        report.rotated.push((vault.name.clone(), key.name.clone()));
                    }
                    Err(err) => {
                        tracing::error!(vault = %vault.name, key = %key.name, error = %err, "scheduled rotation failed");
                    }
                }
            }
        }
        Ok(report)
    }

    /// Purges soft-deleted keys and vaults whose scheduled purge date is at or before `now`.
    pub async fn run_due_purges(&self, now: i64) -> Result<SchedulerReport, Error> {
        let mut report = SchedulerReport::default();
        for key in self.store().keys_due_for_purge(now).await? {
            let mut tx = self.write_tx().await?;
            let vault_name = self.store().vault_name(&mut tx, &key.vault_id).await?;
            self.store()
                .purge_key(&mut tx, &key.vault_id, &key.name)
                .await?;
            tx.commit().await?;
            if let Some(vault_name) = vault_name {
                if let Some(vault) = self.stored_vault(&vault_name).await? {
                    self.audit_system(&vault, Some(&key.name), None, "KeyPurgeScheduled", None)
                        .await?;
                    self.emit(VaultEventKind::KeyPurged, &vault, Some(&key.name), None);
                }
            }
            report
                .purged_keys
                .push((key.vault_id.clone(), key.name.clone()));
        }
        let due = vault_rows::from_rows(self.store().vaults_due_for_purge(now).await?)?;
        for vault in due {
            let mut tx = self.write_tx().await?;
            self.store().purge_vault(&mut tx, &vault.id).await?;
            tx.commit().await?;
            self.audit_system(&vault, None, None, "VaultPurgeScheduled", None)
                .await?;
            self.emit(VaultEventKind::VaultPurged, &vault, None, None);
            report.purged_vaults.push(vault.name.clone());
        }
        Ok(report)
    }
}
