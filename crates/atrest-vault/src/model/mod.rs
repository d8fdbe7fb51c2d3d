//! Domain types: vaults, access policies, keys. Wire shapes live in `http::models`.

mod key;
mod permissions;
mod rotation;
mod vault;

pub use key::{
    valid_key_name, DeletedKey, KeyAttributes, KeyBundle, KeyOp, KeyType, KeyUpdate, NewKey, Page,
    Recovery, RsaPrivateComponents, DEFAULT_KEY_OPS,
};
pub use permissions::{KeyPermission, Operation};
pub use rotation::{IsoDuration, LifetimeAction, RotationAction, RotationPolicy, RotationTrigger};
pub(crate) use vault::audit_resource;
pub use vault::{valid_vault_name, AccessPolicy, Vault};
