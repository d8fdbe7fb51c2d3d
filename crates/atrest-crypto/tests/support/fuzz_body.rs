//! The bodies of the cargo-fuzz targets, shared with `cargo test`.
//!
//! `fuzz/fuzz_targets/*.rs` include this file with `#[path]`, and `tests/proptests.rs` feeds
//! the same functions arbitrary and mutated inputs, so an ordinary `cargo test` exercises every
//! entry point the fuzzers do. Each function must return normally for every input: errors from
//! the crate are expected, panics are bugs. The assertions inside check properties that hold for
//! any input (adapters agree; a range read never returns bytes that were not written).

#![allow(dead_code)]

use std::io::{Cursor, Read};
use std::ops::Range;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use atrest_crypto::stream::{
    self, decrypt_range, DecryptReader, DecryptStream, Header, ObjectLayout, MAX_SEGMENT_SIZE,
    MIN_SEGMENT_SIZE, NONCE_PREFIX_LEN, SALT_LEN, TAG_LEN,
};
use atrest_crypto::SecretKey;
use bytes::Bytes;
use futures_core::Stream;

/// The account key every fuzz input is decrypted under.
pub(crate) const FUZZ_KEY: [u8; 32] = [0x42; 32];
/// The object context every fuzz input is decrypted under.
pub(crate) const FUZZ_CONTEXT: &[u8] = b"fuzz|tenant|account|object";

/// The object a mutation-mode input started from.
pub(crate) struct Original<'a> {
    /// The object exactly as encrypted.
    pub(crate) object: &'a [u8],
    /// Its plaintext.
    pub(crate) plaintext: &'a [u8],
}

/// Fuzz target `decrypt`: arbitrary bytes as a stored object, then the same bytes as a recipe
/// for a valid object and a list of edits to it.
pub(crate) fn decrypt(data: &[u8]) {
    check_object(data, None, chunk_size(data));
    mutated(data);
}

/// Fuzz target `header`: arbitrary bytes as a header (and as an object length).
pub(crate) fn header(data: &[u8]) {
    let parsed = Header::parse(data);
    let read = Header::read_from(&mut Cursor::new(data));
    assert_eq!(parsed.is_ok(), read.is_ok(), "parse and read_from disagree");
    if let Ok(header) = parsed {
        assert_eq!(read.as_ref().ok(), Some(&header));
        assert_eq!(header.as_bytes(), &data[..header.len()]);
        let rebuilt = Header::with_parameters(
            header.segment_size(),
            header.key_ref(),
            header.salt().try_into().expect("salt length"),
            header.nonce_prefix(),
        )
        .expect("a parsed header can be rebuilt");
        assert_eq!(rebuilt, header);
        assert!((MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&header.segment_size()));
        let _ = format!("{header:?}");
        check_layout(&header, data.len() as u64, data);
        // The same header in front of objects of lengths taken from the input.
        for chunk in data.chunks_exact(8).take(4) {
            let len = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            check_layout(&header, len, data);
            check_layout(&header, len % (1 << 40), data);
        }
    }
}

/// Checks layout arithmetic for an object of `total` bytes; `data` only seeds the ranges.
fn check_layout(header: &Header, total: u64, data: &[u8]) {
    let Ok(layout) = ObjectLayout::new(header, total) else {
        return;
    };
    let plain = layout.plaintext_len();
    assert!(layout.segment_count() >= 1);
    assert!(layout.segment_count() <= 1 << 32);
    assert_eq!(
        ObjectLayout::ciphertext_len(header, plain),
        total,
        "layout and length formula disagree"
    );
    for range in ranges(plain, data) {
        let span = layout.span(range.clone()).expect("in-bounds range");
        assert!(span.ciphertext.start >= header.len() as u64);
        assert!(span.ciphertext.start <= span.ciphertext.end && span.ciphertext.end <= total);
        assert_eq!(span.len, range.end - range.start);
        if !range.is_empty() {
            let segment_size = u64::from(header.segment_size());
            let full = segment_size + TAG_LEN as u64;
            let covering = (span.ciphertext.end - span.ciphertext.start).div_ceil(full);
            // Only the covering segments, and enough of them.
            assert_eq!(
                covering,
                (range.end - 1) / segment_size - range.start / segment_size + 1
            );
            assert!(span.skip < segment_size);
        }
    }
    assert!(layout.span(0..plain.saturating_add(1)).is_err());
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = layout.span(1..0);
    assert!(backwards.is_err());
}

/// A few plaintext ranges inside `0..len`, chosen from `seed`.
fn ranges(len: u64, seed: &[u8]) -> Vec<Range<u64>> {
    let mut out = vec![0..len, 0..0, len..len];
    if len > 0 {
        out.push(len - 1..len);
        out.push(len / 3..len - len / 3);
    }
    for pair in seed.chunks_exact(4).take(3) {
        let a = u64::from(u16::from_le_bytes([pair[0], pair[1]]));
        let b = u64::from(u16::from_le_bytes([pair[2], pair[3]]));
        let (a, b) = (a % (len + 1), b % (len + 1));
        out.push(a.min(b)..a.max(b));
    }
    out
}

/// How the adapters should slice their input, from the input itself (1..=97 bytes).
fn chunk_size(data: &[u8]) -> usize {
    data.last().map_or(1, |b| usize::from(*b % 97) + 1)
}

/// Decrypts `object` through every adapter and checks that they agree.
///
/// With `original`, the object is a possibly edited copy of a genuine one: full decryption
/// must succeed exactly when no byte changed, and every successful range read must return the
/// original plaintext at that range. Returns whether the whole object decrypted.
pub(crate) fn check_object(object: &[u8], original: Option<&Original<'_>>, chunk: usize) -> bool {
    let key = SecretKey::from_bytes(FUZZ_KEY);
    let whole = stream::decrypt_to_vec(&key, FUZZ_CONTEXT, object);
    let reader = DecryptReader::new(Trickle(Cursor::new(object), chunk), &key, FUZZ_CONTEXT)
        .and_then(|mut reader| {
            let mut out = Vec::new();
            reader.read_to_end(&mut out).map(|_| out)
        });
    let streamed = poll_to_end(DecryptStream::new(
        chunks(object, chunk),
        &key,
        FUZZ_CONTEXT,
    ));
    match (&whole, &reader, &streamed) {
        (Ok(a), Ok(b), Ok(c)) => assert!(a == b && b == c, "adapters disagree on plaintext"),
        (Err(_), Err(_), Err(_)) => {}
        _ => panic!(
            "adapters disagree: decrypt_to_vec {:?}, DecryptReader {:?}, DecryptStream {:?}",
            whole.as_ref().map(Vec::len),
            reader.as_ref().map(Vec::len),
            streamed.as_ref().map(Vec::len),
        ),
    }
    if let Some(original) = original {
        if object == original.object {
            assert_eq!(
                whole.as_deref().ok(),
                Some(original.plaintext),
                "genuine object"
            );
        } else {
            assert!(whole.is_err(), "an edited object decrypted");
        }
    }

    let Ok(header) = Header::parse(object) else {
        return whole.is_ok();
    };
    let Ok(layout) = ObjectLayout::new(&header, object.len() as u64) else {
        assert!(whole.is_err(), "decrypted an object without a layout");
        return false;
    };
    if let Ok(plain) = &whole {
        assert_eq!(plain.len() as u64, layout.plaintext_len());
    }
    for range in ranges(layout.plaintext_len(), object) {
        let span = layout.span(range.clone()).expect("in-bounds range");
        let by_seek = decrypt_range(Cursor::new(object), &key, FUZZ_CONTEXT, range.clone());
        let slice = &object[span.ciphertext.start as usize..span.ciphertext.end as usize];
        let by_stream = poll_to_end(DecryptStream::for_span(
            chunks(slice, chunk),
            &key,
            &header,
            FUZZ_CONTEXT,
            &span,
        ));
        assert_eq!(
            by_seek.is_ok(),
            by_stream.is_ok(),
            "range adapters disagree on {range:?}"
        );
        if whole.is_ok() {
            assert!(
                by_seek.is_ok(),
                "whole object decrypts but range {range:?} does not"
            );
        }
        if let (Ok(a), Ok(b)) = (&by_seek, &by_stream) {
            assert_eq!(a, b, "range adapters disagree on {range:?}");
            assert_eq!(a.len() as u64, range.end - range.start);
            if let Ok(plain) = &whole {
                assert_eq!(&plain[range.start as usize..range.end as usize], &a[..]);
            }
            // An empty range authenticates nothing and returns nothing.
            if let Some(original) = original.filter(|_| !range.is_empty()) {
                let expected = original
                    .plaintext
                    .get(range.start as usize..range.end as usize);
                assert_eq!(
                    expected,
                    Some(&a[..]),
                    "range {range:?} returned forged bytes"
                );
            }
        }
    }
    whole.is_ok()
}

/// Builds a valid object from the first bytes of `data`, applies the edits the rest of `data`
/// describes, and checks the result with [`check_object`].
pub(crate) fn mutated(data: &[u8]) {
    let [a, b, c, d, e, rest @ ..] = data else {
        return;
    };
    let segment_size = MIN_SEGMENT_SIZE + u32::from(u16::from_le_bytes([*a, *b])) % 241;
    let plain_len = usize::from(u16::from_le_bytes([*c, *d])) % (5 * segment_size as usize + 2);
    let plaintext = pattern(plain_len, *e);
    let key = SecretKey::from_bytes(FUZZ_KEY);
    let header = Header::with_parameters(
        segment_size,
        b"fuzz-key-ref",
        [*e; SALT_LEN],
        [*a ^ *c; NONCE_PREFIX_LEN],
    )
    .expect("valid parameters");
    let original =
        stream::encrypt_to_vec(&key, &header, FUZZ_CONTEXT, &plaintext).expect("encrypts");
    // A second object under the same key and context, with another salt, for splicing.
    let other_header = Header::with_parameters(
        segment_size,
        b"fuzz-key-ref",
        [e.wrapping_add(1); SALT_LEN],
        [*a ^ *c; NONCE_PREFIX_LEN],
    )
    .expect("valid parameters");
    let other =
        stream::encrypt_to_vec(&key, &other_header, FUZZ_CONTEXT, &plaintext).expect("encrypts");

    let mut object = original.clone();
    for edit in rest.chunks_exact(4).take(8) {
        apply_edit(
            &mut object,
            &other,
            header.len(),
            segment_size as usize,
            edit,
        );
    }
    let original = Original {
        object: &original,
        plaintext: &plaintext,
    };
    check_object(&object, Some(&original), chunk_size(rest));
}

/// One edit, encoded in 4 bytes: kind, two position bytes, a value byte.
fn apply_edit(object: &mut Vec<u8>, other: &[u8], header_len: usize, segment: usize, op: &[u8]) {
    let pos = usize::from(u16::from_le_bytes([op[1], op[2]]));
    let value = op[3];
    let full = segment + TAG_LEN;
    let segments = object.len().saturating_sub(header_len).div_ceil(full);
    let bounds = |index: usize, len: usize| {
        let start = header_len + index * full;
        start.min(len)..(start + full).min(len)
    };
    match op[0] % 8 {
        0 if !object.is_empty() => {
            let at = pos % object.len();
            object[at] ^= 1 << (value % 8);
        }
        1 => object.truncate(pos % (object.len() + 1)),
        2 => object.extend(std::iter::repeat_n(value, pos % 64 + 1)),
        3 if segments >= 2 => {
            let (i, j) = (pos % segments, usize::from(value) % segments);
            let (si, sj) = (bounds(i, object.len()), bounds(j, object.len()));
            if i != j && si.len() == sj.len() {
                for k in 0..si.len() {
                    object.swap(si.start + k, sj.start + k);
                }
            }
        }
        4 if segments >= 1 => {
            let copy = object[bounds(pos % segments, object.len())].to_vec();
            let at = bounds(usize::from(value) % segments, object.len()).start;
            object.splice(at..at, copy);
        }
        5 if segments >= 1 => {
            let range = bounds(pos % segments, object.len());
            object.drain(range);
        }
        6 if segments >= 1 => {
            let index = pos % segments;
            let mine = bounds(index, object.len());
            let theirs = bounds(index, other.len());
            object.splice(mine, other[theirs].iter().copied());
        }
        7 if !object.is_empty() => {
            let at = pos % object.len().min(header_len.max(1));
            object[at] = value;
        }
        _ => {}
    }
}

/// Genuine objects under [`FUZZ_KEY`] and [`FUZZ_CONTEXT`], named by their parameters: the
/// checked-in seed corpus of the fuzz targets (`fuzz/seeds/`).
pub(crate) fn seed_objects() -> Vec<(String, Vec<u8>)> {
    let key = SecretKey::from_bytes(FUZZ_KEY);
    let cases: [(u32, usize, &[u8]); 10] = [
        (16, 0, b"ak"),
        (16, 1, b"ak"),
        (16, 16, b"ak"),
        (16, 17, b"ak"),
        (16, 40, b""),
        (64, 0, b"ak:v1"),
        (64, 64, b"ak:v1"),
        (64, 65, b"ak:v1"),
        (64, 200, b"ak:v1"),
        (32, 5, &[b'k'; 255]),
    ];
    cases
        .iter()
        .enumerate()
        .map(|(n, &(segment_size, len, key_ref))| {
            let header = Header::with_parameters(
                segment_size,
                key_ref,
                [n as u8; SALT_LEN],
                [0x80 | n as u8; NONCE_PREFIX_LEN],
            )
            .expect("valid parameters");
            let object =
                stream::encrypt_to_vec(&key, &header, FUZZ_CONTEXT, &pattern(len, n as u8))
                    .expect("encrypts");
            let name = format!("seg{segment_size}-len{len}-keyref{}", key_ref.len());
            (name, object)
        })
        .collect()
}

/// A deterministic plaintext.
pub(crate) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31).wrapping_add(usize::from(seed)) % 251) as u8)
        .collect()
}

/// A reader that hands out at most `.1` bytes per call.
pub(crate) struct Trickle<R>(pub(crate) R, pub(crate) usize);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1.max(1));
        self.0.read(&mut buf[..n])
    }
}

/// `data` as a stream of `chunk`-byte pieces.
pub(crate) fn chunks(data: &[u8], chunk: usize) -> impl Stream<Item = std::io::Result<Bytes>> {
    let pieces: Vec<std::io::Result<Bytes>> = data
        .chunks(chunk.max(1))
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    futures_util_lite::iter(pieces)
}

/// Drives a stream whose input is always ready to its end, without an async runtime.
pub(crate) fn poll_to_end<S: Stream<Item = std::io::Result<Bytes>>>(
    stream: S,
) -> std::io::Result<Vec<u8>> {
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(Ok(piece))) => out.extend_from_slice(&piece),
            Poll::Ready(Some(Err(e))) => return Err(e),
            Poll::Ready(None) => return Ok(out),
            Poll::Pending => panic!("an in-memory stream never waits"),
        }
    }
}

/// A minimal `stream::iter`, so the fuzz crate needs only `futures-core`.
mod futures_util_lite {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures_core::Stream;

    pub(super) struct Iter<T>(std::vec::IntoIter<T>);

    impl<T> Unpin for Iter<T> {}

    impl<T> Stream for Iter<T> {
        type Item = T;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
            Poll::Ready(self.0.next())
        }
    }

    pub(super) fn iter<T>(items: Vec<T>) -> Iter<T> {
        Iter(items.into_iter())
    }
}
