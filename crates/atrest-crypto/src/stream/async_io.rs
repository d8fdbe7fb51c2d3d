//! `futures` stream adapters: [`EncryptStream`] and [`DecryptStream`].
//!
//! Both map a `Stream<Item = io::Result<Bytes>>` to another one, holding at most one segment
//! (plus one input chunk) in memory. To go from a tokio `AsyncRead`, wrap it in
//! `tokio_util::io::ReaderStream`; to get an `AsyncRead` back, use `tokio_util::io::StreamReader`.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use pin_project_lite::pin_project;

use super::decoder::{Decoder, Step};
use super::header::{Header, MAX_HEADER_LEN, TAG_LEN};
use super::layout::SegmentSpan;
use super::segment::{SegmentDecryptor, SegmentEncryptor};
use crate::{Error, SecretKey};

pin_project! {
    /// Encrypts a plaintext byte stream into an object: the header, then sealed segments.
    pub struct EncryptStream<S> {
        #[pin]
        inner: S,
        segments: SegmentEncryptor,
        header_sent: bool,
        pending: BytesMut,
        input_done: bool,
    }
}

impl<S> EncryptStream<S>
where
    S: Stream<Item = io::Result<Bytes>>,
{
    /// Encrypts `inner` under `account_key` with `header` and the object `context`.
    pub fn new(inner: S, account_key: &SecretKey, header: &Header, context: &[u8]) -> Self {
        Self {
            inner,
            segments: SegmentEncryptor::new(account_key, header, context),
            header_sent: false,
            pending: BytesMut::new(),
            input_done: false,
        }
    }
}

impl<S> Stream for EncryptStream<S>
where
    S: Stream<Item = io::Result<Bytes>>,
{
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if !*this.header_sent {
            *this.header_sent = true;
            return Poll::Ready(Some(Ok(Bytes::copy_from_slice(this.segments.header()))));
        }
        let segment_size = this.segments.segment_size();
        loop {
            if this.segments.is_finished() {
                return Poll::Ready(None);
            }
            let last = *this.input_done;
            if last || this.pending.len() > segment_size {
                let take = this.pending.len().min(segment_size);
                let mut out = BytesMut::with_capacity(take + TAG_LEN);
                out.extend_from_slice(&this.pending.split_to(take));
                let last = last && this.pending.is_empty();
                this.segments.seal_segment(&mut out, last)?;
                return Poll::Ready(Some(Ok(out.freeze())));
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.pending.extend_from_slice(&chunk),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => *this.input_done = true,
            }
        }
    }
}

enum DecryptState {
    /// Collecting the header; the key and context wait here until it is parsed.
    Header {
        account_key: SecretKey,
        context: Vec<u8>,
    },
    Segments(Decoder),
}

pin_project! {
    /// Decrypts an object byte stream, yielding each segment's plaintext once it authenticates.
    pub struct DecryptStream<S> {
        #[pin]
        inner: S,
        state: DecryptState,
        pending: BytesMut,
        eof: bool,
    }
}

impl<S> DecryptStream<S>
where
    S: Stream<Item = io::Result<Bytes>>,
{
    /// Decrypts a whole object, header first.
    pub fn new(inner: S, account_key: &SecretKey, context: &[u8]) -> Self {
        Self {
            inner,
            state: DecryptState::Header {
                account_key: account_key.clone(),
                context: context.to_vec(),
            },
            pending: BytesMut::new(),
            eof: false,
        }
    }

    /// Decrypts a plaintext range: `inner` yields exactly the ciphertext bytes `span.ciphertext`
    /// of the stored object (see [`ObjectLayout::span`](super::ObjectLayout::span)).
    pub fn for_span(
        inner: S,
        account_key: &SecretKey,
        header: &Header,
        context: &[u8],
        span: &SegmentSpan,
    ) -> Self {
        let segments = SegmentDecryptor::new(account_key, header, context);
        Self {
            inner,
            state: DecryptState::Segments(Decoder::for_span(segments, span)),
            pending: BytesMut::new(),
            eof: false,
        }
    }
}

impl<S> Stream for DecryptStream<S>
where
    S: Stream<Item = io::Result<Bytes>>,
{
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            let step = match this.state {
                DecryptState::Header {
                    account_key,
                    context,
                } => match Header::parse(this.pending) {
                    Ok(header) => {
                        let _ = this.pending.split_to(header.len());
                        let segments = SegmentDecryptor::new(account_key, &header, context);
                        *this.state = DecryptState::Segments(Decoder::new(segments));
                        continue;
                    }
                    Err(Error::TruncatedHeader)
                        if !*this.eof && this.pending.len() < MAX_HEADER_LEN =>
                    {
                        Step::NeedMore
                    }
                    Err(e) => return Poll::Ready(Some(Err(e.into()))),
                },
                DecryptState::Segments(decoder) => {
                    match decoder.step(this.pending.len(), *this.eof) {
                        Ok(Step::Open { len, last }) => {
                            let mut segment = this.pending.split_to(len);
                            let plain = decoder.open(&mut segment, last)?;
                            segment.truncate(plain.end);
                            let _ = segment.split_to(plain.start);
                            if segment.is_empty() {
                                continue;
                            }
                            return Poll::Ready(Some(Ok(segment.freeze())));
                        }
                        Ok(step) => step,
                        Err(e) => return Poll::Ready(Some(Err(e.into()))),
                    }
                }
            };
            match step {
                Step::Done => return Poll::Ready(None),
                Step::NeedMore | Step::Open { .. } => {}
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.pending.extend_from_slice(&chunk),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => *this.eof = true,
            }
        }
    }
}
