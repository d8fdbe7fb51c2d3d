//! Keys, versions and their attributes.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

/// Key type. Both are software keys in atrest; `RSA-HSM` is kept and echoed so that clients
/// asking for it get what they asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `RSA`.
    Rsa,
    /// `RSA-HSM`.
    RsaHsm,
}

impl KeyType {
    /// The JWK `kty`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::RsaHsm => "RSA-HSM",
        }
    }

    /// Parses a stored or requested `kty` this build supports.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "RSA" => Some(Self::Rsa),
            "RSA-HSM" => Some(Self::RsaHsm),
            _ => None,
        }
    }
}

/// A JWK `key_ops` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyOp {
    /// encrypt
    Encrypt,
    /// decrypt
    Decrypt,
    /// sign
    Sign,
    /// verify
    Verify,
    /// wrapKey
    WrapKey,
    /// unwrapKey
    UnwrapKey,
    /// import
    Import,
    /// export
    Export,
}

/// What a new RSA key may do when the request names no `key_ops` (Key Vault's default).
pub const DEFAULT_KEY_OPS: [KeyOp; 6] = [
    KeyOp::Encrypt,
    KeyOp::Decrypt,
    KeyOp::Sign,
    KeyOp::Verify,
    KeyOp::WrapKey,
    KeyOp::UnwrapKey,
];

impl KeyOp {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::WrapKey => "wrapKey",
            Self::UnwrapKey => "unwrapKey",
            Self::Import => "import",
            Self::Export => "export",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "encrypt" => Self::Encrypt,
            "decrypt" => Self::Decrypt,
            "sign" => Self::Sign,
            "verify" => Self::Verify,
            "wrapKey" => Self::WrapKey,
            "unwrapKey" => Self::UnwrapKey,
            "import" => Self::Import,
            "export" => Self::Export,
            _ => return None,
        })
    }
}

/// Version attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttributes {
    /// Whether the version may be used.
    pub enabled: bool,
    /// Not before (unix seconds).
    pub nbf: Option<i64>,
    /// Expires (unix seconds).
    pub exp: Option<i64>,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
}

/// How a deleted key can be recovered (from the vault's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Key Vault's `recoveryLevel`.
    pub level: &'static str,
    /// `recoverableDays`.
    pub days: i64,
}

/// A key version as clients see it: public material, attributes and tags, never private
/// material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBundle {
    /// Key name as stored.
    pub name: String,
    /// Version id (32 hex digits).
    pub version: String,
    /// Key type.
    pub kty: KeyType,
    /// Permitted operations.
    pub key_ops: Vec<KeyOp>,
    /// RSA modulus, big-endian without leading zeros.
    pub n: Vec<u8>,
    /// RSA public exponent, big-endian without leading zeros.
    pub e: Vec<u8>,
    /// Attributes.
    pub attributes: KeyAttributes,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Recovery settings of the vault.
    pub recovery: Recovery,
}

impl KeyBundle {
    /// The key id under `base` (`https://host[:port]`, no trailing slash).
    pub fn kid(&self, base: &str) -> String {
        format!(
            "{}/keys/{}/{}",
            base.trim_end_matches('/'),
            self.name,
            self.version
        )
    }

    /// Modulus length in bits.
    pub fn key_size_bits(&self) -> usize {
        let lead = self.n.first().map_or(0, |b| b.leading_zeros() as usize);
        self.n.len() * 8 - lead
    }
}

/// A soft-deleted key (its newest version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedKey {
    /// The newest version.
    pub bundle: KeyBundle,
    /// Unix seconds.
    pub deleted_date: i64,
    /// Unix seconds.
    pub scheduled_purge_date: i64,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Opaque continuation token, if there is more.
    pub next: Option<String>,
}

/// A request to create (or import) a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// Key type.
    pub kty: KeyType,
    /// Modulus size in bits (create only; default 2048).
    pub key_size: Option<u32>,
    /// Public exponent (create only; only 65537).
    pub public_exponent: Option<u32>,
    /// Permitted operations (default [`DEFAULT_KEY_OPS`]).
    pub key_ops: Option<Vec<KeyOp>>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Not before.
    pub nbf: Option<i64>,
    /// Expires.
    pub exp: Option<i64>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl NewKey {
    /// A plain RSA key request of `bits` bits.
    pub fn rsa(bits: u32) -> Self {
        Self {
            kty: KeyType::Rsa,
            key_size: Some(bits),
            public_exponent: None,
            key_ops: None,
            enabled: None,
            nbf: None,
            exp: None,
            tags: BTreeMap::new(),
        }
    }
}

/// Changes to a key version; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUpdate {
    /// Permitted operations.
    pub key_ops: Option<Vec<KeyOp>>,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Not before.
    pub nbf: Option<i64>,
    /// Expires.
    pub exp: Option<i64>,
    /// Tags (replace all).
    pub tags: Option<BTreeMap<String, String>>,
}

/// The private components of an RSA key being imported (JWK `n e d p q dp dq qi`), wiped on
/// drop.
#[derive(Clone, Default)]
pub struct RsaPrivateComponents {
    /// Modulus.
    pub n: Vec<u8>,
    /// Public exponent.
    pub e: Vec<u8>,
    /// Private exponent.
    pub d: Zeroizing<Vec<u8>>,
    /// First prime.
    pub p: Zeroizing<Vec<u8>>,
    /// Second prime.
    pub q: Zeroizing<Vec<u8>>,
    /// d mod (p-1).
    pub dp: Zeroizing<Vec<u8>>,
    /// d mod (q-1).
    pub dq: Zeroizing<Vec<u8>>,
    /// q^-1 mod p.
    pub qi: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for RsaPrivateComponents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaPrivateComponents")
            .finish_non_exhaustive()
    }
}

/// Key names: 1–127 letters, digits and hyphens.
pub fn valid_key_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
