//! Stage 2: turn fetched bytes into a `feed_rs` feed (RSS 0.9x/1.0/2.0, Atom, JSON Feed).
//!
//! feed-rs is strict: it rejects a whole feed over defects that every feed reader forgives. When
//! it fails we try, one after another, the repairs in [`recover`] and keep the first that parses,
//! reporting which were applied; the last of them is the forgiving pass (`recover/balance.rs`)
//! for ill-formed XML. Bytes are given to feed-rs undecoded so the XML declaration's encoding
//! wins, as it should. Dates are read by [`parse_date`], feedparser's rules.

mod dates;
mod hints;
mod recover;

use feed_rs::model::Feed;
use url::Url;

pub use dates::parse_date;
pub use recover::Recovery;

/// A parsed feed and the repairs that were needed to parse it.
#[derive(Debug)]
pub struct Parsed {
    pub feed: Feed,
    pub recoveries: Vec<Recovery>,
}

impl Parsed {
    /// What the feed asks of pollers: RSS `<ttl>`, `sy:updatePeriod`/`updateFrequency`,
    /// `skipHours`, `skipDays`. feed-rs keeps only the first, so the others are read from the
    /// document's text.
    pub fn hints(&self, body: &[u8]) -> crate::schedule::Hints {
        hints::of(&self.feed, body)
    }
}

/// Why bytes could not be read as a feed. `Display` is the reason logged with the source's name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the response body is empty")]
    Empty,
    #[error("the response is an HTML page, not a feed (is the URL the feed's address?)")]
    Html,
    #[error("not a feed: {0}")]
    Invalid(String),
}

/// Parses `body`, fetched from `base` (used to resolve relative links), with `content_type`
/// being the HTTP header if any (its charset helps decode feeds that declare none).
pub fn parse(body: &[u8], content_type: Option<&str>, base: &Url) -> Result<Parsed, ParseError> {
    let start = first_non_space(body);
    if start.is_none() {
        return Err(ParseError::Empty);
    }
    if looks_like_html(body) {
        return Err(ParseError::Html);
    }
    // quick-xml cannot switch to UTF-16 after sniffing (it panics), so decode it up front.
    let utf8;
    let body = match recover::utf16_to_utf8(body) {
        Some(converted) => {
            utf8 = converted;
            &utf8[..]
        }
        None => body,
    };
    // quick-xml panics on a declaration it meets too late to switch encodings: move it first.
    let moved;
    let body = match recover::declaration_first(body) {
        Some(fixed) => {
            moved = fixed;
            &moved[..]
        }
        None => body,
    };
    // feed-rs panics on an email beside a multi-byte character in an RSS contact.
    let spaced;
    let body = match recover::space_contact_emails(body) {
        Some(fixed) => {
            spaced = fixed;
            &spaced[..]
        }
        None => body,
    };
    let first_error = match parse_strict(body, base) {
        Ok(feed) if !lost_entries(&feed, body) => {
            return Ok(Parsed {
                feed,
                recoveries: Vec::new(),
            })
        }
        Ok(_) => "the feed's items were not recognized".to_string(),
        Err(e) => e,
    };
    let mut repaired = body.to_vec();
    let mut applied = Vec::new();
    for recovery in Recovery::ALL {
        if let Some(fixed) = recovery.apply(&repaired, content_type) {
            repaired = fixed;
            applied.push(recovery);
            match parse_strict(&repaired, base) {
                Ok(feed) if !lost_entries(&feed, &repaired) => {
                    return Ok(Parsed {
                        feed,
                        recoveries: applied,
                    })
                }
                _ => {}
            }
        }
    }
    // Better a feed without entries than none: its items were unreadable, not absent.
    match parse_strict(body, base) {
        Ok(feed) => Ok(Parsed {
            feed,
            recoveries: Vec::new(),
        }),
        Err(_) => Err(ParseError::Invalid(
            recover::json_not_a_feed(body).unwrap_or(first_error),
        )),
    }
}

/// A parse that found no entries in a document that has item elements read them wrong.
fn lost_entries(feed: &Feed, body: &[u8]) -> bool {
    feed.entries.is_empty()
        && [&b"<item"[..], b"<entry"]
            .iter()
            .any(|tag| body.windows(tag.len()).any(|w| w == *tag))
}

fn parse_strict(body: &[u8], base: &Url) -> Result<Feed, String> {
    // Every body feed-rs reads gets the late-declaration guard, repaired ones too: a repair
    // (the forgiving pass re-serializes) may leave a declaration quick-xml meets too late to
    // switch encodings, and quick-xml panics on that. On a body already guarded it is a scan.
    let guarded = recover::declaration_first(body);
    let body = guarded.as_deref().unwrap_or(body);
    // A parser bug must cost one feed, not the process: feed-rs and quick-xml have panicked on
    // odd encodings before.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_unguarded(body, base)))
        .unwrap_or_else(|_| Err("the feed parser crashed on this document".to_string()))
}

fn parse_unguarded(body: &[u8], base: &Url) -> Result<Feed, String> {
    feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // An empty id means "the publisher gave none"; normalize derives a stable key itself.
        // (feed-rs's default would invent one, at random when there is no link.)
        .id_generator(|_, _, _| String::new())
        // We sanitize once, in normalize, with our own policy.
        .sanitize_content(false)
        // feed-rs reads RFC 3339 and RFC 2822 only; real feeds write many more forms.
        .timestamp_parser(dates::parse_date)
        .build()
        .parse(body)
        .map_err(|e| e.to_string())
}

fn first_non_space(body: &[u8]) -> Option<usize> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    body.iter().position(|b| !b.is_ascii_whitespace())
}

/// An HTML page: its first element (after any prolog, doctype or comments) is `<html>`, or it
/// starts with an HTML doctype.
fn looks_like_html(body: &[u8]) -> bool {
    let head = &body[..body.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let trimmed = head.trim_start_matches('\u{feff}').trim_start();
    trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html")
}

#[cfg(test)]
mod tests;
