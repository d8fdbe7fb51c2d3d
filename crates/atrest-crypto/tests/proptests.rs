//! Property tests for the object format (`docs/FORMAT.md`).
//!
//! * Round trips of random plaintexts (0 to ~5 segments, segment sizes 16..=512) through every
//!   adapter, with random write, read and chunk sizes; all adapters produce identical bytes.
//! * Tampering: every single-bit flip, every truncation, appended bytes, swapped, duplicated,
//!   deleted and foreign segments are all rejected by every decrypting adapter.
//! * Range reads equal the same slice of the plaintext.
//! * The fuzz target bodies (`support/fuzz_body.rs`) never panic on arbitrary or mutated input.
//!
//! Case counts are kept small so the whole file runs in a few seconds in a debug build.

#[path = "support/fuzz_body.rs"]
mod fuzz_body;

use std::io::{self, Cursor, Read, Write};

use atrest_crypto::stream::{
    decrypt_range, decrypt_to_vec, encrypt_to_vec, object_context, DecryptReader, DecryptStream,
    EncryptStream, EncryptWriter, Header, ObjectLayout, NONCE_PREFIX_LEN, SALT_LEN, TAG_LEN,
};
use atrest_crypto::SecretKey;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use proptest::collection::vec;
use proptest::prelude::*;

use fuzz_body::{chunks, poll_to_end, Trickle};

fn key() -> SecretKey {
    SecretKey::from_bytes([0x17; 32])
}

fn context() -> Vec<u8> {
    object_context(&[b"tenant-1", b"account-1", b"object-1"])
}

/// A header with salt and nonce prefix derived from `seed`, so cases are reproducible.
fn header(segment_size: u32, seed: u8) -> Header {
    Header::with_parameters(
        segment_size,
        b"ak:v1",
        [seed; SALT_LEN],
        [seed ^ 0x5a; NONCE_PREFIX_LEN],
    )
    .unwrap()
}

/// A segment size in `16..=max_segment` and a plaintext of up to `max_segments` segments
/// (plus one byte), biased towards segment boundaries.
fn sized_plaintext(max_segment: u32, max_segments: usize) -> impl Strategy<Value = (u32, Vec<u8>)> {
    (16u32..=max_segment).prop_flat_map(move |segment_size| {
        let seg = segment_size as usize;
        let len = prop_oneof![
            0..=max_segments * seg + 1,
            (0..=max_segments, -1isize..=1)
                .prop_map(move |(k, d)| (k * seg).saturating_add_signed(d)),
        ];
        (
            Just(segment_size),
            len.prop_flat_map(|len| vec(any::<u8>(), len)),
        )
    })
}

/// A plaintext that spans at least `min_segments` segments.
fn multi_segment(max_segment: u32, min_segments: usize) -> impl Strategy<Value = (u32, Vec<u8>)> {
    (16u32..=max_segment, min_segments..=5).prop_flat_map(|(segment_size, segments)| {
        let seg = segment_size as usize;
        (
            Just(segment_size),
            vec(any::<u8>(), (segments - 1) * seg + 1..=segments * seg),
        )
    })
}

/// Splits `data` into pieces whose sizes cycle through `sizes`.
fn split<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = data;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at((*size).clamp(1, rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// An async stream of `data` in pieces of the given sizes that yields to the runtime (so the
/// adapter sees `Pending`) before every other piece.
fn async_pieces(data: &[u8], sizes: &[usize]) -> impl Stream<Item = io::Result<Bytes>> {
    let pieces: Vec<Bytes> = split(data, sizes)
        .into_iter()
        .map(Bytes::copy_from_slice)
        .collect();
    futures_util::stream::iter(pieces.into_iter().enumerate()).then(|(i, piece)| async move {
        if i % 2 == 0 {
            tokio::task::yield_now().await;
        }
        Ok(piece)
    })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn encrypt_with_writer(header: &Header, plain: &[u8], writes: &[usize]) -> Vec<u8> {
    let mut writer = EncryptWriter::new(Vec::new(), &key(), header, &context()).unwrap();
    for piece in split(plain, writes) {
        writer.write_all(piece).unwrap();
    }
    writer.finish().unwrap()
}

/// Reads `object` through a `DecryptReader` fed `feed` bytes at a time, into output buffers
/// whose sizes cycle through `reads`.
fn decrypt_with_reader(object: &[u8], feed: usize, reads: &[usize]) -> io::Result<Vec<u8>> {
    let mut reader = DecryptReader::new(Trickle(Cursor::new(object), feed), &key(), &context())?;
    let mut out = Vec::new();
    for size in reads.iter().cycle() {
        let mut buf = vec![0u8; *size];
        match reader.read(&mut buf)? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
    unreachable!("cycle never ends")
}

/// Asserts that no decrypting adapter accepts `object`.
fn assert_rejected(object: &[u8], what: &str) -> Result<(), TestCaseError> {
    let (key, context) = (key(), context());
    prop_assert!(
        decrypt_to_vec(&key, &context, object).is_err(),
        "decrypt_to_vec accepted {}",
        what
    );
    let read = DecryptReader::new(Cursor::new(object), &key, &context)
        .and_then(|mut reader| reader.read_to_end(&mut Vec::new()));
    prop_assert!(read.is_err(), "DecryptReader accepted {}", what);
    let streamed = poll_to_end(DecryptStream::new(chunks(object, 61), &key, &context));
    prop_assert!(streamed.is_err(), "DecryptStream accepted {}", what);
    Ok(())
}

/// The ciphertext byte ranges of each segment of `object`.
fn segment_ranges(header: &Header, object: &[u8]) -> Vec<std::ops::Range<usize>> {
    let full = header.segment_size() as usize + TAG_LEN;
    (header.len()..object.len())
        .step_by(full)
        .map(|start| start..(start + full).min(object.len()))
        .collect()
}

/// Rebuilds an object from its header and a list of segments.
fn assemble(object: &[u8], header: &Header, segments: &[&[u8]]) -> Vec<u8> {
    let mut out = object[..header.len()].to_vec();
    for segment in segments {
        out.extend_from_slice(segment);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn round_trip_through_every_adapter(
        (segment_size, plain) in sized_plaintext(512, 5),
        writes in vec(1usize..=700, 1..6),
        reads in vec(1usize..=700, 1..6),
        feed in 1usize..=600,
        seed in any::<u8>(),
    ) {
        let (key, context) = (key(), context());
        let header = header(segment_size, seed);
        let object = encrypt_to_vec(&key, &header, &context, &plain).unwrap();
        prop_assert_eq!(
            object.len() as u64,
            ObjectLayout::ciphertext_len(&header, plain.len() as u64)
        );
        let layout = ObjectLayout::new(&header, object.len() as u64).unwrap();
        prop_assert_eq!(layout.plaintext_len(), plain.len() as u64);
        prop_assert_eq!(
            layout.segment_count(),
            (plain.len() as u64).div_ceil(u64::from(segment_size)).max(1)
        );

        prop_assert_eq!(&encrypt_with_writer(&header, &plain, &writes), &object);
        prop_assert_eq!(&decrypt_to_vec(&key, &context, &object).unwrap(), &plain);
        prop_assert_eq!(&decrypt_with_reader(&object, feed, &reads).unwrap(), &plain);

        let (encrypted, decrypted) = block_on(async {
            let encrypted: Vec<Bytes> =
                EncryptStream::new(async_pieces(&plain, &writes), &key, &header, &context)
                    .try_collect()
                    .await
                    .unwrap();
            let encrypted = encrypted.concat();
            let decrypted: Vec<Bytes> =
                DecryptStream::new(async_pieces(&encrypted, &reads), &key, &context)
                    .try_collect()
                    .await
                    .unwrap();
            (encrypted, decrypted.concat())
        });
        prop_assert_eq!(&encrypted, &object);
        prop_assert_eq!(&decrypted, &plain);
    }

    #[test]
    fn range_reads_equal_plaintext_slices(
        (segment_size, plain) in sized_plaintext(512, 5),
        bounds in vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..6),
        feed in 1usize..=600,
        seed in any::<u8>(),
    ) {
        let (key, context) = (key(), context());
        let header = header(segment_size, seed);
        let object = encrypt_to_vec(&key, &header, &context, &plain).unwrap();
        let layout = ObjectLayout::new(&header, object.len() as u64).unwrap();
        for (a, b) in bounds {
            let (a, b) = (a.index(plain.len() + 1), b.index(plain.len() + 1));
            let range = a.min(b) as u64..a.max(b) as u64;
            let expected = &plain[a.min(b)..a.max(b)];

            let got = decrypt_range(Cursor::new(&object), &key, &context, range.clone()).unwrap();
            prop_assert_eq!(&got[..], expected, "decrypt_range {:?}", range);

            let span = layout.span(range.clone()).unwrap();
            let covering = &object[span.ciphertext.start as usize..span.ciphertext.end as usize];
            let got = block_on(async {
                let parts: Vec<Bytes> = DecryptStream::for_span(
                    async_pieces(covering, &[feed]),
                    &key,
                    &header,
                    &context,
                    &span,
                )
                .try_collect()
                .await
                .unwrap();
                parts.concat()
            });
            prop_assert_eq!(&got[..], expected, "DecryptStream::for_span {:?}", range);
        }
    }

    #[test]
    fn every_single_bit_flip_is_rejected(
        (segment_size, plain) in sized_plaintext(64, 3),
        seed in any::<u8>(),
    ) {
        let header = header(segment_size, seed);
        let object = encrypt_to_vec(&key(), &header, &context(), &plain).unwrap();
        let mut tampered = object.clone();
        for at in 0..object.len() {
            for bit in 0..8 {
                tampered[at] ^= 1 << bit;
                assert_rejected(&tampered, &format!("bit {bit} of byte {at} flipped"))?;
                tampered[at] ^= 1 << bit;
            }
        }
    }

    #[test]
    fn bit_flips_in_larger_objects_are_rejected(
        (segment_size, plain) in sized_plaintext(512, 5),
        flips in vec((any::<prop::sample::Index>(), 0u8..8), 1..16),
        seed in any::<u8>(),
    ) {
        let header = header(segment_size, seed);
        let object = encrypt_to_vec(&key(), &header, &context(), &plain).unwrap();
        for (at, bit) in flips {
            let mut tampered = object.clone();
            let at = at.index(object.len());
            tampered[at] ^= 1 << bit;
            assert_rejected(&tampered, &format!("bit {bit} of byte {at} flipped"))?;
        }
    }

    #[test]
    fn every_truncation_is_rejected(
        (segment_size, plain) in sized_plaintext(128, 5),
        seed in any::<u8>(),
    ) {
        let header = header(segment_size, seed);
        let object = encrypt_to_vec(&key(), &header, &context(), &plain).unwrap();
        for len in 0..object.len() {
            assert_rejected(&object[..len], &format!("a {len}-byte prefix"))?;
        }
    }

    #[test]
    fn appended_bytes_are_rejected(
        (segment_size, plain) in sized_plaintext(256, 4),
        extra in vec(any::<u8>(), 1..600),
        seed in any::<u8>(),
    ) {
        let header = header(segment_size, seed);
        let object = encrypt_to_vec(&key(), &header, &context(), &plain).unwrap();
        let mut longer = object.clone();
        longer.extend_from_slice(&extra);
        assert_rejected(&longer, "random bytes appended")?;
        for segment in segment_ranges(&header, &object) {
            let mut longer = object.clone();
            longer.extend_from_slice(&object[segment.clone()]);
            assert_rejected(&longer, &format!("segment {segment:?} appended again"))?;
        }
        // An empty "final segment" (a bare tag) after the real one.
        let mut longer = object.clone();
        longer.extend_from_slice(&object[object.len() - TAG_LEN..]);
        assert_rejected(&longer, "a bare tag appended")?;
    }

    #[test]
    fn reordered_duplicated_and_deleted_segments_are_rejected(
        (segment_size, plain) in multi_segment(256, 2),
        seed in any::<u8>(),
    ) {
        let header = header(segment_size, seed);
        let object = encrypt_to_vec(&key(), &header, &context(), &plain).unwrap();
        let segments: Vec<&[u8]> = segment_ranges(&header, &object)
            .into_iter()
            .map(|r| &object[r])
            .collect();
        let n = segments.len();
        prop_assert!(n >= 2);
        for i in 0..n {
            for j in i + 1..n {
                let mut swapped = segments.clone();
                swapped.swap(i, j);
                assert_rejected(&assemble(&object, &header, &swapped), &format!("segments {i} and {j} swapped"))?;
            }
            for j in 0..=n {
                let mut duplicated = segments.clone();
                duplicated.insert(j, segments[i]);
                assert_rejected(&assemble(&object, &header, &duplicated), &format!("segment {i} duplicated at {j}"))?;
            }
            let mut deleted = segments.clone();
            deleted.remove(i);
            assert_rejected(&assemble(&object, &header, &deleted), &format!("segment {i} deleted"))?;
        }
    }

    #[test]
    fn segments_spliced_from_another_object_are_rejected(
        (segment_size, plain) in multi_segment(256, 1),
        other_plain in any::<bool>(),
        seed in any::<u8>(),
    ) {
        let (key, context) = (key(), context());
        let header = header(segment_size, seed);
        // Same key, context, segment size and nonce prefix; only the salt differs.
        let other_header = Header::with_parameters(
            segment_size,
            b"ak:v1",
            [seed.wrapping_add(1); SALT_LEN],
            header.nonce_prefix(),
        )
        .unwrap();
        let object = encrypt_to_vec(&key, &header, &context, &plain).unwrap();
        let zeros = vec![0u8; plain.len()];
        let other_plaintext = if other_plain { &plain } else { &zeros };
        let other = encrypt_to_vec(&key, &other_header, &context, other_plaintext).unwrap();
        let mine = segment_ranges(&header, &object);
        let theirs = segment_ranges(&other_header, &other);
        prop_assert_eq!(mine.len(), theirs.len());
        for (i, (m, t)) in mine.iter().zip(&theirs).enumerate() {
            let mut spliced = object.clone();
            spliced.splice(m.clone(), other[t.clone()].iter().copied());
            assert_rejected(&spliced, &format!("segment {i} from another object"))?;
        }
        // Their header on our segments, and ours on theirs.
        let mut swapped = other[..other_header.len()].to_vec();
        swapped.extend_from_slice(&object[header.len()..]);
        assert_rejected(&swapped, "another object's header")?;
    }
}

/// The fuzz targets' seed corpus (`fuzz/seeds/{decrypt,header}/`) holds genuine objects under
/// the fuzz key and their headers; `RECORD=1` rewrites it.
#[test]
fn fuzz_seeds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let record = std::env::var_os("RECORD").is_some_and(|v| v == "1");
    if !record && !dir.exists() {
        return; // the crate without the repository around it
    }
    for (name, object) in fuzz_body::seed_objects() {
        let header = Header::parse(&object).unwrap();
        for (target, bytes) in [("decrypt", &object[..]), ("header", header.as_bytes())] {
            let path = dir.join(target).join(&name);
            if record {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, bytes).unwrap();
            } else {
                let stored = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}; rerun with RECORD=1", path.display()));
                assert!(
                    stored == bytes,
                    "{} is stale; rerun with RECORD=1",
                    path.display()
                );
            }
        }
        fuzz_body::decrypt(&object);
        fuzz_body::header(&object);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fuzz_decrypt_body_never_panics(data in vec(any::<u8>(), 0..400)) {
        fuzz_body::decrypt(&data);
    }

    #[test]
    fn fuzz_decrypt_body_never_panics_after_a_valid_header(
        segment_size in 16u32..=300,
        key_ref in vec(any::<u8>(), 0..8),
        tail in vec(any::<u8>(), 0..700),
    ) {
        let header = Header::with_parameters(segment_size, &key_ref, [1; SALT_LEN], [2; NONCE_PREFIX_LEN]).unwrap();
        let mut data = header.as_bytes().to_vec();
        data.extend_from_slice(&tail);
        fuzz_body::decrypt(&data);
    }

    #[test]
    fn fuzz_mutated_objects_are_rejected_unless_unchanged(recipe in vec(any::<u8>(), 5..40)) {
        fuzz_body::mutated(&recipe);
    }

    #[test]
    fn fuzz_header_body_never_panics(data in vec(any::<u8>(), 0..400)) {
        fuzz_body::header(&data);
    }

    #[test]
    fn fuzz_header_body_never_panics_on_near_valid_headers(
        segment_size in 16u32..=1 << 24,
        key_ref in vec(any::<u8>(), 0..=255),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        tail in vec(any::<u8>(), 0..200),
    ) {
        let header = Header::with_parameters(segment_size, &key_ref, [3; SALT_LEN], [4; NONCE_PREFIX_LEN]).unwrap();
        let mut data = header.as_bytes().to_vec();
        data.extend_from_slice(&tail);
        for (at, value) in edits {
            let at = at.index(data.len());
            data[at] = value;
        }
        fuzz_body::header(&data);
    }
}
