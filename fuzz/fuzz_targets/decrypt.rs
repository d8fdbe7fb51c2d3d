//! Arbitrary bytes as a stored object: `Header::parse`, `decrypt_to_vec`, `DecryptReader`,
//! `DecryptStream`, `ObjectLayout::new` + `span` and range reads under a fixed key; then the
//! same bytes as a recipe for a valid object plus edits, which must be rejected unless they
//! change nothing. The body lives in `crates/atrest-crypto/tests/support/fuzz_body.rs`, which
//! `cargo test -p atrest-crypto` also runs.
#![no_main]

#[path = "../../crates/atrest-crypto/tests/support/fuzz_body.rs"]
mod fuzz_body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_body::decrypt(data));
