//! Cryptography for atrest: key types, the streaming object format, envelope wrapping and
//! sealing under the root key.
//!
//! Every primitive comes from [`aws_lc_rs`] (FIPS-capable, constant-time RSA); this crate only
//! composes them. It is pure: it works on byte slices and on `Read`/`Write`/`Stream` values the
//! caller supplies, and does no I/O of its own.
//!
//! * [`SecretKey`]: a 32-byte AES-256 key that zeroizes on drop and never prints its bytes.
//! * [`stream`]: the segmented AES-256-GCM object format (normative spec: `docs/FORMAT.md`).
//! * [`envelope`]: wrapping a key under an AES-256 key (AES-GCM with AAD) or an RSA public key
//!   (RSA-OAEP-256 / RSA-OAEP).
//! * [`seal`]: sealing arbitrary bytes at rest under the root key.
//!
//! # Example
//!
//! ```
//! use atrest_crypto::{stream, SecretKey};
//!
//! let account_key = SecretKey::generate().unwrap();
//! let context = stream::object_context(&[b"tenant-1", b"account-1", b"object-7"]);
//! let header = stream::Header::new(stream::DEFAULT_SEGMENT_SIZE, b"ak:v1").unwrap();
//! let ciphertext = stream::encrypt_to_vec(&account_key, &header, &context, b"hello").unwrap();
//! let plaintext = stream::decrypt_to_vec(&account_key, &context, &ciphertext).unwrap();
//! assert_eq!(plaintext, b"hello");
//! ```

mod aes_gcm;
mod error;
mod key;

pub mod envelope;
pub mod random;
pub mod seal;
pub mod stream;

pub use error::Error;
pub use key::{SecretKey, KEY_LEN};
