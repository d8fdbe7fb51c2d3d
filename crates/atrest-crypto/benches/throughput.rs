//! Throughput of the object format against raw aws-lc-rs AES-256-GCM on one core.
//!
//! Run with `cargo bench -p atrest-crypto --bench throughput`, or `bench/crypto-throughput`,
//! which also prints the CPU and an `openssl speed` reference. Results: `docs/BENCHMARKS.md`.
//!
//! For 1 MiB and 256 MiB objects (64 KiB segments), each group measures:
//!
//! * `raw-seal-64k` / `raw-open-64k`: `LessSafeKey::{seal,open}_in_place*` over the buffer in
//!   64 KiB chunks, each with its own nonce and the header as AAD: the physical limit of the
//!   format, which adds only key derivation and framing around exactly this work.
//! * `raw-seal-one-call` / `raw-open-one-call`: one AES-GCM call over the whole buffer.
//! * `raw-seal-64k-new-vec` / `raw-open-64k-new-vec`: the 64 KiB-chunk baseline writing into a
//!   freshly allocated output, as `encrypt_to_vec`/`decrypt_to_vec` must; the difference to the
//!   in-place baseline is the cost of new memory (page faults), not of the format.
//! * `raw-seal-64k-write` / `raw-open-64k-read`: the 64 KiB-chunk baseline plus the one copy
//!   that a `Write` sink (`Vec::write_all`) or a `Read` source (`read_exact` into a scratch
//!   buffer) makes: the limit for any streaming adapter.
//! * `SegmentEncryptor` / `SegmentDecryptor`: the format's low-level API, in place over a
//!   buffer the caller owns (key derivation, nonces and header AAD included): the format
//!   itself, without any copy an adapter's interface forces.
//! * `encrypt_to_vec` / `decrypt_to_vec`: the in-memory API, including the output allocation.
//! * `EncryptWriter` / `DecryptReader`: the `std::io` adapters, writing into a `Vec` that is
//!   allocated once and reused, and reading (`read` calls) into a buffer allocated once.
//!
//! After the criterion groups, a *paired* pass times each format function and its baseline
//! alternately (ABAB…) and prints the median of the per-pair ratios. On a shared machine whose
//! load drifts this is far steadier than dividing two criterion estimates taken minutes apart.
//! Set `PAIRED=0` to skip it; a criterion name filter applies to it too.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use atrest_crypto::stream::{
    decrypt_to_vec, encrypt_to_vec, DecryptReader, EncryptWriter, Header, SegmentDecryptor,
    SegmentEncryptor, DEFAULT_SEGMENT_SIZE, NONCE_PREFIX_LEN, SALT_LEN, TAG_LEN,
};
use atrest_crypto::SecretKey;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use criterion::{Criterion, SamplingMode, Throughput};

const MIB: usize = 1024 * 1024;
const SEGMENT: usize = DEFAULT_SEGMENT_SIZE as usize;
const CONTEXT: &[u8] = b"tenant|account|object";

fn nonce(index: usize, last: bool) -> Nonce {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[7..11].copy_from_slice(&(index as u32).to_be_bytes());
    nonce[11] = u8::from(last);
    Nonce::assume_unique_for_key(nonce)
}

/// Times one run of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

/// Keys, header and buffers shared by the cases of one object size.
struct Fixture {
    size: usize,
    key: SecretKey,
    header: Header,
    aad: Vec<u8>,
    raw: LessSafeKey,
    plain: Vec<u8>,
    /// `plain` sealed by the raw baseline: each 64 KiB chunk followed by its tag.
    chunked: Vec<u8>,
    /// `plain` sealed by the raw baseline in one call, tag appended.
    whole: Vec<u8>,
    /// `plain` as an atrest object.
    object: Vec<u8>,
    /// Working buffers, allocated once.
    work: Vec<u8>,
    out: Vec<u8>,
    scratch: Vec<u8>,
}

impl Fixture {
    fn new(size: usize) -> Self {
        let key = SecretKey::from_bytes([7; 32]);
        let header = Header::with_parameters(
            DEFAULT_SEGMENT_SIZE,
            b"ak:v1",
            [1; SALT_LEN],
            [2; NONCE_PREFIX_LEN],
        )
        .unwrap();
        let aad = header.as_bytes().to_vec();
        let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9; 32]).unwrap());
        let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let count = size.div_ceil(SEGMENT);
        let mut chunked = Vec::with_capacity(size + count * TAG_LEN);
        for (index, chunk) in plain.chunks(SEGMENT).enumerate() {
            let mut sealed = chunk.to_vec();
            raw.seal_in_place_append_tag(
                nonce(index, index + 1 == count),
                Aad::from(&aad),
                &mut sealed,
            )
            .unwrap();
            chunked.extend_from_slice(&sealed);
        }
        let mut whole = plain.clone();
        raw.seal_in_place_append_tag(nonce(0, true), Aad::from(&aad), &mut whole)
            .unwrap();
        let object = encrypt_to_vec(&key, &header, CONTEXT, &plain).unwrap();
        Self {
            size,
            key,
            header,
            aad,
            raw,
            work: vec![0; object.len()],
            out: vec![0; object.len()],
            scratch: vec![0; SEGMENT + TAG_LEN],
            plain,
            chunked,
            whole,
            object,
        }
    }

    fn count(&self) -> usize {
        self.size.div_ceil(SEGMENT)
    }

    /// Runs `case` once and returns the time of its measured part.
    fn run(&mut self, case: Case) -> Duration {
        let count = self.count();
        let Self {
            key,
            header,
            aad,
            raw,
            plain,
            chunked,
            whole,
            object,
            work,
            out,
            scratch,
            ..
        } = self;
        let aad = &aad[..];
        match case {
            Case::RawSeal64k => {
                let buf = &mut work[..plain.len()];
                timed(|| {
                    for (index, chunk) in buf.chunks_mut(SEGMENT).enumerate() {
                        let tag = raw
                            .seal_in_place_separate_tag(
                                nonce(index, index + 1 == count),
                                Aad::from(aad),
                                black_box(chunk),
                            )
                            .unwrap();
                        let _ = black_box(tag);
                    }
                })
            }
            Case::RawSealOneCall => {
                let buf = &mut work[..plain.len()];
                timed(|| {
                    raw.seal_in_place_separate_tag(nonce(0, true), Aad::from(aad), black_box(buf))
                        .unwrap()
                })
            }
            Case::RawSeal64kNewVec => timed(|| {
                let plain = black_box(&plain[..]);
                let mut sealed_all = vec![0u8; plain.len() + count * TAG_LEN];
                for (index, (chunk, sealed)) in plain
                    .chunks(SEGMENT)
                    .zip(sealed_all.chunks_mut(SEGMENT + TAG_LEN))
                    .enumerate()
                {
                    let (ciphertext, tag) = sealed.split_at_mut(chunk.len());
                    raw.seal_out_of_place_scatter(
                        nonce(index, index + 1 == count),
                        Aad::from(aad),
                        chunk,
                        ciphertext,
                        &[],
                        tag,
                    )
                    .unwrap();
                }
                sealed_all
            }),
            Case::RawSeal64kWrite => {
                let mut sink = std::mem::take(out);
                sink.clear();
                let time = timed(|| {
                    for (index, chunk) in black_box(&plain[..]).chunks(SEGMENT).enumerate() {
                        let sealed = &mut scratch[..chunk.len() + TAG_LEN];
                        let (ciphertext, tag) = sealed.split_at_mut(chunk.len());
                        raw.seal_out_of_place_scatter(
                            nonce(index, index + 1 == count),
                            Aad::from(aad),
                            chunk,
                            ciphertext,
                            &[],
                            tag,
                        )
                        .unwrap();
                        sink.write_all(sealed).unwrap();
                    }
                });
                *out = sink;
                time
            }
            Case::SegmentEncryptor => {
                let buf = &mut work[..plain.len()];
                timed(|| {
                    let mut segments = SegmentEncryptor::new(key, header, CONTEXT);
                    for (index, chunk) in buf.chunks_mut(SEGMENT).enumerate() {
                        let tag = segments
                            .seal_in_place(black_box(chunk), index + 1 == count)
                            .unwrap();
                        black_box(tag);
                    }
                })
            }
            Case::EncryptToVec => {
                timed(|| encrypt_to_vec(key, header, CONTEXT, black_box(plain)).unwrap())
            }
            Case::EncryptWriter => {
                let mut sink = std::mem::take(out);
                sink.clear();
                let time = timed(|| {
                    let mut writer = EncryptWriter::new(&mut sink, key, header, CONTEXT).unwrap();
                    writer.write_all(black_box(plain)).unwrap();
                    writer.finish().unwrap();
                });
                *out = sink;
                time
            }
            Case::RawOpen64k => {
                let buf = &mut work[..chunked.len()];
                buf.copy_from_slice(chunked);
                timed(|| {
                    for (index, chunk) in buf.chunks_mut(SEGMENT + TAG_LEN).enumerate() {
                        raw.open_in_place(
                            nonce(index, index + 1 == count),
                            Aad::from(aad),
                            black_box(chunk),
                        )
                        .unwrap();
                    }
                })
            }
            Case::RawOpenOneCall => {
                let buf = &mut work[..whole.len()];
                buf.copy_from_slice(whole);
                timed(|| {
                    raw.open_in_place(nonce(0, true), Aad::from(aad), black_box(buf))
                        .unwrap()
                        .len()
                })
            }
            Case::RawOpen64kNewVec => timed(|| {
                let mut opened = vec![0u8; plain.len()];
                for (index, (sealed, plain)) in black_box(&chunked[..])
                    .chunks(SEGMENT + TAG_LEN)
                    .zip(opened.chunks_mut(SEGMENT))
                    .enumerate()
                {
                    let (ciphertext, tag) = sealed.split_at(plain.len());
                    raw.open_separate_gather(
                        nonce(index, index + 1 == count),
                        Aad::from(aad),
                        ciphertext,
                        tag,
                        plain,
                    )
                    .unwrap();
                }
                opened
            }),
            Case::RawOpen64kRead => {
                let sink = &mut out[..plain.len()];
                timed(|| {
                    let mut input = black_box(&chunked[..]);
                    for (index, plain) in sink.chunks_mut(SEGMENT).enumerate() {
                        let sealed = &mut scratch[..plain.len() + TAG_LEN];
                        input.read_exact(sealed).unwrap();
                        let (ciphertext, tag) = sealed.split_at(plain.len());
                        raw.open_separate_gather(
                            nonce(index, index + 1 == count),
                            Aad::from(aad),
                            ciphertext,
                            tag,
                            plain,
                        )
                        .unwrap();
                    }
                })
            }
            Case::SegmentDecryptor => {
                let body = &object[header.len()..];
                let buf = &mut work[..body.len()];
                buf.copy_from_slice(body);
                timed(|| {
                    let segments = SegmentDecryptor::new(key, header, CONTEXT);
                    for (index, chunk) in buf.chunks_mut(SEGMENT + TAG_LEN).enumerate() {
                        let last = index + 1 == count;
                        segments
                            .open_segment(index as u32, last, black_box(chunk))
                            .unwrap();
                    }
                })
            }
            Case::DecryptToVec => {
                timed(|| decrypt_to_vec(key, CONTEXT, black_box(object)).unwrap())
            }
            Case::DecryptReader => {
                let sink = &mut out[..plain.len()];
                timed(|| {
                    let mut reader =
                        DecryptReader::new(black_box(&object[..]), key, CONTEXT).unwrap();
                    let mut filled = 0;
                    loop {
                        match reader.read(&mut sink[filled..]).unwrap() {
                            0 => break,
                            n => filled += n,
                        }
                    }
                    assert_eq!(filled, sink.len());
                })
            }
        }
    }
}

/// Everything measured, in the order criterion runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    RawSeal64k,
    RawSealOneCall,
    RawSeal64kNewVec,
    RawSeal64kWrite,
    SegmentEncryptor,
    EncryptToVec,
    EncryptWriter,
    RawOpen64k,
    RawOpenOneCall,
    RawOpen64kNewVec,
    RawOpen64kRead,
    SegmentDecryptor,
    DecryptToVec,
    DecryptReader,
}

impl Case {
    const ENCRYPT: [Self; 7] = [
        Self::RawSeal64k,
        Self::RawSealOneCall,
        Self::RawSeal64kNewVec,
        Self::RawSeal64kWrite,
        Self::SegmentEncryptor,
        Self::EncryptToVec,
        Self::EncryptWriter,
    ];
    const DECRYPT: [Self; 7] = [
        Self::RawOpen64k,
        Self::RawOpenOneCall,
        Self::RawOpen64kNewVec,
        Self::RawOpen64kRead,
        Self::SegmentDecryptor,
        Self::DecryptToVec,
        Self::DecryptReader,
    ];
    /// (format, baseline) pairs for the paired ratios.
    const PAIRS: [(Self, Self); 10] = [
        (Self::SegmentEncryptor, Self::RawSeal64k),
        (Self::EncryptToVec, Self::RawSeal64k),
        (Self::EncryptToVec, Self::RawSeal64kNewVec),
        (Self::EncryptWriter, Self::RawSeal64k),
        (Self::EncryptWriter, Self::RawSeal64kWrite),
        (Self::SegmentDecryptor, Self::RawOpen64k),
        (Self::DecryptToVec, Self::RawOpen64k),
        (Self::DecryptToVec, Self::RawOpen64kNewVec),
        (Self::DecryptReader, Self::RawOpen64k),
        (Self::DecryptReader, Self::RawOpen64kRead),
    ];

    fn name(self) -> &'static str {
        match self {
            Self::RawSeal64k => "raw-seal-64k",
            Self::RawSealOneCall => "raw-seal-one-call",
            Self::RawSeal64kNewVec => "raw-seal-64k-new-vec",
            Self::RawSeal64kWrite => "raw-seal-64k-write",
            Self::SegmentEncryptor => "SegmentEncryptor",
            Self::EncryptToVec => "encrypt_to_vec",
            Self::EncryptWriter => "EncryptWriter",
            Self::RawOpen64k => "raw-open-64k",
            Self::RawOpenOneCall => "raw-open-one-call",
            Self::RawOpen64kNewVec => "raw-open-64k-new-vec",
            Self::RawOpen64kRead => "raw-open-64k-read",
            Self::SegmentDecryptor => "SegmentDecryptor",
            Self::DecryptToVec => "decrypt_to_vec",
            Self::DecryptReader => "DecryptReader",
        }
    }

    fn group(self) -> &'static str {
        if Self::ENCRYPT.contains(&self) {
            "encrypt"
        } else {
            "decrypt"
        }
    }
}

fn criterion_groups(criterion: &mut Criterion, fixture: &mut Fixture, label: &str) {
    for (group_name, cases) in [("encrypt", Case::ENCRYPT), ("decrypt", Case::DECRYPT)] {
        let mut group = criterion.benchmark_group(format!("{group_name}/{label}"));
        group.throughput(Throughput::Bytes(fixture.size as u64));
        if fixture.size >= 64 * MIB {
            group
                .sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(5));
        } else {
            group
                .sample_size(40)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_millis(1500));
        }
        for case in cases {
            group.bench_function(case.name(), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| fixture.run(case)).sum());
            });
        }
        group.finish();
    }
}

/// Median over `rounds` of (baseline time / format time), measured alternately.
fn paired_ratio(fixture: &mut Fixture, format: Case, baseline: Case, rounds: usize) -> f64 {
    fixture.run(format);
    fixture.run(baseline);
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|round| {
            let (f, b) = if round % 2 == 0 {
                let b = fixture.run(baseline);
                (fixture.run(format), b)
            } else {
                let f = fixture.run(format);
                (f, fixture.run(baseline))
            };
            b.as_secs_f64() / f.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listing = args.iter().any(|a| a == "--list" || a == "--test");
    let filter = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_default();
    let paired = !listing && std::env::var_os("PAIRED").is_none_or(|v| v != "0");

    let mut criterion = Criterion::default().configure_from_args();
    let mut rows = Vec::new();
    for (label, size, rounds) in [("1MiB", MIB, 301), ("256MiB", 256 * MIB, 11)] {
        let selected = |name: &str| name.contains(&filter);
        let all = Case::ENCRYPT.iter().chain(&Case::DECRYPT);
        if !all
            .map(|case| format!("{}/{label}/{}", case.group(), case.name()))
            .any(|name| selected(&name))
        {
            continue;
        }
        let mut fixture = Fixture::new(size);
        criterion_groups(&mut criterion, &mut fixture, label);
        if !paired {
            continue;
        }
        for (format, baseline) in Case::PAIRS {
            let name = format!("{}/{label}/{}", format.group(), format.name());
            if selected(&name) {
                let ratio = paired_ratio(&mut fixture, format, baseline, rounds);
                rows.push((name, baseline.name(), ratio));
            }
        }
    }
    criterion.final_summary();
    if !rows.is_empty() {
        println!("\npaired ratios (format throughput / baseline throughput, median of alternating runs):");
        for (name, baseline, ratio) in rows {
            println!("  {name:<32} vs {baseline:<22} {ratio:>6.3}");
        }
    }
}
