//! Client secrets: generated with 256 bits of entropy, stored only as a salted PBKDF2 hash.

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use crate::Error;

const ITERATIONS: u32 = 100_000;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// A fresh random client secret (43 url-safe characters).
pub(crate) fn generate() -> Result<String, Error> {
    let bytes = atrest_crypto::random::bytes(32).map_err(|_| Error::SigningKey)?;
    Ok(B64.encode(bytes))
}

/// `pbkdf2-sha256$<iterations>$<salt>$<hash>`
pub(crate) fn hash(secret: &str) -> Result<String, Error> {
    let salt = atrest_crypto::random::bytes(SALT_LEN).map_err(|_| Error::SigningKey)?;
    let mut out = [0u8; HASH_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(ITERATIONS).expect("non-zero"),
        &salt,
        secret.as_bytes(),
        &mut out,
    );
    Ok(format!(
        "pbkdf2-sha256${ITERATIONS}${}${}",
        B64.encode(salt),
        B64.encode(out)
    ))
}

/// Constant-time check of `secret` against a stored hash.
pub(crate) fn verify(secret: &str, stored: &str) -> bool {
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

    #[test]
    fn hashes_verify_only_the_right_secret() {
        let secret = generate().unwrap();
        let stored = hash(&secret).unwrap();
        assert!(!stored.contains(&secret));
        assert!(verify(&secret, &stored));
        assert!(!verify("wrong", &stored));
        assert!(!verify(&secret, "garbage"));
        assert_ne!(hash(&secret).unwrap(), stored, "salted");
    }
}
