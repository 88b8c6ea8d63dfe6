//! Checking the raw TOML values and building the runtime [`Config`] from them: every
//! section in turn, each problem recorded with its span so all of them are reported at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use super::error::Problems;
use super::raw::{self, RawConfig};
use super::*;

pub(super) fn validate(raw: RawConfig, problems: &mut Problems<'_>) -> Config {
    let poll = validate_poll(&raw.poll, problems);
    let listen = match &raw.server.listen {
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        Some(s) => s.get_ref().parse().unwrap_or_else(|_| {
            problems.at(
                s.span(),
                format!(
                    "`listen = \"{}\"` is not an address and port; write e.g. \"127.0.0.1:8080\" or \"[::]:8080\"",
                    s.get_ref()
                ),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        }),
    };
    let base_url = match &raw.server.base_url {
        None => default_base_url(listen),
        Some(s) => match parse_http_url(s.get_ref()) {
            Ok(u) => u,
            Err(why) => {
                problems.at(s.span(), format!("`base_url`: {why}"));
                default_base_url(listen)
            }
        },
    };
    let mut bounded = |value: &Option<toml::Spanned<String>>, key: &str, max: Duration, default| {
        let Some(value) = value else { return default };
        match parse_duration(value, key, problems) {
            Some(d) if d <= max => d,
            Some(_) => {
                problems.at(
                    value.span(),
                    format!(
                        "`{key}` must be at most {}",
                        humantime::format_duration(max)
                    ),
                );
                default
            }
            None => default,
        }
    };
    let write_timeout = bounded(
        &raw.server.write_timeout,
        "write_timeout",
        Duration::from_secs(3600),
        DEFAULT_WRITE_TIMEOUT,
    );
    let shutdown_grace = bounded(
        &raw.server.shutdown_grace,
        "shutdown_grace",
        Duration::from_secs(300),
        DEFAULT_SHUTDOWN_GRACE,
    );
    let max_items = match &raw.feed.max_items {
        None => 100,
        Some(n) if (1..=10_000).contains(n.get_ref()) => *n.get_ref() as usize,
        Some(n) => {
            problems.at(n.span(), "`max_items` must be between 1 and 10000");
            100
        }
    };
    let author_email = raw.feed.author_email.as_ref().and_then(|e| {
        let email = e.get_ref().trim();
        let valid = email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.ends_with('.')
        }) && !email
            .chars()
            .any(|c| c.is_whitespace() || "<>()[],;:\"".contains(c));
        if !valid {
            problems.at(
                e.span(),
                "`author_email` must be an e-mail address, e.g. \"news@example.org\"",
            );
        }
        valid.then(|| email.to_string())
    });
    let title = raw.feed.title.unwrap_or_else(|| "feedmerge".to_string());
    let feed = Feed {
        author: raw
            .feed
            .author
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| title.clone()),
        author_email,
        title,
        description: raw
            .feed
            .description
            .unwrap_or_else(|| "Stories from several feeds, each one once.".to_string()),
        max_items,
    };
    let store = validate_store(raw.store, problems);
    let mut filters = filter::Filters {
        global: raw
            .filters
            .iter()
            .enumerate()
            .filter_map(|(i, f)| rules::rule(f, format!("global filter {}", i + 1), problems))
            .collect(),
        ..Default::default()
    };
    for s in &raw.sources {
        let Ok(url) = parse_http_url(s.url.get_ref()) else {
            continue;
        };
        let name = s.name.get_ref().trim();
        let rules: Vec<filter::Rule> = s
            .filter
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                rules::rule(f, format!("source {name} filter {}", i + 1), problems)
            })
            .collect();
        if !rules.is_empty() {
            filters.by_source.insert(url.to_string(), rules);
        }
    }
    let publish = Publish {
        min_sources: match &raw.publish.min_sources {
            None => 1,
            Some(n) if (1..=100).contains(n.get_ref()) => *n.get_ref() as usize,
            Some(n) => {
                problems.at(n.span(), "`min_sources` must be between 1 and 100");
                1
            }
        },
        websub_hub: raw.publish.websub_hub.as_ref().and_then(|s| {
            parse_http_url(s.get_ref())
                .map_err(|why| problems.at(s.span(), format!("`websub_hub`: {why}")))
                .ok()
        }),
    };
    let sources = validate_sources(raw.sources, poll.interval, problems);
    let dedup = validate_dedup(&raw.dedup, problems);
    Config {
        server: Server {
            listen,
            base_url,
            write_timeout,
            shutdown_grace,
        },
        feed,
        store,
        poll,
        dedup,
        publish,
        filters,
        sources,
    }
}

pub(super) fn default_base_url(listen: SocketAddr) -> Url {
    Url::parse(&format!("http://{listen}/")).expect("a socket address is a valid URL authority")
}

pub(super) fn validate_poll(raw: &raw::RawPoll, problems: &mut Problems<'_>) -> Poll {
    let defaults = Poll::default();
    let mut duration = |value: &Option<toml::Spanned<String>>, key: &str, default: Duration| {
        value.as_ref().map_or(default, |v| {
            parse_duration(v, key, problems).unwrap_or(default)
        })
    };
    let interval = duration(&raw.interval, "interval", defaults.interval);
    let timeout = duration(&raw.timeout, "timeout", defaults.timeout);
    let connect_timeout = duration(
        &raw.connect_timeout,
        "connect_timeout",
        defaults.connect_timeout,
    );
    let min_interval = duration(&raw.min_interval, "min_interval", defaults.min_interval);
    let backoff_cap = duration(&raw.backoff_cap, "backoff_cap", defaults.backoff_cap);
    let concurrency = match &raw.concurrency {
        None => defaults.concurrency,
        Some(n) if (1..=1024).contains(n.get_ref()) => *n.get_ref() as usize,
        Some(n) => {
            problems.at(n.span(), "`concurrency` must be between 1 and 1024");
            defaults.concurrency
        }
    };
    let max_body = match &raw.max_body {
        None => defaults.max_body,
        Some(n) if *n.get_ref() >= 1024 => *n.get_ref() as u64,
        Some(n) => {
            problems.at(
                n.span(),
                "`max_body` is in bytes and must be at least 1024 (e.g. 16777216 for 16 MiB)",
            );
            defaults.max_body
        }
    };
    Poll {
        interval,
        timeout,
        connect_timeout,
        concurrency,
        max_body,
        min_interval,
        backoff_cap,
        allow_private_redirects: raw.allow_private_redirects.unwrap_or(false),
        per_host: match &raw.per_host {
            None => defaults.per_host,
            Some(n) if (1..=64).contains(n.get_ref()) => *n.get_ref() as usize,
            Some(n) => {
                problems.at(n.span(), "`per_host` must be between 1 and 64");
                defaults.per_host
            }
        },
        contact: raw.contact.as_ref().and_then(|c| {
            let value = c.get_ref().trim();
            if reqwest::header::HeaderValue::from_str(value.trim_start_matches("mailto:")).is_ok() {
                Some(value.to_string())
            } else {
                problems.at(c.span(), "`contact` has characters HTTP does not allow; write e.g. \"mailto:you@example.org\"");
                None
            }
        }),
    }
}

pub(super) fn validate_sources(
    raw: Vec<raw::RawSource>,
    default_interval: Duration,
    problems: &mut Problems<'_>,
) -> Vec<Source> {
    let mut names: HashMap<String, (usize, usize)> = HashMap::new();
    let mut urls: HashMap<String, (usize, usize)> = HashMap::new();
    let mut sources = Vec::with_capacity(raw.len());
    for s in raw {
        let name = s.name.get_ref().trim().to_string();
        if name.is_empty() {
            problems.at(s.name.span(), "a source's `name` must not be empty");
        } else if let Some((line, col)) = names.get(&name.to_lowercase()) {
            problems.at(
                s.name.span(),
                format!("duplicate source name \"{name}\" (first used at line {line}, column {col}); give each source its own name"),
            );
        } else {
            names.insert(name.to_lowercase(), problems.position(s.name.span()));
        }
        let url = match parse_http_url(s.url.get_ref()) {
            Ok(url) => {
                if let Some((line, col)) = urls.get(url.as_str()) {
                    problems.at(
                        s.url.span(),
                        format!("duplicate source url {url} (first listed at line {line}, column {col}); list each feed once"),
                    );
                } else {
                    urls.insert(url.to_string(), problems.position(s.url.span()));
                }
                Some(url)
            }
            Err(why) => {
                problems.at(s.url.span(), format!("source \"{name}\": {why}"));
                None
            }
        };
        let interval = s
            .interval
            .as_ref()
            .map_or(Some(default_interval), |v| {
                parse_duration(v, "interval", problems)
            })
            .unwrap_or(default_interval);
        let tags = s.tags.iter().map(|t| t.trim().to_string()).collect();
        let priority = match &s.priority {
            None => 0,
            Some(p) if (-1000..=1000).contains(p.get_ref()) => *p.get_ref() as i32,
            Some(p) => {
                problems.at(p.span(), "`priority` must be between -1000 and 1000");
                0
            }
        };
        let fetch = rules::fetch_options(&s, &name, problems);
        if let Some(url) = url {
            sources.push(Source {
                name,
                url,
                interval,
                tags,
                priority,
                fetch,
            });
        }
    }
    sources
}

pub(super) fn validate_store(raw: raw::RawStore, problems: &mut Problems<'_>) -> StoreSettings {
    let cache_bytes = match &raw.cache_mb {
        None => DEFAULT_CACHE_BYTES,
        Some(mb) if (8..=65_536).contains(mb.get_ref()) => *mb.get_ref() as u64 * 1024 * 1024,
        Some(mb) => {
            problems.at(mb.span(), "`cache_mb` must be between 8 and 65536 (MiB)");
            DEFAULT_CACHE_BYTES
        }
    };
    let max_age = raw.max_age.as_ref().and_then(|age| {
        let d = parse_duration(age, "max_age", problems)?;
        let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        if d < chrono::Duration::days(3) {
            problems.at(
                age.span(),
                "`max_age` must be at least 3 days: deduplication looks back two days",
            );
            return None;
        }
        Some(d)
    });
    let max_stories = match &raw.max_stories {
        None => None,
        Some(n) if *n.get_ref() >= 100 => Some(*n.get_ref() as usize),
        Some(n) => {
            problems.at(n.span(), "`max_stories` must be at least 100");
            None
        }
    };
    StoreSettings {
        path: PathBuf::from(raw.path.unwrap_or_else(|| "/var/lib/feedmerge".into())),
        cache_bytes,
        retention: Retention {
            max_age,
            max_stories,
        },
    }
}

pub(super) fn validate_dedup(raw: &raw::RawDedup, problems: &mut Problems<'_>) -> dedup::Settings {
    let mut settings = dedup::Settings::default();
    if let Some(w) = &raw.window {
        if let Some(d) = parse_duration(w, "window", problems) {
            settings.window = chrono::Duration::from_std(d).unwrap_or(settings.window);
        }
    }
    let t = &mut settings.thresholds;
    let mut fraction = |value: &Option<toml::Spanned<f64>>, key: &str, slot: &mut f64| {
        if let Some(v) = value {
            if (0.0..=1.0).contains(v.get_ref()) {
                *slot = *v.get_ref();
            } else {
                problems.at(
                    v.span(),
                    format!("`{key}` is a similarity between 0.0 and 1.0"),
                );
            }
        }
    };
    fraction(&raw.threshold, "threshold", &mut t.threshold);
    fraction(&raw.related, "related", &mut t.related);
    fraction(
        &raw.summary_threshold,
        "summary_threshold",
        &mut t.summary_threshold,
    );
    let mut count = |value: &Option<toml::Spanned<i64>>, key: &str, slot: &mut usize| {
        if let Some(v) = value {
            if (1..=50).contains(v.get_ref()) {
                *slot = *v.get_ref() as usize;
            } else {
                problems.at(
                    v.span(),
                    format!("`{key}` is a number of words between 1 and 50"),
                );
            }
        }
    };
    count(&raw.min_shared, "min_shared", &mut t.min_shared);
    count(&raw.min_words, "min_words", &mut t.min_words);
    settings
}

pub(super) fn parse_duration(
    value: &toml::Spanned<String>,
    key: &str,
    problems: &mut Problems<'_>,
) -> Option<Duration> {
    match humantime::parse_duration(value.get_ref()) {
        Ok(d) if d >= Duration::from_secs(1) => Some(d),
        Ok(_) => {
            problems.at(value.span(), format!("`{key}` must be at least 1s"));
            None
        }
        Err(e) => {
            problems.at(
                value.span(),
                format!(
                    "`{key} = \"{}\"` is not a duration ({e}); write e.g. \"90s\", \"15m\" or \"1h 30m\"",
                    value.get_ref()
                ),
            );
            None
        }
    }
}

/// Parses an absolute http(s) URL, explaining what is wrong otherwise.
pub(super) fn parse_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| {
        format!("\"{text}\" is not a valid URL ({e}); write e.g. \"https://example.com/feed.xml\"")
    })?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("\"{text}\" has no host name")),
        other => Err(format!(
            "\"{text}\" uses the scheme `{other}:`; only http: and https: feeds can be polled"
        )),
    }
}
