//! The configuration: a TOML file read into strict serde types ([`raw`]), then checked and turned
//! into the runtime [`Config`] that every other stage reads. All checks happen here, before any
//! socket is bound or store opened, and each problem names `file:line:col`.

pub mod dedup;
mod error;
pub mod filter;
pub mod keys;
mod raw;
mod rules;
mod secret;
mod validate;
pub mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use error::Problems;
pub use error::{ConfigError, Problem};
use raw::RawConfig;
pub use secret::Secret;
use validate::validate;

/// Where `run`, `once` and `check` look when `-c` is not given.
pub const DEFAULT_PATH: &str = "/etc/feedmerge/feedmerge.toml";

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: Server,
    pub feed: Feed,
    pub store: StoreSettings,
    pub poll: Poll,
    pub dedup: dedup::Settings,
    pub publish: Publish,
    pub filters: filter::Filters,
    pub sources: Vec<Source>,
}

/// `[publish]`: which stories the merged feeds carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// A story is published once this many different sources carried it.
    pub min_sources: usize,
    /// WebSub hub the feeds advertise and the daemon notifies after each change.
    pub websub_hub: Option<Url>,
}

impl Default for Publish {
    fn default() -> Self {
        Publish {
            min_sources: 1,
            websub_hub: None,
        }
    }
}

/// How to fetch one source, beyond its URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// Extra request headers; values may be secrets.
    pub headers: Vec<(String, Secret)>,
    /// HTTP basic authentication.
    pub basic_auth: Option<(Secret, Secret)>,
    pub user_agent: Option<String>,
    /// Overrides `[poll] timeout` for this source.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub listen: SocketAddr,
    /// Public address of this server, used for self links in the published feeds.
    pub base_url: Url,
    /// A response the client takes no byte of for this long is abandoned, its connection
    /// closed: a reader that never reads cannot hold a descriptor for ever.
    pub write_timeout: Duration,
    /// How long connections may go on finishing their responses once the daemon stops; then
    /// they are dropped, and the store is flushed.
    pub shutdown_grace: Duration,
}

/// `[server] write_timeout` unless configured.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// `[server] shutdown_grace` unless configured: well within systemd's `TimeoutStopSec=30s`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Feed {
    pub title: String,
    pub description: String,
    /// How many of the newest stories are published.
    pub max_items: usize,
    /// Who publishes the merged feed: Atom requires a feed author unless every entry names one,
    /// and JSON Feed lists it. The feed's title unless set.
    pub author: String,
    /// The author's e-mail address, if given.
    pub author_email: Option<String>,
}

/// sled's own default cache is 1 GiB and only a hint; a feed store needs far less.
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// `[store]`: where the store lives, its cache, and how long stories are kept. (The open
/// store itself is [`crate::store::Store`].)
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub path: PathBuf,
    /// sled's page cache, in bytes ([`DEFAULT_CACHE_BYTES`] unless configured).
    pub cache_bytes: u64,
    pub retention: Retention,
}

/// How long stories are kept (`[store] max_age`, `max_stories`); none means forever.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Option<chrono::Duration>,
    pub max_stories: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// Default interval for sources that do not set their own.
    pub interval: Duration,
    /// A whole fetch (connect, headers, body) must finish within this.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// How many sources are fetched at the same time.
    pub concurrency: usize,
    /// Largest response body accepted, in bytes, after decompression.
    pub max_body: u64,
    /// No source is polled more often than this, whatever its interval.
    pub min_interval: Duration,
    /// Failures back off exponentially up to this.
    pub backoff_cap: Duration,
    /// Follow redirects from public addresses to private ones (off: SSRF protection).
    pub allow_private_redirects: bool,
    /// An address for publishers to reach you, sent as `From` (`mailto:` optional).
    pub contact: Option<String>,
    /// Feeds fetched from one host at the same time.
    pub per_host: usize,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            interval: Duration::from_secs(15 * 60),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            concurrency: 16,
            max_body: 16 * 1024 * 1024,
            min_interval: Duration::from_secs(60),
            backoff_cap: Duration::from_secs(24 * 3600),
            allow_private_redirects: false,
            contact: None,
            per_host: 2,
        }
    }
}

/// One feed to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// A person's name for the feed, unique in the config; shown as the story's source.
    pub name: String,
    /// The feed's address; also the source's identity in the store.
    pub url: Url,
    pub interval: Duration,
    pub tags: Vec<String>,
    /// A higher priority makes this source's copy lead the stories it carries.
    pub priority: i32,
    pub fetch: FetchOptions,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::NotFound => {
                    ". Pass another with -c PATH, or start from config/feedmerge.toml"
                }
                _ => "",
            };
            ConfigError::whole_file(path, format!("cannot read the config file: {e}{hint}"))
        })?;
        Config::parse(path, &text)
    }

    /// Validates `text` as if read from `path` (the path only appears in messages).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let mut problems = Problems::new(text);
            let message = e.message().trim_end().to_string();
            problems.at(e.span().unwrap_or(0..0), hint_for_toml_error(&message));
            match problems.into_result(path) {
                Err(err) => err,
                Ok(()) => ConfigError::whole_file(path, message),
            }
        })?;
        let mut problems = Problems::new(text);
        let config = validate(raw, &mut problems);
        problems.into_result(path)?;
        Ok(config)
    }
}

/// serde's message for an unknown key is "unknown field `x`, expected one of `a`, `b`": the
/// names between backticks are the key and the keys its table accepts. The hint names the
/// nearest of them, or the other table the key belongs to.
fn hint_for_toml_error(message: &str) -> String {
    if message.contains("untagged enum RawSecret") {
        return "a secret is a string or a table with exactly one key: { env = \"NAME\" }, { file = \"/path\" } or { credential = \"name\" }".to_string();
    }
    if !message.starts_with("unknown field") {
        return message.to_string();
    }
    let mut names = message.split('`').skip(1).step_by(2);
    let Some(unknown) = names.next() else {
        return message.to_string();
    };
    if let Some(near) = keys::nearest(unknown, names) {
        return format!("{message}: did you mean `{near}`?");
    }
    let elsewhere = keys::known_keys()
        .into_iter()
        .find(|(table, keys)| !table.is_empty() && keys.contains(&unknown));
    match elsewhere {
        Some((table @ ("filter" | "source"), _)) => {
            format!("{message}: `{unknown}` belongs in a [[{table}]]")
        }
        Some((table, _)) => format!("{message}: `{unknown}` belongs in [{table}]"),
        None => format!(
            "{message} (check the spelling; feedmerge.toml(5) and config/feedmerge.toml list every key)"
        ),
    }
}

#[cfg(test)]
mod tests;
