//! One-shot AES-256-GCM with random nonces and a domain-separation label, shared by
//! [`crate::envelope`] and [`crate::seal`].
//!
//! Layout: `version(1) ‖ nonce(12) ‖ ciphertext ‖ tag(16)`; AAD = `label ‖ aad`.

use aws_lc_rs::aead::{Aad, Nonce, NONCE_LEN};
use zeroize::Zeroizing;

use crate::stream::TAG_LEN;
use crate::{random, Error, SecretKey};

const VERSION: u8 = 1;
/// Bytes added to the plaintext: version, nonce and tag.
pub(crate) const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

fn full_aad(label: &[u8], aad: &[u8]) -> Vec<u8> {
    [label, aad].concat()
}

pub(crate) fn seal(
    key: &SecretKey,
    label: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut nonce = [0u8; NONCE_LEN];
    random::fill(&mut nonce)?;
    let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .aes_gcm()
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(full_aad(label, aad)),
            &mut out[1 + NONCE_LEN..],
        )
        .map_err(|_| Error::Encrypt)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

pub(crate) fn open(
    key: &SecretKey,
    label: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if sealed.len() < OVERHEAD {
        return Err(Error::Malformed);
    }
    if sealed[0] != VERSION {
        return Err(Error::Malformed);
    }
    let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().expect("fixed slice");
    let mut buf = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
    let len = key
        .aes_gcm()
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(full_aad(label, aad)),
            &mut buf,
        )
        .map_err(|_| Error::Unwrap)?
        .len();
    buf.truncate(len);
    Ok(buf)
}
