//! Envelope encryption: wrapping a 32-byte key under another key.
//!
//! * Under an AES-256 key (platform key ring, infrastructure keys): AES-256-GCM with a random
//!   nonce and caller AAD (the account id), `0x01 ‖ nonce(12) ‖ ct(32) ‖ tag(16)`, 61 bytes,
//!   AAD = `"atrest/wrap/v1" ‖ aad`.
//! * Under an RSA public key (customer-managed keys): RSA-OAEP with SHA-256 (Key Vault's
//!   `RSA-OAEP-256`) or SHA-1 (`RSA-OAEP`), exactly as Key Vault's wrapKey computes it, so a key
//!   wrapped locally with the public key unwraps in the vault and vice versa.

pub use aws_lc_rs::rsa::{KeySize as RsaKeySize, PrivateDecryptingKey, PublicEncryptingKey};
use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, OAEP_SHA1_MGF1SHA1,
    OAEP_SHA256_MGF1SHA256,
};
use zeroize::Zeroizing;

use crate::{aes_gcm, Error, SecretKey, KEY_LEN};

const LABEL: &[u8] = b"atrest/wrap/v1";

/// Length of a key wrapped by [`wrap_key`].
pub const WRAPPED_KEY_LEN: usize = KEY_LEN + aes_gcm::OVERHEAD;

/// Wraps `key` under the AES-256 key `kek`, bound to `aad`.
pub fn wrap_key(kek: &SecretKey, key: &SecretKey, aad: &[u8]) -> Result<Vec<u8>, Error> {
    aes_gcm::seal(kek, LABEL, aad, key.expose_secret())
}

/// Unwraps a key made by [`wrap_key`] with the same `kek` and `aad`.
pub fn unwrap_key(kek: &SecretKey, wrapped: &[u8], aad: &[u8]) -> Result<SecretKey, Error> {
    if wrapped.len() != WRAPPED_KEY_LEN {
        return Err(Error::Malformed);
    }
    let plain = aes_gcm::open(kek, LABEL, aad, wrapped)?;
    SecretKey::try_from_slice(&plain)
}

/// The RSA-OAEP variants Key Vault offers for wrapKey/unwrapKey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaOaep {
    /// `RSA-OAEP`: SHA-1 and MGF1-SHA-1.
    Sha1,
    /// `RSA-OAEP-256`: SHA-256 and MGF1-SHA-256.
    Sha256,
}

impl RsaOaep {
    fn algorithm(self) -> &'static OaepAlgorithm {
        match self {
            Self::Sha1 => &OAEP_SHA1_MGF1SHA1,
            Self::Sha256 => &OAEP_SHA256_MGF1SHA256,
        }
    }
}

/// RSA-OAEP-encrypts `plaintext` (at most the key size minus padding) under `public_key`.
pub fn rsa_oaep_encrypt(
    public_key: &PublicEncryptingKey,
    padding: RsaOaep,
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let key = OaepPublicEncryptingKey::new(public_key.clone()).map_err(|_| Error::Rsa)?;
    if plaintext.len() > key.max_plaintext_size(padding.algorithm()) {
        return Err(Error::Rsa);
    }
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key
        .encrypt(padding.algorithm(), plaintext, &mut out, None)
        .map_err(|_| Error::Rsa)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// RSA-OAEP-decrypts `ciphertext` with `private_key`. The result is wiped on drop.
pub fn rsa_oaep_decrypt(
    private_key: &PrivateDecryptingKey,
    padding: RsaOaep,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let key = OaepPrivateDecryptingKey::new(private_key.clone()).map_err(|_| Error::Rsa)?;
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let len = key
        .decrypt(padding.algorithm(), ciphertext, &mut out, None)
        .map_err(|_| Error::Unwrap)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// Wraps `key` under an RSA public key (Key Vault wrapKey semantics).
pub fn wrap_key_rsa(
    public_key: &PublicEncryptingKey,
    padding: RsaOaep,
    key: &SecretKey,
) -> Result<Vec<u8>, Error> {
    rsa_oaep_encrypt(public_key, padding, key.expose_secret())
}

/// Unwraps a key wrapped by [`wrap_key_rsa`] (or by Key Vault's wrapKey).
pub fn unwrap_key_rsa(
    private_key: &PrivateDecryptingKey,
    padding: RsaOaep,
    wrapped: &[u8],
) -> Result<SecretKey, Error> {
    let plain = rsa_oaep_decrypt(private_key, padding, wrapped)?;
    SecretKey::try_from_slice(&plain).map_err(|_| Error::Unwrap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_wrap_round_trip_and_binding() {
        let kek = SecretKey::generate().unwrap();
        let key = SecretKey::generate().unwrap();
        let wrapped = wrap_key(&kek, &key, b"account-1").unwrap();
        assert_eq!(wrapped.len(), WRAPPED_KEY_LEN);
        assert_eq!(unwrap_key(&kek, &wrapped, b"account-1").unwrap(), key);
        assert!(matches!(
            unwrap_key(&kek, &wrapped, b"account-2"),
            Err(Error::Unwrap)
        ));
        assert!(matches!(
            unwrap_key(&kek, &wrapped[1..], b"account-1"),
            Err(Error::Malformed)
        ));
        // A sealed blob of another length is not a wrapped key.
        let not_a_key = aes_gcm::seal(&kek, LABEL, b"account-1", &[0; 31]).unwrap();
        assert!(unwrap_key(&kek, &not_a_key, b"account-1").is_err());
    }

    #[test]
    fn rsa_wrap_round_trip_both_paddings() {
        let private = PrivateDecryptingKey::generate(RsaKeySize::Rsa2048).unwrap();
        let public = private.public_key();
        let key = SecretKey::generate().unwrap();
        for padding in [RsaOaep::Sha256, RsaOaep::Sha1] {
            let wrapped = wrap_key_rsa(&public, padding, &key).unwrap();
            assert_eq!(wrapped.len(), 256);
            assert_eq!(unwrap_key_rsa(&private, padding, &wrapped).unwrap(), key);
            let mut bad = wrapped.clone();
            bad[100] ^= 1;
            assert!(matches!(
                unwrap_key_rsa(&private, padding, &bad),
                Err(Error::Unwrap)
            ));
        }
        let wrapped = wrap_key_rsa(&public, RsaOaep::Sha256, &key).unwrap();
        assert!(unwrap_key_rsa(&private, RsaOaep::Sha1, &wrapped).is_err());
    }

    #[test]
    fn rsa_encrypt_refuses_oversized_plaintext() {
        let private = PrivateDecryptingKey::generate(RsaKeySize::Rsa2048).unwrap();
        let too_long = vec![0u8; 256 - 2 * 32 - 1];
        assert!(matches!(
            rsa_oaep_encrypt(&private.public_key(), RsaOaep::Sha256, &too_long),
            Err(Error::Rsa)
        ));
    }
}
