//! Client secrets: generated with 256 bits of entropy, stored only as a keyed hash.
//!
//! # Why HMAC-SHA-256 and not PBKDF2
//!
//! Client secrets are never chosen by people: [`generate`] draws 256 random bits. Password
//! stretching (PBKDF2's 100 000 iterations) only helps a secret that can be guessed; against
//! 2^256 candidates it adds nothing, while it made every wrong guess at the token endpoint
//! cost ~100 000 HMAC computations of server CPU (issue 11, finding 5). New hashes are
//! therefore `hmac-sha256$v1$<tag>`: HMAC-SHA-256 under a key derived from the root key, over
//! the principal's object id and the secret. Without the root key a copy of the database
//! cannot even test a guess, and the object id binds a hash to its row, so copying one
//! principal's hash onto another does not give the other principal a known secret.
//!
//! Hashes written by earlier versions (`pbkdf2-sha256$…`) still verify, and are replaced by
//! the keyed hash on their next successful use.

use std::num::NonZeroU32;

use atrest_crypto::SecretKey;
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use aws_lc_rs::{hmac, pbkdf2};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use crate::Error;

const HMAC_PREFIX: &str = "hmac-sha256$v1$";
const HKDF_LABEL: &[u8] = b"atrest/client-secret-hash/v1";

/// A fresh random client secret (43 url-safe characters).
pub(crate) fn generate() -> Result<String, Error> {
    let bytes = atrest_crypto::random::bytes(32).map_err(|_| Error::SigningKey)?;
    Ok(B64.encode(bytes))
}

/// The key client secrets are hashed under: HKDF-SHA-256 of the root key.
pub(crate) fn hash_key(root: &SecretKey) -> hmac::Key {
    struct Len32;
    impl aws_lc_rs::hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = Salt::new(HKDF_SHA256, b"atrest").extract(root.expose_secret());
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    prk.expand(&[HKDF_LABEL], Len32)
        .and_then(|okm| okm.fill(bytes.as_mut()))
        .expect("HKDF can produce 32 bytes");
    hmac::Key::new(hmac::HMAC_SHA256, bytes.as_ref())
}

fn message(object_id: &str, secret: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(object_id.len() + 1 + secret.len());
    message.extend_from_slice(object_id.as_bytes());
    message.push(0);
    message.extend_from_slice(secret.as_bytes());
    message
}

/// `hmac-sha256$v1$<tag>` of `secret` for the principal `object_id`.
pub(crate) fn hash(key: &hmac::Key, object_id: &str, secret: &str) -> String {
    let tag = hmac::sign(key, &message(object_id, secret));
    format!("{HMAC_PREFIX}{}", B64.encode(tag.as_ref()))
}

/// What checking a secret found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verified {
    /// The secret does not match, or there is nothing to match it against.
    No,
    /// It matches a keyed hash.
    Yes,
    /// It matches an earlier version's PBKDF2 hash, which should now be replaced.
    YesLegacy,
}

/// Constant-time check of `secret` against the stored hash of principal `object_id`. With no
/// stored hash (unknown client, principal without a secret) it computes a keyed hash all the
/// same, so the answer takes as long as for a wrong secret.
pub(crate) fn verify(
    key: &hmac::Key,
    object_id: &str,
    secret: &str,
    stored: Option<&str>,
) -> Verified {
    match stored {
        Some(stored) if stored.starts_with("pbkdf2-sha256$") => {
            if verify_pbkdf2(secret, stored) {
                Verified::YesLegacy
            } else {
                Verified::No
            }
        }
        Some(stored) => {
            let tag = stored
                .strip_prefix(HMAC_PREFIX)
                .and_then(|tag| B64.decode(tag).ok());
            // Always compute the tag, even for a malformed entry.
            let ok = hmac::verify(
                key,
                &message(object_id, secret),
                tag.as_deref().unwrap_or(&[0; 32]),
            )
            .is_ok();
            if ok && tag.is_some() {
                Verified::Yes
            } else {
                Verified::No
            }
        }
        None => {
            // The dummy: the same work as for a real principal, with a tag that cannot match.
            let dummy = "00000000-0000-0000-0000-000000000000";
            let _ = hmac::verify(key, &message(dummy, secret), &[0; 32]);
            Verified::No
        }
    }
}

/// `pbkdf2-sha256$<iterations>$<salt>$<hash>`, as written before the keyed hash.
fn verify_pbkdf2(secret: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(iterations), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Some(iterations), Ok(salt), Ok(hash)) = (
        iterations.parse::<u32>().ok().and_then(NonZeroU32::new),
        B64.decode(salt),
        B64.decode(hash),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        secret.as_bytes(),
        &hash,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash in the format earlier versions wrote.
    fn legacy_hash(secret: &str) -> String {
        let salt = [7u8; 16];
        let mut out = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(1000).unwrap(),
            &salt,
            secret.as_bytes(),
            &mut out,
        );
        format!(
            "pbkdf2-sha256$1000${}${}",
            B64.encode(salt),
            B64.encode(out)
        )
    }

    #[test]
    fn hashes_verify_only_the_right_secret_for_the_right_principal() {
        let key = hash_key(&SecretKey::from_bytes([1; 32]));
        let secret = generate().unwrap();
        let stored = hash(&key, "oid-1", &secret);
        assert!(stored.starts_with(HMAC_PREFIX));
        assert!(!stored.contains(&secret));
        assert_eq!(verify(&key, "oid-1", &secret, Some(&stored)), Verified::Yes);
        assert_eq!(verify(&key, "oid-1", "wrong", Some(&stored)), Verified::No);
        // Bound to the principal, and to the root key.
        assert_eq!(verify(&key, "oid-2", &secret, Some(&stored)), Verified::No);
        let other_key = hash_key(&SecretKey::from_bytes([2; 32]));
        assert_eq!(
            verify(&other_key, "oid-1", &secret, Some(&stored)),
            Verified::No
        );
        assert_eq!(
            verify(&key, "oid-1", &secret, Some("garbage")),
            Verified::No
        );
        assert_eq!(verify(&key, "oid-1", &secret, None), Verified::No);
        assert_eq!(
            verify(&key, "oid-1", &secret, Some(HMAC_PREFIX)),
            Verified::No
        );
    }

    #[test]
    fn earlier_pbkdf2_hashes_still_verify() {
        let key = hash_key(&SecretKey::from_bytes([1; 32]));
        let secret = generate().unwrap();
        let stored = legacy_hash(&secret);
        assert_eq!(
            verify(&key, "oid", &secret, Some(&stored)),
            Verified::YesLegacy
        );
        assert_eq!(verify(&key, "oid", "wrong", Some(&stored)), Verified::No);
    }
}
