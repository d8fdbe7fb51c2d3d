//! Limits on failed sign-ins at the token endpoint, per client id and per client address.
//!
//! Each key (a tenant's client id, a client IP address) has a GCRA bucket that only failures
//! fill: `failures` of them within `window` are allowed, after which every attempt with that
//! key, right or wrong, is answered 429 without checking the secret, until the bucket has
//! drained enough for one more. Successful sign-ins cost nothing, so a client that signs in
//! often is never limited by its own successes.
//!
//! `governor` was considered: its limiters have no way to ask "is this key limited?" without
//! spending a cell (only failures must count), and its keyed state grows with every distinct
//! key, which here is attacker-chosen. These buckets live in a bounded LRU instead.

use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits of the token endpoint (the server's `[token_endpoint]` configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEndpointLimits {
    /// Failed attempts allowed per client id (within one tenant) in `window`.
    pub failures_per_client: u32,
    /// Failed attempts allowed per client IP address in `window`.
    pub failures_per_address: u32,
    /// The window the allowances refill over.
    pub window: Duration,
    /// Secret checks running at once; more wait their turn off the async runtime.
    pub concurrent_secret_checks: usize,
}

impl Default for TokenEndpointLimits {
    fn default() -> Self {
        Self {
            failures_per_client: 10,
            failures_per_address: 100,
            window: Duration::from_secs(60),
            concurrent_secret_checks: default_concurrent_secret_checks(),
        }
    }
}

/// One fewer than the CPUs (at least one), so secret checks never take every core.
pub fn default_concurrent_secret_checks() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

/// Keys remembered per kind; the least recently used are forgotten first.
const KEYS: usize = 65_536;

/// GCRA buckets by key, filled by failures only.
struct Buckets<K: Eq + Hash + Clone> {
    /// Theoretical arrival time of the next failure, per key.
    tat: Mutex<quick_cache::unsync::Cache<K, Instant>>,
    /// Time one failure adds.
    interval: Duration,
    /// How far ahead of now the arrival time may run: `(failures - 1) × interval`.
    tolerance: Duration,
}

impl<K: Eq + Hash + Clone> Buckets<K> {
    fn new(failures: u32, window: Duration) -> Self {
        let failures = failures.max(1);
        let interval = window / failures;
        Self {
            tat: Mutex::new(quick_cache::unsync::Cache::new(KEYS)),
            interval,
            tolerance: interval * (failures - 1),
        }
    }

    /// How long `key` must wait before its next attempt; `None` when it may go now.
    fn blocked(&self, key: &K, now: Instant) -> Option<Duration> {
        let tat = *self
            .tat
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)?;
        let allowed_at = tat.checked_sub(self.tolerance)?;
        (allowed_at > now).then(|| allowed_at - now)
    }

    /// Counts a failure of `key`.
    fn fail(&self, key: &K, now: Instant) {
        let mut buckets = self.tat.lock().unwrap_or_else(|e| e.into_inner());
        let tat = buckets.get(key).copied().unwrap_or(now).max(now);
        buckets.insert(key.clone(), tat + self.interval);
    }
}

/// The token endpoint's failure limits.
pub(crate) struct Throttle {
    clients: Buckets<(String, String)>,
    addresses: Buckets<IpAddr>,
}

impl Throttle {
    pub(crate) fn new(limits: &TokenEndpointLimits) -> Self {
        Self {
            clients: Buckets::new(limits.failures_per_client, limits.window),
            addresses: Buckets::new(limits.failures_per_address, limits.window),
        }
    }

    /// How long this caller must wait before it may try again; `None` when it may try now.
    pub(crate) fn blocked(
        &self,
        tenant: &str,
        client_id: &str,
        address: Option<IpAddr>,
    ) -> Option<Duration> {
        let now = Instant::now();
        let client = self
            .clients
            .blocked(&(tenant.to_owned(), client_id.to_owned()), now);
        let address = address.and_then(|a| self.addresses.blocked(&a, now));
        client.max(address)
    }

    /// Counts a failed attempt against the client id and the address.
    pub(crate) fn failed(&self, tenant: &str, client_id: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        self.clients
            .fail(&(tenant.to_owned(), client_id.to_owned()), now);
        if let Some(address) = address {
            self.addresses.fail(&address, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_the_allowance_block_until_the_bucket_drains() {
        let buckets = Buckets::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(buckets.blocked(&"k", t0), None);
            buckets.fail(&"k", t0);
        }
        let wait = buckets.blocked(&"k", t0).expect("the fourth attempt waits");
        assert_eq!(wait, Duration::from_secs(20));
        // Other keys are not affected.
        assert_eq!(buckets.blocked(&"other", t0), None);
        // Once one interval has passed, one more attempt is allowed.
        let later = t0 + Duration::from_secs(20);
        assert_eq!(buckets.blocked(&"k", later), None);
        buckets.fail(&"k", later);
        assert!(buckets.blocked(&"k", later).is_some());
    }

    #[test]
    fn address_and_client_limits_are_separate() {
        let throttle = Throttle::new(&TokenEndpointLimits {
            failures_per_client: 2,
            failures_per_address: 3,
            ..TokenEndpointLimits::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        throttle.failed("t", "a", Some(ip));
        throttle.failed("t", "a", Some(ip));
        assert!(throttle.blocked("t", "a", Some(ip)).is_some());
        assert!(throttle.blocked("t", "b", Some(ip)).is_none());
        assert!(throttle.blocked("other-tenant", "a", None).is_none());
        throttle.failed("t", "b", Some(ip));
        // The address has now used its three.
        assert!(throttle.blocked("t", "c", Some(ip)).is_some());
        assert!(throttle.blocked("t", "c", None).is_none());
    }
}
