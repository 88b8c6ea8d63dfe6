//! Whether HTML is inert: what the security test (`tests/markup.rs`) checks every published
//! document with, and the fuzz target (`fuzz/fuzz_targets/feed_pipeline.rs`, which includes this
//! file by path) checks what it renders with. Uses only html5ever, so both crates can build it.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// What is wrong with `html` as published HTML (empty when nothing is): live tags that run
/// script, load a document or change the page, event handlers and style attributes, and URLs
/// of schemes that run or embed content. `allowed` names elements a whole page may have (its
/// own `<style>`, `<meta charset>`): documents pass none.
pub fn live_markup(html: &str, allowed: &[&str]) -> Vec<String> {
    const ELEMENTS: &[&str] = &[
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form",
        "input", "button", "textarea", "select", "base", "meta", "link", "svg", "math", "template",
        "noscript", "body", "html",
    ];
    const URL_ATTRIBUTES: &[&str] = &[
        "href",
        "src",
        "action",
        "formaction",
        "data",
        "poster",
        "background",
        "cite",
        "srcset",
        "xlink:href",
        "ping",
        "longdesc",
    ];
    let tokens = tokens(html);
    let mut found = Vec::new();
    for token in tokens {
        let Token::TagToken(tag) = token else {
            continue;
        };
        if tag.kind != TagKind::StartTag {
            continue;
        }
        let name = tag.name.to_string();
        if ELEMENTS.contains(&name.as_str()) && !allowed.contains(&name.as_str()) {
            found.push(format!("<{name}>"));
        }
        for attr in &tag.attrs {
            let attr_name = attr.name.local.to_string();
            let value = attr.value.to_string();
            if attr_name.starts_with("on") || attr_name == "style" || attr_name == "srcdoc" {
                found.push(format!("<{name} {attr_name}=…>"));
            }
            if name == "meta" && attr_name == "http-equiv" {
                found.push("<meta http-equiv>".into());
            }
            if URL_ATTRIBUTES.contains(&attr_name.as_str()) {
                // What a browser's URL parser sees: entities are already decoded by the
                // tokenizer; it drops ASCII whitespace and controls, and schemes are
                // case-insensitive.
                let url: String = value
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if ["javascript:", "vbscript:", "data:"]
                    .iter()
                    .any(|s| url.starts_with(s))
                {
                    found.push(format!("<{name} {attr_name}=\"{value}\">"));
                }
            }
        }
    }
    found
}

/// The tokens of `html` as a browser's tokenizer reads them.
pub fn tokens(html: &str) -> Vec<Token> {
    struct Sink(RefCell<Vec<Token>>);
    impl TokenSink for Sink {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            self.0.borrow_mut().push(token);
            TokenSinkResult::Continue
        }
    }
    let tokenizer = Tokenizer::new(Sink(RefCell::new(Vec::new())), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.take()
}
