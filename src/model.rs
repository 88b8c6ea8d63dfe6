//! Plain data passed between the stages. No I/O here.
//!
//! An [`Entry`] is one item of one source's feed, normalized. A [`Story`] is what we publish:
//! one or more entries (its [`Copy`]s) that report the same thing, led by the earliest.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Stable identity of an entry within its source: a hash of the source URL and the entry's
/// GUID (or, lacking one, its canonical link, or its title and date). Never random, so the same
/// item on every poll has the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntryKey(pub String);

/// Identity of a published story. Its GUID in the merged feed is derived from it and never
/// changes, so a reader never shows a story twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StoryId(pub u64);

impl StoryId {
    /// The GUID / Atom id of the story in published feeds.
    pub fn guid(self) -> String {
        format!("urn:feedmerge:story:{:016x}", self.0)
    }
}

impl std::fmt::Display for StoryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// One normalized feed item.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: EntryKey,
    /// Name of the configured source that carried it.
    pub source: String,
    /// URL of that source's feed.
    pub source_url: String,
    /// The item's GUID / Atom id as the publisher wrote it, if it had one.
    pub guid: Option<String>,
    /// Plain text, entities decoded, whitespace collapsed.
    pub title: String,
    /// Absolute link with tracking parameters and fragment removed.
    pub link: Option<String>,
    /// Scheme-less, `www.`-less, query-sorted form of `link`, used only as a dedup key.
    pub url_key: Option<String>,
    /// Normalized title, present only when the title is long enough to identify a story.
    pub title_key: Option<String>,
    /// HTML as the feed gave it (or escaped text), sanitized only when published.
    pub summary: Option<String>,
    /// HTML as the feed gave it (or escaped text), sanitized only when published.
    pub content: Option<String>,
    /// The URL that relative URLs in `summary` and `content` resolve against (the entry's
    /// `xml:base`, or the feed's address after redirects); only when they may hold one.
    pub html_base: Option<String>,
    pub authors: Vec<String>,
    /// The publisher's categories (terms or labels).
    pub categories: Vec<String>,
    /// Attached media (a podcast episode's audio), absolute URLs.
    pub enclosures: Vec<Enclosure>,
    /// Publication time from the feed, or when we first saw the entry.
    pub published: DateTime<Utc>,
    /// The source's `priority`: a higher one leads a story its entry is part of.
    pub priority: i32,
    /// What the similarity layer compares.
    pub signature: Signature,
}

impl Entry {
    /// An entry with what identifies it and nothing else: no link, text, keys or media, and
    /// an empty signature. For entries made from something other than a feed (`pairs`, tests),
    /// which fill in the fields they need with struct update syntax.
    pub fn new(
        key: &str,
        source: &str,
        source_url: &str,
        title: &str,
        published: DateTime<Utc>,
    ) -> Entry {
        Entry {
            key: EntryKey(key.into()),
            source: source.into(),
            source_url: source_url.into(),
            guid: None,
            title: title.into(),
            link: None,
            url_key: None,
            title_key: None,
            summary: None,
            content: None,
            html_base: None,
            authors: Vec::new(),
            enclosures: Vec::new(),
            categories: Vec::new(),
            published,
            priority: 0,
            signature: Signature::default(),
        }
    }
}

/// A media file attached to an entry, such as a podcast episode's audio. Republished as the
/// RSS `<enclosure>`, an Atom `rel="enclosure"` link and a JSON Feed attachment, so a podcast
/// app subscribed to the merged feed still gets the episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    pub url: String,
    /// MIME type as the publisher declared it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size in bytes, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// How a copy came to belong to its story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The copy that created the story.
    First,
    /// The same canonical URL as a copy already in the story.
    Url,
    /// The same specific normalized headline, within the time window.
    Title,
    /// A reworded headline: similar content words, every guard passed.
    Near,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layer::First => "first",
            Layer::Url => "url",
            Layer::Title => "title",
            Layer::Near => "near",
        })
    }
}

/// One source's copy of a story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Copy {
    pub entry: EntryKey,
    /// The publisher's GUID of this copy, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    pub source: String,
    pub source_url: String,
    pub title: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub joined_by: Layer,
    /// The similarity score that decided a `Near` join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Why the copy joined, in words.
    #[serde(default)]
    pub reason: String,
    /// Its source's priority when it joined.
    #[serde(default)]
    pub priority: i32,
}

impl Copy {
    /// `entry` as a copy of a story, joined by `joined_by` for `reason`.
    pub fn of(entry: &Entry, joined_by: Layer, score: Option<f64>, reason: String) -> Copy {
        Copy {
            entry: entry.key.clone(),
            guid: entry.guid.clone(),
            source: entry.source.clone(),
            source_url: entry.source_url.clone(),
            title: entry.title.clone(),
            link: entry.link.clone(),
            published: entry.published,
            joined_by,
            score,
            reason,
            priority: entry.priority,
        }
    }
}

/// A story as stored and published: the leading copy's text plus every copy that joined it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Story {
    pub id: StoryId,
    pub title: String,
    pub link: Option<String>,
    /// The leading copy's HTML as its feed gave it: sanitized when published, never stored so
    /// (stories stored by older versions hold it sanitized, which sanitizing again keeps).
    pub summary: Option<String>,
    pub content: Option<String>,
    /// What relative URLs in `summary` and `content` resolve against; see [`Entry::html_base`].
    /// `None` for HTML without URL attributes, for stories stored by older versions (whose
    /// URLs were made absolute when stored), and in published documents (made absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_base: Option<String>,
    pub authors: Vec<String>,
    /// The leading copy's attached media. Stories stored before enclosures were kept have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enclosures: Vec<Enclosure>,
    /// The leading copy's publication time; stories are published newest first by it.
    pub published: DateTime<Utc>,
    /// When the store last changed the story: its founding, a copy joining, or the leading
    /// copy's edit (an ingest moment, shared by everything one poll changed). Dates the feed
    /// documents as a whole (Atom `updated`, `Last-Modified`).
    pub updated: DateTime<Utc>,
    /// When a reader saw the story change after its founding: a copy joined or the leading
    /// copy's text was edited. `None` while the story stands as founded (and for stories
    /// stored before this was kept); see [`Story::last_changed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<DateTime<Utc>>,
    /// Every copy, the leading one first: highest source priority, then earliest.
    pub copies: Vec<Copy>,
    /// The founding copy's signature: later copies are compared with it, never with each
    /// other, so similarity cannot chain from A to B to C. Stored in the story's sketch only
    /// (see the store), so a story read back from the store has it empty.
    #[serde(default, skip_serializing)]
    pub signature: Signature,
}

impl Story {
    /// A new story founded by `entry`: its text leads, it is the first copy.
    pub fn founded_by(id: StoryId, entry: &Entry, now: DateTime<Utc>) -> Story {
        Story {
            id,
            title: entry.title.clone(),
            link: entry.link.clone(),
            summary: entry.summary.clone(),
            content: entry.content.clone(),
            html_base: entry.html_base.clone(),
            authors: entry.authors.clone(),
            enclosures: entry.enclosures.clone(),
            published: entry.published,
            updated: now,
            changed: None,
            copies: vec![Copy::of(entry, Layer::First, None, "first copy".into())],
            signature: entry.signature.clone(),
        }
    }
}

impl Story {
    /// Puts the leading copy first: highest priority, then the source that reported the story
    /// earliest; a source with several copies (a wire's "UPDATE 3-" of its own story) is
    /// represented by its newest, which says what the source says now. A stable sort keeps the
    /// arrival order of ties.
    pub fn order_copies(&mut self) {
        let mut first: Vec<(&str, DateTime<Utc>)> = Vec::new();
        for c in &self.copies {
            match first.iter_mut().find(|(s, _)| *s == c.source_url) {
                Some((_, t)) => *t = (*t).min(c.published),
                None => first.push((&c.source_url, c.published)),
            }
        }
        // Each copy's source as (its first report, the order the source first appears in):
        // a source's copies stand together even when two sources reported at the same time.
        let first: Vec<(DateTime<Utc>, usize)> = self
            .copies
            .iter()
            .map(|c| {
                first
                    .iter()
                    .position(|(s, _)| *s == c.source_url)
                    .map_or((c.published, 0), |i| (first[i].1, i))
            })
            .collect();
        let mut keyed: Vec<_> = std::mem::take(&mut self.copies)
            .into_iter()
            .zip(first)
            .collect();
        keyed.sort_by_key(|(c, first)| {
            (
                std::cmp::Reverse(c.priority),
                *first,
                std::cmp::Reverse(c.published),
            )
        });
        self.copies = keyed.into_iter().map(|(c, _)| c).collect();
    }

    /// When the story itself last changed, as each entry of a published feed says (Atom
    /// `updated`, JSON Feed `date_modified`): when a copy last joined or the leading copy was
    /// edited, else the newest of its copies' own dates. Never the moment of the poll that
    /// founded it, which every story of that poll shares.
    pub fn last_changed(&self) -> DateTime<Utc> {
        let dated = self
            .copies
            .iter()
            .map(|c| c.published)
            .fold(self.published, DateTime::max);
        self.changed.map_or(dated, |t| t.max(dated))
    }

    /// Each source that carried the story, once, in the order they joined (leader first).
    pub fn sources(&self) -> Vec<&Copy> {
        let mut seen = Vec::<&str>::new();
        let mut out = Vec::new();
        for c in &self.copies {
            if !seen.contains(&c.source.as_str()) {
                seen.push(&c.source);
                out.push(c);
            }
        }
        out
    }
}

/// A headline (and optionally the start of its summary) as the similarity layer sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Canonical content words of the headline, sorted.
    pub words: Vec<String>,
    /// Numbers in the headline, normalized ("1.0" and "1" agree), sorted.
    pub numbers: Vec<String>,
    /// Canonical places named, sorted.
    pub places: Vec<String>,
    /// Weekdays and months named.
    #[serde(default)]
    pub dates: Vec<String>,
    /// Capitalized words in the order they appear (who did what to whom).
    pub names: Vec<String>,
    /// (scale, class) of every polarity word, sorted.
    pub polarity: Vec<(u8, u8)>,
    pub negated: bool,
    /// What the headline says someone did: the first word of `actions.txt` that follows a
    /// subject (its line number), so "Senate approves transit plan" is "approve" and the
    /// noun "plan" after it does not count. At most one.
    #[serde(default)]
    pub actions: Vec<u8>,
    /// Content words before that action: who did it ("lawmakers" in "Lawmakers weigh plan"),
    /// sorted; empty when the headline names no action.
    #[serde(default)]
    pub subject: Vec<String>,
    /// The first content word after that action: what it was done to ("rates" in "Fed
    /// raises rates").
    #[serde(default)]
    pub object: Option<String>,
    /// Most words capitalized: capitals say nothing about names then.
    pub title_case: bool,
    /// A recurring headline such as "Morning briefing".
    pub generic: bool,
    /// "live", "opinion", "video", "podcast", "analysis" when the headline says so, "question"
    /// when it asks one.
    pub kind: Option<String>,
    /// Canonical content words of the summary's first sentences, sorted.
    pub summary_words: Vec<String>,
}

/// Cache validators a server gave us, sent back as `If-None-Match` / `If-Modified-Since`.
/// Kept as the opaque strings the server wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What we remember about polling one source: written by the ingest writer after each fetch,
/// read by the poller to schedule the next.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    pub validators: Validators,
    pub last_fetch: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// The last outcome, as logged ("200, 12 entries, 3 new", "not modified", an error).
    pub last_outcome: String,
    pub consecutive_failures: u32,
    /// Entries read from the source over its lifetime, and stories it started.
    #[serde(default)]
    pub entries_seen: u64,
    #[serde(default)]
    pub stories_led: u64,
    /// When the source is due next: its schedule, the publisher's hints, or backoff. Stored,
    /// so a restart does not poll a source that asked for rest.
    #[serde(default)]
    pub next_poll: Option<DateTime<Utc>>,
    /// The source answered `410 Gone`: it is not polled again until its URL changes.
    #[serde(default)]
    pub gone: bool,
    /// Where the feed moved permanently (301/308); polled there from then on.
    #[serde(default)]
    pub moved_to: Option<String>,
}
