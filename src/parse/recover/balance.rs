//! The forgiving pass, tried last: the document re-read as a tolerant parser reads it and written
//! back as well-formed XML. Three defects real feeds carry, which feedparser's loose parser reads
//! and feed-rs (quick-xml checks every end tag) refuses:
//!
//! - an element never closed (`<itunes:category text='Technology'>` before its children, a `<p>`
//!   closed by `</div>` in Atom content): when an end tag closes an element further out, the
//!   elements left open inside it are made empty (`<p/>`), so what followed them stays where the
//!   publisher meant it; an end tag that closes nothing open is dropped (a document cut off
//!   before its feed element ends is left alone: a failed download, not a defect);
//! - a feed inside a wrapper page (Atom inside XHTML's `<html><body>`): the feed element is
//!   taken as the document;
//! - a bare `<rdf>` root, without RDF's namespace (which feed-rs reads as nothing, and whose
//!   items, often without a link, feed-rs's RSS 1.0 reader would drop): read as RSS 2.0, its
//!   `channel`'s children and its items all in one `<rss><channel>`.
//!
//! Hand-written over quick-xml's tokenizer (already feed-rs's) rather than with xml5ever or
//! html5ever: their tree builders close an unclosed element where its parent ends, so a feed's
//! items would end up inside the `<itunes:category>` left open before them, and html5ever
//! would also drop the namespaces feed-rs reads elements by.

use quick_xml::events::{BytesEnd, BytesStart, Event};
use quick_xml::{Reader, Writer};

const FEED_ROOTS: [&[u8]; 3] = [b"feed", b"rss", b"RDF"];

/// One open element: its name as read, as written (`None`: its tags are dropped), and where
/// its start tag ends in the output.
struct Open {
    name: Vec<u8>,
    written: Option<Vec<u8>>,
    start_end: Option<usize>,
}

/// The document re-balanced, or `None` when it needs nothing of this (or quick-xml cannot
/// tokenize it at all).
pub fn rebalance(body: &[u8]) -> Option<Vec<u8>> {
    let utf8 = as_utf8(body)?;
    let mut reader = Reader::from_reader(&utf8[..]);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.check_comments = false;
    let mut writer = Writer::new(Vec::with_capacity(body.len() + 64));
    let mut open: Vec<Open> = Vec::new();
    // Positions of start tags to make empty (a `/` before their `>`), in output order.
    let mut emptied: Vec<usize> = Vec::new();
    let mut changed = false;
    let mut doctype: Option<std::ops::Range<usize>> = None;
    // Inside a wrapper page: how deep, until the feed element starts.
    let mut wrapper_depth: Option<usize> = None;
    let mut root_seen = false;
    let mut bare_rdf = false;
    loop {
        let event = reader.read_event().ok()?;
        let out_len = writer.get_ref().len();
        match event {
            Event::Eof => break,
            Event::Start(start) => {
                let name = start.name().into_inner().as_bytes().to_vec();
                let local = start.local_name().into_inner().as_bytes().to_vec();
                if let Some(depth) = wrapper_depth {
                    if FEED_ROOTS.contains(&local.as_slice()) {
                        wrapper_depth = None;
                    } else {
                        wrapper_depth = Some(depth + 1);
                        continue;
                    }
                } else if !root_seen && open.is_empty() && !is_root(&name, &local) {
                    // A wrapper page: drop what came before its feed (its doctype too).
                    changed = true;
                    if let Some(range) = doctype.take() {
                        writer.get_mut().drain(range);
                    }
                    wrapper_depth = Some(1);
                    continue;
                }
                root_seen = true;
                if open.is_empty() && name == b"rdf" {
                    changed = true;
                    bare_rdf = true;
                    let mut rss = BytesStart::new("rss");
                    rss.push_attribute(("version", "2.0"));
                    writer.write_event(Event::Start(rss)).ok()?;
                    writer
                        .write_event(Event::Start(BytesStart::new("channel")))
                        .ok()?;
                    open.push(Open {
                        name,
                        written: Some(b"channel".to_vec()),
                        start_end: None,
                    });
                    continue;
                }
                if bare_rdf && open.len() == 1 && name == b"channel" {
                    open.push(Open {
                        name,
                        written: None,
                        start_end: None,
                    });
                    continue;
                }
                writer.write_event(Event::Start(start)).ok()?;
                open.push(Open {
                    written: Some(name.clone()),
                    name,
                    start_end: Some(writer.get_ref().len()),
                });
            }
            Event::End(end) => {
                if wrapper_depth.is_some() {
                    wrapper_depth = wrapper_depth.map(|d| d.saturating_sub(1));
                    continue;
                }
                let name = end.name().into_inner().as_bytes().to_vec();
                let Some(at) = open.iter().rposition(|o| o.name == name) else {
                    changed = true; // closes nothing open: dropped
                    continue;
                };
                for unclosed in open.drain(at + 1..) {
                    changed = true;
                    emptied.extend(unclosed.start_end.map(|end| end - 1));
                }
                if let Some(written) = open.pop().and_then(|closed| closed.written) {
                    let written = String::from_utf8_lossy(&written).into_owned();
                    writer
                        .write_event(Event::End(BytesEnd::new(written)))
                        .ok()?;
                }
                if open.is_empty() && root_seen {
                    break; // the feed element ended: whatever follows is not the feed
                }
            }
            other => {
                if wrapper_depth.is_some() {
                    if let Event::Decl(_) = other {
                        writer.write_event(other).ok()?;
                    }
                    continue;
                }
                if let Event::Empty(e) = &other {
                    root_seen |= open.is_empty()
                        && is_root(
                            e.name().into_inner().as_bytes(),
                            e.local_name().into_inner().as_bytes(),
                        );
                }
                let is_doctype = matches!(other, Event::DocType(_));
                writer.write_event(other).ok()?;
                if is_doctype {
                    doctype = Some(out_len..writer.get_ref().len());
                }
            }
        }
    }
    // A document cut off before its feed element ends is a failed download, not a defect to
    // read around: its last item would be a fragment.
    if !changed || !root_seen || !open.is_empty() {
        return None;
    }
    if bare_rdf {
        writer.write_event(Event::End(BytesEnd::new("rss"))).ok()?;
    }
    let mut out = writer.into_inner();
    emptied.sort_unstable();
    for at in emptied.into_iter().rev() {
        out.insert(at, b'/');
    }
    Some(out)
}

/// The document as UTF-8, its declaration saying so: the tokenizer reads names and text as
/// UTF-8. `None` when it is neither UTF-8 nor declares an encoding encoding_rs knows.
fn as_utf8(body: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    if std::str::from_utf8(body).is_ok() {
        return Some(std::borrow::Cow::Borrowed(body));
    }
    static DECLARED: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(
            r#"(?-u)\A((?:\xEF\xBB\xBF)?\s*<\?xml[^>]*?encoding\s*=\s*["'])([^"']*)(["'])"#,
        )
        .expect("static regex")
    });
    let label = DECLARED.captures(body)?.get(2)?;
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes())?;
    let (text, _, _) = encoding.decode(body);
    let text = text.into_owned().into_bytes();
    Some(std::borrow::Cow::Owned(
        DECLARED.replace(&text, &b"${1}utf-8${3}"[..]).into_owned(),
    ))
}

/// Whether a document whose first element is this one is a feed (or at least not a page
/// wrapped around one).
fn is_root(name: &[u8], local: &[u8]) -> bool {
    FEED_ROOTS.contains(&local) || name == b"rdf" || !matches!(local, b"html" | b"body" | b"div")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(xml: &str) -> Option<String> {
        rebalance(xml.as_bytes()).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn unclosed_elements_are_made_empty_and_stray_ends_dropped() {
        assert_eq!(
            fixed("<rss><channel><c text='a'><c text='b'/><item>x</item></channel></rss>")
                .as_deref(),
            Some("<rss><channel><c text='a'/><c text='b'/><item>x</item></channel></rss>")
        );
        assert_eq!(
            fixed("<feed><entry><content type=\"html\"><p>Hi</div></content></entry></feed>")
                .as_deref(),
            Some("<feed><entry><content type=\"html\"><p/>Hi</content></entry></feed>")
        );
        assert_eq!(fixed("<rss><channel><item>cut"), None);
        assert_eq!(
            fixed("<rss><channel><item>fine</item></channel></rss>"),
            None
        );
    }

    #[test]
    fn a_feed_is_taken_out_of_its_wrapper_page_and_a_bare_rdf_root_read_as_rss() {
        let page = "<?xml version=\"1.0\"?>\n<!DOCTYPE html><html><body><feed xmlns=\"a\">\
                    <title>t</title></feed></body></html>";
        assert_eq!(
            fixed(page).as_deref(),
            Some("<?xml version=\"1.0\"?>\n<feed xmlns=\"a\"><title>t</title></feed>")
        );
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rdf><item><title>F\xf6rderung</title></item></rdf>";
        let utf8 = String::from_utf8(rebalance(latin1).unwrap()).unwrap();
        assert!(
            utf8.contains("encoding=\"utf-8\"") && utf8.contains("F\u{f6}rderung"),
            "{utf8}"
        );
        assert_eq!(
            fixed("<rdf><channel><title>c</title></channel><item><title>x</title></item></rdf>")
                .as_deref(),
            Some("<rss version=\"2.0\"><channel><title>c</title><item><title>x</title></item></channel></rss>")
        );
    }
}
