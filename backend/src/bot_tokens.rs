//! `--bot-tokens FILE`: bots an operator lists with their API tokens, made
//! sure of at every start, before the server serves anything.
//!
//! The file has one bot a line, `username token`, where `token` is the
//! API token text the bot sends (`Authorization: Bearer chat_…`, as
//! `chat-server admin create-token` prints them: see
//! [`crate::auth::token`]); blank lines and lines starting with `#` are
//! skipped. For each line the server makes sure the account is an active
//! member bot (made, with its username as display name, when missing) that
//! holds the token (stored as every API token is: only its SHA-256). So an
//! operator can provision bots from a secrets manager without a shell
//! command per bot, and `chat-bench` signs in 100,000 clients without a
//! password hash per client.
//!
//! The file is the truth at each start: a bot of the file that an
//! administrator deactivated is active again after a restart. Removing a
//! line does not revoke its token; revoke it with the web client or the
//! API. A person's account is never made a bot: its line stops the start.
//!
//! The whole file is read and checked first (any invalid line stops the
//! start with its line number, and never shows a token), then stored in
//! chunks of [`BOT_TOKENS_PER_CALL`], one transaction each.

use crate::auth::token::Token;
use crate::store::accounts::{BotToken, BotTokensEnsured, BOT_TOKENS_PER_CALL};
use crate::store::{AccountStore, StoreError};
use common::Username;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Most lines the file may have (comments and blank lines included): ten
/// times what the benchmark's largest scenario needs, and a bound on what
/// a mistaken path (a log file, a disk image) makes the server read.
pub const BOT_TOKENS_MAX_LINES: usize = 1_000_000;

/// Why the bot tokens could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum BotTokensError {
    /// The file cannot be read (missing, not UTF-8, …).
    #[error("cannot read the bot tokens file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `username token`, or the file is too long.
    #[error("the bot tokens file {path}, line {line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
        /// What is wrong with it (never the token).
        reason: String,
    },
    /// The store refused the list or failed.
    #[error("cannot store the bot tokens of {path}: {source}")]
    Store {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: StoreError,
    },
}

/// A checked file: its bots, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotTokens {
    path: PathBuf,
    bots: Vec<BotToken>,
}

impl BotTokens {
    /// Reads and checks the file at `path`.
    pub fn read(path: &Path) -> Result<Self, BotTokensError> {
        let text = std::fs::read_to_string(path).map_err(|source| BotTokensError::Read {
            path: path.to_owned(),
            source,
        })?;
        let bots = parse(&text).map_err(|(line, reason)| BotTokensError::Line {
            path: path.to_owned(),
            line,
            reason,
        })?;
        Ok(Self {
            path: path.to_owned(),
            bots,
        })
    }

    /// How many lines name a bot.
    pub fn len(&self) -> usize {
        self.bots.len()
    }

    /// Whether no line names a bot.
    pub fn is_empty(&self) -> bool {
        self.bots.is_empty()
    }

    /// Makes sure of every bot and token in `store`, made at `now`: one
    /// call (one transaction) per [`BOT_TOKENS_PER_CALL`] lines.
    pub async fn ensure(
        &self,
        store: &dyn AccountStore,
        now: u64,
    ) -> Result<BotTokensEnsured, BotTokensError> {
        let mut ensured = BotTokensEnsured::default();
        for chunk in self.bots.chunks(BOT_TOKENS_PER_CALL) {
            let done = store
                .ensure_bot_tokens(chunk.to_vec(), now)
                .await
                .map_err(|source| BotTokensError::Store {
                    path: self.path.clone(),
                    source,
                })?;
            ensured = ensured.and(done);
        }
        Ok(ensured)
    }
}

/// The bots of a file's text, or the first invalid line's number (from 1)
/// and what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<BotToken>, (usize, String)> {
    let mut bots = Vec::new();
    // The line each token is on, to name both lines of a token given twice.
    let mut lines_of: HashMap<[u8; 32], usize> = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if number > BOT_TOKENS_MAX_LINES {
            return Err((
                number,
                format!("the file has more than {BOT_TOKENS_MAX_LINES} lines"),
            ));
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(username), Some(token), None) = (fields.next(), fields.next(), fields.next())
        else {
            return Err((
                number,
                "expected `username token` (two fields separated by spaces)".to_owned(),
            ));
        };
        let username = Username::parse(username)
            .map_err(|err| (number, format!("{username:?} is not a username: {err}")))?;
        // The reason never quotes the token: the error goes to a log.
        let token = Token::parse_api(token).map_err(|_| {
            (
                number,
                "the token is not an API token (`chat_` and 43 characters of base64url, as \
                 `chat-server admin create-token` prints them)"
                    .to_owned(),
            )
        })?;
        let token_hash = *token.hash().as_bytes();
        if let Some(first) = lines_of.insert(token_hash, number) {
            return Err((number, format!("the token of line {first} is given again")));
        }
        bots.push(BotToken {
            username,
            token_hash,
        });
    }
    Ok(bots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> String {
        Token::generate().encode_api()
    }

    #[test]
    fn lines_are_username_and_token_with_comments_and_blank_lines_skipped() {
        let (ann, bob) = (token(), token());
        let text = format!("# bots\n\n  Ann-Bot   {ann}  \n# more\nbob.bot\t{bob}\n");
        let bots = parse(&text).expect("valid");
        assert_eq!(bots.len(), 2);
        assert_eq!(bots[0].username.as_str(), "ann-bot");
        let ann = Token::parse_api(&ann).expect("a token");
        assert_eq!(bots[0].token_hash, *ann.hash().as_bytes());
        assert_eq!(bots[1].username.as_str(), "bob.bot");
        assert_eq!(parse("").expect("empty"), Vec::new());
    }

    #[test]
    fn an_invalid_line_is_named_by_its_number_and_never_shows_the_token() {
        let good = token();
        let cases = [
            (format!("ok {good}\nlonely\n"), 2, "expected"),
            (format!("ok {good}\na b c\n"), 2, "expected"),
            (
                format!("# c\n\nnot/a/name {}\n", token()),
                3,
                "not a username",
            ),
            ("bot chat_short\n".to_owned(), 1, "not an API token"),
            (format!("bot {}\n", &good[5..]), 1, "not an API token"),
            (
                format!("a1 {good}\nb2 {good}\n"),
                2,
                "line 1 is given again",
            ),
        ];
        for (text, line, reason) in cases {
            let (number, why) = parse(&text).expect_err(&text);
            assert_eq!(number, line, "{text}: {why}");
            assert!(why.contains(reason), "{text}: {why}");
            assert!(!why.contains(&good[5..]), "{why}");
        }
    }

    #[test]
    fn a_missing_file_is_an_error_that_names_it() {
        let path = Path::new("/nonexistent/bots.txt");
        let err = BotTokens::read(path).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/bots.txt"), "{err}");
    }
}
