//! What `[[filter]]` tables configure: keep/drop rules, global and per source. Plain data,
//! defined here so that config sits below the stage it configures; [`crate::filter`] matches
//! entries against them (and re-exports them under its own name).

use chrono::Duration;
use regex::Regex;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Keep,
    Drop,
}

/// The part of an entry a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Summary,
    Content,
    Author,
    Category,
    Link,
    Any,
}

/// One rule as configured.
#[derive(Debug, Clone)]
pub struct Rule {
    pub action: Action,
    pub field: Field,
    /// Case-insensitive unless the pattern says `(?-i)`.
    pub pattern: Option<Regex>,
    /// With `drop`: the rule applies to entries older than this; with `keep`, to newer ones.
    pub max_age: Option<Duration>,
    /// Where the rule is written, for logs, metrics and `explain` ("source BBC, rule 1").
    pub label: String,
}

/// Every rule: the global scope and each source's.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub global: Vec<Rule>,
    /// By source URL.
    pub by_source: std::collections::HashMap<String, Vec<Rule>>,
}
