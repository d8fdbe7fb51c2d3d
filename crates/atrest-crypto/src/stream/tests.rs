use std::io::{Cursor, Read, Write};

use bytes::Bytes;

use super::*;
use crate::{Error, SecretKey};

const CONTEXT: &[u8] = b"tenant|account|object";

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn setup(segment_size: u32) -> (SecretKey, Header) {
    (
        SecretKey::generate().unwrap(),
        Header::new(segment_size, b"ak-v1").unwrap(),
    )
}

fn write_in_chunks(key: &SecretKey, header: &Header, plain: &[u8], chunk: usize) -> Vec<u8> {
    let mut writer = EncryptWriter::new(Vec::new(), key, header, CONTEXT).unwrap();
    for piece in plain.chunks(chunk.max(1)) {
        writer.write_all(piece).unwrap();
    }
    writer.finish().unwrap()
}

/// A reader that hands out at most `step` bytes per call, to exercise buffering.
struct Trickle<R>(R, usize);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1);
        self.0.read(&mut buf[..n])
    }
}

fn stream_of(
    data: &[u8],
    chunk: usize,
) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> {
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(chunks)
}

async fn collect<S: futures_core::Stream<Item = std::io::Result<Bytes>>>(
    s: S,
) -> std::io::Result<Vec<u8>> {
    use futures_util::TryStreamExt;
    let parts: Vec<Bytes> = s.try_collect().await?;
    Ok(parts.concat())
}

#[test]
fn all_adapters_agree_on_every_boundary_size() {
    let (key, header) = setup(64);
    for len in [0usize, 1, 63, 64, 65, 127, 128, 129, 640, 1000] {
        let plain = pattern(len);
        let in_memory = encrypt_to_vec(&key, &header, CONTEXT, &plain).unwrap();
        assert_eq!(
            in_memory.len() as u64,
            ObjectLayout::ciphertext_len(&header, len as u64)
        );
        for chunk in [1, 7, 64, 65, 4096] {
            assert_eq!(
                write_in_chunks(&key, &header, &plain, chunk),
                in_memory,
                "len {len} chunk {chunk}"
            );
        }
        assert_eq!(decrypt_to_vec(&key, CONTEXT, &in_memory).unwrap(), plain);
        for step in [1, 5, 81, 4096] {
            let mut out = Vec::new();
            DecryptReader::new(Trickle(Cursor::new(&in_memory), step), &key, CONTEXT)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, plain, "len {len} step {step}");
        }
    }
}

#[tokio::test]
async fn async_streams_round_trip_and_match_sync_output() {
    let (key, header) = setup(100);
    for len in [0usize, 1, 99, 100, 101, 1000, 12345] {
        let plain = pattern(len);
        for chunk in [1, 33, 100, 5000] {
            let encrypted = collect(EncryptStream::new(
                stream_of(&plain, chunk),
                &key,
                &header,
                CONTEXT,
            ))
            .await
            .unwrap();
            assert_eq!(
                encrypted,
                encrypt_to_vec(&key, &header, CONTEXT, &plain).unwrap()
            );
            let decrypted = collect(DecryptStream::new(
                stream_of(&encrypted, chunk),
                &key,
                CONTEXT,
            ))
            .await
            .unwrap();
            assert_eq!(decrypted, plain, "len {len} chunk {chunk}");
        }
    }
}

#[tokio::test]
async fn async_range_reads_use_only_the_span() {
    let (key, header) = setup(100);
    let plain = pattern(1050);
    let object = encrypt_to_vec(&key, &header, CONTEXT, &plain).unwrap();
    let layout = ObjectLayout::new(&header, object.len() as u64).unwrap();
    for (start, end) in [
        (0u64, 0u64),
        (0, 1),
        (99, 101),
        (250, 999),
        (1000, 1050),
        (0, 1050),
        (1049, 1050),
    ] {
        let span = layout.span(start..end).unwrap();
        let slice = &object[span.ciphertext.start as usize..span.ciphertext.end as usize];
        let got = collect(DecryptStream::for_span(
            stream_of(slice, 37),
            &key,
            &header,
            CONTEXT,
            &span,
        ))
        .await
        .unwrap();
        assert_eq!(
            got,
            &plain[start as usize..end as usize],
            "range {start}..{end}"
        );
    }
}

#[test]
fn sync_range_reads_match_slices() {
    let (key, header) = setup(64);
    let plain = pattern(1000);
    let object = encrypt_to_vec(&key, &header, CONTEXT, &plain).unwrap();
    for (start, end) in [
        (0u64, 1000u64),
        (0, 0),
        (63, 65),
        (500, 501),
        (999, 1000),
        (128, 192),
    ] {
        let got = decrypt_range(Cursor::new(&object), &key, CONTEXT, start..end).unwrap();
        assert_eq!(got, &plain[start as usize..end as usize]);
    }
    let err = decrypt_range(Cursor::new(&object), &key, CONTEXT, 10..1001).unwrap_err();
    assert!(err.to_string().contains("outside the object"), "{err}");
}

#[test]
fn wrong_key_or_context_fails_at_segment_zero() {
    let (key, header) = setup(64);
    let object = encrypt_to_vec(&key, &header, CONTEXT, &pattern(300)).unwrap();
    let other = SecretKey::generate().unwrap();
    assert!(matches!(
        decrypt_to_vec(&other, CONTEXT, &object),
        Err(Error::SegmentAuthentication { index: 0 })
    ));
    assert!(matches!(
        decrypt_to_vec(&key, b"tenant|account|other", &object),
        Err(Error::SegmentAuthentication { index: 0 })
    ));
}

#[test]
fn truncation_at_a_segment_boundary_is_reported_as_truncation() {
    let (key, header) = setup(64);
    let object = encrypt_to_vec(&key, &header, CONTEXT, &pattern(640)).unwrap();
    let cut = header.len() + 3 * (64 + TAG_LEN);
    let err = DecryptReader::new(Cursor::new(&object[..cut]), &key, CONTEXT)
        .unwrap()
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(matches!(
        decrypt_to_vec(&key, CONTEXT, &object[..cut]),
        Err(Error::Truncated)
    ));
}

#[test]
fn reader_releases_only_authenticated_segments() {
    let (key, header) = setup(64);
    let plain = pattern(640);
    let mut object = encrypt_to_vec(&key, &header, CONTEXT, &plain).unwrap();
    let last = object.len() - 1;
    object[last] ^= 1;
    let mut reader = DecryptReader::new(Cursor::new(&object), &key, CONTEXT).unwrap();
    let mut out = Vec::new();
    let err = reader.read_to_end(&mut out).unwrap_err();
    assert!(err.to_string().contains("segment 9"), "{err}");
    assert_eq!(
        out,
        &plain[..9 * 64],
        "the first nine segments verified and were released"
    );
}

#[test]
fn encryptor_enforces_segment_rules() {
    let (key, header) = setup(64);
    let mut enc = SegmentEncryptor::new(&key, &header, CONTEXT);
    let mut short = vec![0u8; 10];
    assert!(matches!(
        enc.seal_segment(&mut short, false),
        Err(Error::SegmentLength { len: 10, .. })
    ));
    let mut long = vec![0u8; 65];
    assert!(matches!(
        enc.seal_segment(&mut long, true),
        Err(Error::SegmentLength { .. })
    ));
    let mut last = vec![0u8; 3];
    enc.seal_segment(&mut last, true).unwrap();
    assert!(enc.is_finished());
    assert!(matches!(
        enc.seal_segment(&mut vec![0u8; 3], true),
        Err(Error::AlreadyFinished)
    ));
}

#[test]
fn only_the_empty_object_ends_with_an_empty_segment() {
    // Regression: an empty final segment after full ones used to be accepted, although
    // `encrypt_to_vec` writes such a plaintext as full segments with the last one final.
    let (key, header) = setup(64);
    let mut enc = SegmentEncryptor::new(&key, &header, CONTEXT);
    enc.seal_segment(&mut vec![0u8; 64], false).unwrap();
    assert!(matches!(
        enc.seal_segment(&mut Vec::new(), true),
        Err(Error::SegmentLength { len: 0, .. })
    ));
    enc.seal_segment(&mut vec![0u8; 1], true).unwrap();

    let mut empty = SegmentEncryptor::new(&key, &header, CONTEXT);
    let mut segment = Vec::new();
    empty.seal_segment(&mut segment, true).unwrap();
    assert_eq!(segment.len(), TAG_LEN);

    let dec = SegmentDecryptor::new(&key, &header, CONTEXT);
    let mut bare_tag = segment.clone();
    assert!(matches!(
        dec.open_segment(1, true, &mut bare_tag),
        Err(Error::TrailingData)
    ));
    assert!(dec.open_segment(0, true, &mut segment).unwrap().is_empty());
}

#[test]
fn dropped_writer_leaves_a_detectably_truncated_object() {
    let (key, header) = setup(64);
    let mut sink = Vec::new();
    {
        let mut writer = EncryptWriter::new(&mut sink, &key, &header, CONTEXT).unwrap();
        writer.write_all(&pattern(200)).unwrap();
    }
    assert!(decrypt_to_vec(&key, CONTEXT, &sink).is_err());
}

#[test]
fn object_context_is_unambiguous() {
    assert_ne!(
        object_context(&[b"ab", b"c"]),
        object_context(&[b"a", b"bc"])
    );
    assert_eq!(object_context(&[b"x"]), vec![0, 0, 0, 1, b'x']);
}
