use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};

use super::header::{Header, NONCE_PREFIX_LEN, TAG_LEN};
use crate::{Error, SecretKey};

/// HKDF `info` label that opens every object-key derivation.
pub const OBJECT_KEY_LABEL: &[u8] = b"atrest/object/v1";

/// Derives the object key: HKDF-SHA256(ikm = account key, salt = header salt,
/// info = label ‖ u32be(len(context)) ‖ context).
fn derive_object_key(account_key: &SecretKey, header: &Header, context: &[u8]) -> LessSafeKey {
    let prk = Salt::new(HKDF_SHA256, header.salt()).extract(account_key.expose_secret());
    let context_len = u32::try_from(context.len())
        .expect("object context fits in u32")
        .to_be_bytes();
    let info: [&[u8]; 3] = [OBJECT_KEY_LABEL, &context_len, context];
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .expect("HKDF-SHA256 can produce 32 bytes");
    LessSafeKey::new(UnboundKey::from(okm))
}

/// The per-object AEAD state shared by encryption and decryption.
struct SegmentCipher {
    key: LessSafeKey,
    header: Vec<u8>,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    segment_size: usize,
}

impl SegmentCipher {
    fn new(account_key: &SecretKey, header: &Header, context: &[u8]) -> Self {
        Self {
            key: derive_object_key(account_key, header, context),
            header: header.as_bytes().to_vec(),
            nonce_prefix: header.nonce_prefix(),
            segment_size: header.segment_size() as usize,
        }
    }

    /// nonce = prefix(7) ‖ u32be(index) ‖ last(1)
    fn nonce(&self, index: u32, last: bool) -> Nonce {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..NONCE_PREFIX_LEN].copy_from_slice(&self.nonce_prefix);
        nonce[NONCE_PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&index.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        Nonce::assume_unique_for_key(nonce)
    }
}

/// Seals an object's segments in order. The low-level engine behind every encrypting adapter.
pub struct SegmentEncryptor {
    cipher: SegmentCipher,
    next_index: u32,
    finished: bool,
}

impl SegmentEncryptor {
    /// Starts a new object under `account_key` with the given header and object context.
    pub fn new(account_key: &SecretKey, header: &Header, context: &[u8]) -> Self {
        Self {
            cipher: SegmentCipher::new(account_key, header, context),
            next_index: 0,
            finished: false,
        }
    }

    /// The encoded header, to be written before the first segment.
    pub fn header(&self) -> &[u8] {
        &self.cipher.header
    }

    /// Plaintext bytes per segment.
    pub fn segment_size(&self) -> usize {
        self.cipher.segment_size
    }

    /// Encrypts the next segment in place and appends its tag.
    ///
    /// A segment that is not `last` must be exactly one segment long; the last one may hold
    /// from one byte to one full segment, or zero bytes when it is the only segment (the empty
    /// object).
    pub fn seal_segment<B>(&mut self, segment: &mut B, last: bool) -> Result<(), Error>
    where
        B: AsMut<[u8]> + for<'a> Extend<&'a u8>,
    {
        let tag = self.seal_in_place(segment.as_mut(), last)?;
        segment.extend(tag.iter());
        Ok(())
    }

    /// Encrypts the next segment in place and returns its tag, which the caller stores right
    /// after the segment.
    pub fn seal_in_place(
        &mut self,
        segment: &mut [u8],
        last: bool,
    ) -> Result<[u8; TAG_LEN], Error> {
        let nonce = self.next_nonce(segment.len(), last)?;
        let tag = self
            .cipher
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(&self.cipher.header), segment)
            .map_err(|_| Error::Encrypt)?;
        self.advance(last);
        Ok(tag.as_ref().try_into().expect("GCM tag is 16 bytes"))
    }

    /// Encrypts `plaintext` as the next segment into `out` (ciphertext, then tag), which must be
    /// exactly `plaintext.len() + TAG_LEN` bytes long. Saves the copy that sealing in place
    /// needs when the plaintext is borrowed.
    pub(crate) fn seal_into(
        &mut self,
        plaintext: &[u8],
        out: &mut [u8],
        last: bool,
    ) -> Result<(), Error> {
        let nonce = self.next_nonce(plaintext.len(), last)?;
        if out.len() != plaintext.len() + TAG_LEN {
            return Err(Error::SegmentLength {
                len: out.len(),
                segment_size: self.cipher.segment_size as u32,
            });
        }
        let (ciphertext, tag) = out.split_at_mut(plaintext.len());
        self.cipher
            .key
            .seal_out_of_place_scatter(
                nonce,
                Aad::from(&self.cipher.header),
                plaintext,
                ciphertext,
                &[],
                tag,
            )
            .map_err(|_| Error::Encrypt)?;
        self.advance(last);
        Ok(())
    }

    /// Checks that a `len`-byte segment may come next and returns its nonce.
    fn next_nonce(&self, len: usize, last: bool) -> Result<Nonce, Error> {
        if self.finished {
            return Err(Error::AlreadyFinished);
        }
        let fits = if last {
            // Only the empty object ends with an empty segment; any other plaintext's final
            // segment holds at least one byte (a multiple of the segment size ends full).
            len <= self.cipher.segment_size && (len > 0 || self.next_index == 0)
        } else {
            len == self.cipher.segment_size
        };
        if !fits {
            return Err(Error::SegmentLength {
                len,
                segment_size: self.cipher.segment_size as u32,
            });
        }
        if !last && self.next_index == u32::MAX {
            return Err(Error::TooManySegments);
        }
        Ok(self.cipher.nonce(self.next_index, last))
    }

    fn advance(&mut self, last: bool) {
        self.finished = last;
        self.next_index = self.next_index.wrapping_add(1);
    }

    /// Whether the final segment has been sealed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

/// Opens individual segments of one object, in any order (random access).
pub struct SegmentDecryptor {
    cipher: SegmentCipher,
}

impl SegmentDecryptor {
    /// Prepares to open segments of the object with this header and context.
    pub fn new(account_key: &SecretKey, header: &Header, context: &[u8]) -> Self {
        Self {
            cipher: SegmentCipher::new(account_key, header, context),
        }
    }

    /// Plaintext bytes per segment.
    pub fn segment_size(&self) -> usize {
        self.cipher.segment_size
    }

    /// Ciphertext bytes of a full segment (plaintext plus tag).
    pub fn ciphertext_segment_len(&self) -> usize {
        self.cipher.segment_size + TAG_LEN
    }

    /// Authenticates and decrypts segment `index` in place; returns its plaintext.
    ///
    /// When a segment read as final fails but verifies as a middle segment, the object was cut
    /// short after it, and the error says [`Error::Truncated`] rather than a bad tag.
    pub fn open_segment<'a>(
        &self,
        index: u32,
        last: bool,
        segment: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        self.check_length(index, last, segment.len())?;
        let aad = &self.cipher.header;
        if last && segment.len() == self.ciphertext_segment_len() {
            // Keep a copy so a failed "last" open can be retried as a middle segment.
            let mut probe = segment.to_vec();
            if let Ok(plain) = self.open(index, true, aad, segment) {
                return Ok(plain);
            }
            return match self.open(index, false, aad, &mut probe) {
                Ok(_) => Err(Error::Truncated),
                Err(e) => Err(e),
            };
        }
        self.open(index, last, aad, segment)
    }

    /// Like [`open_segment`](Self::open_segment), but leaves `segment` (ciphertext ‖ tag) as
    /// it is and writes the plaintext to `out`, which must be exactly `segment.len() - TAG_LEN`
    /// bytes long. On error `out` holds no plaintext.
    pub(crate) fn open_segment_into(
        &self,
        index: u32,
        last: bool,
        segment: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        self.check_length(index, last, segment.len())?;
        let (ciphertext, tag) = segment.split_at(segment.len() - TAG_LEN);
        if out.len() != ciphertext.len() {
            return Err(Error::SegmentAuthentication { index });
        }
        let open = |last: bool, out: &mut [u8]| {
            self.cipher.key.open_separate_gather(
                self.cipher.nonce(index, last),
                Aad::from(&self.cipher.header),
                ciphertext,
                tag,
                out,
            )
        };
        if open(last, out).is_ok() {
            return Ok(());
        }
        let truncated =
            last && segment.len() == self.ciphertext_segment_len() && open(false, out).is_ok();
        out.fill(0);
        Err(if truncated {
            Error::Truncated
        } else {
            Error::SegmentAuthentication { index }
        })
    }

    /// Rejects segment lengths that cannot occur at this position.
    fn check_length(&self, index: u32, last: bool, len: usize) -> Result<(), Error> {
        let max = self.ciphertext_segment_len();
        if last && len == TAG_LEN && index > 0 {
            // An empty final segment after full ones: no writer produces this (the last full
            // segment is the final one), so the bare tag is data after the end.
            return Err(Error::TrailingData);
        }
        if len < TAG_LEN || len > max || (!last && len != max) {
            return Err(if last && len < TAG_LEN {
                Error::Truncated
            } else {
                Error::SegmentAuthentication { index }
            });
        }
        Ok(())
    }

    fn open<'a>(
        &self,
        index: u32,
        last: bool,
        aad: &[u8],
        segment: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        self.cipher
            .key
            .open_in_place(self.cipher.nonce(index, last), Aad::from(aad), segment)
            .map_err(|_| Error::SegmentAuthentication { index })
    }
}
