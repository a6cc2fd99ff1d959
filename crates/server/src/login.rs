//! The doors of `POST /api/auth/login`: failed logins counted per account
//! (the normalised e-mail) and per client address over a sliding window, and
//! a bound on password hashes running at once.
//!
//! An attempt is counted as a failure when it starts (so concurrent guesses
//! cannot overshoot the limit) and taken back when it succeeds; a success
//! also clears its account's failures. Once an account or an address has
//! its limit of failures in the window, every attempt from it is refused
//! with 429 and `Retry-After`, the right password included, before any
//! hashing: until the oldest failure leaves the window.
//!
//! Argon2 costs tens of MiB and milliseconds per hash, so hashes run on the
//! blocking pool behind a semaphore with one permit per core; a login that
//! waits longer than `hash_wait` for a permit is answered 503, so a flood
//! queues neither memory nor threads without bound.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tally_core::Email;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits (`[auth]` in the configuration file).
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Failed logins per account within `window` before it is locked.
    pub failures_per_account: u32,
    /// Failed logins per client address (an IPv6 address: its /64) within `window`.
    pub failures_per_address: u32,
    pub window: Duration,
    /// Password hashes running at once.
    pub hash_concurrency: usize,
    /// Longest wait for a hashing slot before the login is answered 503.
    pub hash_wait: Duration,
}

pub const DEFAULT_FAILURES_PER_ACCOUNT: u32 = 10;
pub const DEFAULT_FAILURES_PER_ADDRESS: u32 = 50;
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_HASH_WAIT: Duration = Duration::from_secs(10);

/// Accounts (and addresses) tracked at most; past it the entry idle longest
/// is forgotten. A full table takes thousands of addresses each at its limit.
const MAX_TRACKED: usize = 100_000;

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            failures_per_account: DEFAULT_FAILURES_PER_ACCOUNT,
            failures_per_address: DEFAULT_FAILURES_PER_ADDRESS,
            window: DEFAULT_WINDOW,
            hash_concurrency: default_hash_concurrency(),
            hash_wait: DEFAULT_HASH_WAIT,
        }
    }
}

/// One hash per core.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Why a login was not tried.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures; try again after this long.
    Limited(Duration),
    /// No hashing slot came free in time.
    Busy,
}

/// Failure times per subject, oldest first, at most the limit of them.
struct Windows<K> {
    map: HashMap<K, VecDeque<Instant>>,
}

impl<K: Hash + Eq + Clone> Windows<K> {
    fn new() -> Self {
        Self { map: HashMap::new() }
    }

    /// Drops the failures older than the window; returns how many are left
    /// and when the oldest of them leaves.
    fn count(&mut self, key: &K, now: Instant, window: Duration) -> (u32, Option<Instant>) {
        let Some(times) = self.map.get_mut(key) else {
            return (0, None);
        };
        while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
            times.pop_front();
        }
        if times.is_empty() {
            self.map.remove(key);
            return (0, None);
        }
        let n = u32::try_from(times.len()).unwrap_or(u32::MAX);
        (n, times.front().map(|t| *t + window))
    }

    fn push(&mut self, key: &K, now: Instant, window: Duration) {
        if !self.map.contains_key(key) && self.map.len() >= MAX_TRACKED {
            self.map
                .retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
            if self.map.len() >= MAX_TRACKED {
                let idle = self
                    .map
                    .iter()
                    .min_by_key(|(_, times)| times.back().copied())
                    .map(|(k, _)| k.clone());
                if let Some(idle) = idle {
                    self.map.remove(&idle);
                }
            }
        }
        self.map.entry(key.clone()).or_default().push_back(now);
    }

    fn take_back(&mut self, key: &K, at: Instant) {
        if let Some(times) = self.map.get_mut(key) {
            if let Some(i) = times.iter().rposition(|t| *t == at) {
                times.remove(i);
            }
            if times.is_empty() {
                self.map.remove(key);
            }
        }
    }

    fn clear(&mut self, key: &K) {
        self.map.remove(key);
    }
}

/// A client address as counted: IPv4 whole, IPv6 by its /64 (one host's usual share).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

struct Counts {
    accounts: Windows<String>,
    addresses: Windows<IpAddr>,
}

/// The login limiter and the hashing slots, shared by every request.
pub struct LoginGuard {
    limits: LoginLimits,
    counts: Mutex<Counts>,
    hashes: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl LoginGuard {
    pub fn new(limits: LoginLimits) -> Self {
        let permits = limits.hash_concurrency.max(1);
        Self {
            limits,
            counts: Mutex::new(Counts {
                accounts: Windows::new(),
                addresses: Windows::new(),
            }),
            hashes: Arc::new(Semaphore::new(permits)),
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    /// Starts an attempt for `account` from `address`, counted as a failure
    /// until [`Attempt::succeeded`]; refused when either is at its limit.
    pub fn begin(&self, account: &Email, address: Option<IpAddr>) -> Result<Attempt<'_>, Refusal> {
        let now = Instant::now();
        let window = self.limits.window;
        let account = account.as_str().to_owned();
        let address = address.map(address_key);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        // The soonest time every subject at its limit is below it again.
        let mut until: Option<Instant> = None;
        let mut limited = false;
        let (n, oldest) = counts.accounts.count(&account, now, window);
        if n >= self.limits.failures_per_account {
            limited = true;
            until = until.max(oldest);
        }
        if let Some(ip) = &address {
            let (n, oldest) = counts.addresses.count(ip, now, window);
            if n >= self.limits.failures_per_address {
                limited = true;
                until = until.max(oldest);
            }
        }
        if limited {
            let wait = until.map_or(window, |u| u.saturating_duration_since(now));
            return Err(Refusal::Limited(wait.max(Duration::from_secs(1))));
        }
        counts.accounts.push(&account, now, window);
        if let Some(ip) = &address {
            counts.addresses.push(ip, now, window);
        }
        Ok(Attempt {
            guard: self,
            account,
            address,
            at: now,
        })
    }

    /// A hashing slot, waiting at most `hash_wait` for one.
    pub async fn hash_permit(&self) -> Result<HashPermit, Refusal> {
        match tokio::time::timeout(self.limits.hash_wait, self.hashes.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HashPermit {
                _permit: permit,
                running: self.running.clone(),
                peak: self.peak.clone(),
            }),
            _ => Err(Refusal::Busy),
        }
    }

    /// The most hashes that ran at once so far (for tests and diagnostics).
    pub fn peak_hashes(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// The hashing slots themselves (tests hold them to show the wait is bounded).
    pub fn hash_slots(&self) -> Arc<Semaphore> {
        self.hashes.clone()
    }
}

/// A login being tried, counted as a failure unless it succeeds.
pub struct Attempt<'a> {
    guard: &'a LoginGuard,
    account: String,
    address: Option<IpAddr>,
    at: Instant,
}

impl Attempt<'_> {
    /// The right password: the account's failures are forgotten and this
    /// attempt no longer counts against the address.
    pub fn succeeded(self) {
        let mut counts = self.guard.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.accounts.clear(&self.account);
        if let Some(ip) = &self.address {
            counts.addresses.take_back(ip, self.at);
        }
    }
}

/// The right to run one password hash; moved into the blocking task that
/// hashes, so a client that leaves does not free the slot before the hash ends.
pub struct HashPermit {
    _permit: OwnedSemaphorePermit,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl HashPermit {
    /// Runs `hash` holding the slot.
    pub fn run<T>(self, hash: impl FnOnce() -> T) -> T {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let out = hash();
        self.running.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn an_account_locks_at_its_limit_and_a_success_clears_it() {
        let guard = LoginGuard::new(LoginLimits {
            failures_per_account: 3,
            failures_per_address: 100,
            ..LoginLimits::default()
        });
        let ip = Some("10.0.0.1".parse().unwrap());
        guard.begin(&email("a@x.test"), ip).unwrap().succeeded();
        for _ in 0..3 {
            drop(guard.begin(&email("A@x.test "), ip).unwrap());
        }
        let refused = guard.begin(&email("a@x.test"), ip).err().unwrap();
        assert!(matches!(refused, Refusal::Limited(d) if d > Duration::from_secs(60)));
        assert!(guard.begin(&email("b@x.test"), ip).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let guard = LoginGuard::new(LoginLimits {
            failures_per_account: 100,
            failures_per_address: 2,
            ..LoginLimits::default()
        });
        drop(
            guard
                .begin(&email("a@x.test"), Some("2001:db8::1".parse().unwrap()))
                .unwrap(),
        );
        drop(
            guard
                .begin(&email("b@x.test"), Some("2001:db8::2".parse().unwrap()))
                .unwrap(),
        );
        assert!(
            guard
                .begin(&email("c@x.test"), Some("2001:db8::3".parse().unwrap()))
                .is_err()
        );
        assert!(
            guard
                .begin(&email("c@x.test"), Some("2001:db9::3".parse().unwrap()))
                .is_ok()
        );
    }
}
