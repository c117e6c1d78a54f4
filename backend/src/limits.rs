//! Limits on what one client may take: the token bucket that rate-limits a
//! connection's requests, and the admission of new connections (a total cap
//! and a cap per client IP address).
//!
//! Both are plain data with no clock or I/O of their own, so tests drive
//! them with made-up instants.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The size and refill rate of a [`TokenBucket`]: configuration, the same
/// for every connection, so it is passed in with each request rather than
/// kept by every bucket.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Requests allowed at once: the most tokens the bucket holds.
    pub burst: u32,
    /// Tokens gained per second: the sustained rate.
    pub per_second: f64,
}

/// A token bucket: holds up to `burst` tokens, gains `per_second` tokens a
/// second (see [`Rate`]), and each request takes one. A client may burst,
/// then go on at the sustained rate, and never beyond.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket of `rate`.
    pub fn new(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: f64::from(rate.burst),
            refilled_at: now,
        }
    }

    /// Whether the bucket is full at `now`: it then holds nothing a new
    /// bucket would not, and can be forgotten.
    pub fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.tokens + elapsed.as_secs_f64() * rate.per_second >= f64::from(rate.burst)
    }

    /// Takes a token if there is one. Returns false (and takes nothing)
    /// when the bucket is empty. `rate` is the one the bucket was made with.
    pub fn try_take(&mut self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * rate.per_second).min(f64::from(rate.burst));
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Requests in a row that may be refused by a connection's rate limit
/// before the server decides the client is flooding and closes it (close
/// code 1008). One accepted request resets the count, so a client that is
/// merely a little too fast is slowed down, never dropped.
pub const FLOOD_STRIKES: u32 = 20;

/// A rate limit with strikes: the bucket decides each request, and
/// [`FLOOD_STRIKES`] refusals in a row mean the client is flooding.
#[derive(Debug, Clone)]
pub struct RateLimit {
    bucket: TokenBucket,
    strikes: u32,
}

/// What a [`RateLimit`] says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: carry it out.
    Allow,
    /// Over the limit: refuse it.
    Refuse,
    /// Over the limit again and again: refuse it and close the connection.
    Flooding,
}

impl RateLimit {
    /// A limit of `rate`, which each check is given again.
    pub fn new(rate: Rate, now: Instant) -> Self {
        Self {
            bucket: TokenBucket::new(rate, now),
            strikes: 0,
        }
    }

    /// Whether the limit is as a new one would be at `now` (its bucket full).
    pub fn is_fresh(&self, rate: Rate, now: Instant) -> bool {
        self.bucket.is_full(rate, now)
    }

    /// Judges one request made at `now`, under the `rate` the limit was
    /// made with.
    pub fn check(&mut self, rate: Rate, now: Instant) -> Verdict {
        if self.bucket.try_take(rate, now) {
            self.strikes = 0;
            return Verdict::Allow;
        }
        self.strikes += 1;
        if self.strikes >= FLOOD_STRIKES {
            Verdict::Flooding
        } else {
            Verdict::Refuse
        }
    }
}

/// Shortest time between two typing notices one connection forwards to one
/// room; those in between are dropped (typing notices are advisory, so the
/// client is not told). Clients send one every few seconds while typing.
pub const TYPING_MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Joins a connection may make at the sustained rate, per second, once its
/// burst is spent. Each join reads history and tells every member.
pub const JOINS_PER_SECOND: f64 = 1.0;

/// Joins a connection may make at once beyond the rooms it may be in: a
/// client that reconnects re-joins all its rooms at once and may still
/// switch rooms a few times before the sustained rate applies.
pub const JOIN_BURST_EXTRA: u32 = 10;

/// Why a new connection is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds its maximum number of connections (HTTP 503).
    ServerFull,
    /// This IP address holds its maximum number of connections (HTTP 429).
    TooManyFromAddress,
}

/// Counts the connections the server holds, in all and per client IP
/// address, and admits new ones while both are under their caps.
#[derive(Debug, Clone)]
pub struct Admission {
    inner: Arc<AdmissionInner>,
}

#[derive(Debug)]
struct AdmissionInner {
    max_total: usize,
    max_per_address: usize,
    /// Connections per address; the total is the sum. One lock: admission
    /// happens once per connection, never per message.
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

impl Admission {
    /// Caps of `max_total` connections, `max_per_address` from one IP address.
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        Self {
            inner: Arc::new(AdmissionInner {
                max_total,
                max_per_address,
                counts: Mutex::default(),
            }),
        }
    }

    /// Admits a connection from `address`, or says why not. The connection
    /// counts until the returned ticket is dropped.
    pub fn admit(&self, address: IpAddr) -> Result<AdmissionTicket, Refusal> {
        let mut counts = self.inner.lock();
        if counts.total >= self.inner.max_total {
            return Err(Refusal::ServerFull);
        }
        let from_address = counts.per_address.entry(address).or_insert(0);
        if *from_address >= self.inner.max_per_address {
            return Err(Refusal::TooManyFromAddress);
        }
        *from_address += 1;
        counts.total += 1;
        Ok(AdmissionTicket {
            admission: self.clone(),
            address,
        })
    }

    /// Connections held now.
    pub fn connections(&self) -> usize {
        self.inner.lock().total
    }
}

impl AdmissionInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts stay consistent even if a holder panicked: every
        // update is a single step.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One admitted connection; dropping it lets another in.
#[derive(Debug)]
pub struct AdmissionTicket {
    admission: Admission,
    address: IpAddr,
}

impl Drop for AdmissionTicket {
    fn drop(&mut self) {
        let mut counts = self.admission.inner.lock();
        counts.total -= 1;
        if let Some(count) = counts.per_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.per_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_bucket_is_full_again_once_it_refilled_what_was_taken() {
        let start = Instant::now();
        let rate = Rate {
            burst: 2,
            per_second: 10.0,
        };
        let mut limit = RateLimit::new(rate, start);
        assert!(limit.is_fresh(rate, start));
        assert_eq!(limit.check(rate, start), Verdict::Allow);
        assert!(!limit.is_fresh(rate, start + ms(50)));
        assert!(limit.is_fresh(rate, start + ms(100)));
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let rate = Rate {
            burst: 3,
            per_second: 2.0,
        };
        let mut bucket = TokenBucket::new(rate, start);
        assert!((0..3).all(|_| bucket.try_take(rate, start)));
        assert!(!bucket.try_take(rate, start));
        // 2 per second: one token every 500 ms.
        assert!(!bucket.try_take(rate, start + ms(400)));
        assert!(bucket.try_take(rate, start + ms(500)));
        assert!(!bucket.try_take(rate, start + ms(600)));
        // A long pause refills up to the burst, not beyond.
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| bucket.try_take(rate, later)));
        assert!(!bucket.try_take(rate, later));
    }

    #[test]
    fn refusals_in_a_row_become_flooding_and_one_success_resets_them() {
        let start = Instant::now();
        let rate = Rate {
            burst: 1,
            per_second: 1.0,
        };
        let mut limit = RateLimit::new(rate, start);
        assert_eq!(limit.check(rate, start), Verdict::Allow);
        for _ in 1..FLOOD_STRIKES {
            assert_eq!(limit.check(rate, start), Verdict::Refuse);
        }
        // A token comes back: the strikes are forgiven.
        assert_eq!(limit.check(rate, start + ms(1000)), Verdict::Allow);
        for _ in 1..FLOOD_STRIKES {
            assert_eq!(limit.check(rate, start + ms(1000)), Verdict::Refuse);
        }
        assert_eq!(limit.check(rate, start + ms(1000)), Verdict::Flooding);
    }

    #[test]
    fn admission_caps_per_address_and_in_all() {
        let admission = Admission::new(3, 2);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let a1 = admission.admit(a).expect("first from a");
        let _a2 = admission.admit(a).expect("second from a");
        assert_eq!(admission.admit(a).err(), Some(Refusal::TooManyFromAddress));
        let _b1 = admission.admit(b).expect("first from b");
        assert_eq!(admission.admit(b).err(), Some(Refusal::ServerFull));
        assert_eq!(admission.connections(), 3);
        drop(a1);
        assert_eq!(admission.connections(), 2);
        let _b2 = admission.admit(b).expect("a place was freed");
    }
}
