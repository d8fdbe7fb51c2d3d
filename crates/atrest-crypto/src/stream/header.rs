use std::io::Read;

use crate::{random, Error};

/// Magic bytes that open every atrest object.
pub const MAGIC: [u8; 4] = *b"ATRS";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Algorithm id: AES-256-GCM segments under an HKDF-SHA256-derived object key.
pub const ALG_AES256_GCM_HKDF_SHA256: u8 = 1;
/// Length of the per-object HKDF salt.
pub const SALT_LEN: usize = 32;
/// Length of the per-object nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Length of each segment's GCM tag.
pub const TAG_LEN: usize = 16;
/// Default plaintext bytes per segment (64 KiB).
pub const DEFAULT_SEGMENT_SIZE: u32 = 64 * 1024;
/// Smallest segment size a header may declare.
pub const MIN_SEGMENT_SIZE: u32 = 16;
/// Largest segment size a header may declare (bounds a reader's memory).
pub const MAX_SEGMENT_SIZE: u32 = 16 * 1024 * 1024;
/// Longest key reference a header can carry.
pub const MAX_KEY_REF_LEN: usize = 255;

/// magic(4) version(1) alg(1) segment_size(4) key_ref_len(1)
const FIXED_LEN: usize = 11;
/// Longest possible encoded header.
pub const MAX_HEADER_LEN: usize = FIXED_LEN + MAX_KEY_REF_LEN + SALT_LEN + NONCE_PREFIX_LEN;

/// The authenticated object header.
///
/// Its encoded bytes are the AAD of every segment, so any change to any field makes every
/// segment fail to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    segment_size: u32,
    key_ref_len: usize,
    encoded: Vec<u8>,
}

impl Header {
    /// A header with a fresh random salt and nonce prefix.
    pub fn new(segment_size: u32, key_ref: &[u8]) -> Result<Self, Error> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        random::fill(&mut salt)?;
        random::fill(&mut nonce_prefix)?;
        Self::with_parameters(segment_size, key_ref, salt, nonce_prefix)
    }

    /// A header with caller-chosen salt and nonce prefix.
    ///
    /// Only for known-answer tests: reusing a salt with the same key and context reuses nonces.
    pub fn with_parameters(
        segment_size: u32,
        key_ref: &[u8],
        salt: [u8; SALT_LEN],
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, Error> {
        check_segment_size(segment_size)?;
        if key_ref.len() > MAX_KEY_REF_LEN {
            return Err(Error::KeyRefTooLong(key_ref.len()));
        }
        let mut encoded =
            Vec::with_capacity(FIXED_LEN + key_ref.len() + SALT_LEN + NONCE_PREFIX_LEN);
        encoded.extend_from_slice(&MAGIC);
        encoded.push(VERSION);
        encoded.push(ALG_AES256_GCM_HKDF_SHA256);
        encoded.extend_from_slice(&segment_size.to_be_bytes());
        encoded.push(key_ref.len() as u8);
        encoded.extend_from_slice(key_ref);
        encoded.extend_from_slice(&salt);
        encoded.extend_from_slice(&nonce_prefix);
        Ok(Self {
            segment_size,
            key_ref_len: key_ref.len(),
            encoded,
        })
    }

    /// Parses the header at the start of `bytes`; trailing bytes are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let len = encoded_len(bytes)?;
        let encoded = bytes.get(..len).ok_or(Error::TruncatedHeader)?.to_vec();
        let segment_size = u32::from_be_bytes([encoded[6], encoded[7], encoded[8], encoded[9]]);
        Ok(Self {
            segment_size,
            key_ref_len: usize::from(encoded[10]),
            encoded,
        })
    }

    /// Reads exactly one header from `reader`, leaving it positioned at the first segment.
    pub fn read_from<R: Read>(reader: &mut R) -> std::io::Result<Self> {
        let mut buf = vec![0u8; FIXED_LEN];
        read_exact_or(reader, &mut buf, Error::TruncatedHeader)?;
        let total = encoded_len(&buf)?;
        buf.resize(total, 0);
        read_exact_or(reader, &mut buf[FIXED_LEN..], Error::TruncatedHeader)?;
        Ok(Self::parse(&buf)?)
    }

    /// Plaintext bytes per segment.
    pub fn segment_size(&self) -> u32 {
        self.segment_size
    }

    /// The key reference recorded by the writer (which account key version sealed the object).
    pub fn key_ref(&self) -> &[u8] {
        &self.encoded[FIXED_LEN..FIXED_LEN + self.key_ref_len]
    }

    /// The HKDF salt.
    pub fn salt(&self) -> &[u8] {
        let start = FIXED_LEN + self.key_ref_len;
        &self.encoded[start..start + SALT_LEN]
    }

    /// The nonce prefix shared by all segments.
    pub fn nonce_prefix(&self) -> [u8; NONCE_PREFIX_LEN] {
        let start = FIXED_LEN + self.key_ref_len + SALT_LEN;
        self.encoded[start..start + NONCE_PREFIX_LEN]
            .try_into()
            .expect("fixed-length field")
    }

    /// The encoded header, exactly as stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded
    }

    /// Length of the encoded header.
    pub fn len(&self) -> usize {
        self.encoded.len()
    }

    /// Always false: a header is never empty. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header")
            .field("segment_size", &self.segment_size)
            .field("key_ref", &String::from_utf8_lossy(self.key_ref()))
            .finish_non_exhaustive()
    }
}

fn check_segment_size(segment_size: u32) -> Result<(), Error> {
    if (MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size) {
        Ok(())
    } else {
        Err(Error::InvalidSegmentSize(segment_size))
    }
}

/// Validates the fixed part of a header and returns the full encoded length.
fn encoded_len(bytes: &[u8]) -> Result<usize, Error> {
    if bytes.len() < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) {
            Error::TruncatedHeader
        } else {
            Error::BadMagic
        });
    }
    if bytes[..4] != MAGIC {
        return Err(Error::BadMagic);
    }
    let fixed = bytes.get(..FIXED_LEN).ok_or(Error::TruncatedHeader)?;
    if fixed[4] != VERSION {
        return Err(Error::UnsupportedVersion(fixed[4]));
    }
    if fixed[5] != ALG_AES256_GCM_HKDF_SHA256 {
        return Err(Error::UnsupportedAlgorithm(fixed[5]));
    }
    check_segment_size(u32::from_be_bytes([fixed[6], fixed[7], fixed[8], fixed[9]]))?;
    Ok(FIXED_LEN + usize::from(fixed[10]) + SALT_LEN + NONCE_PREFIX_LEN)
}

pub(crate) fn read_exact_or<R: Read>(
    reader: &mut R,
    buf: &mut [u8],
    on_eof: Error,
) -> std::io::Result<()> {
    match reader.read_exact(buf) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(on_eof.into()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header::with_parameters(4096, b"ak-1", [7; SALT_LEN], [9; NONCE_PREFIX_LEN]).unwrap()
    }

    #[test]
    fn round_trips_all_fields() {
        let header = sample();
        let parsed = Header::parse(header.as_bytes()).unwrap();
        assert_eq!(parsed, header);
        assert_eq!(parsed.segment_size(), 4096);
        assert_eq!(parsed.key_ref(), b"ak-1");
        assert_eq!(parsed.salt(), &[7; SALT_LEN]);
        assert_eq!(parsed.nonce_prefix(), [9; NONCE_PREFIX_LEN]);
        assert_eq!(parsed.len(), 11 + 4 + 32 + 7);
    }

    #[test]
    fn rejects_bad_fields_with_specific_errors() {
        let good = sample().as_bytes().to_vec();
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(Header::parse(&bad), Err(Error::BadMagic)));
        let mut bad = good.clone();
        bad[4] = 2;
        assert!(matches!(
            Header::parse(&bad),
            Err(Error::UnsupportedVersion(2))
        ));
        let mut bad = good.clone();
        bad[5] = 9;
        assert!(matches!(
            Header::parse(&bad),
            Err(Error::UnsupportedAlgorithm(9))
        ));
        let mut bad = good.clone();
        bad[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Header::parse(&bad),
            Err(Error::InvalidSegmentSize(_))
        ));
        for cut in 0..good.len() {
            assert!(
                matches!(Header::parse(&good[..cut]), Err(Error::TruncatedHeader)),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn rejects_out_of_range_parameters() {
        assert!(matches!(
            Header::new(8, b""),
            Err(Error::InvalidSegmentSize(8))
        ));
        assert!(matches!(
            Header::new(4096, &[0; 256]),
            Err(Error::KeyRefTooLong(256))
        ));
        assert!(Header::new(MAX_SEGMENT_SIZE, &[0; 255]).is_ok());
    }

    #[test]
    fn debug_shows_no_salt() {
        let shown = format!("{:?}", sample());
        assert!(shown.contains("4096") && shown.contains("ak-1"));
    }
}
