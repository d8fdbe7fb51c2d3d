use std::io;

/// Everything that can go wrong in this crate.
///
/// Messages name what failed (which segment, which field) and never include key material.
/// Authentication failures are deliberately unspecific about *why* a tag did not match: a wrong
/// key, a wrong object context and modified bytes look the same to a verifier.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data does not start with the atrest object magic bytes.
    #[error("not an atrest object: bad magic bytes")]
    BadMagic,
    /// The header names a format version this build does not read.
    #[error("unsupported object format version {0}")]
    UnsupportedVersion(u8),
    /// The header names an algorithm this build does not implement.
    #[error("unsupported object algorithm id {0}")]
    UnsupportedAlgorithm(u8),
    /// The segment size is outside the range the format allows.
    #[error("segment size {0} is outside the allowed range")]
    InvalidSegmentSize(u32),
    /// A key reference longer than the header can record.
    #[error("key reference is {0} bytes long; at most 255 are allowed")]
    KeyRefTooLong(usize),
    /// The data ends inside the object header.
    #[error("object header is truncated")]
    TruncatedHeader,
    /// The data ends before the final segment: the object was cut short.
    #[error("object is truncated: its final segment is missing")]
    Truncated,
    /// A segment's tag did not verify.
    #[error("segment {index} failed authentication (wrong key, wrong object or modified data)")]
    SegmentAuthentication {
        /// Zero-based index of the segment that failed.
        index: u32,
    },
    /// Bytes follow the segment marked final.
    #[error("data follows the final segment")]
    TrailingData,
    /// The object would need more segments than the format can number.
    #[error("object exceeds the maximum number of segments (2^32)")]
    TooManySegments,
    /// A plaintext range lies outside the object.
    #[error("range {start}..{end} is outside the object's {len} bytes")]
    RangeOutOfBounds {
        /// First requested byte.
        start: u64,
        /// One past the last requested byte.
        end: u64,
        /// Plaintext length of the object.
        len: u64,
    },
    /// A segment handed to the encryptor has the wrong length.
    #[error("segment of {len} bytes does not fit segment size {segment_size}")]
    SegmentLength {
        /// Bytes supplied.
        len: usize,
        /// The object's segment size.
        segment_size: u32,
    },
    /// The encryptor was used after its final segment.
    #[error("the final segment was already written")]
    AlreadyFinished,
    /// A wrapped key or sealed blob did not authenticate.
    #[error("unwrap failed (wrong key, wrong context or modified data)")]
    Unwrap,
    /// A wrapped key or sealed blob is not in a format this build reads.
    #[error("wrapped data is malformed")]
    Malformed,
    /// Key material has the wrong length or encoding.
    #[error("invalid key material")]
    InvalidKey,
    /// An RSA key could not be generated, parsed or used.
    #[error("RSA operation failed")]
    Rsa,
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Random,
    /// AES-GCM refused to seal (input too long).
    #[error("encryption failed")]
    Encrypt,
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        Self::new(io::ErrorKind::InvalidData, err)
    }
}
