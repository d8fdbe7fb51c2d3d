//! Cryptographic operations with vault keys: wrap/unwrap, encrypt/decrypt, sign/verify and
//! random bytes.

use std::sync::Arc;

use atrest_identity::Principal;
use atrest_store::vault::VersionRow;
use zeroize::Zeroizing;

use super::access::Audited;
use super::keys::bundle;
use super::Vaults;
use crate::crypto::{self, EncryptionAlgorithm, PrivateKey, SignatureAlgorithm};
use crate::model::{KeyOp, Operation};
use crate::Error;

/// The result of a key operation: the version used and the output bytes (wiped on drop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoOutput {
    /// Key name.
    pub name: String,
    /// The version that did the work.
    pub version: String,
    /// Output: ciphertext, plaintext, wrapped or unwrapped key, or signature.
    pub value: Zeroizing<Vec<u8>>,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Key name.
    pub name: String,
    /// The version that verified.
    pub version: String,
    /// Whether the signature is valid.
    pub valid: bool,
}

impl Audited for CryptoOutput {
    fn audit_version(&self) -> Option<&str> {
        Some(&self.version)
    }
}

impl Audited for Verification {
    fn audit_version(&self) -> Option<&str> {
        Some(&self.version)
    }
}

impl Vaults {
    /// wrapKey: RSA-OAEP(-256) encryption of a key under the vault key.
    pub async fn wrap_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        alg: EncryptionAlgorithm,
        key: &[u8],
    ) -> Result<CryptoOutput, Error> {
        self.public_op(caller, vault, name, version, Operation::WrapKey, alg, key)
            .await
    }

    /// unwrapKey. Works past `exp` and before `nbf`, so wrapped data stays recoverable.
    pub async fn unwrap_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        alg: EncryptionAlgorithm,
        wrapped: &[u8],
    ) -> Result<CryptoOutput, Error> {
        self.private_op(
            caller,
            vault,
            name,
            version,
            Operation::UnwrapKey,
            alg,
            wrapped,
        )
        .await
    }

    /// encrypt.
    pub async fn encrypt(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        alg: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<CryptoOutput, Error> {
        self.public_op(
            caller,
            vault,
            name,
            version,
            Operation::Encrypt,
            alg,
            plaintext,
        )
        .await
    }

    /// decrypt. Works past `exp` and before `nbf`.
    pub async fn decrypt(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        alg: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<CryptoOutput, Error> {
        self.private_op(
            caller,
            vault,
            name,
            version,
            Operation::Decrypt,
            alg,
            ciphertext,
        )
        .await
    }

    /// sign a digest.
    pub async fn sign(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        alg: SignatureAlgorithm,
        digest: &[u8],
    ) -> Result<CryptoOutput, Error> {
        let access = self
            .begin(caller, vault, Operation::Sign, Some(name))
            .await?;
        let result = async {
            let row = self
                .usable(&access.vault, name, version, Operation::Sign)
                .await?;
            let private = self.private_key(&row)?;
            let signature = crypto::sign(&private, alg, digest)?;
            Ok(output(&row, signature))
        }
        .await;
        self.end(&access, Some(name), version, result).await
    }

    /// verify a signature over a digest. Works past `exp` and before `nbf`.
    #[allow(clippy::too_many_arguments)] // mirrors the Key Vault verify request one to one
    pub async fn verify(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        alg: SignatureAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<Verification, Error> {
        let access = self
            .begin(caller, vault, Operation::Verify, Some(name))
            .await?;
        let result = async {
            let row = self
                .usable(&access.vault, name, version, Operation::Verify)
                .await?;
            let valid = crypto::verify(&row.n, &row.e, alg, digest, signature)?;
            Ok(Verification {
                name: row.key_name.clone(),
                version: row.version.clone(),
                valid,
            })
        }
        .await;
        self.end(&access, Some(name), version, result).await
    }

    /// `count` (1–128) random bytes from the CSPRNG. Needs any access policy on the vault.
    pub async fn random_bytes(
        &self,
        caller: &Principal,
        vault: &str,
        count: u32,
    ) -> Result<Vec<u8>, Error> {
        let access = self.begin(caller, vault, Operation::Random, None).await?;
        let result = if (1..=128).contains(&count) {
            atrest_crypto::random::bytes(count as usize).map_err(Error::from)
        } else {
            Err(Error::bad(format!(
                "count must be between 1 and 128, not {count}"
            )))
        };
        self.end(&access, None, None, result).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn public_op(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        op: Operation,
        alg: EncryptionAlgorithm,
        input: &[u8],
    ) -> Result<CryptoOutput, Error> {
        let access = self.begin(caller, vault, op, Some(name)).await?;
        let result = async {
            let row = self.usable(&access.vault, name, version, op).await?;
            let ciphertext = crypto::encrypt(&row.n, &row.e, alg, input)?;
            Ok(output(&row, ciphertext))
        }
        .await;
        self.end(&access, Some(name), version, result).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn private_op(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        version: Option<&str>,
        op: Operation,
        alg: EncryptionAlgorithm,
        input: &[u8],
    ) -> Result<CryptoOutput, Error> {
        let access = self.begin(caller, vault, op, Some(name)).await?;
        let result = async {
            let row = self.usable(&access.vault, name, version, op).await?;
            let private = self.private_key(&row)?;
            let plaintext = crypto::decrypt(&private, alg, input)?;
            Ok(CryptoOutput {
                name: row.key_name.clone(),
                version: row.version.clone(),
                value: plaintext,
            })
        }
        .await;
        self.end(&access, Some(name), version, result).await
    }

    /// The version, checked usable for `op`: enabled, within nbf–exp where that applies, and
    /// `op` among its `key_ops`.
    async fn usable(
        &self,
        vault: &crate::model::Vault,
        name: &str,
        version: Option<&str>,
        op: Operation,
    ) -> Result<Arc<VersionRow>, Error> {
        let wanted = version.filter(|v| !v.is_empty());
        let cache_key = (vault.id.clone(), name.to_owned(), wanted.map(str::to_owned));
        let cached = self
            .inner
            .rows
            .versions
            .get_or_load(&cache_key, || async {
                let row = self.store().live_version(&vault.id, name, wanted).await?;
                Ok::<_, Error>(row.map(Arc::new))
            })
            .await?;
        let row = match cached {
            Some(row) => row,
            // Missing key or version: the two-step lookup says which.
            None => Arc::new(self.resolve(None, vault, name, version).await?.1),
        };
        let view = bundle(vault, &row)?;
        if !view.attributes.enabled {
            return Err(Error::KeyDisabled { operation: op });
        }
        if !op.allowed_outside_validity() {
            let now = self.now();
            if view.attributes.nbf.is_some_and(|nbf| now < nbf) {
                return Err(Error::KeyNotYetValid { operation: op });
            }
            if view.attributes.exp.is_some_and(|exp| now >= exp) {
                return Err(Error::KeyExpired { operation: op });
            }
        }
        let needed = match op {
            Operation::Encrypt => KeyOp::Encrypt,
            Operation::Decrypt => KeyOp::Decrypt,
            Operation::WrapKey => KeyOp::WrapKey,
            Operation::UnwrapKey => KeyOp::UnwrapKey,
            Operation::Sign => KeyOp::Sign,
            _ => KeyOp::Verify,
        };
        if !view.key_ops.contains(&needed) {
            return Err(Error::OperationNotPermitted { operation: op });
        }
        Ok(row)
    }

    /// The version's parsed private key, from the cache or unsealed and parsed now.
    fn private_key(&self, row: &VersionRow) -> Result<Arc<PrivateKey>, Error> {
        let id = (
            row.vault_id.clone(),
            row.key_name.clone(),
            row.version.clone(),
        );
        self.inner.private_keys.get_or_insert_with(&id, || {
            let pkcs8 = self.open_private(row)?;
            Ok(Arc::new(PrivateKey::from_pkcs8(&pkcs8)?))
        })
    }

    /// The version's PKCS#8 private key, unsealed.
    pub(super) fn open_private(&self, row: &VersionRow) -> Result<Zeroizing<Vec<u8>>, Error> {
        let aad = Self::seal_aad(&row.vault_id, &row.key_name, &row.version);
        Ok(atrest_crypto::seal::open(
            &self.inner.root,
            &aad,
            &row.sealed_private,
        )?)
    }
}

fn output(row: &VersionRow, value: Vec<u8>) -> CryptoOutput {
    CryptoOutput {
        name: row.key_name.clone(),
        version: row.version.clone(),
        value: Zeroizing::new(value),
    }
}
