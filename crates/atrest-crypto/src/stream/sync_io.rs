//! `std::io` adapters: [`EncryptWriter`] and [`DecryptReader`].

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::decoder::{Decoder, Step};
use super::header::{Header, TAG_LEN};
use super::layout::ObjectLayout;
use super::segment::{SegmentDecryptor, SegmentEncryptor};
use crate::SecretKey;

/// Encrypts everything written to it into `inner`, one segment at a time, in constant memory.
///
/// Call [`finish`](Self::finish) to seal the final segment. An object whose writer is dropped
/// without `finish` lacks its final segment, and every reader rejects it as truncated.
pub struct EncryptWriter<W: Write> {
    inner: W,
    segments: SegmentEncryptor,
    /// Plaintext of the segment being collected (sealed in place, tag appended, when full).
    buf: Vec<u8>,
    /// One sealed segment, for segments sealed straight from the caller's slice.
    sealed: Vec<u8>,
}

impl<W: Write> EncryptWriter<W> {
    /// Writes the header to `inner` and returns a writer for the plaintext.
    pub fn new(
        mut inner: W,
        account_key: &SecretKey,
        header: &Header,
        context: &[u8],
    ) -> io::Result<Self> {
        let segments = SegmentEncryptor::new(account_key, header, context);
        inner.write_all(segments.header())?;
        let buf = Vec::with_capacity(segments.segment_size() + TAG_LEN);
        Ok(Self {
            inner,
            segments,
            buf,
            sealed: Vec::new(),
        })
    }

    /// Seals the final segment, flushes, and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.segments.seal_segment(&mut self.buf, true)?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn flush_full_segment(&mut self) -> io::Result<()> {
        self.segments.seal_segment(&mut self.buf, false)?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let segment_size = self.segments.segment_size();
        // A full buffer is sealed only once more data arrives: the last segment must be
        // marked as such, and only `finish` knows which one that is.
        if self.buf.len() == segment_size {
            self.flush_full_segment()?;
        }
        if self.buf.is_empty() && data.len() > segment_size {
            // A whole segment with more data behind it is not the last one: seal it straight
            // from `data`, without first copying it into `buf`.
            if self.sealed.is_empty() {
                self.sealed = vec![0; segment_size + TAG_LEN];
            }
            self.segments
                .seal_into(&data[..segment_size], &mut self.sealed, false)?;
            self.inner.write_all(&self.sealed)?;
            return Ok(segment_size);
        }
        let take = data.len().min(segment_size - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts an object read from `inner`, authenticating each segment before releasing it.
pub struct DecryptReader<R: Read> {
    inner: R,
    decoder: Decoder,
    buf: Vec<u8>,
    filled: usize,
    /// Plaintext of the current segment, as a range of `buf`.
    plain: std::ops::Range<usize>,
    /// End of the current segment's ciphertext within `buf`.
    consumed: usize,
    eof: bool,
}

impl<R: Read> DecryptReader<R> {
    /// Reads the header from `inner` and prepares to decrypt the object.
    pub fn new(mut inner: R, account_key: &SecretKey, context: &[u8]) -> io::Result<Self> {
        let header = Header::read_from(&mut inner)?;
        Ok(Self::with_header(inner, account_key, &header, context))
    }

    /// Decrypts the segments that follow an already-parsed `header`.
    pub fn with_header(inner: R, account_key: &SecretKey, header: &Header, context: &[u8]) -> Self {
        let decoder = Decoder::new(SegmentDecryptor::new(account_key, header, context));
        Self::from_decoder(inner, decoder)
    }

    fn from_decoder(inner: R, decoder: Decoder) -> Self {
        let buf = vec![0u8; decoder.window()];
        Self {
            inner,
            decoder,
            buf,
            filled: 0,
            plain: 0..0,
            consumed: 0,
            eof: false,
        }
    }

    /// Authenticates the next segment. Its plaintext goes straight into `out` when it fits
    /// there (returning how many bytes of `out` to hand on), and otherwise into `buf`, as
    /// `self.plain`. Returns `None` at the end of the object.
    fn next_segment(&mut self, out: &mut [u8]) -> io::Result<Option<usize>> {
        // Move the look-ahead left over from the previous segment to the front.
        self.buf.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;
        loop {
            match self.decoder.step(self.filled, self.eof)? {
                Step::Done => return Ok(None),
                Step::Open { len, last } => {
                    let plain_len = len - TAG_LEN;
                    if out.len() >= plain_len {
                        let range = self.decoder.open_into(
                            &self.buf[..len],
                            last,
                            &mut out[..plain_len],
                        )?;
                        out.copy_within(range.clone(), 0);
                        self.consumed = len;
                        return Ok(Some(range.len()));
                    }
                    let plain = self.decoder.open(&mut self.buf[..len], last)?;
                    self.plain = plain;
                    self.consumed = len;
                    return Ok(Some(0));
                }
                Step::NeedMore => match self.inner.read(&mut self.buf[self.filled..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                },
            }
        }
    }
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.plain.is_empty() {
            match self.next_segment(out)? {
                None => return Ok(0),
                Some(0) => {}
                Some(direct) => return Ok(direct),
            }
        }
        let n = out.len().min(self.plain.len());
        out[..n].copy_from_slice(&self.buf[self.plain.start..self.plain.start + n]);
        self.plain.start += n;
        Ok(n)
    }
}

/// Decrypts plaintext `range` of a seekable object, reading only the segments that cover it.
pub fn decrypt_range<R: Read + Seek>(
    mut inner: R,
    account_key: &SecretKey,
    context: &[u8],
    range: std::ops::Range<u64>,
) -> io::Result<Vec<u8>> {
    let total = inner.seek(SeekFrom::End(0))?;
    inner.seek(SeekFrom::Start(0))?;
    let header = Header::read_from(&mut inner)?;
    let layout = ObjectLayout::new(&header, total)?;
    let span = layout.span(range)?;
    inner.seek(SeekFrom::Start(span.ciphertext.start))?;
    let limited = inner.take(span.ciphertext.end - span.ciphertext.start);
    let decoder = Decoder::for_span(SegmentDecryptor::new(account_key, &header, context), &span);
    let mut out = Vec::with_capacity(span.len as usize);
    DecryptReader::from_decoder(limited, decoder).read_to_end(&mut out)?;
    Ok(out)
}
