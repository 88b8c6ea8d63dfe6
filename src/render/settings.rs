//! What the published feeds say about themselves ([`Settings`]), taken from the config once,
//! and the public addresses built from its base URL.

use std::collections::HashMap;

use url::Url;

/// What the published feeds say about themselves.
#[derive(Debug, Clone)]
pub struct Settings {
    pub title: String,
    pub description: String,
    /// Who publishes the merged feed (`[feed] author`, the title unless set).
    pub author: String,
    pub author_email: Option<String>,
    /// Public address of the server; the feeds' self links are resolved against it.
    pub base_url: Url,
    pub max_items: usize,
    /// Stories carried by fewer sources are not published.
    pub min_sources: usize,
    /// Tags of each source, by source name; published as the items' categories.
    pub source_tags: HashMap<String, Vec<String>>,
    /// (name, feed URL) of every source, in config order; exported as OPML.
    pub sources: Vec<(String, String)>,
    /// How long a subscriber may reuse a feed: the shortest poll interval, since nothing can
    /// change sooner than the most frequent poll.
    pub max_age: std::time::Duration,
    /// The WebSub hub every feed advertises, if any.
    pub websub_hub: Option<Url>,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            title: config.feed.title.clone(),
            description: config.feed.description.clone(),
            author: config.feed.author.clone(),
            author_email: config.feed.author_email.clone(),
            base_url: config.server.base_url.clone(),
            max_items: config.feed.max_items,
            min_sources: config.publish.min_sources,
            source_tags: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.tags.clone()))
                .collect(),
            sources: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.url.to_string()))
                .collect(),
            max_age: config
                .sources
                .iter()
                .map(|s| s.interval)
                .min()
                .unwrap_or(config.poll.interval),
            websub_hub: config.publish.websub_hub.clone(),
        }
    }

    /// The public URL of `segments` under the base, each percent-encoded (tag and source names
    /// may hold spaces or slashes).
    pub(crate) fn link_segments(&self, segments: &[&str]) -> String {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.to_string()
    }

    pub(crate) fn link(&self, path: &str) -> String {
        self.base_url
            .join(path)
            .map_or_else(|_| format!("{}{path}", self.base_url), |u| u.to_string())
    }
}
