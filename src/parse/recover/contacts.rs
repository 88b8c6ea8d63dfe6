//! A pre-pass run before every parse: feed-rs must not panic on a contact's email.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// feed-rs (3.0) splits an RSS `author`, `managingEditor` or `webMaster` into name and email by
/// cutting one byte before and after the email, which panics when that byte is inside a
/// multi-byte character ("dave@example.com\u{a0}(Dave)"). A space is put between such an
/// email and its neighbour: a non-ASCII byte, an entity that is not an ASCII character, or a
/// CDATA section or comment (whose text is unknown here). ASCII delimiters (`<`, `(`, `[`,
/// `&lt;`), which feed-rs cuts on purpose, stay. `None` when no email needs it.
pub fn space_contact_emails(body: &[u8]) -> Option<Vec<u8>> {
    static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s-u)<(author|managingEditor|webMaster)(?:\s[^>]*)?>(.*?)</")
            .expect("static regex")
    });
    static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?-u)[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}").expect("static regex")
    });
    let mut cuts = Vec::new();
    for contact in CONTACT.captures_iter(body) {
        let Some(text) = contact.get(2) else { continue };
        let content = text.as_bytes();
        for email in EMAIL.find_iter(content) {
            if unsafe_neighbour(&content[..email.start()], true) {
                cuts.push(text.start() + email.start());
            }
            if unsafe_neighbour(&content[email.end()..], false) {
                cuts.push(text.start() + email.end());
            }
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + cuts.len());
    let mut at = 0;
    for cut in cuts {
        out.extend_from_slice(&body[at..cut]);
        out.push(b' ');
        at = cut;
    }
    out.extend_from_slice(&body[at..]);
    Some(out)
}

/// Whether the raw text beside an email (`before` it: ends there; else starts there) may decode
/// to a multi-byte character.
fn unsafe_neighbour(text: &[u8], before: bool) -> bool {
    static ENTITY_BEFORE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?-u)&(#?[A-Za-z0-9]+);\z").expect("static regex"));
    static ENTITY_AFTER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?-u)\A&(#?[A-Za-z0-9]+);").expect("static regex"));
    let byte = if before { text.last() } else { text.first() };
    let Some(&byte) = byte else {
        return false;
    };
    if byte >= 0x80 {
        return true;
    }
    let marked = if before {
        text.ends_with(b"]]>") || text.ends_with(b"-->")
    } else {
        text.starts_with(b"<!") || text.starts_with(b"]]>")
    };
    if marked {
        return true;
    }
    let entity = if before {
        ENTITY_BEFORE.captures(text)
    } else {
        ENTITY_AFTER.captures(text)
    };
    let Some(name) = entity.and_then(|c| c.get(1)).map(|m| m.as_bytes()) else {
        return false;
    };
    let ascii = match name {
        b"lt" | b"gt" | b"amp" | b"quot" | b"apos" => true,
        [b'#', b'x' | b'X', hex @ ..] => std::str::from_utf8(hex)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .is_some_and(|c| c < 0x80),
        [b'#', dec @ ..] => std::str::from_utf8(dec)
            .ok()
            .and_then(|d| d.parse::<u32>().ok())
            .is_some_and(|c| c < 0x80),
        _ => false,
    };
    !ascii
}
