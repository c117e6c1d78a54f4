//! Password hashes: argon2id with at least OWASP's parameters, stored as
//! PHC strings (`$argon2id$v=19$m=7168,t=5,p=1$<salt>$<hash>`), and the
//! bounded pool that computes them.
//!
//! The parameters live here and nowhere else: [`MEMORY_KIB`],
//! [`ITERATIONS`], [`PARALLELISM`] and [`OUTPUT_BYTES`], with a random
//! salt of [`SALT_BYTES`] from the operating system's random source for
//! each hash. A stored hash carries its own parameters, so hashes made
//! with other (older, or stronger) parameters still verify;
//! [`needs_rehash`] says when one should be replaced on the next
//! successful sign-in.
//!
//! One hash takes tens of milliseconds of a core and 7 MiB on purpose.
//! [`hash`] and [`verify`] block the calling thread for that long, so the
//! server calls them only through a [`PasswordHasher`] (`pool`): at most a
//! few run at once, on the pool's own low-priority threads, and a bounded
//! number wait; beyond that a request is refused at once with
//! [`PoolError::Busy`]. A storm of sign-ins thus never grows memory nor
//! takes the cores the rooms run on. The command line (`chat-server admin
//! …`) may call [`hash`] directly.
//!
//! Layout: this module has the parameters, [`hash`], [`verify`] and
//! [`needs_rehash`]; `pool` the [`PasswordHasher`] and its threads.
//!
//! [`PasswordHasher::verify_unknown_user`] does the work of a wrong
//! password against a dummy hash, so that signing in as a username that
//! does not exist takes as long as a wrong password for one that does.
//!
//! Passwords are never logged, never put in an error, and never kept
//! beyond the call that hashes or verifies them.

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version, ARGON2ID_IDENT};
use std::sync::LazyLock;

mod pool;

pub use pool::{
    default_hashing_threads, rest_after, PasswordHasher, Place, HASHING_NICE, HASHING_QUEUE,
    HASHING_REST_FACTOR, MAX_HASHING_REST, MAX_HASHING_THREADS,
};

/// Memory of one hash, in KiB: 7 MiB, with [`ITERATIONS`] = 5 one of the
/// configurations OWASP's Password Storage Cheat Sheet gives as equal in
/// strength (46 MiB and 1 pass, 19 MiB and 2, 12 MiB and 3, 9 MiB and 4,
/// 7 MiB and 5), the one that trades memory for CPU the most. A hash's
/// memory streams through the CPU's caches: at 19 MiB, hashes running
/// beside a busy room evicted what the room's thread needed and slowed it
/// (chat-bench's `fanout-100k-sign-ins`: its p99 at 1.26 times
/// `fanout-100k`'s, against about 1.0–1.15 at 7 MiB, which also hashes
/// twice as many sign-ins a second in the CPU the room leaves;
/// docs/BENCHMARKS.md). It is also the memory each hashing thread keeps
/// from its first hash on (reused by the next), so [`MAX_HASHING_THREADS`]
/// bounds the pool's memory at 4 × 7 MiB.
pub const MEMORY_KIB: u32 = 7 * 1024;

/// The most memory a stored hash may ask for, in KiB (256 MiB: beyond
/// OWASP's largest configuration, 46 MiB, with room for stronger ones). A
/// hash asking more verifies nothing rather than allocate it.
pub const MAX_STORED_MEMORY_KIB: u32 = 256 * 1024;

/// Passes over the memory (argon2's `t`): 5, OWASP's minimum at 7 MiB.
pub const ITERATIONS: u32 = 5;

/// Lanes (argon2's `p`): 1, as OWASP recommends. One hash uses one thread;
/// the pool runs several hashes side by side instead.
pub const PARALLELISM: u32 = 1;

/// Length of the hash output, in bytes (256 bits).
pub const OUTPUT_BYTES: usize = 32;

/// Length of each hash's random salt, in bytes (128 bits, the PHC
/// format's recommendation).
pub const SALT_BYTES: usize = argon2::RECOMMENDED_SALT_LEN;

/// The parameters above, checked when the crate is compiled.
const PARAMS: Params = match Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_BYTES)) {
    Ok(params) => params,
    Err(_) => panic!("the argon2 parameters are out of range"),
};

/// Why the pool did not hash or verify a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The pool is running and queueing all it may: try again shortly (the
    /// HTTP layer answers 503 or 429).
    #[error("too many passwords are being checked at once; try again shortly")]
    Busy,
    /// The hash could not be computed (the random source failed, or the
    /// runtime is shutting down). Never includes the password.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The argon2id context of [`PARAMS`]. Verification reads the parameters
/// from the stored hash instead.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, PARAMS)
}

/// Hashes `password` with a new random salt into a PHC string. Blocks for
/// the whole hash: call it through a [`PasswordHasher`] in the server.
pub fn hash(password: &str) -> Result<String, PoolError> {
    let failed = |err: &dyn std::fmt::Display| PoolError::Failed(err.to_string());
    let mut salt = [0; SALT_BYTES];
    getrandom::fill(&mut salt).map_err(|err| failed(&err))?;
    let mut output = [0; OUTPUT_BYTES];
    with_memory(PARAMS.block_count(), |memory| {
        argon2().hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, memory)
    })
    .map_err(|err| failed(&err))?;
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&PARAMS).map_err(|err| failed(&err))?,
        salt: Some(Salt::new(&salt).map_err(|err| failed(&err))?),
        hash: Some(Output::new(&output).map_err(|err| failed(&err))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` is the one `hash` (a PHC string) was made from. The
/// comparison of the outputs is in constant time (`Output`'s equality);
/// the hash's own algorithm and parameters are used, so hashes of older
/// parameters still verify. A hash that is not a valid argon2 PHC string
/// verifies nothing (and is logged, without its text, as corrupt data).
/// Blocks like [`hash`].
pub fn verify(hash: &str, password: &str) -> bool {
    match try_verify(hash, password) {
        Ok(matches) => matches,
        Err(err) => {
            tracing::error!(error = %err, "a stored password hash cannot be verified");
            false
        }
    }
}

fn try_verify(hash: &str, password: &str) -> Result<bool, argon2::password_hash::Error> {
    let parsed = PasswordHash::new(hash)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(argon2::password_hash::Error::EncodingInvalid);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str())?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    if params.m_cost() > MAX_STORED_MEMORY_KIB {
        // A stored hash is data: one that asks for more memory than any
        // configuration this server ever used is corrupt, not a reason to
        // allocate without bound.
        return Err(argon2::password_hash::Error::ParamsInvalid);
    }
    let mut output = vec![0; expected.len()];
    with_memory(params.block_count(), |memory| {
        Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut output,
            memory,
        )
    })?;
    Ok(*expected == Output::new(&output)?)
}

thread_local! {
    /// The memory of the hashes run on this thread, kept between them: a
    /// fresh 19 MiB (then) for each hash was mapped, faulted in page by page,
    /// zeroed and unmapped again, which cost the CPU beside it more than
    /// the hash's own work (a fifth of a hash's time, in the kernel, where
    /// a busy room waits for it rather than preempting it).
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `work` with `blocks` blocks of this thread's hashing memory. The
/// memory of today's parameters stays for the next hash; more (a hash of
/// older, larger parameters) is given back after.
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        let result = work(&mut memory[..blocks]);
        if memory.len() > PARAMS.block_count() {
            memory.truncate(PARAMS.block_count());
            memory.shrink_to_fit();
        }
        result
    })
}

/// Whether `hash` was made otherwise than [`hash`] makes them now (another
/// algorithm, or other parameters): after a successful sign-in, the caller
/// may store a new hash of the password it just verified.
pub fn needs_rehash(hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != ARGON2ID_IDENT
        || parsed.version != Some(Version::V0x13.into())
        || params.m_cost() != MEMORY_KIB
        || params.t_cost() != ITERATIONS
        || params.p_cost() != PARALLELISM
        || parsed.hash.as_ref().map(Output::len) != Some(OUTPUT_BYTES)
}

/// The hash that [`PasswordHasher::verify_unknown_user`] verifies against:
/// of today's parameters, with a random salt and a random output, so that
/// no password matches it and verifying against it costs what verifying
/// against a real hash does. Made on first use, without hashing anything.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut salt = [0; SALT_BYTES];
    let mut output = [0; OUTPUT_BYTES];
    getrandom::fill(&mut salt).expect("the operating system's random source failed");
    getrandom::fill(&mut output).expect("the operating system's random source failed");
    PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&PARAMS).expect("argon2 parameters fit a PHC string"),
        salt: Some(Salt::new(&salt).expect("a salt of the recommended length")),
        hash: Some(Output::new(&output).expect("an output of 32 bytes")),
    }
    .to_string()
});
#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    /// Parameters far below [`PARAMS`], for tests that only need a valid
    /// hash of other parameters.
    fn cheap_hash(password: &str) -> String {
        let params = Params::new(64, 1, 1, Some(OUTPUT_BYTES)).expect("valid parameters");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes())
            .expect("hashing")
            .to_string()
    }

    #[test]
    fn hashes_are_the_argon2_crates_own_both_ways() {
        // Made here, checked by the crate's verifier; made by the crate
        // (other parameters), checked here: the reused memory changes
        // nothing of what a hash is.
        let made = hash("pa55word").expect("hashing");
        let parsed = PasswordHash::new(&made).expect("a PHC string");
        assert!(argon2().verify_password(b"pa55word", &parsed).is_ok());
        assert!(argon2().verify_password(b"password", &parsed).is_err());
        let theirs = cheap_hash("pa55word");
        assert!(verify(&theirs, "pa55word"));
        assert!(!verify(&theirs, "pa55wore"));
        // Twice on one thread: the kept memory is overwritten, not reused as is.
        assert!(verify(&made, "pa55word"));
        assert!(verify(&made, "pa55word"));
    }

    /// The `m`, `t` and `p` of a PHC string.
    pub(super) fn costs(hash: &str) -> (u32, u32, u32) {
        let parsed = PasswordHash::new(hash).expect("a PHC string");
        let params = Params::try_from(&parsed).expect("argon2 parameters");
        (params.m_cost(), params.t_cost(), params.p_cost())
    }

    #[test]
    fn the_parameters_are_at_least_owasps() {
        // OWASP: argon2id, p = 1, and one of these (m in KiB, t), equal in
        // strength.
        const OWASP: [(u32, u32); 5] = [
            (47_104, 1),
            (19_456, 2),
            (12_288, 3),
            (9_216, 4),
            (7_168, 5),
        ];
        let hash = hash("correct horse").expect("hashing");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        let (m, t, p) = costs(&hash);
        assert!(
            OWASP.iter().any(|&(min_m, min_t)| m >= min_m && t >= min_t),
            "m = {m}, t = {t}"
        );
        assert!(p >= 1, "p = {p}");
        let parsed = PasswordHash::new(&hash).expect("a PHC string");
        assert_eq!(parsed.salt.map(|salt| salt.len()), Some(SALT_BYTES));
        assert_eq!(parsed.hash.map(|output| output.len()), Some(OUTPUT_BYTES));
        assert!(!needs_rehash(&hash));
    }

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let hash = hash("correct horse").expect("hashing");
        assert!(verify(&hash, "correct horse"));
        assert!(!verify(&hash, "correct horse "));
        assert!(!verify(&hash, "Correct horse"));
        assert!(!verify(&hash, ""));
    }

    #[test]
    fn the_same_password_gets_a_new_salt_each_time() {
        let (a, b) = (cheap_hash("same"), cheap_hash("same"));
        assert_ne!(a, b);
        let salt = |hash: &str| PasswordHash::new(hash).expect("a PHC string").salt;
        assert_ne!(salt(&a), salt(&b));
        // And the pool's hashes, which are of the real parameters.
        let (c, d) = (
            hash("same").expect("hashing"),
            hash("same").expect("hashing"),
        );
        assert_ne!(salt(&c), salt(&d));
    }

    #[test]
    fn a_hash_of_other_parameters_still_verifies_and_asks_for_a_rehash() {
        let old = cheap_hash("hunter2");
        assert_eq!(costs(&old), (64, 1, 1));
        assert!(verify(&old, "hunter2"));
        assert!(!verify(&old, "hunter3"));
        assert!(needs_rehash(&old));
    }

    #[test]
    fn a_stored_hash_asking_too_much_memory_verifies_nothing() {
        let huge = format!(
            "$argon2id$v=19$m={},t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            MAX_STORED_MEMORY_KIB + 1
        );
        assert!(PasswordHash::new(&huge).is_ok(), "{huge}");
        assert!(!verify(&huge, "hunter2"));
    }

    #[test]
    fn a_malformed_hash_verifies_nothing() {
        for bad in [
            "",
            "hunter2",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$bcrypt$xyz",
        ] {
            assert!(!verify(bad, "hunter2"), "{bad:?}");
            assert!(!verify(bad, ""), "{bad:?}");
            assert!(needs_rehash(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_dummy_hash_has_todays_parameters() {
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$"), "{}", *DUMMY_HASH);
        assert_eq!(costs(&DUMMY_HASH), (MEMORY_KIB, ITERATIONS, PARALLELISM));
        // The same code path as a real hash: one that needs no rehash.
        assert!(!needs_rehash(&DUMMY_HASH));
    }
}
