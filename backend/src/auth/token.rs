//! Secret tokens: session cookies, API tokens of bots, and the one-time
//! setup, invite and reset links all carry a [`Token`], and the server
//! keeps only its [`TokenHash`].
//!
//! A token is [`TOKEN_BYTES`] (32) random bytes from the operating
//! system's random source: 256 bits, far beyond guessing, so a plain
//! SHA-256 of it is as good as a slow hash for storage, and one lookup by
//! hash finds it. Its text is base64url without padding ([`TOKEN_CHARS`],
//! 43 characters of `A-Z a-z 0-9 - _`), safe in a cookie, a URL path and a
//! header without quoting. API tokens are shown with [`API_TOKEN_PREFIX`]
//! (`chat_…`, 48 characters) so that people and secret scanners can tell
//! what a leaked string is; the prefix is not part of the secret.
//!
//! A token's text is made only by [`Token::encode`] and
//! [`Token::encode_api`], to be sent once to its owner: `Token` has no
//! `Display` and no `Serialize`, and its `Debug` prints no secret, so it
//! cannot end up in a log by accident.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::fmt;
use subtle::ConstantTimeEq as _;

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;

/// Characters of a token's text: 32 bytes in base64url without padding.
pub const TOKEN_CHARS: usize = 43;

/// What API tokens start with when shown (see [`Token::encode_api`]).
pub const API_TOKEN_PREFIX: &str = "chat_";

/// A secret token. Compared in constant time.
#[derive(Clone)]
pub struct Token([u8; TOKEN_BYTES]);

/// The SHA-256 of a token's bytes: the only form in which the server keeps
/// a token. Compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

/// A string that is not a token's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid token")]
pub struct InvalidToken;

impl Token {
    /// A new token from the operating system's random source.
    ///
    /// # Panics
    ///
    /// If the operating system gives no random bytes, which on Linux
    /// happens at most before the random source is first seeded at boot.
    pub fn generate() -> Self {
        let mut bytes = [0; TOKEN_BYTES];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        Self(bytes)
    }

    /// Reads a token's text, as [`Token::encode`] writes it: exactly
    /// [`TOKEN_CHARS`] characters of the base64url alphabet, no padding,
    /// no spaces, and the last character's unused bits zero (so every
    /// token has exactly one text).
    pub fn parse(text: &str) -> Result<Self, InvalidToken> {
        let text = text.as_bytes();
        if text.len() != TOKEN_CHARS
            || !text
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(InvalidToken);
        }
        let mut bytes = [0; TOKEN_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            Ok(TOKEN_BYTES) => Ok(Self(bytes)),
            _ => Err(InvalidToken),
        }
    }

    /// Reads an API token's text: [`API_TOKEN_PREFIX`] and then what
    /// [`Token::parse`] reads.
    pub fn parse_api(text: &str) -> Result<Self, InvalidToken> {
        text.strip_prefix(API_TOKEN_PREFIX)
            .ok_or(InvalidToken)
            .and_then(Self::parse)
    }

    /// The token's text, to give to its owner once (a cookie, a link).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The text of an API token: [`API_TOKEN_PREFIX`] and [`Token::encode`].
    pub fn encode_api(&self) -> String {
        format!("{API_TOKEN_PREFIX}{}", self.encode())
    }

    /// The hash to store, or to look the token up by.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<secret>)")
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Token {}

impl TokenHash {
    /// A hash read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A hash read back from storage as a byte string, if it is 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The bytes to store.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// Hashes the bytes, as the derived `Hash` would: equal hashes (by
/// [`PartialEq`]) have equal bytes.
impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// A hash is no secret (it opens nothing), but only its start is shown:
/// enough to tell two apart in a test or a debugging session.
impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(")?;
        for byte in &self.0[..4] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The token of 32 zero bytes.
    const ZEROS: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn a_token_is_43_characters_of_base64url_and_reads_back() {
        let token = Token::generate();
        let text = token.encode();
        assert_eq!(text.len(), TOKEN_CHARS);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(Token::parse(&text), Ok(token.clone()));
        assert_eq!(Token::parse(&text).map(|t| t.hash()), Ok(token.hash()));
    }

    #[test]
    fn tokens_are_random() {
        let texts: HashSet<String> = (0..100).map(|_| Token::generate().encode()).collect();
        assert_eq!(texts.len(), 100);
        let hashes: HashSet<[u8; 32]> = (0..100)
            .map(|_| *Token::generate().hash().as_bytes())
            .collect();
        assert_eq!(hashes.len(), 100);
    }

    #[test]
    fn the_hash_is_sha256_of_the_bytes() {
        let zeros = Token::parse(ZEROS).expect("a valid token");
        assert_eq!(zeros.0, [0; 32]);
        // SHA-256 of 32 zero bytes.
        let expected: [u8; 32] = [
            0x66, 0x68, 0x7a, 0xad, 0xf8, 0x62, 0xbd, 0x77, 0x6c, 0x8f, 0xc1, 0x8b, 0x8e, 0x9f,
            0x8e, 0x20, 0x08, 0x97, 0x14, 0x85, 0x6e, 0xe2, 0x33, 0xb3, 0x90, 0x2a, 0x59, 0x1d,
            0x0d, 0x5f, 0x29, 0x25,
        ];
        assert_eq!(zeros.hash().as_bytes(), &expected);
        assert_eq!(zeros.hash(), TokenHash::from_bytes(expected));
        assert_eq!(TokenHash::from_slice(&expected), Some(zeros.hash()));
        assert_eq!(TokenHash::from_slice(&expected[..31]), None);
        assert_ne!(Token::generate().hash(), zeros.hash());
    }

    #[test]
    fn parsing_is_strict() {
        let good = Token::generate().encode();
        let bad = [
            String::new(),
            good[..42].to_owned(),
            format!("{good}A"),
            format!("{good}="),
            format!(" {}", &good[1..]),
            format!("{} ", &good[..42]),
            format!("+{}", &good[1..]),
            format!("/{}", &good[1..]),
            format!("{}=", &good[..42]),
            format!("é{}", &good[2..]),
            // 32 bytes in standard base64 with padding: 44 characters.
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
            // The last character's two unused bits set: not canonical.
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB".to_owned(),
            format!("{API_TOKEN_PREFIX}{good}"),
        ];
        for text in &bad {
            assert_eq!(Token::parse(text), Err(InvalidToken), "{text:?}");
        }
        assert!(Token::parse(ZEROS).is_ok());
        assert!(Token::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE").is_ok());
    }

    #[test]
    fn api_tokens_carry_their_prefix() {
        let token = Token::generate();
        let text = token.encode_api();
        assert_eq!(text.len(), API_TOKEN_PREFIX.len() + TOKEN_CHARS);
        assert!(text.starts_with("chat_"));
        assert_eq!(Token::parse_api(&text), Ok(token.clone()));
        assert_eq!(Token::parse_api(&token.encode()), Err(InvalidToken));
        assert_eq!(Token::parse(&text), Err(InvalidToken));
        assert_eq!(Token::parse_api("chat_"), Err(InvalidToken));
        assert_eq!(Token::parse_api(&text.to_uppercase()), Err(InvalidToken));
    }

    #[test]
    fn debug_shows_no_secret() {
        let token = Token::generate();
        let text = token.encode();
        let debug = format!("{token:?} {:?}", Some(&token));
        assert!(!debug.contains(&text), "{debug}");
        assert!(!debug.contains(&text[..8]), "{debug}");
        assert_eq!(format!("{token:?}"), "Token(<secret>)");
        // A hash shows only its first 4 bytes.
        let zeros = Token::parse(ZEROS).expect("a valid token");
        assert_eq!(format!("{:?}", zeros.hash()), "TokenHash(66687aad…)");
    }
}
