//! The accounts chat-bench's clients sign in with: protocol version 2
//! needs a session cookie or an API token on every WebSocket upgrade, and
//! a password sign-in per client (an argon2id hash each, tens of
//! milliseconds of the server's CPU) would cost 20,000 clients minutes of
//! set-up and measure the hasher rather than the rooms.
//!
//! So the benchmark makes [`BOT_ACCOUNTS`] bot accounts in bulk: at start
//! it writes a file of `username token` lines (random API tokens in the
//! server's format, `chat_` and 32 random bytes in base64url) and gives it
//! to every server it starts as `--bot-tokens FILE`, which makes the bots
//! before the server listens, a thousand a transaction. Each client name a
//! scenario uses (`m12`, `churn-3`, `stall-0-1`, …) is given the next free
//! account the first time it connects and keeps it (a reconnecting client
//! comes back as the same account), so every client of a scenario is an
//! account of its own and the server's per-account state counts in the
//! memory figures. The client sends its token as `Authorization: Bearer`
//! in its upgrade request ([`crate::ws::connect_as`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Bot accounts in the file: one for every connection a started server
/// takes (`--max-connections 20000`, see
/// [`crate::server::BENCH_SERVER_FLAGS`]) and a thousand more for the
/// clients that come and go beside them (churners, stalled members of
/// each run, a seeder).
pub const BOT_ACCOUNTS: usize = 21_000;

/// What every bot's username starts with, then its number.
pub const BOT_USERNAME_PREFIX: &str = "bench-";

/// The prefix of the server's API tokens.
pub const API_TOKEN_PREFIX: &str = "chat_";

/// Random bytes in a token, as the server's tokens have.
pub const TOKEN_BYTES: usize = 32;

/// Why the accounts could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BotsError {
    /// The random source or the file failed.
    #[error("bot tokens: {0}")]
    Io(#[from] std::io::Error),
    /// A scenario used more client names than there are accounts.
    #[error("more than {BOT_ACCOUNTS} client names: no bot account left for {0:?}")]
    Exhausted(String),
    /// A line of an existing file is not `username token`.
    #[error("{0}: a line is not `username token`")]
    Unreadable(PathBuf),
    /// No pool was made ([`install`]).
    #[error("no bot accounts: chat-bench makes them at start")]
    Missing,
}

/// One account: its username and the bearer token it signs in with.
#[derive(Clone, PartialEq, Eq)]
pub struct Bot {
    /// `bench-000123`.
    pub username: String,
    /// `chat_…`: never printed.
    pub token: String,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The accounts, the file that lists them, and which client name has
/// which.
pub struct BotPool {
    bots: Vec<Bot>,
    file: PathBuf,
    seats: Mutex<HashMap<String, usize>>,
    one_account: bool,
}

impl BotPool {
    /// `count` accounts with fresh random tokens, written to `file`.
    pub fn in_file(count: usize, file: &Path) -> Result<Self, BotsError> {
        let mut random = vec![0u8; count * TOKEN_BYTES];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut random)?;
        let bots: Vec<Bot> = random
            .chunks(TOKEN_BYTES)
            .enumerate()
            .map(|(n, bytes)| Bot {
                username: format!("{BOT_USERNAME_PREFIX}{n:06}"),
                token: format!("{API_TOKEN_PREFIX}{}", base64url(bytes)),
            })
            .collect();
        let mut text = String::with_capacity(count * 64);
        text.push_str("# chat-bench's clients: username and API token\n");
        for bot in &bots {
            let _ = writeln!(text, "{} {}", bot.username, bot.token);
        }
        write_private(file, text.as_bytes())?;
        Ok(Self {
            bots,
            file: file.to_owned(),
            seats: Mutex::new(HashMap::new()),
            one_account: false,
        })
    }

    /// The accounts of an existing file, as [`BotPool::in_file`] writes it
    /// (and as a server's `--bot-tokens` reads it).
    pub fn read(file: &Path) -> Result<Self, BotsError> {
        let text = std::fs::read_to_string(file)?;
        let bots = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let (username, token) = line.split_once(char::is_whitespace)?;
                Some(Bot {
                    username: username.to_owned(),
                    token: token.trim().to_owned(),
                })
            })
            .collect::<Option<Vec<Bot>>>()
            .ok_or_else(|| BotsError::Unreadable(file.to_owned()))?;
        Ok(Self {
            bots,
            file: file.to_owned(),
            seats: Mutex::new(HashMap::new()),
            one_account: false,
        })
    }

    /// The file, for `--bot-tokens`.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.bots.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bots.is_empty()
    }

    /// Every client on the first account (`--one-account`): a diagnosis
    /// that tells what the server keeps per account from what it keeps
    /// per connection. Not how the scenarios are meant to run.
    pub fn on_one_account(mut self) -> Self {
        self.one_account = true;
        self
    }

    /// The account of client `name`: the one it had, or the next free one.
    pub fn bot_for(&self, name: &str) -> Result<&Bot, BotsError> {
        if self.one_account {
            return self
                .bots
                .first()
                .ok_or_else(|| BotsError::Exhausted(name.to_owned()));
        }
        let mut seats = self.seats.lock().unwrap_or_else(PoisonError::into_inner);
        let next = seats.len();
        let seat = *seats.entry(name.to_owned()).or_insert(next);
        self.bots
            .get(seat)
            .ok_or_else(|| BotsError::Exhausted(name.to_owned()))
    }
}

/// Writes `bytes` to a new file only its owner may read: it holds secrets.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

/// `bytes` in base64url without padding, as the server writes tokens.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // A chunk of k bytes gives k + 1 characters; the unused bits are 0.
        for i in 0..=chunk.len() {
            text.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    text
}

static POOL: OnceLock<BotPool> = OnceLock::new();

/// Makes `pool` the accounts of every client of this process (once).
pub fn install(pool: BotPool) -> &'static BotPool {
    let _ = POOL.set(pool);
    POOL.get().expect("set")
}

/// The accounts of this process, if [`install`]ed.
pub fn pool() -> Option<&'static BotPool> {
    POOL.get()
}

/// The account client `name` signs in as.
pub fn bot_for(name: &str) -> Result<&'static Bot, BotsError> {
    pool().ok_or(BotsError::Missing)?.bot_for(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_the_servers_encoding() {
        // RFC 4648's test vectors, in the URL-safe alphabet, unpadded.
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff], "-_8"),
        ] {
            assert_eq!(base64url(bytes), text);
        }
        // 32 bytes: 43 characters, the last with its 2 unused bits zero.
        let text = base64url(&[0xff; 32]);
        assert_eq!(text.len(), 43);
        assert!(text.ends_with('8'), "{text}");
    }

    #[test]
    fn each_name_keeps_its_own_account_and_the_file_lists_them_all() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("bots.txt");
        let pool = BotPool::in_file(3, &file).expect("made");
        let text = std::fs::read_to_string(&file).expect("written");
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines.len(), 3);
        for (n, line) in lines.iter().enumerate() {
            let (username, token) = line.split_once(' ').expect("two fields");
            assert_eq!(username, format!("bench-{n:06}"));
            assert!(token.starts_with("chat_") && token.len() == 48, "{token}");
        }
        let a = pool.bot_for("m0").expect("a").clone();
        let b = pool.bot_for("m1").expect("b").clone();
        assert_ne!(a, b);
        assert_eq!(
            pool.bot_for("m0").expect("again"),
            &a,
            "a client keeps its account"
        );
        assert_eq!(a.username, "bench-000000");
        pool.bot_for("m2").expect("the last");
        assert!(matches!(pool.bot_for("m3"), Err(BotsError::Exhausted(_))));
        let one = BotPool::read(&file).expect("reads").on_one_account();
        assert_eq!(
            one.bot_for("m0").expect("m0"),
            one.bot_for("m9").expect("m9")
        );
        assert!(!format!("{a:?}").contains(&a.token), "Debug shows no token");
        let read = BotPool::read(&file).expect("reads");
        assert_eq!(read.bot_for("x").expect("first"), &a);
        assert_eq!(read.len(), 3);
    }
}
