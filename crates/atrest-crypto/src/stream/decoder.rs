//! The sans-I/O decryption state machine shared by the `Read` and `Stream` adapters.

use super::header::TAG_LEN;
use super::layout::SegmentSpan;
use super::segment::SegmentDecryptor;
use crate::Error;

/// What the adapter should do with the ciphertext it has buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Buffer more input (or report EOF) before the next segment can be opened.
    NeedMore,
    /// Open the next `len` buffered bytes as one segment.
    Open { len: usize, last: bool },
    /// The final segment has been returned.
    Done,
}

/// Tracks segment numbering, the final segment and range trimming while decrypting a stream.
pub(crate) struct Decoder {
    segments: SegmentDecryptor,
    next_index: u32,
    /// Known when decrypting a range (the object's length is known); otherwise the final
    /// segment is the one after which the input ends.
    final_index: Option<u32>,
    skip: usize,
    remaining: Option<u64>,
    done: bool,
}

impl Decoder {
    pub(crate) fn new(segments: SegmentDecryptor) -> Self {
        Self {
            segments,
            next_index: 0,
            final_index: None,
            skip: 0,
            remaining: None,
            done: false,
        }
    }

    pub(crate) fn for_span(segments: SegmentDecryptor, span: &SegmentSpan) -> Self {
        Self {
            segments,
            next_index: span.first_segment,
            final_index: Some(span.final_segment),
            skip: span.skip as usize,
            remaining: Some(span.len),
            done: span.len == 0,
        }
    }

    /// Most bytes a caller needs buffered to make progress: one full segment plus one byte of
    /// look-ahead that tells whether the segment is the last.
    pub(crate) fn window(&self) -> usize {
        self.segments.ciphertext_segment_len() + 1
    }

    pub(crate) fn step(&self, buffered: usize, eof: bool) -> Result<Step, Error> {
        if self.done {
            return if buffered > 0 && self.final_index.is_none() {
                Err(Error::TrailingData)
            } else {
                Ok(Step::Done)
            };
        }
        let full = self.segments.ciphertext_segment_len();
        let last = match self.final_index {
            Some(final_index) => final_index == self.next_index,
            // One byte beyond a full segment proves this segment is not the last.
            None if buffered > full => false,
            None if eof => true,
            None => return Ok(Step::NeedMore),
        };
        if last {
            if buffered > full {
                Err(Error::TrailingData)
            } else if !eof {
                Ok(Step::NeedMore)
            } else if buffered < TAG_LEN {
                Err(Error::Truncated)
            } else {
                Ok(Step::Open {
                    len: buffered,
                    last: true,
                })
            }
        } else if buffered >= full {
            Ok(Step::Open {
                len: full,
                last: false,
            })
        } else if eof {
            Err(Error::Truncated)
        } else {
            Ok(Step::NeedMore)
        }
    }

    /// Opens one segment in place and returns the range of it to hand to the caller.
    pub(crate) fn open(
        &mut self,
        segment: &mut [u8],
        last: bool,
    ) -> Result<std::ops::Range<usize>, Error> {
        let plain_len = self
            .segments
            .open_segment(self.next_index, last, segment)?
            .len();
        Ok(self.deliver(plain_len, last))
    }

    /// Opens one segment (ciphertext ‖ tag, left unchanged) into `out`, which must be exactly
    /// `segment.len() - TAG_LEN` bytes long, and returns the range of `out` to hand on.
    pub(crate) fn open_into(
        &mut self,
        segment: &[u8],
        last: bool,
        out: &mut [u8],
    ) -> Result<std::ops::Range<usize>, Error> {
        self.segments
            .open_segment_into(self.next_index, last, segment, out)?;
        Ok(self.deliver(out.len(), last))
    }

    /// Advances past a segment with `plain_len` plaintext bytes, applying range trimming.
    fn deliver(&mut self, plain_len: usize, last: bool) -> std::ops::Range<usize> {
        let start = self.skip.min(plain_len);
        self.skip -= start;
        let mut end = plain_len;
        if let Some(remaining) = self.remaining.as_mut() {
            let take = (*remaining).min((end - start) as u64);
            end = start + take as usize;
            *remaining -= take;
            if *remaining == 0 {
                self.done = true;
            }
        }
        if last {
            self.done = true;
        }
        self.next_index = self.next_index.wrapping_add(1);
        start..end
    }
}
