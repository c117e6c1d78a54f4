//! Splits message text into plain text and links, so links can be made
//! clickable while everything else stays text.
//!
//! Only `http://`, `https://` and `www.` addresses become links, so no
//! `javascript:` or other scheme can be smuggled into an `href`. The text
//! itself is never interpreted: the view puts every piece into the page as
//! a text node.

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Plain text, shown as is.
    Text(&'a str),
    /// A web address.
    Link {
        /// The address as written, shown as the link's text.
        text: &'a str,
        /// Where the link goes (`https://` added to `www.` addresses).
        href: String,
    },
}

/// Characters that end an address.
fn ends_address(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`' | '{' | '}' | '|' | '\\' | '^')
}

/// Splits `text` into segments, in order; joined, they give back `text`.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut search_from = 0;
    while let Some((start, prefix_len)) = next_address_start(text, search_from) {
        let rest = &text[start..];
        let raw_end = rest.find(ends_address).unwrap_or(rest.len());
        let end = start + trim_address(&rest[..raw_end]);
        if end - start <= prefix_len {
            // A bare "https://" or "www." is not a link.
            search_from = start + prefix_len;
            continue;
        }
        if plain_start < start {
            out.push(Segment::Text(&text[plain_start..start]));
        }
        let address = &text[start..end];
        let href = if address.len() >= 4 && address[..4].eq_ignore_ascii_case("www.") {
            format!("https://{address}")
        } else {
            address.to_owned()
        };
        out.push(Segment::Link {
            text: address,
            href,
        });
        plain_start = end;
        search_from = end;
    }
    if plain_start < text.len() {
        out.push(Segment::Text(&text[plain_start..]));
    }
    out
}

/// The next place at or after `from` where an address starts, at the start
/// of a word, and the length of its prefix.
fn next_address_start(text: &str, from: usize) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut at = from;
    while at < text.len() {
        let found = ["https://", "http://", "www."]
            .iter()
            .filter_map(|prefix| lower[at..].find(prefix).map(|i| (at + i, prefix.len())))
            .min_by_key(|(i, len)| (*i, usize::MAX - len))?;
        let (start, len) = found;
        let at_word_start = text[..start]
            .chars()
            .next_back()
            .is_none_or(|before| !before.is_alphanumeric() && before != '/' && before != '.');
        if at_word_start {
            return Some(found);
        }
        at = start + len;
    }
    None
}

/// The length of `address` without trailing punctuation that more likely
/// ends the sentence than the address, like the period here:
/// `see https://example.com.` or the parenthesis in `(https://example.com)`.
fn trim_address(address: &str) -> usize {
    let mut end = address.len();
    loop {
        let Some(last) = address[..end].chars().next_back() else {
            return end;
        };
        let unbalanced = |open: char, close: char| {
            let part = &address[..end];
            part.matches(close).count() > part.matches(open).count()
        };
        let trim = match last {
            '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' => true,
            ')' => unbalanced('(', ')'),
            ']' => unbalanced('[', ']'),
            _ => false,
        };
        if !trim {
            return end;
        }
        end -= last.len_utf8();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(text: &str) -> Segment<'_> {
        Segment::Link {
            text,
            href: text.to_owned(),
        }
    }

    #[test]
    fn plain_text_is_one_segment() {
        assert_eq!(segments("hello there"), [Segment::Text("hello there")]);
        assert!(segments("").is_empty());
    }

    #[test]
    fn addresses_become_links_between_text() {
        assert_eq!(
            segments("see https://example.com/a?b=1#c and http://x.org"),
            [
                Segment::Text("see "),
                link("https://example.com/a?b=1#c"),
                Segment::Text(" and "),
                link("http://x.org"),
            ]
        );
    }

    #[test]
    fn www_addresses_get_https() {
        assert_eq!(
            segments("www.rust-lang.org!"),
            [
                Segment::Link {
                    text: "www.rust-lang.org",
                    href: "https://www.rust-lang.org".to_owned()
                },
                Segment::Text("!"),
            ]
        );
    }

    #[test]
    fn sentence_punctuation_and_unbalanced_brackets_stay_outside() {
        assert_eq!(
            segments("(see https://en.wikipedia.org/wiki/Rust_(language)), ok."),
            [
                Segment::Text("(see "),
                link("https://en.wikipedia.org/wiki/Rust_(language)"),
                Segment::Text("), ok."),
            ]
        );
        assert_eq!(
            segments("https://example.com."),
            [link("https://example.com"), Segment::Text(".")]
        );
    }

    #[test]
    fn html_around_an_address_is_not_part_of_it() {
        assert_eq!(
            segments("<a href=\"https://evil.example\">x</a>"),
            [
                Segment::Text("<a href=\""),
                link("https://evil.example"),
                Segment::Text("\">x</a>"),
            ]
        );
    }

    #[test]
    fn other_schemes_and_lookalikes_are_text() {
        for text in [
            "javascript:alert(1)",
            "https://",
            "www.",
            "xhttps://example.com",
            "data:text/html,hi",
        ] {
            assert!(
                segments(text).iter().all(|s| matches!(s, Segment::Text(_))),
                "{text}: {:?}",
                segments(text)
            );
        }
    }

    #[test]
    fn scheme_case_is_ignored_and_non_ascii_text_survives() {
        assert_eq!(
            segments("Grüße HTTPS://Example.com/ü"),
            [Segment::Text("Grüße "), link("HTTPS://Example.com/ü")]
        );
    }

    #[test]
    fn segments_join_back_to_the_text() {
        let text = "a https://b.c/(d) e www.f.g, h <http://i.j> ...";
        let joined: String = segments(text)
            .iter()
            .map(|segment| match segment {
                Segment::Text(t) => *t,
                Segment::Link { text, .. } => text,
            })
            .collect();
        assert_eq!(joined, text);
    }
}
