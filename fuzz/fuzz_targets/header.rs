//! Arbitrary bytes as an object header: `Header::parse` and `Header::read_from` agree, a parsed
//! header re-encodes to the same bytes, and `ObjectLayout` arithmetic holds for any object
//! length. The body lives in `crates/atrest-crypto/tests/support/fuzz_body.rs`, which
//! `cargo test -p atrest-crypto` also runs.
#![no_main]

#[path = "../../crates/atrest-crypto/tests/support/fuzz_body.rs"]
mod fuzz_body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_body::header(data));
