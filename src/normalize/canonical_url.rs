//! Canonical URLs: the same article behind different links (tracking parameters, fragments,
//! host case, `www.`, http vs https) maps to one key; different articles never do.
//!
//! Hand-written on top of the `url` crate (which already lower-cases hosts, drops default ports
//! and resolves `..`): the tracking list is short and must be conservative. An unknown parameter
//! is always kept, since `?id=` or `?story=` can be what identifies the article.

use url::Url;

/// Query parameters that only track a click, never identify a page (Miniflux's and Firefox's
/// lists, plus the BBC's `at_*`).
const TRACKING_EXACT: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "ysclid",
    "twclid",
    "igshid",
    "srsltid",
    "mc_cid",
    "mc_eid",
    "mc_tc",
    "_hsenc",
    "_hsmi",
    "__hssc",
    "__hstc",
    "__hsfp",
    "hsctatracking",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "vero_conv",
    "wickedid",
    "rb_clickid",
    "_openstat",
    "fb_action_ids",
    "fb_action_types",
    "fb_ref",
    "fb_source",
    "fb_comment_id",
    "ocid",
    "cmpid",
    "xtor",
    "_ga",
    "_gl",
    "ito",
];
const TRACKING_PREFIXES: &[&str] = &["utm_", "mtm_", "pk_", "at_", "itm_", "hmb_", "__s"];

fn is_tracking(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    TRACKING_EXACT.contains(&lower.as_str())
        || TRACKING_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// The link as we publish it: absolute, fragment and tracking parameters removed, everything
/// else (including the order of the other parameters) kept.
pub fn canonical_url(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url
}

/// The dedup key of a link: the canonical URL without scheme and leading `www.`, one trailing
/// slash dropped, query parameters sorted. `None` for a site's home page, which many unrelated
/// items link to.
pub fn url_key(url: &Url) -> Option<String> {
    let url = canonical_url(url);
    let host = url.host_str()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    let path = url.path();
    if path == "/" && url.query().is_none() {
        return None;
    }
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let mut key = String::with_capacity(host.len() + path.len() + 16);
    key.push_str(host);
    if let Some(port) = url.port() {
        key.push(':');
        key.push_str(&port.to_string());
    }
    key.push_str(path);
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !pairs.is_empty() {
        pairs.sort();
        key.push('?');
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        key.push_str(&query.join("&"));
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical_url(&Url::parse(s).unwrap()).to_string()
    }
    fn key(s: &str) -> Option<String> {
        url_key(&Url::parse(s).unwrap())
    }

    #[test]
    fn tracking_parameters_and_fragments_go() {
        assert_eq!(
            canon("https://EXAMPLE.com/a/b?utm_source=rss&id=7&fbclid=x&at_medium=RSS#top"),
            "https://example.com/a/b?id=7"
        );
        assert_eq!(
            canon("https://example.com/a?utm_campaign=x"),
            "https://example.com/a"
        );
        assert_eq!(
            canon("https://example.com/a?b=2&a=1"),
            "https://example.com/a?b=2&a=1"
        );
    }

    #[test]
    fn keys_ignore_scheme_www_slash_and_parameter_order() {
        let k = key("https://www.example.com/story/?b=2&a=1&gclid=z");
        assert_eq!(k.as_deref(), Some("example.com/story?a=1&b=2"));
        assert_eq!(key("http://example.com/story?a=1&b=2"), k);
    }

    #[test]
    fn different_articles_keep_different_keys() {
        assert_ne!(
            key("https://e.com/news?id=1"),
            key("https://e.com/news?id=2")
        );
        assert_ne!(key("https://e.com/a"), key("https://e.com/b"));
        assert_ne!(key("https://e.com/a"), key("https://f.com/a"));
        assert_ne!(key("https://e.com:8080/a"), key("https://e.com/a"));
    }

    #[test]
    fn home_pages_have_no_key() {
        assert_eq!(key("https://www.example.com/"), None);
        assert_eq!(key("https://www.example.com/?utm_source=x#y"), None);
    }
}
