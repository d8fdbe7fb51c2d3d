use std::fmt;

use aws_lc_rs::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{random, Error};

/// Length in bytes of every symmetric key atrest uses (AES-256).
pub const KEY_LEN: usize = 32;

/// A 32-byte AES-256 key: root key, platform key version, account key.
///
/// The bytes are wiped when the value is dropped, and `Debug` never shows them.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// Draws a fresh key from the system CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; KEY_LEN];
        random::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// Takes ownership of raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Copies key bytes from a slice, which must be exactly [`KEY_LEN`] long.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| Error::InvalidKey)?;
        Ok(Self(array))
    }

    /// The raw key bytes, for wrapping or sealing. Keep the borrow short.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    pub(crate) fn aes_gcm(&self) -> LessSafeKey {
        // A 32-byte slice is always a valid AES-256 key.
        let unbound = UnboundKey::new(&AES_256_GCM, &self.0).expect("32-byte AES-256 key");
        LessSafeKey::new(unbound)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &other.0).is_ok()
    }
}

impl Eq for SecretKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let key = SecretKey::from_bytes([0xab; KEY_LEN]);
        let shown = format!("{key:?}");
        assert_eq!(shown, "SecretKey(<redacted>)");
        assert!(!shown.to_lowercase().contains("ab"));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            SecretKey::generate().unwrap(),
            SecretKey::generate().unwrap()
        );
    }

    #[test]
    fn slice_length_is_checked() {
        assert!(matches!(
            SecretKey::try_from_slice(&[0; 31]),
            Err(Error::InvalidKey)
        ));
        assert!(SecretKey::try_from_slice(&[0; 32]).is_ok());
    }
}
