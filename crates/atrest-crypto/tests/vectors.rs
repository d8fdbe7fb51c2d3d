//! Known-answer tests: the object format, key wrapping and sealing must keep producing and
//! reading exactly the bytes checked in under `testdata/`.
//!
//! Every vector is checked three ways: the crate re-encrypts it byte for byte, the crate
//! decrypts it, and a second implementation written from `docs/FORMAT.md` (below, using only
//! aws-lc-rs primitives) encrypts and decrypts it too, so the spec and the code cannot drift.
//!
//! Run with `RECORD=1` to rewrite the vector files from the definitions in this file instead
//! (only on purpose: a changed vector is a format change).

use std::io::{Cursor, Read};
use std::path::PathBuf;

use atrest_crypto::stream::{
    self, decrypt_to_vec, encrypt_to_vec, object_context, DecryptReader, DecryptStream, Header,
    DEFAULT_SEGMENT_SIZE, NONCE_PREFIX_LEN, SALT_LEN,
};
use atrest_crypto::{envelope, seal, Error, SecretKey};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

const STREAM_FILE: &str = "stream_vectors.json";
const ENVELOPE_FILE: &str = "envelope_vectors.json";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct StreamVectors {
    description: String,
    vectors: Vec<StreamVector>,
}

/// One object. All byte strings are lower-case hex.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct StreamVector {
    name: String,
    account_key: String,
    salt: String,
    nonce_prefix: String,
    key_ref: String,
    /// The object context exactly as passed to the crate (already `object_context`-encoded).
    context: String,
    segment_size: u32,
    plaintext: String,
    ciphertext: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct EnvelopeVectors {
    description: String,
    wrap_key: Vec<WrapVector>,
    seal: Vec<SealVector>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct WrapVector {
    name: String,
    kek: String,
    aad: String,
    key: String,
    wrapped: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct SealVector {
    name: String,
    root: String,
    aad: String,
    plaintext: String,
    sealed: String,
}

fn path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(file)
}

fn recording() -> bool {
    std::env::var_os("RECORD").is_some_and(|v| v == "1")
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("vector field is hex")
}

fn array<const N: usize>(s: &str) -> [u8; N] {
    unhex(s)
        .try_into()
        .expect("vector field has the right length")
}

/// The deterministic plaintext pattern of every vector: byte `i` is `i mod 251`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn account_key() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

// ---------------------------------------------------------------------------------------------
// The definitions the vector files are recorded from.

fn stream_definitions() -> StreamVectors {
    let cases: [(&str, u32, usize, &[u8]); 9] = [
        ("empty", 64, 0, b"ak:v1"),
        ("one-byte", 64, 1, b"ak:v1"),
        ("one-full-segment", 64, 64, b"ak:v1"),
        ("one-byte-over-a-segment", 64, 65, b"ak:v1"),
        ("two-full-segments", 64, 128, b"ak:v1"),
        ("four-segments", 64, 200, b"ak:v1"),
        ("empty-key-ref", 64, 100, b""),
        ("longest-key-ref", 64, 100, &[b'k'; 255]),
        (
            "default-segment-size",
            DEFAULT_SEGMENT_SIZE,
            65537,
            b"ak:v2",
        ),
    ];
    let vectors = cases
        .iter()
        .enumerate()
        .map(|(n, &(name, segment_size, len, key_ref))| {
            let n = n as u8;
            let salt: [u8; SALT_LEN] = std::array::from_fn(|i| 0x40 + 2 * n + i as u8);
            let nonce_prefix: [u8; NONCE_PREFIX_LEN] = std::array::from_fn(|i| 0xa0 + n + i as u8);
            let context = object_context(&[b"tenant-1", b"account-1", name.as_bytes()]);
            let plaintext = pattern(len);
            let header = Header::with_parameters(segment_size, key_ref, salt, nonce_prefix)
                .expect("valid header");
            let key = SecretKey::from_bytes(account_key());
            let ciphertext = encrypt_to_vec(&key, &header, &context, &plaintext).unwrap();
            StreamVector {
                name: name.to_owned(),
                account_key: hex::encode(account_key()),
                salt: hex::encode(salt),
                nonce_prefix: hex::encode(nonce_prefix),
                key_ref: hex::encode(key_ref),
                context: hex::encode(context),
                segment_size,
                plaintext: hex::encode(plaintext),
                ciphertext: hex::encode(ciphertext),
            }
        })
        .collect();
    StreamVectors {
        description: "atrest object format v1 (docs/FORMAT.md). All byte strings are hex. \
            plaintext byte i = i mod 251; context = object_context([\"tenant-1\", \
            \"account-1\", name]); ciphertext = header || segments. Regenerate with RECORD=1 \
            cargo test -p atrest-crypto --test vectors."
            .to_owned(),
        vectors,
    }
}

fn envelope_definitions() -> EnvelopeVectors {
    let kek: [u8; 32] = std::array::from_fn(|i| 0x60 + i as u8);
    let wrap = |name: &str, aad: &[u8], nonce_byte: u8| {
        let key: [u8; 32] = std::array::from_fn(|i| 0xc0 ^ i as u8);
        let nonce = [nonce_byte; 12];
        WrapVector {
            name: name.to_owned(),
            kek: hex::encode(kek),
            aad: hex::encode(aad),
            key: hex::encode(key),
            wrapped: hex::encode(reference_one_shot(
                &kek,
                b"atrest/wrap/v1",
                aad,
                nonce,
                &key,
            )),
        }
    };
    let seal = |name: &str, aad: &[u8], plaintext: &[u8], nonce_byte: u8| SealVector {
        name: name.to_owned(),
        root: hex::encode(kek),
        aad: hex::encode(aad),
        plaintext: hex::encode(plaintext),
        sealed: hex::encode(reference_one_shot(
            &kek,
            b"atrest/seal/v1",
            aad,
            [nonce_byte; 12],
            plaintext,
        )),
    };
    EnvelopeVectors {
        description: "atrest key wrapping (envelope::wrap_key) and sealing (seal::seal), \
            docs/FORMAT.md. Both draw random nonces; these vectors fix them so that unwrapping \
            and opening stay compatible. Regenerate with RECORD=1."
            .to_owned(),
        wrap_key: vec![
            wrap("account-key", b"account-1", 0x11),
            wrap("empty-aad", b"", 0x22),
        ],
        seal: vec![
            seal("vault-key-version", b"vault|key|v1", &pattern(100), 0x33),
            seal("empty", b"", b"", 0x44),
        ],
    }
}

// ---------------------------------------------------------------------------------------------
// A second implementation of the formats, written from docs/FORMAT.md.

/// Derives the object key: HKDF-SHA256(salt, ikm = account key,
/// info = "atrest/object/v1" ‖ u32be(len(context)) ‖ context), 32 bytes.
fn reference_object_key(account_key: &[u8], salt: &[u8], context: &[u8]) -> LessSafeKey {
    let len = u32::try_from(context.len()).unwrap().to_be_bytes();
    let info: [&[u8]; 3] = [b"atrest/object/v1", &len, context];
    let prk = Salt::new(HKDF_SHA256, salt).extract(account_key);
    let okm = prk.expand(&info, &AES_256_GCM).unwrap();
    LessSafeKey::new(UnboundKey::from(okm))
}

/// Splits an encoded header into (segment size, salt, nonce prefix, header length).
fn reference_header(object: &[u8]) -> Option<(usize, &[u8], &[u8], usize)> {
    let fixed = object.get(..11)?;
    if fixed[..4] != *b"ATRS" || fixed[4] != 1 || fixed[5] != 1 {
        return None;
    }
    let segment_size = u32::from_be_bytes(fixed[6..10].try_into().unwrap()) as usize;
    if !(16..=16 << 20).contains(&segment_size) {
        return None;
    }
    let key_ref_len = usize::from(fixed[10]);
    let header_len = 11 + key_ref_len + 32 + 7;
    let salt = object.get(11 + key_ref_len..11 + key_ref_len + 32)?;
    let nonce_prefix = object.get(11 + key_ref_len + 32..header_len)?;
    Some((segment_size, salt, nonce_prefix, header_len))
}

fn reference_nonce(prefix: &[u8], index: u32, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[..7].copy_from_slice(prefix);
    nonce[7..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    Nonce::assume_unique_for_key(nonce)
}

/// Seals explicit (plaintext, last) segments after `header`, with no checks of the rules.
fn reference_seal_segments(
    account_key: &[u8],
    context: &[u8],
    header: &[u8],
    segments: &[(&[u8], bool)],
) -> Vec<u8> {
    let (_, salt, prefix, _) = reference_header(header).expect("valid header");
    let key = reference_object_key(account_key, salt, context);
    let mut out = header.to_vec();
    for (index, (plain, last)) in segments.iter().enumerate() {
        let mut segment = plain.to_vec();
        let nonce = reference_nonce(prefix, index as u32, *last);
        key.seal_in_place_append_tag(nonce, Aad::from(header), &mut segment)
            .unwrap();
        out.extend_from_slice(&segment);
    }
    out
}

/// Encrypts `plaintext` after `header` following the segmentation rule: full segments, the
/// last one final; a multiple of the segment size ends full; the empty plaintext is one empty
/// final segment.
fn reference_encrypt(account_key: &[u8], context: &[u8], header: &[u8], plain: &[u8]) -> Vec<u8> {
    let (segment_size, ..) = reference_header(header).expect("valid header");
    let mut segments: Vec<(&[u8], bool)> = plain.chunks(segment_size).map(|c| (c, false)).collect();
    if segments.is_empty() {
        segments.push((&[], false));
    }
    segments.last_mut().unwrap().1 = true;
    reference_seal_segments(account_key, context, header, &segments)
}

/// Decrypts a whole object, or `None` if anything is wrong with it.
fn reference_decrypt(account_key: &[u8], context: &[u8], object: &[u8]) -> Option<Vec<u8>> {
    let (segment_size, salt, prefix, header_len) = reference_header(object)?;
    let key = reference_object_key(account_key, salt, context);
    let header = &object[..header_len];
    let body = &object[header_len..];
    let full = segment_size + 16;
    let count = body.len().div_ceil(full).max(1);
    let last_len = body.len() - (count - 1) * full;
    // The final segment is a tag at least, and empty only in the empty object.
    if last_len < 16 || (count > 1 && last_len == 16) || count > 1 << 32 {
        return None;
    }
    let mut plain = Vec::new();
    for index in 0..count {
        let mut segment = body[index * full..((index + 1) * full).min(body.len())].to_vec();
        let nonce = reference_nonce(prefix, index as u32, index + 1 == count);
        let opened = key
            .open_in_place(nonce, Aad::from(header), &mut segment)
            .ok()?;
        plain.extend_from_slice(opened);
    }
    Some(plain)
}

/// The one-shot AES-256-GCM layout of wrap_key and seal: 0x01 ‖ nonce ‖ ct ‖ tag,
/// AAD = label ‖ aad.
fn reference_one_shot(
    key: &[u8],
    label: &[u8],
    aad: &[u8],
    nonce: [u8; 12],
    plain: &[u8],
) -> Vec<u8> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
    let mut body = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from([label, aad].concat()),
        &mut body,
    )
    .unwrap();
    let mut out = vec![1u8];
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&body);
    out
}

// ---------------------------------------------------------------------------------------------
// The tests.

fn load<T: for<'de> Deserialize<'de>>(file: &str) -> T {
    let text = std::fs::read_to_string(path(file))
        .unwrap_or_else(|e| panic!("{file}: {e}; record it with RECORD=1"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn record<T: Serialize>(file: &str, value: &T) {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    std::fs::create_dir_all(path("")).unwrap();
    std::fs::write(path(file), text).unwrap();
}

#[test]
fn stream_vectors() {
    if recording() {
        record(STREAM_FILE, &stream_definitions());
        return;
    }
    let file: StreamVectors = load(STREAM_FILE);
    for v in &file.vectors {
        let name = &v.name;
        let key = SecretKey::from_bytes(array(&v.account_key));
        let header = Header::with_parameters(
            v.segment_size,
            &unhex(&v.key_ref),
            array(&v.salt),
            array(&v.nonce_prefix),
        )
        .unwrap();
        let (context, plaintext, ciphertext) =
            (unhex(&v.context), unhex(&v.plaintext), unhex(&v.ciphertext));

        let encrypted = encrypt_to_vec(&key, &header, &context, &plaintext).unwrap();
        assert!(encrypted == ciphertext, "{name}: encryption changed");
        assert_eq!(
            decrypt_to_vec(&key, &context, &ciphertext).unwrap(),
            plaintext,
            "{name}"
        );
        let mut read = Vec::new();
        DecryptReader::new(Cursor::new(&ciphertext), &key, &context)
            .unwrap()
            .read_to_end(&mut read)
            .unwrap();
        assert_eq!(read, plaintext, "{name}: DecryptReader");

        let reference =
            reference_encrypt(key.expose_secret(), &context, header.as_bytes(), &plaintext);
        assert!(
            reference == ciphertext,
            "{name}: FORMAT.md encryption differs"
        );
        assert_eq!(
            reference_decrypt(key.expose_secret(), &context, &ciphertext).as_ref(),
            Some(&plaintext),
            "{name}: FORMAT.md decryption"
        );
    }
    assert!(
        file == stream_definitions(),
        "{STREAM_FILE} is out of date with the definitions; rerun with RECORD=1 if intended"
    );
}

#[test]
fn envelope_vectors() {
    if recording() {
        record(ENVELOPE_FILE, &envelope_definitions());
        return;
    }
    let file: EnvelopeVectors = load(ENVELOPE_FILE);
    for v in &file.wrap_key {
        let kek = SecretKey::from_bytes(array(&v.kek));
        let unwrapped = envelope::unwrap_key(&kek, &unhex(&v.wrapped), &unhex(&v.aad))
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(
            unwrapped.expose_secret(),
            &array::<32>(&v.key),
            "{}",
            v.name
        );
        // Wrapping again draws a new nonce, but the result unwraps the same way.
        let rewrapped = envelope::wrap_key(&kek, &unwrapped, &unhex(&v.aad)).unwrap();
        assert_eq!(rewrapped.len(), envelope::WRAPPED_KEY_LEN);
        assert_eq!(
            envelope::unwrap_key(&kek, &rewrapped, &unhex(&v.aad)).unwrap(),
            unwrapped
        );
    }
    for v in &file.seal {
        let root = SecretKey::from_bytes(array(&v.root));
        let opened = seal::open(&root, &unhex(&v.aad), &unhex(&v.sealed))
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(&opened[..], &unhex(&v.plaintext)[..], "{}", v.name);
    }
    assert!(
        file == envelope_definitions(),
        "{ENVELOPE_FILE} is out of date with the definitions; rerun with RECORD=1 if intended"
    );
}

#[test]
fn regression_empty_final_segment_after_full_segments_is_rejected() {
    // header ‖ one full segment (not final) ‖ an empty final segment, correctly sealed: the
    // crate never writes this (a 64-byte plaintext is one full final segment), and every
    // reader must refuse it rather than accept two encodings of one plaintext.
    let key = SecretKey::from_bytes(account_key());
    let context = object_context(&[b"t", b"a", b"o"]);
    let header = Header::with_parameters(64, b"ak", [5; SALT_LEN], [6; NONCE_PREFIX_LEN]).unwrap();
    let plain = pattern(64);
    let object = reference_seal_segments(
        key.expose_secret(),
        &context,
        header.as_bytes(),
        &[(&plain, false), (&[], true)],
    );
    assert!(matches!(
        decrypt_to_vec(&key, &context, &object),
        Err(Error::TrailingData)
    ));
    let mut out = Vec::new();
    let err = DecryptReader::new(Cursor::new(&object), &key, &context)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert!(
        err.to_string().contains("follows the final segment"),
        "{err}"
    );
    let streamed = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let input = futures_util::stream::iter([Ok(Bytes::from(object.clone()))]);
            DecryptStream::new(input, &key, &context)
                .try_collect::<Vec<Bytes>>()
                .await
        });
    assert!(streamed.is_err());
    assert_eq!(
        reference_decrypt(key.expose_secret(), &context, &object),
        None
    );
    // The canonical encoding of the same plaintext is accepted.
    let canonical = stream::encrypt_to_vec(&key, &header, &context, &plain).unwrap();
    assert_eq!(decrypt_to_vec(&key, &context, &canonical).unwrap(), plain);
}
