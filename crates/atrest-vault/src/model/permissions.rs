//! Access-policy key permissions and the operations that need them.

use serde::{Deserialize, Serialize};

/// A key permission in an access policy (`permissions.keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyPermission {
    /// Read a key (and a deleted key).
    Get,
    /// List keys, versions and deleted keys.
    List,
    /// Create keys and new versions.
    Create,
    /// Import keys.
    Import,
    /// Update key attributes.
    Update,
    /// Soft-delete keys.
    Delete,
    /// Recover deleted keys.
    Recover,
    /// Back keys up.
    Backup,
    /// Restore backups.
    Restore,
    /// Purge deleted keys.
    Purge,
    /// wrapKey.
    WrapKey,
    /// unwrapKey.
    UnwrapKey,
    /// encrypt.
    Encrypt,
    /// decrypt.
    Decrypt,
    /// sign.
    Sign,
    /// verify.
    Verify,
    /// Rotate on demand.
    Rotate,
    /// Read a rotation policy.
    GetRotationPolicy,
    /// Write a rotation policy.
    SetRotationPolicy,
    /// Release (secure key release; not offered).
    Release,
}

impl KeyPermission {
    /// Every permission, in the order ARM lists them.
    pub const ALL: [Self; 20] = [
        Self::Get,
        Self::List,
        Self::Update,
        Self::Create,
        Self::Import,
        Self::Delete,
        Self::Recover,
        Self::Backup,
        Self::Restore,
        Self::Decrypt,
        Self::Encrypt,
        Self::UnwrapKey,
        Self::WrapKey,
        Self::Verify,
        Self::Sign,
        Self::Purge,
        Self::Release,
        Self::Rotate,
        Self::GetRotationPolicy,
        Self::SetRotationPolicy,
    ];

    /// The name ARM and Key Vault use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Create => "create",
            Self::Import => "import",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Recover => "recover",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Purge => "purge",
            Self::WrapKey => "wrapKey",
            Self::UnwrapKey => "unwrapKey",
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::Rotate => "rotate",
            Self::GetRotationPolicy => "getrotationpolicy",
            Self::SetRotationPolicy => "setrotationpolicy",
            Self::Release => "release",
        }
    }

    /// Parses a permission name, ignoring case as ARM does. `all` is handled by the caller.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

/// A data-plane operation: what the audit log records and which permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Get a key version.
    Get,
    /// List keys.
    List,
    /// List the versions of a key.
    ListVersions,
    /// Create a key.
    Create,
    /// Import a key.
    Import,
    /// Update a key version.
    Update,
    /// Soft-delete a key.
    Delete,
    /// Get a deleted key.
    GetDeleted,
    /// List deleted keys.
    ListDeleted,
    /// Recover a deleted key.
    Recover,
    /// Purge a deleted key.
    Purge,
    /// Back a key up.
    Backup,
    /// Restore a backup.
    Restore,
    /// Rotate a key on demand.
    Rotate,
    /// Read a rotation policy.
    GetRotationPolicy,
    /// Write a rotation policy.
    SetRotationPolicy,
    /// wrapKey.
    WrapKey,
    /// unwrapKey.
    UnwrapKey,
    /// encrypt.
    Encrypt,
    /// decrypt.
    Decrypt,
    /// sign.
    Sign,
    /// verify.
    Verify,
    /// Random bytes.
    Random,
}

impl Operation {
    /// The permission the operation needs; `None` for [`Operation::Random`], which needs any
    /// access policy on the vault.
    pub fn permission(self) -> Option<KeyPermission> {
        Some(match self {
            Self::Get | Self::GetDeleted => KeyPermission::Get,
            Self::List | Self::ListVersions | Self::ListDeleted => KeyPermission::List,
            Self::Create => KeyPermission::Create,
            Self::Import => KeyPermission::Import,
            Self::Update => KeyPermission::Update,
            Self::Delete => KeyPermission::Delete,
            Self::Recover => KeyPermission::Recover,
            Self::Purge => KeyPermission::Purge,
            Self::Backup => KeyPermission::Backup,
            Self::Restore => KeyPermission::Restore,
            Self::Rotate => KeyPermission::Rotate,
            Self::GetRotationPolicy => KeyPermission::GetRotationPolicy,
            Self::SetRotationPolicy => KeyPermission::SetRotationPolicy,
            Self::WrapKey => KeyPermission::WrapKey,
            Self::UnwrapKey => KeyPermission::UnwrapKey,
            Self::Encrypt => KeyPermission::Encrypt,
            Self::Decrypt => KeyPermission::Decrypt,
            Self::Sign => KeyPermission::Sign,
            Self::Verify => KeyPermission::Verify,
            Self::Random => return None,
        })
    }

    /// The name in the audit log (Key Vault's diagnostic-log operation names).
    pub fn audit_name(self) -> &'static str {
        match self {
            Self::Get => "KeyGet",
            Self::List => "KeyList",
            Self::ListVersions => "KeyListVersions",
            Self::Create => "KeyCreate",
            Self::Import => "KeyImport",
            Self::Update => "KeyUpdate",
            Self::Delete => "KeyDelete",
            Self::GetDeleted => "KeyGetDeleted",
            Self::ListDeleted => "KeyListDeleted",
            Self::Recover => "KeyRecover",
            Self::Purge => "KeyPurge",
            Self::Backup => "KeyBackup",
            Self::Restore => "KeyRestore",
            Self::Rotate => "KeyRotate",
            Self::GetRotationPolicy => "KeyRotationPolicyGet",
            Self::SetRotationPolicy => "KeyRotationPolicySet",
            Self::WrapKey => "KeyWrap",
            Self::UnwrapKey => "KeyUnwrap",
            Self::Encrypt => "KeyEncrypt",
            Self::Decrypt => "KeyDecrypt",
            Self::Sign => "KeySign",
            Self::Verify => "KeyVerify",
            Self::Random => "RandomBytes",
        }
    }

    /// The verb in error messages ("Operation sign is not allowed on a disabled key").
    pub fn verb(self) -> &'static str {
        match self.permission() {
            Some(permission) => permission.as_str(),
            None => "rng",
        }
    }

    /// Whether the operation still works outside the key's nbf–exp window (so data can be
    /// recovered): decrypt, unwrapKey and verify.
    pub fn allowed_outside_validity(self) -> bool {
        matches!(self, Self::Decrypt | Self::UnwrapKey | Self::Verify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_round_trip_ignoring_case() {
        for p in KeyPermission::ALL {
            assert_eq!(KeyPermission::parse(p.as_str()), Some(p));
            assert_eq!(KeyPermission::parse(&p.as_str().to_uppercase()), Some(p));
        }
        assert_eq!(
            KeyPermission::parse("WrapKey"),
            Some(KeyPermission::WrapKey)
        );
        assert_eq!(KeyPermission::parse("nope"), None);
    }
}
