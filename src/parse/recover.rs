//! Repairs for feeds that feed-rs rejects but feed readers accept. Each is tried only after a
//! strict parse failed, and each changes nothing unless its defect is present.
//!
//! Hand-written because no crate does this: the defects are specific to feed-rs's strictness
//! (for instance its refusal of `<rss>` without `version`, feed-rs issue #275).

use std::sync::LazyLock;

use regex::bytes::Regex;

mod balance;
mod contacts;
mod json;
pub use contacts::space_contact_emails;
pub use json::not_a_feed as json_not_a_feed;

/// A repair that was applied to parse a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// `<rss>` had no `version` attribute, or one feed-rs does not know; read as RSS 2.0.
    RssVersion,
    /// Bytes were not UTF-8 and no encoding (or UTF-8, wrongly) was declared; decoded with the
    /// HTTP charset or windows-1252 (the web's default for mislabelled text).
    UndeclaredEncoding,
    /// A bare `&` that starts no entity was escaped.
    BareAmpersand,
    /// Atom 0.3 (the pre-standard namespace, which feed-rs reads as an empty feed) read as
    /// Atom 1.0, with `issued`/`modified` as `published`/`updated`.
    Atom03,
    /// Atom text constructs typed with MIME types (`text/html`, `application/xhtml+xml`, as
    /// Atom 0.3 wrote them), which feed-rs refuses, retyped as `html`/`xhtml`/`text`.
    AtomMimeTypes,
    /// RSS 2.0 in UserLand's namespace, which hides every element from feed-rs.
    RssNamespace,
    /// RSS-in-JSON (`{"rss": {"channel": …}}`) mapped to a JSON Feed.
    RssInJson,
    /// A JSON Feed `version` feed-rs refuses (`http://jsonfeed.org/version/1`) read as 1.1.
    JsonVersion,
    /// JSON Feed `tags` given as one comma-separated string split into a list.
    JsonTags,
    /// JSON Feed values of another type than the spec's (a numeric id, an author's bare name,
    /// no title) converted.
    JsonTypes,
    /// Ill-formed XML read as a tolerant parser reads it (elements left open made empty, stray
    /// end tags dropped, a feed taken out of a wrapper page, a bare `<rdf>` root read as RSS):
    /// the forgiving pass, tried last.
    Rebalance,
}

impl Recovery {
    pub const ALL: [Recovery; 11] = [
        Recovery::RssInJson,
        Recovery::JsonVersion,
        Recovery::JsonTags,
        Recovery::JsonTypes,
        Recovery::RssVersion,
        Recovery::RssNamespace,
        Recovery::Atom03,
        Recovery::AtomMimeTypes,
        Recovery::UndeclaredEncoding,
        Recovery::BareAmpersand,
        Recovery::Rebalance,
    ];

    /// The repaired bytes, or `None` when the defect is absent.
    pub fn apply(self, body: &[u8], content_type: Option<&str>) -> Option<Vec<u8>> {
        let json = matches!(
            self,
            Recovery::RssInJson | Recovery::JsonVersion | Recovery::JsonTags | Recovery::JsonTypes
        );
        if json != json::is_json(body) {
            return None; // XML repairs would corrupt JSON text (a bare `&`, say), and vice versa
        }
        match self {
            Recovery::RssInJson => json::fix_rss_in_json(body),
            Recovery::JsonVersion => json::fix_version(body),
            Recovery::JsonTags => json::fix_tags(body),
            Recovery::JsonTypes => json::fix_types(body),
            Recovery::Rebalance => balance::rebalance(body),
            Recovery::RssVersion => fix_rss_version(body),
            Recovery::UndeclaredEncoding => fix_undeclared_encoding(body, content_type),
            Recovery::BareAmpersand => fix_bare_ampersands(body),
            Recovery::Atom03 => fix_atom03(body),
            Recovery::AtomMimeTypes => fix_atom_mime_types(body),
            Recovery::RssNamespace => fix_rss_namespace(body),
        }
    }
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Recovery::RssVersion => "missing or unknown <rss version> read as 2.0",
            Recovery::UndeclaredEncoding => "undeclared non-UTF-8 text decoded",
            Recovery::BareAmpersand => "bare '&' escaped",
            Recovery::Atom03 => "Atom 0.3 read as Atom 1.0",
            Recovery::AtomMimeTypes => "MIME-typed Atom text read as html/xhtml/text",
            Recovery::RssNamespace => "UserLand RSS namespace removed",
            Recovery::RssInJson => "RSS-in-JSON read as a JSON Feed",
            Recovery::JsonVersion => "JSON Feed version read as 1.1",
            Recovery::JsonTags => "JSON Feed tags given as a string split on commas",
            Recovery::JsonTypes => "JSON Feed values of the wrong type converted",
            Recovery::Rebalance => "ill-formed XML re-read leniently and re-balanced",
        })
    }
}

static RSS_ROOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?s-u)\A(?:\xEF\xBB\xBF)?(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<rss\b([^>]*)>",
    )
    .expect("static regex")
});
static VERSION_ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)\sversion\s*=\s*("[^"]*"|'[^']*')"#).expect("static regex")
});
static KNOWN_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?-u)\A["'](2\.0|0\.91|0\.92)?["']\z"#).expect("static regex"));
static ENCODING_DECL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)\A(?:\xEF\xBB\xBF)?\s*<\?xml[^>]*encoding\s*=").expect("static regex")
});
static DECLARED_UTF8: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i-u)\A(?:\xEF\xBB\xBF)?\s*<\?xml[^>]*encoding\s*=\s*["']utf-?8["']"#)
        .expect("static regex")
});
static BARE_AMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)&([^#A-Za-z]|#[^0-9xX]|[A-Za-z][A-Za-z0-9]*[^A-Za-z0-9;]|#[0-9]+[^0-9;]|#[xX][0-9A-Fa-f]*[^0-9A-Fa-f;])")
        .expect("static regex")
});

const ATOM03_NS: &[u8] = b"http://purl.org/atom/ns#";

static ATOM03_DATES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)<(/?)(issued|modified)>").expect("static regex"));

fn fix_atom03(body: &[u8]) -> Option<Vec<u8>> {
    let at = body.windows(ATOM03_NS.len()).position(|w| w == ATOM03_NS)?;
    let mut fixed = Vec::with_capacity(body.len());
    fixed.extend_from_slice(&body[..at]);
    fixed.extend_from_slice(b"http://www.w3.org/2005/Atom");
    fixed.extend_from_slice(&body[at + ATOM03_NS.len()..]);
    let fixed = ATOM03_DATES.replace_all(&fixed, |c: &regex::bytes::Captures<'_>| {
        let name: &[u8] = if &c[2] == b"issued" {
            b"published"
        } else {
            b"updated"
        };
        [&b"<"[..], &c[1], name, b">"].concat()
    });
    Some(fixed.into_owned())
}

static ATOM_MIME_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)(<(?:title|subtitle|tagline|summary|content|rights|copyright)\b[^>]*?\btype\s*=\s*)["'](text/html|application/xhtml\+xml|text/plain)["']"#)
        .expect("static regex")
});

fn fix_atom_mime_types(body: &[u8]) -> Option<Vec<u8>> {
    if !ATOM_MIME_TYPE.is_match(body) {
        return None;
    }
    let fixed = ATOM_MIME_TYPE.replace_all(body, |c: &regex::bytes::Captures<'_>| {
        let kind: &[u8] = match &c[2] {
            b"text/html" => b"\"html\"",
            b"application/xhtml+xml" => b"\"xhtml\"",
            _ => b"\"text\"",
        };
        [&c[1], kind].concat()
    });
    Some(fixed.into_owned())
}

static USERLAND_NS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)\sxmlns\s*=\s*["']http://backend\.userland\.com/rss2?["']"#)
        .expect("static regex")
});

fn fix_rss_namespace(body: &[u8]) -> Option<Vec<u8>> {
    USERLAND_NS
        .is_match(body)
        .then(|| USERLAND_NS.replace(body, &b""[..]).into_owned())
}

fn fix_rss_version(body: &[u8]) -> Option<Vec<u8>> {
    let caps = RSS_ROOT.captures(body)?;
    let attrs = caps.get(1)?;
    let attr_bytes = attrs.as_bytes();
    let mut fixed = Vec::with_capacity(body.len() + 16);
    fixed.extend_from_slice(&body[..attrs.start()]);
    match VERSION_ATTR.captures(attr_bytes) {
        Some(v) if KNOWN_VERSION.is_match(v.get(1)?.as_bytes()) => return None,
        Some(v) => {
            let value = v.get(1)?;
            fixed.extend_from_slice(&attr_bytes[..value.start()]);
            fixed.extend_from_slice(b"\"2.0\"");
            fixed.extend_from_slice(&attr_bytes[value.end()..]);
        }
        None => {
            fixed.extend_from_slice(b" version=\"2.0\"");
            fixed.extend_from_slice(attr_bytes);
        }
    }
    fixed.extend_from_slice(&body[attrs.end()..]);
    Some(fixed)
}

fn fix_undeclared_encoding(body: &[u8], content_type: Option<&str>) -> Option<Vec<u8>> {
    if std::str::from_utf8(body).is_ok() {
        return None;
    }
    let declared_utf8 = DECLARED_UTF8.is_match(body);
    if ENCODING_DECL.is_match(body) && !declared_utf8 {
        return None; // a real declaration of another encoding: the XML reader applies it
    }
    if body.starts_with(&[0xFF, 0xFE]) || body.starts_with(&[0xFE, 0xFF]) {
        return None; // UTF-16 with a BOM: the XML reader handles it.
    }
    let from_header = content_type
        .and_then(|ct| {
            ct.split(';')
                .filter_map(|p| p.trim().strip_prefix("charset="))
                .next()
        })
        .and_then(|label| encoding_rs::Encoding::for_label(label.trim_matches('"').as_bytes()))
        .filter(|e| *e != encoding_rs::UTF_8);
    let encoding = from_header.unwrap_or(encoding_rs::WINDOWS_1252);
    let (text, _, _) = encoding.decode(body);
    Some(text.into_owned().into_bytes())
}

/// UTF-16 text (by BOM, or by the zero bytes around the first `<`) as UTF-8, with the XML
/// declaration's encoding changed to match. `None` for anything else.
pub fn utf16_to_utf8(body: &[u8]) -> Option<Vec<u8>> {
    let (encoding, skip) = match body {
        [0xFF, 0xFE, ..] => (encoding_rs::UTF_16LE, 2),
        [0xFE, 0xFF, ..] => (encoding_rs::UTF_16BE, 2),
        [b'<', 0, b'?' | b'r' | b'f' | b'R', 0, ..] => (encoding_rs::UTF_16LE, 0),
        [0, b'<', 0, b'?' | b'r' | b'f' | b'R', ..] => (encoding_rs::UTF_16BE, 0),
        _ => return None,
    };
    let (text, _) = encoding.decode_without_bom_handling(&body[skip..]);
    let text = DECLARED_ENCODING.replace(&text, "${1}utf-8${2}");
    Some(text.into_owned().into_bytes())
}

static DECLARED_ENCODING: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r#"\A(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])"#)
        .expect("static regex")
});

/// quick-xml panics when an XML declaration changes the encoding after the document's first
/// 64 bytes (it can switch only while decoding its first buffer): a declaration after blank
/// lines or a comment, one longer than that, or one further into the document. The document's
/// own declaration (the first, if only a prolog precedes it) is put first in a short form;
/// any later one that names a different encoding loses its `encoding` (not well-formed XML
/// either way). `None` when nothing needs changing.
///
/// Declarations are found as text, wherever they are, not as quick-xml would tokenize them:
/// one inside a comment, a CDATA section or a processing instruction is changed too, which is
/// what makes this safe whatever quick-xml makes of the markup around it. A declaration there
/// that names the document's own encoding (a code sample, say) is left alone.
pub fn declaration_first(body: &[u8]) -> Option<Vec<u8>> {
    const SHORT: usize = 60;
    let bom = if body.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let found = declarations(body);
    let first = found.first()?;
    let moved = prolog_only(&body[bom..first.start]) && (first.start != bom || first.len() > SHORT);
    let own = if moved || first.start == bom {
        Some(first.clone())
    } else {
        None
    };
    let label = |d: &std::ops::Range<usize>| {
        DECL_ENCODING
            .captures(&body[d.clone()])
            .and_then(|c| c.get(1))
            .map(|m| m.as_bytes())
    };
    let encoding = |d: &std::ops::Range<usize>| label(d).and_then(encoding_rs::Encoding::for_label);
    // The encoding quick-xml switched to, when it could read the declaration's attributes: a
    // malformed one (`<?xml v<?xml version=… encoding=…?>`, found by fuzzing) leaves it unknown
    // here, and then every later declaration naming an encoding is disarmed.
    let readable =
        |d: &std::ops::Range<usize>| moved || WELL_FORMED_DECL.is_match(&body[d.clone()]);
    // No `encoding` at all is UTF-8; one this cannot resolve to what quick-xml switched to
    // leaves it unknown, like an unreadable declaration.
    let names_encoding =
        |d: &std::ops::Range<usize>| body[d.clone()].windows(8).any(|w| w == b"encoding");
    let document = own.as_ref().filter(|d| readable(d)).and_then(|d| {
        if names_encoding(d) {
            encoding(d)
        } else {
            Some(encoding_rs::UTF_8)
        }
    });
    let late: Vec<_> = found
        .iter()
        .filter(|d| Some(*d) != own.as_ref())
        .filter(|d| names_encoding(d) && (document.is_none() || encoding(d) != document))
        .collect();
    if !moved && late.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + 16);
    out.extend_from_slice(&body[..bom]);
    if moved {
        out.extend_from_slice(b"<?xml version=\"1.0\"");
        if let Some(label) = label(first) {
            out.extend_from_slice(b" encoding=\"");
            out.extend_from_slice(label);
            out.push(b'"');
        }
        out.extend_from_slice(b"?>");
    }
    // Declarations may overlap (see `declarations`), so the edits are made by position: the
    // moved one goes whole, and every `encoding` inside a late one (and not inside the moved
    // one) becomes `x-encoding`. Sorted and deduplicated, they do not overlap.
    let gone = if moved { first.clone() } else { 0..0 };
    let mut edits: Vec<(std::ops::Range<usize>, &[u8])> = late
        .iter()
        .flat_map(|d| {
            body[(*d).clone()]
                .windows(8)
                .enumerate()
                .filter(|(_, w)| *w == b"encoding")
                .map(move |(k, _)| d.start + k)
        })
        .filter(|p| !gone.contains(p))
        .map(|p| (p..p + 8, &b"x-encoding"[..]))
        .chain(moved.then(|| (gone.clone(), &b""[..])))
        .collect();
    edits.sort_unstable_by_key(|(range, _)| range.start);
    edits.dedup();
    let mut at = bom;
    for (range, with) in edits {
        out.extend_from_slice(&body[at..range.start]);
        out.extend_from_slice(with);
        at = range.end;
    }
    out.extend_from_slice(&body[at..]);
    Some(out)
}

/// An XML declaration whose attributes quick-xml reads: only `name="value"` pairs.
static WELL_FORMED_DECL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)\A<\?xml(?:\s+[A-Za-z]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*\s*\?>\z"#)
        .expect("static regex")
});

/// An encoding label short enough for the rewritten declaration to stay within quick-xml's
/// first buffer (the longest label encoding_rs knows has 19 characters). Spaces inside the
/// quotes are not part of it: encoding_rs trims a label, so quick-xml reads
/// `encoding="ISO-8859-1 "` as Latin-1 (found by fuzzing).
static DECL_ENCODING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)\sencoding\s*=\s*["']\s*([A-Za-z0-9._:-]{1,24})\s*["']"#)
        .expect("static regex")
});

/// Whether `text`, before a declaration, holds only what may precede the root element:
/// whitespace, comments, processing instructions and a doctype.
fn prolog_only(text: &[u8]) -> bool {
    static PROLOG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s-u)\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*\z").expect("static regex")
    });
    PROLOG.is_match(text)
}

/// Every XML declaration in `body` as text (`<?xml` then whitespace or `?`, to the first `?>`,
/// as quick-xml reads one), in order.
fn declarations(body: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(offset) = body[i..].windows(5).position(|w| w == b"<?xml") {
        let at = i + offset;
        i = at + 5;
        if !matches!(body.get(at + 5), Some(b' ' | b'\t' | b'\r' | b'\n' | b'?')) {
            continue;
        }
        let Some(end) = body[at + 2..].windows(2).position(|w| w == b"?>") else {
            break; // unclosed: quick-xml reports an error, not a declaration
        };
        // The declaration runs to its `?>`, and a `<?xml` inside it is one too: quick-xml may
        // not have read the first as a declaration at all (inside a start tag, it is not).
        // Found by fuzzing: `<channel a<?xml … encoding="utf-8" … <?xml … encoding="latin1"?>`.
        found.push(at..at + 2 + end + 2);
    }
    found
}

fn fix_bare_ampersands(body: &[u8]) -> Option<Vec<u8>> {
    if !BARE_AMP.is_match(body) {
        return None;
    }
    // Replace in a loop: a match consumes the character after '&', which may itself be '&'.
    let mut out = body.to_vec();
    while BARE_AMP.is_match(&out) {
        out = BARE_AMP.replace_all(&out, &b"&amp;$1"[..]).into_owned();
    }
    Some(out)
}

#[cfg(test)]
mod tests;
