//! What tells one published feed from another ([`Meta`]): its title, where each format lives,
//! and the links (RFC 5005 paging, WebSub hub) every format carries.

use chrono::NaiveDate;

use super::Settings;

/// What tells one published feed from another: its title and where each format lives.
pub(super) struct Meta {
    pub title: String,
    pub rss: String,
    pub atom: String,
    pub json: String,
    /// RFC 5005 links: (rel, the same page in RSS, Atom, JSON Feed).
    pub paging: Vec<(&'static str, [String; 3])>,
    /// Whether this is an archive page (`<fh:archive/>`).
    pub archive: bool,
}

/// RFC 5005's namespace for `<fh:archive/>`.
pub(super) const FH: &str = "http://purl.org/syndication/history/1.0";

/// The archive page of `day` in the three formats.
pub(super) fn archive_hrefs(settings: &Settings, day: NaiveDate) -> [String; 3] {
    ["xml", "atom", "json"].map(|ext| settings.link(&format!("archive/{day}.{ext}")))
}

impl Meta {
    pub(super) fn main(settings: &Settings) -> Meta {
        Meta {
            title: settings.title.clone(),
            rss: settings.link("feed.xml"),
            atom: settings.link("atom.xml"),
            json: settings.link("feed.json"),
            paging: Vec::new(),
            archive: false,
        }
    }

    pub(super) fn tag(settings: &Settings, tag: &str) -> Meta {
        let at = |ext: &str| settings.link_segments(&["tags", &format!("{tag}.{ext}")]);
        Meta {
            title: format!("{} \u{2014} {tag}", settings.title),
            rss: at("xml"),
            atom: at("atom"),
            json: at("json"),
            paging: Vec::new(),
            archive: false,
        }
    }

    pub(super) fn source(settings: &Settings, name: &str) -> Meta {
        let rss = settings.link_segments(&["sources", &format!("{name}.xml")]);
        Meta {
            title: format!("{} \u{2014} {name}", settings.title),
            atom: rss.clone(),
            json: rss.clone(),
            rss,
            paging: Vec::new(),
            archive: false,
        }
    }
}

/// The hub link feeds carry in their bodies.
pub(super) fn hub_link(settings: &Settings) -> Option<atom_syndication::Link> {
    settings
        .websub_hub
        .as_ref()
        .map(|hub| atom_syndication::Link {
            href: hub.to_string(),
            rel: "hub".into(),
            ..Default::default()
        })
}
