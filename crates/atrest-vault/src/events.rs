//! Vault events, delivered in-process over a broadcast channel so co-located services (the
//! accounts' key cache) react at once to a disabled, deleted or rotated key.

use serde::Serialize;
use tokio::sync::broadcast;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum VaultEventKind {
    /// A key got a new version (create, import, rotate, restore).
    KeyNewVersionCreated,
    /// A key version was disabled.
    KeyDisabled,
    /// A key version was enabled again.
    KeyEnabled,
    /// A key was soft-deleted.
    KeyDeleted,
    /// A deleted key was recovered.
    KeyRecovered,
    /// A deleted key was purged (destroyed).
    KeyPurged,
    /// A key version is within its notify window before `exp`.
    KeyNearExpiry,
    /// A key version passed its `exp`.
    KeyExpired,
    /// A vault's access policies changed.
    AccessPolicyChanged,
    /// A vault was soft-deleted.
    VaultDeleted,
    /// A deleted vault was recovered.
    VaultRecovered,
    /// A deleted vault was purged.
    VaultPurged,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultEvent {
    /// What happened.
    pub kind: VaultEventKind,
    /// Vault id (stable across renames, which vaults do not have, and across recover).
    pub vault_id: String,
    /// Vault name.
    pub vault_name: String,
    /// The key, where one is involved.
    pub key_name: Option<String>,
    /// The key version, where one is involved.
    pub version: Option<String>,
    /// Unix seconds.
    pub time: i64,
}

/// The event bus.
#[derive(Debug, Clone)]
pub(crate) struct EventBus {
    tx: broadcast::Sender<VaultEvent>,
}

impl EventBus {
    pub(crate) fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        Self { tx }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<VaultEvent> {
        self.tx.subscribe()
    }

    pub(crate) fn emit(&self, event: VaultEvent) {
        tracing::debug!(kind = ?event.kind, vault = %event.vault_name, key = ?event.key_name, "vault event");
        // No subscriber is not an error.
        let _ = self.tx.send(event);
    }
}
