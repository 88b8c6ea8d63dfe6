//! Which of a document's prebuilt responses a request gets: `304` when its validators match
//! (RFC 9110 §13.1), else the brotli, gzip or plain body as `Accept-Encoding` allows
//! (§12.5.3), or `406` when the client refused all three.
//!
//! Both paths feed the same [`Asked`] one header line at a time: the live path straight from
//! `httparse`'s slices, hyper's from its `HeaderMap`. Nothing here allocates.
//!
//! `Accept-Encoding` is parsed by hand: the `headers` crate has no typed `Accept-Encoding`,
//! tower-http's parser is private to its compression layer, and the small crates that parse it
//! (`accept-encoding`, `fly-accept-encoding`) read `q` as a float, collect into a `Vec` per
//! request, need a `HeaderMap` (the live path has none) and do not give `*` the meaning
//! §12.5.3 gives it (only the codings not listed). The grammar is a few lines.

use axum::http::{header, HeaderMap};

use crate::render::Rendered;

/// Which of a document's prebuilt responses a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variant {
    NotModified,
    Brotli,
    Gzip,
    Identity,
}

/// The request header fields that decide the response, gathered line by line.
pub(super) struct Asked<'a> {
    codings: Codings,
    /// `If-None-Match` was sent (on any number of lines, valid or not).
    none_match: bool,
    /// One of its entity-tags matches ours, or it is `*`.
    none_match_hit: bool,
    /// The `If-Modified-Since` value, when exactly one line was sent.
    modified_since: Option<&'a [u8]>,
    modified_since_lines: u32,
}

impl<'a> Asked<'a> {
    /// Nothing asked yet: a request without these fields.
    pub(super) fn new() -> Asked<'a> {
        Asked {
            codings: Codings::default(),
            none_match: false,
            none_match_hit: false,
            modified_since: None,
            modified_since_lines: 0,
        }
    }

    /// The fields of a request hyper parsed.
    pub(super) fn of(doc: &Rendered, headers: &'a HeaderMap) -> Asked<'a> {
        let mut asked = Asked::new();
        for v in headers.get_all(header::ACCEPT_ENCODING) {
            asked.accept_encoding(v.as_bytes());
        }
        for v in headers.get_all(header::IF_NONE_MATCH) {
            asked.if_none_match(doc, v.as_bytes());
        }
        for v in headers.get_all(header::IF_MODIFIED_SINCE) {
            asked.if_modified_since(v.as_bytes());
        }
        asked
    }

    /// Reads one line of a field that decides the response; returns false for any other.
    /// (`name` as sent: compared without regard to case.)
    pub(super) fn field(&mut self, doc: &Rendered, name: &str, value: &'a [u8]) -> bool {
        if name.eq_ignore_ascii_case("accept-encoding") {
            self.accept_encoding(value);
        } else if name.eq_ignore_ascii_case("if-none-match") {
            self.if_none_match(doc, value);
        } else if name.eq_ignore_ascii_case("if-modified-since") {
            self.if_modified_since(value);
        } else {
            return false;
        }
        true
    }

    fn accept_encoding(&mut self, value: &[u8]) {
        self.codings.line(value);
    }

    /// RFC 9110 §13.1.2: a list of entity-tags or `*`, compared weakly. The lines of a field
    /// sent more than once form one list (§5.3).
    fn if_none_match(&mut self, doc: &Rendered, value: &[u8]) {
        self.none_match = true;
        if !self.none_match_hit {
            self.none_match_hit = none_match_hits(value, doc.etag.as_bytes());
        }
    }

    fn if_modified_since(&mut self, value: &'a [u8]) {
        self.modified_since_lines += 1;
        self.modified_since = Some(value);
    }

    /// The response for `doc`: `None` when the client accepts none of its codings (`406`).
    pub(super) fn variant(&self, doc: &Rendered) -> Option<Variant> {
        if self.not_modified(doc) {
            return Some(Variant::NotModified);
        }
        self.codings.choose()
    }

    /// RFC 9110 §13.2.2: `If-None-Match` decides when present; `If-Modified-Since` is read
    /// only without it (§13.1.3), and only when it is one valid HTTP-date no later than now.
    fn not_modified(&self, doc: &Rendered) -> bool {
        if self.none_match {
            return self.none_match_hit;
        }
        if self.modified_since_lines != 1 {
            return false;
        }
        let Some(since) = self
            .modified_since
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| httpdate::parse_http_date(v.trim_matches([' ', '\t'])).ok())
        else {
            return false;
        };
        if since > std::time::SystemTime::now() {
            // A date in the future is not a validator: the client did not get it from us.
            return false;
        }
        matches!(doc.modified, Some(modified) if modified <= since)
    }
}

/// Whether the `If-None-Match` line `value` is `*` or lists an entity-tag that weakly matches
/// `ours` (RFC 9110 §8.8.3.2: the opaque tags are equal, `W/` or not). Parsing stops at the
/// first malformed member; what came before it still counts.
fn none_match_hits(value: &[u8], ours: &[u8]) -> bool {
    let ours = ours.strip_prefix(b"W/").unwrap_or(ours);
    let mut rest = value;
    loop {
        rest = trim_start(rest);
        match rest.first() {
            None => return false,
            Some(b',') => {
                rest = &rest[1..];
                continue;
            }
            Some(b'*') => {
                // `*` is only valid alone; anything after it makes the line malformed.
                return trim_start(&rest[1..]).is_empty();
            }
            _ => {}
        }
        let tag = rest.strip_prefix(b"W/").unwrap_or(rest);
        // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc excludes DQUOTE, SP and CTLs.
        let Some(body) = tag.strip_prefix(b"\"") else {
            return false;
        };
        let Some(end) = body.iter().position(|&b| b == b'"') else {
            return false;
        };
        if body[..end]
            .iter()
            .any(|&b| b != 0x21 && !(0x23..=0x7e).contains(&b) && b < 0x80)
        {
            return false;
        }
        let opaque = &tag[..end + 2];
        if opaque == ours {
            return true;
        }
        rest = trim_start(&body[end + 1..]);
        match rest.first() {
            None => return false,
            Some(b',') => rest = &rest[1..],
            Some(_) => return false,
        }
    }
}

/// What `Accept-Encoding` says of the codings we have, each weight in thousandths (RFC 9110
/// §12.4.2 allows three decimals). `None`: not listed.
#[derive(Debug, Default, Clone, Copy)]
struct Codings {
    /// The field was sent (on any number of lines).
    sent: bool,
    br: Option<u16>,
    gzip: Option<u16>,
    identity: Option<u16>,
    /// `*`: every coding not listed by name.
    any: Option<u16>,
}

impl Codings {
    /// Reads one line: `#( codings [ weight ] )`. A member whose weight is not a qvalue is
    /// ignored; a coding listed twice keeps its lower weight, so a refusal is never undone.
    fn line(&mut self, value: &[u8]) {
        self.sent = true;
        for member in value.split(|&b| b == b',') {
            let mut parts = member.split(|&b| b == b';');
            let name = trim(parts.next().unwrap_or_default());
            if name.is_empty() {
                continue;
            }
            let mut weight = Some(1000);
            for param in parts {
                let (key, val) = match param.iter().position(|&b| b == b'=') {
                    Some(eq) => (trim(&param[..eq]), trim(&param[eq + 1..])),
                    None => (trim(param), &b""[..]),
                };
                // Parameter names are case-insensitive (§5.6.6); `q` is the only one codings
                // take, any other is ignored.
                if key.eq_ignore_ascii_case(b"q") {
                    weight = qvalue(val);
                }
            }
            let Some(weight) = weight else {
                continue;
            };
            let slot = if name.eq_ignore_ascii_case(b"br") {
                &mut self.br
            } else if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip") {
                // §8.4.1.3: a recipient SHOULD consider "x-gzip" to be equivalent to "gzip".
                &mut self.gzip
            } else if name.eq_ignore_ascii_case(b"identity") {
                &mut self.identity
            } else if name == b"*" {
                &mut self.any
            } else {
                continue;
            };
            *slot = Some(slot.map_or(weight, |w| w.min(weight)));
        }
    }

    /// The acceptable coding with the highest weight, ties going to the smaller body (brotli,
    /// gzip, then none); `None` when all three are refused.
    ///
    /// Without the field we send no coding: §12.5.3 allows any, but a client that does not
    /// say it can decompress is better served plain. With it, a coding not listed is
    /// acceptable only through `*`; identity is acceptable unless refused by name or by `*`
    /// and, when neither gives it a weight, comes after every coding the client listed as
    /// acceptable (it did not ask for identity, and listed those).
    fn choose(&self) -> Option<Variant> {
        if !self.sent {
            return Some(Variant::Identity);
        }
        let candidates = [
            (Variant::Brotli, self.br.or(self.any).unwrap_or(0)),
            (Variant::Gzip, self.gzip.or(self.any).unwrap_or(0)),
            (Variant::Identity, self.identity.or(self.any).unwrap_or(1)),
        ];
        let mut best: Option<(Variant, u16)> = None;
        for (variant, weight) in candidates {
            if weight > 0 && best.is_none_or(|(_, w)| weight > w) {
                best = Some((variant, weight));
            }
        }
        best.map(|(variant, _)| variant)
    }
}

/// RFC 9110 §12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths; `None` when `value` is not one.
fn qvalue(value: &[u8]) -> Option<u16> {
    let (&first, rest) = value.split_first()?;
    let decimals = match rest {
        [] => &[][..],
        [b'.', decimals @ ..] if decimals.len() <= 3 => decimals,
        _ => return None,
    };
    let mut thousandths: u16 = 0;
    for (i, &d) in decimals.iter().enumerate() {
        if !d.is_ascii_digit() {
            return None;
        }
        thousandths += u16::from(d - b'0') * [100, 10, 1][i];
    }
    match first {
        b'0' => Some(thousandths),
        b'1' if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Optional whitespace (RFC 9110 §5.6.3: spaces and tabs) removed from both ends.
fn trim(bytes: &[u8]) -> &[u8] {
    let bytes = trim_start(bytes);
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests;
