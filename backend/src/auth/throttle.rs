//! Throttling of password guesses: failed sign-ins are counted per
//! username and per client address, over a sliding window, and past a
//! limit further attempts are refused before any password is checked.
//!
//! - At most [`ACCOUNT_FAILURES`] (5) failures per username per
//!   [`FAILURE_WINDOW`] (15 minutes): then that username is refused, from
//!   any address, until its oldest counted failure is 15 minutes old. A
//!   successful sign-in clears the username's count.
//! - At most [`IP_FAILURES`] (50) failures per client address per window,
//!   whatever the usernames: then that address is refused the same way. An
//!   IPv6 address counts with its whole /64 ([`IPV6_PREFIX_BITS`]), which
//!   one host or household typically has; an IPv4-mapped IPv6 address
//!   counts as its IPv4 address. A success does not clear an address.
//!
//! Usernames are counted whether or not an account has them, ignoring
//! ASCII case as usernames do, so the throttle's answers tell nothing of
//! which usernames exist. The refusal says when to try again
//! ([`RetryAfter`], for a `Retry-After` header); the caller gives it the
//! same answer and status for a known and an unknown username.
//!
//! Memory is bounded: at most [`MAX_TRACKED_ACCOUNTS`] usernames and
//! [`MAX_TRACKED_ADDRESSES`] addresses are tracked, a few dozen bytes each
//! (a username is kept as a keyed 64-bit hash, never as its text, and each
//! failure as 4 bytes). When a table is full, entries whose failures have
//! all expired go first, then those whose last failure is oldest. Every
//! counted failure cost the server a password hash in the bounded pool
//! (see [`super::password`]), so the tables fill no faster than the pool
//! hashes.
//!
//! Time is passed in (`now`), so tests drive the throttle with made-up
//! instants, as [`crate::limits`] does.

use std::collections::hash_map::{Entry, HashMap, RandomState};
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Failed sign-ins one username may have within [`FAILURE_WINDOW`]; at
/// this many, it is refused until the oldest expires.
pub const ACCOUNT_FAILURES: usize = 5;

/// Failed sign-ins one client address (an IPv4 address, an IPv6 /64) may
/// have within [`FAILURE_WINDOW`], over all the usernames it tries.
pub const IP_FAILURES: usize = 50;

/// How long a failed sign-in counts.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Leading bits of an IPv6 address that are counted as one client.
pub const IPV6_PREFIX_BITS: u32 = 64;

/// Usernames the throttle tracks at most (about 100 bytes each, so a few
/// MiB when full).
pub const MAX_TRACKED_ACCOUNTS: usize = 50_000;

/// Client addresses the throttle tracks at most (up to about 300 bytes
/// each when at [`IP_FAILURES`]).
pub const MAX_TRACKED_ADDRESSES: usize = 20_000;

/// The numbers a [`Throttle`] applies; [`Default`] gives the constants of
/// this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// See [`ACCOUNT_FAILURES`].
    pub account_failures: usize,
    /// See [`IP_FAILURES`].
    pub ip_failures: usize,
    /// See [`FAILURE_WINDOW`]; counted in whole seconds, rounded up.
    pub window: Duration,
    /// See [`MAX_TRACKED_ACCOUNTS`].
    pub max_accounts: usize,
    /// See [`MAX_TRACKED_ADDRESSES`].
    pub max_addresses: usize,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        Self {
            account_failures: ACCOUNT_FAILURES,
            ip_failures: IP_FAILURES,
            window: FAILURE_WINDOW,
            max_accounts: MAX_TRACKED_ACCOUNTS,
            max_addresses: MAX_TRACKED_ADDRESSES,
        }
    }
}

/// A refused sign-in: how long until the next attempt may be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds to wait, rounded up and at least 1: the value of a
    /// `Retry-After` header.
    pub fn secs(&self) -> u64 {
        let secs = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// Counts failed sign-ins per username and per client address (see the
/// module's documentation). Cheap to clone: clones share their counts.
#[derive(Debug, Clone)]
pub struct Throttle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limits: ThrottleLimits,
    /// The window in whole seconds.
    window_secs: u32,
    /// The instant failures are counted from, in whole seconds.
    epoch: Instant,
    /// Keys usernames' hashes: per process, so nobody can pick usernames
    /// that collide.
    hasher: RandomState,
    /// One lock for both tables: taken twice per sign-in, briefly.
    tables: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    accounts: HashMap<u64, Failures>,
    addresses: HashMap<Client, Failures>,
}

/// An instant in whole seconds since the epoch, both ways (see
/// [`Inner::at`]).
#[derive(Debug, Clone, Copy)]
struct Stamps {
    /// Rounded down: failures stamped at or before `now - window` are over.
    now: u32,
    /// Rounded up: the stamp of a failure at this instant.
    stamp: u32,
}

/// A client as counted: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    V4(u32),
    V6(u64),
}

impl From<IpAddr> for Client {
    fn from(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Client::V4(v4.to_bits()),
            IpAddr::V6(v6) => Client::V6((v6.to_bits() >> (128 - IPV6_PREFIX_BITS)) as u64),
        }
    }
}

/// The times of one key's latest failures, oldest first, in whole seconds
/// since the epoch (rounded up, so a failure counts a little longer rather
/// than shorter); at most as many as the key's limit.
#[derive(Debug, Default)]
struct Failures(VecDeque<u32>);

impl Failures {
    /// Forgets failures that no longer count at `now`.
    fn expire(&mut self, now: u32, window: u32) {
        while self
            .0
            .front()
            .is_some_and(|&at| at.saturating_add(window) <= now)
        {
            self.0.pop_front();
        }
    }

    /// When the key may try again, if it is at its `limit` at `now`.
    fn refused_until(&mut self, now: u32, window: u32, limit: usize) -> Option<u32> {
        self.expire(now, window);
        if self.0.len() < limit {
            return None;
        }
        // The oldest of the last `limit` failures frees a place.
        let oldest = self.0[self.0.len() - limit];
        Some(oldest.saturating_add(window))
    }

    fn record(&mut self, now: u32, limit: usize) {
        self.0.push_back(now);
        while self.0.len() > limit {
            self.0.pop_front();
        }
    }

    fn last(&self) -> u32 {
        self.0.back().copied().unwrap_or(0)
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

impl Throttle {
    /// A throttle of the module's constants.
    pub fn new() -> Self {
        Self::with_limits(ThrottleLimits::default())
    }

    /// A throttle of other numbers (tests, configuration).
    pub fn with_limits(limits: ThrottleLimits) -> Self {
        let window = limits.window.as_secs() + u64::from(limits.window.subsec_nanos() > 0);
        Self {
            inner: Arc::new(Inner {
                limits,
                window_secs: u32::try_from(window).unwrap_or(u32::MAX),
                epoch: Instant::now(),
                hasher: RandomState::new(),
                tables: Mutex::default(),
            }),
        }
    }

    /// Whether a sign-in as `username` from `address` may check its
    /// password at `now`: `Err` says how long until it may, if either the
    /// username or the address has had too many failures.
    pub fn check(&self, username: &str, address: IpAddr, now: Instant) -> Result<(), RetryAfter> {
        let inner = &*self.inner;
        let (account, client, at) = (
            inner.account(username),
            Client::from(address),
            inner.at(now),
        );
        let (window, limits) = (inner.window_secs, inner.limits);
        let mut tables = inner.lock();
        let account_until = tables
            .accounts
            .get_mut(&account)
            .and_then(|failures| failures.refused_until(at.now, window, limits.account_failures));
        let address_until = tables
            .addresses
            .get_mut(&client)
            .and_then(|failures| failures.refused_until(at.now, window, limits.ip_failures));
        drop(tables);
        match account_until.max(address_until) {
            None => Ok(()),
            Some(until) => {
                let until = inner.epoch + Duration::from_secs(until.into());
                Err(RetryAfter(until.saturating_duration_since(now)))
            }
        }
    }

    /// Counts a failed sign-in (a wrong password, or a username without an
    /// account) as `username` from `address` at `now`.
    pub fn record_failure(&self, username: &str, address: IpAddr, now: Instant) {
        let inner = &*self.inner;
        let (account, client, at) = (
            inner.account(username),
            Client::from(address),
            inner.at(now),
        );
        let (window, limits) = (inner.window_secs, inner.limits);
        let mut tables = inner.lock();
        record(
            &mut tables.accounts,
            account,
            at,
            window,
            limits.account_failures,
            limits.max_accounts,
        );
        record(
            &mut tables.addresses,
            client,
            at,
            window,
            limits.ip_failures,
            limits.max_addresses,
        );
    }

    /// Clears the failures of `username` after it signed in with the right
    /// password. Its address's failures stay: one good password must not
    /// buy more guesses at other accounts.
    pub fn record_success(&self, username: &str) {
        let account = self.inner.account(username);
        self.inner.lock().accounts.remove(&account);
    }

    /// Usernames and addresses tracked now (for tests and metrics).
    pub fn tracked(&self) -> (usize, usize) {
        let tables = self.inner.lock();
        (tables.accounts.len(), tables.addresses.len())
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Tables> {
        // Every update leaves the tables consistent, so a panic elsewhere
        // while holding the lock spoils nothing.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whole seconds from the epoch to `now`, rounded down (to judge
    /// what still counts) and up (to stamp a failure): either way, a
    /// failure counts for at least the whole window.
    fn at(&self, now: Instant) -> Stamps {
        let since = now.saturating_duration_since(self.epoch);
        let down = since.as_secs();
        let up = down + u64::from(since.subsec_nanos() > 0);
        Stamps {
            now: u32::try_from(down).unwrap_or(u32::MAX),
            stamp: u32::try_from(up).unwrap_or(u32::MAX),
        }
    }

    /// The key of `username`, ignoring ASCII case. Computed before the
    /// lock is taken, however long the username.
    fn account(&self, username: &str) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        for byte in username.bytes() {
            hasher.write_u8(byte.to_ascii_lowercase());
        }
        hasher.write_usize(username.len());
        hasher.finish()
    }
}

/// Counts a failure of `key` in `table`, making room first if the table is
/// full and the key is new.
fn record<K: Copy + Eq + std::hash::Hash>(
    table: &mut HashMap<K, Failures>,
    key: K,
    at: Stamps,
    window: u32,
    limit: usize,
    max_keys: usize,
) {
    if table.len() >= max_keys && !table.contains_key(&key) {
        make_room(table, at.now, window, max_keys);
    }
    match table.entry(key) {
        Entry::Occupied(mut entry) => {
            entry.get_mut().expire(at.now, window);
            entry.get_mut().record(at.stamp, limit);
        }
        Entry::Vacant(entry) => entry.insert(Failures::default()).record(at.stamp, limit),
    }
}

/// Frees places in a full table: drops every key whose failures have all
/// expired, and if that frees nothing, the eighth of the keys whose last
/// failure is oldest (at least one), so that a table under attack is
/// scanned once per eighth of its size, not at every failure.
fn make_room<K: Copy + Eq + std::hash::Hash>(
    table: &mut HashMap<K, Failures>,
    now: u32,
    window: u32,
    max_keys: usize,
) {
    table.retain(|_, failures| {
        failures.expire(now, window);
        !failures.0.is_empty()
    });
    if table.len() < max_keys {
        return;
    }
    let evict = (max_keys / 8).max(1).min(table.len());
    let mut by_age: Vec<(u32, K)> = table
        .iter()
        .map(|(&key, failures)| (failures.last(), key))
        .collect();
    by_age.select_nth_unstable_by_key(evict - 1, |&(last, _)| last);
    for (_, key) in &by_age[..evict] {
        table.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP address")
    }

    fn mins(n: u64) -> Duration {
        Duration::from_secs(n * 60)
    }

    /// A throttle and an instant after its epoch.
    fn new_throttle(limits: ThrottleLimits) -> (Throttle, Instant) {
        let throttle = Throttle::with_limits(limits);
        (throttle, Instant::now())
    }

    #[test]
    fn the_numbers_are_as_documented() {
        assert_eq!(ACCOUNT_FAILURES, 5);
        assert_eq!(IP_FAILURES, 50);
        assert_eq!(FAILURE_WINDOW, mins(15));
        assert_eq!(IPV6_PREFIX_BITS, 64);
        let limits = ThrottleLimits::default();
        assert_eq!(limits.account_failures, ACCOUNT_FAILURES);
        assert_eq!(limits.ip_failures, IP_FAILURES);
        assert_eq!(limits.window, FAILURE_WINDOW);
    }

    #[test]
    fn a_username_is_refused_after_five_failures_until_the_window_slides() {
        let (throttle, t0) = new_throttle(ThrottleLimits::default());
        let client = ip("192.0.2.1");
        // Failures a minute apart: at 0, 1, 2, 3 and 4 minutes.
        for n in 0..5 {
            let now = t0 + mins(n);
            assert_eq!(throttle.check("ann", client, now), Ok(()), "attempt {n}");
            throttle.record_failure("ann", client, now);
        }
        // The sixth is refused until the first is 15 minutes old.
        let refused = throttle.check("ann", client, t0 + mins(5));
        let wait = refused.expect_err("refused").0;
        assert!(
            wait > mins(10) - Duration::from_secs(1) && wait <= mins(10) + Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(throttle.check("ann", client, t0 + mins(14)).is_err());
        // From another address too: the limit is the account's.
        assert!(throttle
            .check("ann", ip("198.51.100.7"), t0 + mins(14))
            .is_err());
        // Other usernames are not affected.
        assert_eq!(throttle.check("bob", client, t0 + mins(5)), Ok(()));
        // 15 minutes after the first failure, one place is free again ...
        let slid = t0 + mins(15) + Duration::from_secs(1);
        assert_eq!(throttle.check("ann", client, slid), Ok(()));
        throttle.record_failure("ann", client, slid);
        // ... and taken by the new failure; the next frees at 16 minutes.
        let refused = throttle.check("ann", client, slid).expect_err("refused");
        assert!(refused.0 <= mins(1), "{refused:?}");
        assert!(throttle
            .check("ann", client, t0 + mins(16) + Duration::from_secs(1))
            .is_ok());
    }

    #[test]
    fn usernames_are_counted_ignoring_case_whether_or_not_they_exist() {
        let (throttle, t0) = new_throttle(ThrottleLimits::default());
        let client = ip("192.0.2.1");
        // The throttle is never told whether an account exists: a name
        // nobody has is counted exactly like any other.
        for name in [
            "NoSuchUser",
            "nosuchuser",
            "NOSUCHUSER",
            "noSuchUser",
            "nosuchUSER",
        ] {
            throttle.record_failure(name, client, t0);
        }
        assert!(throttle.check("nosuchuser", client, t0).is_err());
        assert!(throttle.check("NoSuchUser", ip("203.0.113.9"), t0).is_err());
        assert_eq!(throttle.check("nosuchuser2", client, t0), Ok(()));
        assert_eq!(throttle.tracked(), (1, 1));
    }

    #[test]
    fn a_success_clears_the_username_but_not_the_address() {
        let limits = ThrottleLimits {
            ip_failures: 6,
            ..ThrottleLimits::default()
        };
        let (throttle, t0) = new_throttle(limits);
        let client = ip("192.0.2.1");
        for _ in 0..5 {
            throttle.record_failure("ann", client, t0);
        }
        assert!(throttle.check("ann", client, t0).is_err());
        throttle.record_success("Ann");
        assert_eq!(throttle.check("ann", client, t0), Ok(()));
        // The address still has its 5 failures: one more, and it is refused.
        throttle.record_failure("ann", client, t0);
        assert!(throttle.check("carol", client, t0).is_err());
        throttle.record_success("ann");
        assert!(throttle.check("ann", client, t0).is_err());
    }

    #[test]
    fn an_address_is_refused_after_fifty_failures_over_any_usernames() {
        let (throttle, t0) = new_throttle(ThrottleLimits::default());
        let client = ip("192.0.2.1");
        for n in 0..IP_FAILURES {
            let name = format!("user{n}");
            assert_eq!(throttle.check(&name, client, t0), Ok(()), "attempt {n}");
            throttle.record_failure(&name, client, t0);
        }
        let refused = throttle
            .check("someone-new", client, t0)
            .expect_err("refused");
        // A failure is stamped with the next whole second: a little more.
        let secs = FAILURE_WINDOW.as_secs();
        assert!((secs..=secs + 1).contains(&refused.secs()), "{refused:?}");
        // Another address may still try the same new username.
        assert_eq!(throttle.check("someone-new", ip("192.0.2.2"), t0), Ok(()));
        // The window slides for addresses too.
        assert_eq!(
            throttle.check(
                "someone-new",
                client,
                t0 + mins(15) + Duration::from_secs(1)
            ),
            Ok(())
        );
    }

    #[test]
    fn the_longer_refusal_wins() {
        let limits = ThrottleLimits {
            account_failures: 2,
            ip_failures: 2,
            ..ThrottleLimits::default()
        };
        let (throttle, t0) = new_throttle(limits);
        let (first, second) = (ip("192.0.2.1"), ip("192.0.2.2"));
        // The first address fails at 0 and 1 minutes (free at 15), Ann
        // fails at 5 and 10 from the second (free at 20), and so does Eve
        // at 0 and 1, from a third (free at 15).
        throttle.record_failure("bob", first, t0);
        throttle.record_failure("carol", first, t0 + mins(1));
        throttle.record_failure("eve", ip("192.0.2.3"), t0);
        throttle.record_failure("eve", ip("192.0.2.3"), t0 + mins(1));
        throttle.record_failure("ann", second, t0 + mins(5));
        throttle.record_failure("ann", second, t0 + mins(10));
        let now = t0 + mins(10);
        let about = |wait: Result<(), RetryAfter>, expected: Duration| {
            let wait = wait.expect_err("refused").0;
            let slack = Duration::from_secs(1);
            assert!(
                wait + slack > expected && wait <= expected + slack,
                "{wait:?}, not {expected:?}"
            );
        };
        // Ann from the first address: her account (10 min) over the
        // address (5 min).
        about(throttle.check("ann", first, now), mins(10));
        // Eve from the second address: the address (10 min) over her
        // account (5 min).
        about(throttle.check("eve", second, now), mins(10));
        // Each alone.
        about(throttle.check("dave", first, now), mins(5));
        about(throttle.check("eve", ip("192.0.2.9"), now), mins(5));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let limits = ThrottleLimits {
            ip_failures: 3,
            ..ThrottleLimits::default()
        };
        let (throttle, t0) = new_throttle(limits);
        // Three addresses of one /64.
        for (n, address) in [
            "2001:db8:1:2::1",
            "2001:db8:1:2:ffff:ffff:ffff:ffff",
            "2001:db8:1:2:abcd::9",
        ]
        .into_iter()
        .enumerate()
        {
            throttle.record_failure(&format!("user{n}"), ip(address), t0);
        }
        assert!(throttle.check("x", ip("2001:db8:1:2::77"), t0).is_err());
        // The neighbouring /64s are other clients.
        assert_eq!(throttle.check("x", ip("2001:db8:1:3::1"), t0), Ok(()));
        assert_eq!(throttle.check("x", ip("2001:db8:1:1::1"), t0), Ok(()));
        assert_eq!(throttle.tracked().1, 1);

        // An IPv4 client is the same whether it arrives as IPv4 or mapped
        // into IPv6 (a dual-stack listener).
        let v4 = Ipv4Addr::new(198, 51, 100, 20);
        throttle.record_failure("a", IpAddr::V4(v4), t0);
        throttle.record_failure("b", IpAddr::V6(v4.to_ipv6_mapped()), t0);
        throttle.record_failure("c", IpAddr::V4(v4), t0);
        assert!(throttle
            .check("d", IpAddr::V6(v4.to_ipv6_mapped()), t0)
            .is_err());
        assert!(throttle.check("d", IpAddr::V4(v4), t0).is_err());
        // IPv4 addresses are not grouped: the neighbour is another client.
        assert_eq!(throttle.check("d", ip("198.51.100.21"), t0), Ok(()));
        assert_eq!(Client::from(IpAddr::V6(Ipv6Addr::LOCALHOST)), Client::V6(0));
    }

    #[test]
    fn full_tables_forget_expired_entries_first_then_the_oldest() {
        let limits = ThrottleLimits {
            max_accounts: 16,
            max_addresses: 16,
            ..ThrottleLimits::default()
        };
        let (throttle, t0) = new_throttle(limits);
        // 8 usernames whose failures will have expired, then 8 recent ones.
        for n in 0..8 {
            throttle.record_failure(&format!("old{n}"), ip(&format!("192.0.2.{n}")), t0);
        }
        let later = t0 + mins(20);
        for n in 0..8 {
            throttle.record_failure(&format!("recent{n}"), ip(&format!("198.51.100.{n}")), later);
        }
        assert_eq!(throttle.tracked(), (16, 16));
        // A new one: the expired go, every recent one stays.
        throttle.record_failure("new", ip("203.0.113.1"), later);
        assert_eq!(throttle.tracked(), (9, 9));

        // Fill up again with live entries, a minute apart: the oldest go.
        let limits = ThrottleLimits {
            account_failures: 1,
            max_accounts: 16,
            max_addresses: 64,
            ..ThrottleLimits::default()
        };
        let (throttle, t0) = new_throttle(limits);
        let client = |n: u64| ip(&format!("192.0.2.{n}"));
        for n in 0..16 {
            throttle.record_failure(&format!("user{n}"), client(n), t0 + Duration::from_secs(n));
        }
        throttle.record_failure("newcomer", client(99), t0 + Duration::from_secs(30));
        let (accounts, _) = throttle.tracked();
        assert!(accounts <= 16, "{accounts}");
        let now = t0 + Duration::from_secs(30);
        // The oldest two (16 / 8) were forgotten, the rest are still refused.
        assert_eq!(throttle.check("user0", client(0), now), Ok(()));
        assert_eq!(throttle.check("user1", client(1), now), Ok(()));
        for n in 2..16 {
            assert!(
                throttle.check(&format!("user{n}"), client(n), now).is_err(),
                "user{n}"
            );
        }
        assert!(throttle.check("newcomer", client(99), now).is_err());
        // However many come, the table never grows past its cap.
        for n in 0..200 {
            throttle.record_failure(&format!("flood{n}"), client(100), now);
        }
        assert!(throttle.tracked().0 <= 16);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(RetryAfter(Duration::from_millis(1)).secs(), 1);
        assert_eq!(RetryAfter(Duration::ZERO).secs(), 1);
        assert_eq!(RetryAfter(Duration::from_millis(59_001)).secs(), 60);
        assert_eq!(RetryAfter(Duration::from_secs(900)).secs(), 900);
    }

    #[test]
    fn clones_share_their_counts() {
        let (throttle, t0) = new_throttle(ThrottleLimits::default());
        let other = throttle.clone();
        for _ in 0..5 {
            other.record_failure("ann", ip("192.0.2.1"), t0);
        }
        assert!(throttle.check("ann", ip("192.0.2.1"), t0).is_err());
    }
}
