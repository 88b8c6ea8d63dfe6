//! Normalized titles: the key under which the same headline from several outlets meets.
//!
//! Only a *specific* title gets a key: short or generic headlines ("Morning briefing") recur for
//! different stories, and merging those would hide a story, the worst error we can make.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// A title needs this many words after normalization to be used as a dedup key...
pub const MIN_WORDS: usize = 5;
/// ...and this many characters.
pub const MIN_CHARS: usize = 32;

/// Separators before a trailing site name (" - BBC News", " | Reuters").
const SUFFIX_SEPARATORS: &[&str] = &[" - ", " | ", " · ", " :: ", " » ", " / "];
/// The same with the dashes that [`fold`] unifies, for titles that are not folded yet.
const WIDE_SEPARATORS: &[&str] = &[" \u{2013} ", " \u{2014} "];

/// Lower-cased, NFKC-normalized text with quotes and dashes unified and whitespace collapsed.
pub fn fold(text: &str) -> String {
    use unicode_normalization::{is_nfkc_quick, IsNormalized};
    let mut out = String::with_capacity(text.len());
    // Most text is NFKC already (all ASCII is): the quick check says so without the
    // decompose-and-recompose pass, which was most of folding.
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        fold_into(text.chars(), &mut out);
    } else {
        fold_into(text.nfkc(), &mut out);
    }
    out
}

/// Lower-cases and unifies `chars` into `out`, collapsing whitespace runs to one space with
/// none at the ends.
fn fold_into(chars: impl Iterator<Item = char>, out: &mut String) {
    let mut space = false;
    for c in chars.flat_map(char::to_lowercase) {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => {
                '\''
            }
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
            | '\u{00BB}' => '"',
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            c if c.is_whitespace() => {
                space = !out.is_empty();
                continue;
            }
            c => c,
        };
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
}

/// Only letters and digits, as space-separated words.
fn words(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    super::text::collapse_whitespace(&spaced)
}

/// `title` without a trailing " - Site Name" when Site Name is one of `site_names` (the source's
/// name from the config, the feed's own title). Any other suffix is kept, as in
/// "Man United 2 - 1 Liverpool". Case and characters of what remains are untouched.
pub fn strip_site_suffix<'t>(title: &'t str, site_names: &[&str]) -> &'t str {
    let names: Vec<String> = site_names
        .iter()
        .map(|n| words(&fold(n)))
        .filter(|n| !n.is_empty())
        .collect();
    for sep in SUFFIX_SEPARATORS.iter().chain(WIDE_SEPARATORS) {
        if let Some((head, tail)) = title.rsplit_once(sep) {
            let head = head.trim();
            if !head.is_empty() && names.iter().any(|n| *n == words(&fold(tail))) {
                return head;
            }
        }
    }
    title
}

/// Wire-service furniture before a headline: a desk's marks on a re-issued story ("UPDATE 2-",
/// "REFILE-", "RPT-", "CORRECTED-", "WRAPUP 1-", "EXCLUSIVE-", "BREAKING:"), possibly several
/// ("REFILE-UPDATE 3-"). The word must be followed at once by its dash or colon (after an
/// optional count), so a headline that merely starts with "Update on ..." keeps its words.
static WIRE_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:(?:update|wrapup)(?:\s*\d+)?\s*[-\u{2013}\u{2014}]|(?:refile|rpt|corrected)\s*[-\u{2013}\u{2014}]|(?:exclusive|breaking)\s*[-\u{2013}\u{2014}:])\s*",
    )
    .expect("static regex")
});

/// `title` without the wire-service furniture before it ([`WIRE_PREFIX`]): "UPDATE 3-Oil falls"
/// is the story "Oil falls" said again. Nothing is removed when only furniture would remain.
pub fn strip_wire_prefix(title: &str) -> &str {
    let mut rest = title;
    while let Some(m) = WIRE_PREFIX.find(rest) {
        let after = &rest[m.end()..];
        if after.trim().is_empty() {
            break;
        }
        rest = after;
    }
    rest
}

/// The dedup key of a title, or `None` when the title is too short to identify a story. Wire
/// furniture and the outlet's own name around the headline do not count.
pub fn title_key(title: &str, site_names: &[&str]) -> Option<String> {
    let key = words(&fold(strip_site_suffix(
        strip_wire_prefix(title),
        site_names,
    )));
    let specific = key.split(' ').count() >= MIN_WORDS && key.chars().count() >= MIN_CHARS;
    specific.then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: &str =
        "Trump Defends Envoy Steve Witkoff After Leak Suggests Coaching Russian Official";

    #[test]
    fn case_quotes_dashes_and_site_suffix_do_not_matter() {
        let k = title_key(W, &[]);
        assert!(k.is_some());
        assert_eq!(title_key(&W.to_uppercase(), &[]), k);
        assert_eq!(
            title_key(&format!("{W} - Northern Post"), &["Northern Post"]),
            k
        );
        assert_eq!(
            title_key(&format!("{W} | NORTHERN POST"), &["Northern Post"]),
            k
        );
        assert_eq!(
            title_key(
                "Storm strands travelers at O\u{2019}Hare as flights halt",
                &[]
            ),
            title_key("Storm strands travelers at O'Hare as flights halt", &[])
        );
    }

    #[test]
    fn site_suffix_is_stripped_keeping_the_rest_as_written() {
        assert_eq!(
            strip_site_suffix("Big News \u{2014} The Post", &["the post"]),
            "Big News"
        );
        assert_eq!(
            strip_site_suffix("Big News | Other", &["The Post"]),
            "Big News | Other"
        );
    }

    #[test]
    fn other_suffixes_stay() {
        assert_ne!(
            title_key("Fans react as Man United beat Liverpool 2 - 1", &["Daily"]),
            title_key("Fans react as Man United beat Liverpool 2 - 0", &["Daily"])
        );
        assert_ne!(
            title_key(&format!("{W} - Northern Post"), &["Capital Wire"]),
            title_key(W, &["Capital Wire"])
        );
    }

    #[test]
    fn wire_furniture_does_not_count() {
        let k = title_key(W, &[]);
        for furnished in [
            format!("UPDATE 2-{W}"),
            format!("update 12 - {W}"),
            format!("REFILE-UPDATE 3-{W}"),
            format!("RPT-{W}"),
            format!("CORRECTED-{W}"),
            format!("WRAPUP 1-{W}"),
            format!("EXCLUSIVE-{W}"),
            format!("Breaking: {W}"),
        ] {
            assert_eq!(title_key(&furnished, &[]), k, "{furnished}");
        }
        // Words that only look like furniture stay.
        assert_eq!(
            strip_wire_prefix("Update on the bridge repairs due next week"),
            "Update on the bridge repairs due next week"
        );
        assert_eq!(strip_wire_prefix("UPDATE 1-"), "UPDATE 1-");
        assert_ne!(
            title_key(
                "Breaking Bad star returns for a new crime drama series",
                &[]
            ),
            title_key("Bad star returns for a new crime drama series", &[])
        );
    }

    #[test]
    fn short_titles_have_no_key() {
        assert_eq!(title_key("Morning briefing", &[]), None);
        assert_eq!(title_key("Letters to the editor", &[]), None);
    }

    #[test]
    fn numbers_and_words_keep_stories_apart() {
        assert_ne!(
            title_key("Council approves 28-point plan for city transit", &[]),
            title_key("Council approves 20-point plan for city transit", &[])
        );
        assert_ne!(
            title_key("Central bank raises interest rates by a quarter point", &[]),
            title_key("Central bank holds interest rates by a quarter point", &[])
        );
    }
}
