//! Small sealed values and keyed indexes under the account key: names, metadata documents,
//! blocklist items — each in the object format with its own object context — and the
//! `Range` header parser for downloads.

use std::ops::Range;

use atrest_crypto::stream::{self, Header};
use atrest_crypto::SecretKey;
use aws_lc_rs::hmac;

use crate::error::Error;
use crate::model::Account;

/// The object context bound into an object's key: tenant, account, object id, purpose.
pub(super) fn context(account: &Account, object_id: &str, purpose: &str) -> Vec<u8> {
    stream::object_context(&[
        account.tenant_id.as_bytes(),
        account.id.as_bytes(),
        object_id.as_bytes(),
        purpose.as_bytes(),
    ])
}

pub(super) fn key_ref(account: &Account) -> Vec<u8> {
    format!("ak:{}", account.id).into_bytes()
}

/// Keyed index of a name: HMAC(HMAC(AK, label), kind ‖ 0 ‖ name).
pub(super) fn name_index(ak: &SecretKey, kind: &str, name: &str) -> String {
    let base = hmac::Key::new(hmac::HMAC_SHA256, ak.expose_secret());
    let derived = hmac::sign(&base, b"atrest/name-index/v1");
    let key = hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref());
    let mut input = Vec::with_capacity(kind.len() + 1 + name.len());
    input.extend_from_slice(kind.as_bytes());
    input.push(0);
    input.extend_from_slice(name.as_bytes());
    hex::encode(hmac::sign(&key, &input).as_ref())
}

/// Encrypts small metadata (a name, a JSON document) under the account key.
pub(super) fn seal_small(
    ak: &SecretKey,
    account: &Account,
    object_id: &str,
    purpose: &str,
    plain: &[u8],
) -> Result<Vec<u8>, Error> {
    let header = Header::new(stream::DEFAULT_SEGMENT_SIZE, &key_ref(account))?;
    Ok(stream::encrypt_to_vec(
        ak,
        &header,
        &context(account, object_id, purpose),
        plain,
    )?)
}

/// Decrypts what [`seal_small`] made.
pub(super) fn open_small(
    ak: &SecretKey,
    account: &Account,
    object_id: &str,
    purpose: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, Error> {
    Ok(stream::decrypt_to_vec(
        ak,
        &context(account, object_id, purpose),
        sealed,
    )?)
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` against an object of `len` bytes.
pub(super) fn parse_range(header: &str, len: u64) -> Result<Range<u64>, Error> {
    let bad = || Error::RangeNotSatisfiable { len };
    let spec = header.trim().strip_prefix("bytes=").ok_or_else(bad)?;
    if spec.contains(',') {
        return Err(Error::BadRequest(
            "only a single byte range is supported".into(),
        ));
    }
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| bad())?;
            (len.saturating_sub(n), len)
        }
        (a, "") => (a.parse().map_err(|_| bad())?, len),
        (a, b) => {
            let a: u64 = a.parse().map_err(|_| bad())?;
            let b: u64 = b.parse().map_err(|_| bad())?;
            (a, b.saturating_add(1).min(len))
        }
    };
    if start >= end || start >= len {
        return Err(bad());
    }
    Ok(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), 0..10);
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), 90..100);
        assert_eq!(parse_range("bytes=-5", 100).unwrap(), 95..100);
        assert_eq!(parse_range("bytes=50-500", 100).unwrap(), 50..100);
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-2", 100).is_err());
        assert!(parse_range("items=0-1", 100).is_err());
    }
}
