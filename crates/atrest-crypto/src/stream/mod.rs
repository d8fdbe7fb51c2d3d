//! The atrest object format: segmented streaming AES-256-GCM (after Tink's AES-GCM-HKDF
//! streaming AEAD). `docs/FORMAT.md` is the normative specification; in short:
//!
//! ```text
//! object  = header ‖ segment_0 ‖ … ‖ segment_{n-1}          (n ≥ 1)
//! header  = "ATRS" ‖ version=1 ‖ alg=1 ‖ u32be(segment_size) ‖ u8(len(key_ref)) ‖ key_ref
//!           ‖ salt(32) ‖ nonce_prefix(7)
//! K       = HKDF-SHA256(ikm = account key, salt,
//!                       info = "atrest/object/v1" ‖ u32be(len(context)) ‖ context)
//! segment_i = AES-256-GCM(K, nonce = nonce_prefix ‖ u32be(i) ‖ [i = n-1],
//!                         aad = header, plaintext_i) ‖ tag(16)
//! ```
//!
//! Every segment but the last carries exactly `segment_size` plaintext bytes; the last carries
//! 1..=`segment_size` (a multiple of the segment size ends with a full final segment), or 0
//! only in the empty object. So the segment covering any byte offset is found by arithmetic
//! ([`ObjectLayout`]), and a range read decrypts only those segments.
//!
//! Adapters, all constant-memory: [`EncryptWriter`]/[`DecryptReader`] (`std::io`),
//! [`EncryptStream`]/[`DecryptStream`] (`Stream<Item = io::Result<Bytes>>`), [`decrypt_range`]
//! (`Read + Seek`), and the in-memory [`encrypt_to_vec`]/[`decrypt_to_vec`]. The low-level
//! [`SegmentEncryptor`]/[`SegmentDecryptor`] work one segment at a time.

mod async_io;
mod decoder;
mod header;
mod layout;
mod segment;
mod sync_io;

pub use async_io::{DecryptStream, EncryptStream};
pub use header::{
    Header, ALG_AES256_GCM_HKDF_SHA256, DEFAULT_SEGMENT_SIZE, MAGIC, MAX_HEADER_LEN,
    MAX_KEY_REF_LEN, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, NONCE_PREFIX_LEN, SALT_LEN, TAG_LEN,
    VERSION,
};
pub use layout::{ObjectLayout, SegmentSpan};
pub use segment::{SegmentDecryptor, SegmentEncryptor, OBJECT_KEY_LABEL};
pub use sync_io::{decrypt_range, DecryptReader, EncryptWriter};

use crate::{Error, SecretKey};

/// Encodes the parts that identify an object (e.g. tenant, account, object id) into an
/// unambiguous context string: each part as `u32be(len) ‖ bytes`.
///
/// The context enters the object-key derivation, so an object copied under another identity
/// does not decrypt.
pub fn object_context(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        let len = u32::try_from(part.len()).expect("context part fits in u32");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Encrypts a whole plaintext held in memory.
pub fn encrypt_to_vec(
    account_key: &SecretKey,
    header: &Header,
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut segments = SegmentEncryptor::new(account_key, header, context);
    let total = ObjectLayout::ciphertext_len(header, plaintext.len() as u64);
    // Zeroed rather than copied into: a large zeroed allocation comes straight from the OS,
    // and each segment is then encrypted from `plaintext` directly into place.
    let mut out = vec![0u8; usize::try_from(total).map_err(|_| Error::TooManySegments)?];
    let (head, mut body) = out.split_at_mut(header.len());
    head.copy_from_slice(header.as_bytes());
    let segment_size = header.segment_size() as usize;
    let count = plaintext.len().div_ceil(segment_size).max(1);
    for index in 0..count {
        let chunk = &plaintext[(index * segment_size).min(plaintext.len())
            ..((index + 1) * segment_size).min(plaintext.len())];
        let (segment, rest) = body.split_at_mut(chunk.len() + TAG_LEN);
        segments.seal_into(chunk, segment, index + 1 == count)?;
        body = rest;
    }
    Ok(out)
}

/// Decrypts a whole object held in memory.
pub fn decrypt_to_vec(
    account_key: &SecretKey,
    context: &[u8],
    object: &[u8],
) -> Result<Vec<u8>, Error> {
    let header = Header::parse(object)?;
    let layout = ObjectLayout::new(&header, object.len() as u64)?;
    let decryptor = SegmentDecryptor::new(account_key, &header, context);
    let count = layout.segment_count() as usize;
    let plaintext_len =
        usize::try_from(layout.plaintext_len()).map_err(|_| Error::TooManySegments)?;
    // Zeroed rather than copied into (see `encrypt_to_vec`): each segment is decrypted from
    // `object` straight into place.
    let mut out = vec![0u8; plaintext_len];
    let mut rest = &mut out[..];
    let body = &object[header.len()..];
    for (index, segment) in body.chunks(decryptor.ciphertext_segment_len()).enumerate() {
        let plain_len = segment.len().saturating_sub(TAG_LEN).min(rest.len());
        let (plain, tail) = rest.split_at_mut(plain_len);
        decryptor.open_segment_into(index as u32, index + 1 == count, segment, plain)?;
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
