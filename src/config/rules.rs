//! Checking `[[filter]]` rules and a source's fetch options (headers, credentials, user agent,
//! timeout): each problem points at its value.

use regex::RegexBuilder;
use toml::Spanned;

use super::error::Problems;
use super::filter::{Action, Field, Rule};
use super::raw::{RawFilter, RawSource};
use super::validate::parse_duration;
use super::{secret, FetchOptions};

/// A validated rule, or `None` with the problems recorded.
pub(super) fn rule(
    raw: &Spanned<RawFilter>,
    label: String,
    problems: &mut Problems<'_>,
) -> Option<Rule> {
    let f = raw.get_ref();
    let action = match f.action.get_ref().as_str() {
        "keep" => Some(Action::Keep),
        "drop" => Some(Action::Drop),
        other => {
            problems.at(
                f.action.span(),
                format!("`action = \"{other}\"`: write \"keep\" or \"drop\""),
            );
            None
        }
    };
    let field = match f.field.as_ref().map(|s| s.get_ref().as_str()) {
        None | Some("any") => Some(Field::Any),
        Some("title") => Some(Field::Title),
        Some("summary") => Some(Field::Summary),
        Some("content") => Some(Field::Content),
        Some("author") => Some(Field::Author),
        Some("category") => Some(Field::Category),
        Some("link") => Some(Field::Link),
        Some(other) => {
            let span = f.field.as_ref().map_or(raw.span(), |s| s.span());
            problems.at(
                span,
                format!("`field = \"{other}\"`: write one of title, summary, content, author, category, link, any"),
            );
            None
        }
    };
    let pattern = match &f.pattern {
        None => None,
        Some(p) => match RegexBuilder::new(p.get_ref())
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
        {
            Ok(re) => Some(re),
            Err(e) => {
                let first_line = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                problems.at(
                    p.span(),
                    format!("`pattern` is not a valid regular expression: {first_line}"),
                );
                return None;
            }
        },
    };
    let max_age = match &f.max_age {
        None => None,
        Some(age) => {
            let d = parse_duration(age, "max_age", problems)?;
            Some(chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX))
        }
    };
    if pattern.is_none() && max_age.is_none() {
        problems.at(
            raw.span(),
            "a filter needs a `pattern`, a `max_age`, or both",
        );
        return None;
    }
    Some(Rule {
        action: action?,
        field: field?,
        pattern,
        max_age,
        label,
    })
}

/// A source's fetch options, secrets resolved.
pub(super) fn fetch_options(
    s: &RawSource,
    name: &str,
    problems: &mut Problems<'_>,
) -> FetchOptions {
    let mut options = FetchOptions::default();
    for (header, value) in &s.headers {
        if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
            problems.at(
                value.span(),
                format!("source \"{name}\": `{header}` is not a valid HTTP header name"),
            );
            continue;
        }
        if let Some(secret) = secret::resolve(
            value,
            &format!("source \"{name}\" header {header}"),
            problems,
        ) {
            if reqwest::header::HeaderValue::from_str(secret.expose()).is_err() {
                problems.at(
                    value.span(),
                    format!("source \"{name}\": the value of header {header} has characters HTTP does not allow"),
                );
                continue;
            }
            options.headers.push((header.clone(), secret));
        }
    }
    match (&s.username, &s.password) {
        (Some(user), Some(password)) => {
            let user = secret::resolve(user, &format!("source \"{name}\" username"), problems);
            let password =
                secret::resolve(password, &format!("source \"{name}\" password"), problems);
            if let (Some(u), Some(p)) = (user, password) {
                options.basic_auth = Some((u, p));
            }
        }
        (Some(v), None) | (None, Some(v)) => problems.at(
            v.span(),
            format!("source \"{name}\": basic authentication needs both `username` and `password`"),
        ),
        (None, None) => {}
    }
    if let Some(ua) = &s.user_agent {
        if reqwest::header::HeaderValue::from_str(ua.get_ref()).is_ok() {
            options.user_agent = Some(ua.get_ref().clone());
        } else {
            problems.at(ua.span(), "`user_agent` has characters HTTP does not allow");
        }
    }
    if let Some(t) = &s.timeout {
        options.timeout = parse_duration(t, "timeout", problems);
    }
    options
}
