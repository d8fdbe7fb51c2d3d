use std::ops::Range;

use super::header::{Header, TAG_LEN};
use crate::Error;

/// Where an object's segments lie, computed from its header and total ciphertext length.
///
/// Every segment but the last holds exactly `segment_size` plaintext bytes, so the segment that
/// covers any plaintext offset, and its position in the ciphertext, follow by arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLayout {
    header_len: u64,
    segment_size: u64,
    segment_count: u64,
    plaintext_len: u64,
}

/// The ciphertext bytes to fetch for a plaintext range, and how to trim the decrypted segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSpan {
    /// Index of the first covering segment.
    pub first_segment: u32,
    /// Index of the object's final segment (so a reader knows which segment is last).
    pub final_segment: u32,
    /// Byte range of the covering segments within the stored object.
    pub ciphertext: Range<u64>,
    /// Plaintext bytes to drop from the front of the first segment.
    pub skip: u64,
    /// Plaintext bytes to return in all.
    pub len: u64,
}

impl ObjectLayout {
    /// Computes the layout of a stored object `ciphertext_len` bytes long.
    pub fn new(header: &Header, ciphertext_len: u64) -> Result<Self, Error> {
        let header_len = header.len() as u64;
        let segment_size = u64::from(header.segment_size());
        let full = segment_size + TAG_LEN as u64;
        let body = ciphertext_len
            .checked_sub(header_len)
            .ok_or(Error::TruncatedHeader)?;
        if body < TAG_LEN as u64 {
            return Err(Error::Truncated);
        }
        let segment_count = body.div_ceil(full);
        let last_len = body - (segment_count - 1) * full;
        if last_len < TAG_LEN as u64 {
            // A final fragment shorter than a tag cannot be a segment.
            return Err(Error::Truncated);
        }
        if segment_count > 1 && last_len == TAG_LEN as u64 {
            // An empty final segment only ever forms the empty object; after full segments
            // the last full one must itself be final, so the bare tag is surplus.
            return Err(Error::TrailingData);
        }
        if segment_count > u64::from(u32::MAX) + 1 {
            return Err(Error::TooManySegments);
        }
        let plaintext_len = (segment_count - 1) * segment_size + (last_len - TAG_LEN as u64);
        Ok(Self {
            header_len,
            segment_size,
            segment_count,
            plaintext_len,
        })
    }

    /// Plaintext length of the object.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Number of segments (at least one, even for an empty object).
    pub fn segment_count(&self) -> u64 {
        self.segment_count
    }

    /// Total stored length for a plaintext of `plaintext_len` bytes under `header`.
    pub fn ciphertext_len(header: &Header, plaintext_len: u64) -> u64 {
        let segment_size = u64::from(header.segment_size());
        let segments = plaintext_len.div_ceil(segment_size).max(1);
        header.len() as u64 + plaintext_len + segments * TAG_LEN as u64
    }

    /// The segments that cover plaintext `range`; an empty range maps to an empty span.
    pub fn span(&self, range: Range<u64>) -> Result<SegmentSpan, Error> {
        if range.start > range.end || range.end > self.plaintext_len {
            return Err(Error::RangeOutOfBounds {
                start: range.start,
                end: range.end,
                len: self.plaintext_len,
            });
        }
        let final_segment = (self.segment_count - 1) as u32;
        let full = self.segment_size + TAG_LEN as u64;
        if range.is_empty() {
            let at = self.header_len;
            return Ok(SegmentSpan {
                first_segment: 0,
                final_segment,
                ciphertext: at..at,
                skip: 0,
                len: 0,
            });
        }
        let first = range.start / self.segment_size;
        let last = (range.end - 1) / self.segment_size;
        let start = self.header_len + first * full;
        let end = if last == self.segment_count - 1 {
            self.header_len + (self.segment_count - 1) * full + self.last_segment_len()
        } else {
            self.header_len + (last + 1) * full
        };
        Ok(SegmentSpan {
            first_segment: first as u32,
            final_segment,
            ciphertext: start..end,
            skip: range.start - first * self.segment_size,
            len: range.end - range.start,
        })
    }

    fn last_segment_len(&self) -> u64 {
        self.plaintext_len - (self.segment_count - 1) * self.segment_size + TAG_LEN as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::header::{NONCE_PREFIX_LEN, SALT_LEN};

    fn header(segment_size: u32) -> Header {
        Header::with_parameters(segment_size, b"", [0; SALT_LEN], [0; NONCE_PREFIX_LEN]).unwrap()
    }

    #[test]
    fn lengths_round_trip() {
        let h = header(100);
        for plain in [0u64, 1, 99, 100, 101, 1000, 1001] {
            let total = ObjectLayout::ciphertext_len(&h, plain);
            let layout = ObjectLayout::new(&h, total).unwrap();
            assert_eq!(layout.plaintext_len(), plain, "plaintext {plain}");
            assert_eq!(layout.segment_count(), plain.div_ceil(100).max(1));
        }
    }

    #[test]
    fn impossible_lengths_are_truncation() {
        let h = header(100);
        let hl = h.len() as u64;
        assert!(matches!(
            ObjectLayout::new(&h, hl - 1),
            Err(Error::TruncatedHeader)
        ));
        assert!(matches!(
            ObjectLayout::new(&h, hl + 15),
            Err(Error::Truncated)
        ));
        // One full segment plus a 5-byte fragment: no valid final segment.
        assert!(matches!(
            ObjectLayout::new(&h, hl + 116 + 5),
            Err(Error::Truncated)
        ));
    }

    #[test]
    fn empty_final_segment_after_full_ones_is_not_a_layout() {
        // Regression: header ‖ full segment ‖ bare 16-byte tag was accepted with
        // `plaintext_len` 100, although a 100-byte plaintext is one full *final* segment
        // (`ciphertext_len(100)` is 16 bytes shorter). No writer produces such an object.
        let h = header(100);
        let hl = h.len() as u64;
        for segments in 1..4u64 {
            let total = hl + segments * 116 + 16;
            assert!(
                matches!(ObjectLayout::new(&h, total), Err(Error::TrailingData)),
                "{segments} full segments and a bare tag"
            );
        }
        // A lone empty final segment is the empty object.
        assert_eq!(ObjectLayout::new(&h, hl + 16).unwrap().plaintext_len(), 0);
    }

    #[test]
    fn span_covers_only_needed_segments() {
        let h = header(100);
        let hl = h.len() as u64;
        let layout = ObjectLayout::new(&h, ObjectLayout::ciphertext_len(&h, 350)).unwrap();
        let span = layout.span(150..250).unwrap();
        assert_eq!(span.first_segment, 1);
        assert_eq!(span.final_segment, 3);
        assert_eq!(span.ciphertext, hl + 116..hl + 3 * 116);
        assert_eq!((span.skip, span.len), (50, 100));
        let tail = layout.span(349..350).unwrap();
        assert_eq!(tail.ciphertext, hl + 3 * 116..hl + 3 * 116 + 50 + 16);
        assert!(matches!(
            layout.span(0..351),
            Err(Error::RangeOutOfBounds { .. })
        ));
    }
}
