//! Stage between normalize and dedup: the person's keep/drop rules. A dropped entry never
//! becomes a story; the store remembers which rule dropped it, for `feedmerge explain`.
//!
//! Order: the source's own rules first, then the global ones. In each scope a `drop` rule that
//! matches drops the entry; and if the scope has any `keep` rule, an entry must match one of
//! them to pass.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::model::Entry;

pub use crate::config::filter::{Action, Field, Filters, Rule};

impl Rule {
    fn applies(&self, entry: &Entry, now: DateTime<Utc>) -> bool {
        let pattern_ok = self
            .pattern
            .as_ref()
            .is_none_or(|re| texts(entry, self.field).iter().any(|t| re.is_match(t)));
        let age_ok = self.max_age.is_none_or(|max| {
            let old = now - entry.published > max;
            match self.action {
                Action::Drop => old,
                Action::Keep => !old,
            }
        });
        pattern_ok && age_ok
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Keep => "keep",
            Action::Drop => "drop",
        };
        write!(f, "{} ({action} {:?}", self.label, self.field)?;
        if let Some(p) = &self.pattern {
            write!(f, " /{}/", p.as_str().trim_start_matches("(?i)"))?;
        }
        if let Some(age) = self.max_age {
            write!(f, " older than {}h", age.num_hours())?;
        }
        f.write_str(")")
    }
}

fn plain(html: &Option<String>) -> String {
    html.as_deref()
        .map(crate::normalize::text::plain_text)
        .unwrap_or_default()
}

fn texts(entry: &Entry, field: Field) -> Vec<String> {
    match field {
        Field::Title => vec![entry.title.clone()],
        Field::Summary => vec![plain(&entry.summary)],
        Field::Content => vec![plain(&entry.content)],
        Field::Author => entry.authors.clone(),
        Field::Category => entry.categories.clone(),
        Field::Link => entry.link.clone().into_iter().collect(),
        Field::Any => {
            let mut all = vec![
                entry.title.clone(),
                plain(&entry.summary),
                plain(&entry.content),
            ];
            all.extend(entry.authors.iter().cloned());
            all.extend(entry.categories.iter().cloned());
            all.extend(entry.link.clone());
            all
        }
    }
}

/// Why an entry was dropped: the rule (or the scope whose keep rules it missed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub rule: String,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.by_source.values().all(Vec::is_empty)
    }

    /// `Ok` when `entry` passes every scope.
    pub fn check(&self, entry: &Entry, now: DateTime<Utc>) -> Result<(), Dropped> {
        if let Some(rules) = self.by_source.get(&entry.source_url) {
            check_scope(rules, entry, now, &format!("source {}", entry.source))?;
        }
        check_scope(&self.global, entry, now, "the global filters")
    }
}

fn check_scope(
    rules: &[Rule],
    entry: &Entry,
    now: DateTime<Utc>,
    scope: &str,
) -> Result<(), Dropped> {
    if let Some(rule) = rules
        .iter()
        .find(|r| r.action == Action::Drop && r.applies(entry, now))
    {
        return Err(Dropped {
            rule: rule.to_string(),
        });
    }
    let mut keeps = rules.iter().filter(|r| r.action == Action::Keep).peekable();
    if keeps.peek().is_some() && !keeps.any(|r| r.applies(entry, now)) {
        return Err(Dropped {
            rule: format!("no keep rule of {scope} matched"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use regex::Regex;

    use super::*;

    fn entry(title: &str, hours_old: i64) -> Entry {
        Entry {
            link: Some("https://bbc.example/news/1".into()),
            summary: Some("<p>About <b>Kyiv</b></p>".into()),
            authors: vec!["Jane Doe".into()],
            categories: vec!["World".into()],
            ..Entry::new(
                "k",
                "BBC",
                "https://bbc.example/feed",
                title,
                Utc::now() - Duration::hours(hours_old),
            )
        }
    }

    fn rule(action: Action, field: Field, pattern: &str) -> Rule {
        Rule {
            action,
            field,
            pattern: Some(Regex::new(&format!("(?i){pattern}")).unwrap()),
            max_age: None,
            label: "test rule".into(),
        }
    }

    #[test]
    fn drop_keep_fields_ages_and_scope_order() {
        let now = Utc::now();
        let mut f = Filters::default();
        assert!(f.check(&entry("Anything", 1), now).is_ok());
        f.global
            .push(rule(Action::Keep, Field::Any, "ukraine|kyiv"));
        assert!(
            f.check(&entry("Markets today", 1), now).is_ok(),
            "summary matches kyiv"
        );
        assert!(f.check(&entry("Markets today", 1), now).is_ok());
        f.global[0] = rule(Action::Keep, Field::Title, "ukraine");
        assert_eq!(
            f.check(&entry("Markets today", 1), now).unwrap_err().rule,
            "no keep rule of the global filters matched"
        );
        assert!(
            f.check(&entry("UKRAINE talks", 1), now).is_ok(),
            "case-insensitive"
        );
        f.by_source.insert(
            "https://bbc.example/feed".into(),
            vec![rule(Action::Drop, Field::Author, "jane")],
        );
        assert!(f
            .check(&entry("Ukraine talks", 1), now)
            .unwrap_err()
            .rule
            .starts_with("test rule (drop Author /jane/"));
        f.by_source.clear();
        f.global = vec![Rule {
            action: Action::Drop,
            field: Field::Any,
            pattern: None,
            max_age: Some(Duration::days(7)),
            label: "global rule 1".into(),
        }];
        assert!(f.check(&entry("Old news", 24 * 8), now).is_err());
        assert!(f.check(&entry("New news", 24), now).is_ok());
        f.global = vec![
            rule(Action::Drop, Field::Category, "^world$"),
            rule(Action::Drop, Field::Link, "/sport/"),
        ];
        assert!(f.check(&entry("x", 1), now).is_err());
    }
}
