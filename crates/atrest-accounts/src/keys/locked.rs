//! Unwrapped account keys in memory the OS may not swap out, where it allows locking.
//!
//! Each key gets a page of its own, so that unlocking one key's page when it is dropped never
//! unlocks another's. Locking can fail (`RLIMIT_MEMLOCK`, typically 8 MiB — about 2 000 keys —
//! for an unprivileged process): the key is then kept unlocked and a warning is logged once.
//! The key bytes are wiped on drop by [`SecretKey`].

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};

use atrest_crypto::SecretKey;

/// Page size the key's allocation is aligned to (the common 4 KiB; on larger pages the key
/// still gets a page-aligned allocation of its own, only the page is larger).
const PAGE: usize = 4096;

#[repr(C, align(4096))]
struct Page {
    key: SecretKey,
}

const _: () = assert!(std::mem::size_of::<Page>() == PAGE);

/// A [`SecretKey`] on its own locked page.
pub struct LockedKey {
    page: Box<Page>,
    locked: Option<region::LockGuard>,
}

static WARNED: AtomicBool = AtomicBool::new(false);

impl LockedKey {
    /// Moves `key` onto a page of its own and locks that page in memory if the OS lets it.
    pub fn new(key: SecretKey) -> Self {
        let page = Box::new(Page { key });
        let locked = match region::lock(std::ptr::from_ref::<Page>(&page), PAGE) {
            Ok(guard) => Some(guard),
            Err(e) => {
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        error = %e,
                        "cannot lock account keys in memory (raise RLIMIT_MEMLOCK / LimitMEMLOCK); they may be swapped out"
                    );
                }
                None
            }
        };
        Self { page, locked }
    }

    /// Whether the key's page is locked in memory.
    pub fn is_locked(&self) -> bool {
        self.locked.is_some()
    }
}

impl Deref for LockedKey {
    type Target = SecretKey;

    fn deref(&self) -> &SecretKey {
        &self.page.key
    }
}

impl std::fmt::Debug for LockedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockedKey")
            .field("locked", &self.is_locked())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_key_on_a_page_of_its_own() {
        let bytes = [7u8; 32];
        let key = LockedKey::new(SecretKey::from_bytes(bytes));
        assert_eq!(key.expose_secret(), &bytes);
        assert_eq!(std::ptr::from_ref::<SecretKey>(&key) as usize % PAGE, 0);
        let other = LockedKey::new(SecretKey::from_bytes([8u8; 32]));
        let distance = (std::ptr::from_ref::<SecretKey>(&other) as isize
            - std::ptr::from_ref::<SecretKey>(&key) as isize)
            .unsigned_abs();
        assert!(distance >= PAGE, "two keys never share a page");
    }

    /// The soft `RLIMIT_MEMLOCK` in bytes (`None`: unlimited), from /proc.
    fn memlock_limit() -> Option<u64> {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max locked memory"))
            .unwrap();
        line.split_whitespace().nth(3).unwrap().parse().ok()
    }

    #[test]
    fn locks_where_the_limit_allows_and_works_unlocked_where_not() {
        let key = LockedKey::new(SecretKey::from_bytes([1u8; 32]));
        match memlock_limit() {
            Some(limit) if limit < 2 * PAGE as u64 => {
                assert_eq!(key.expose_secret(), &[1u8; 32], "usable though not locked");
            }
            _ => assert!(key.is_locked(), "one page is within RLIMIT_MEMLOCK here"),
        }
    }
}
