//! Sealing data at rest under the root key: vault private keys, key rings, backups.
//!
//! A sealed blob is `0x01 ‖ nonce(12) ‖ AES-256-GCM(plaintext) ‖ tag(16)` with
//! AAD = `"atrest/seal/v1" ‖ aad`. Bind the blob to where it lives through `aad` (for a vault
//! key version: vault ‖ key ‖ version), so a blob copied elsewhere does not open.

use zeroize::Zeroizing;

use crate::{aes_gcm, Error, SecretKey};

const LABEL: &[u8] = b"atrest/seal/v1";

/// Seals `plaintext` under `root` bound to `aad`.
pub fn seal(root: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    aes_gcm::seal(root, LABEL, aad, plaintext)
}

/// Opens a blob made by [`seal`] with the same key and `aad`. The result is wiped on drop.
pub fn open(root: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    aes_gcm::open(root, LABEL, aad, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let root = SecretKey::generate().unwrap();
        let sealed = seal(&root, b"vault|key|v1", b"private key bytes").unwrap();
        assert_eq!(
            &open(&root, b"vault|key|v1", &sealed).unwrap()[..],
            b"private key bytes"
        );
        assert!(matches!(
            open(&root, b"vault|key|v2", &sealed),
            Err(Error::Unwrap)
        ));
        let other = SecretKey::generate().unwrap();
        assert!(matches!(
            open(&other, b"vault|key|v1", &sealed),
            Err(Error::Unwrap)
        ));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(open(&root, b"vault|key|v1", &bad).is_err(), "flip at {i}");
        }
        assert!(matches!(
            open(&root, b"", &sealed[..10]),
            Err(Error::Malformed)
        ));
    }

    #[test]
    fn sealing_is_not_deterministic() {
        let root = SecretKey::generate().unwrap();
        assert_ne!(
            seal(&root, b"", b"x").unwrap(),
            seal(&root, b"", b"x").unwrap()
        );
    }
}
