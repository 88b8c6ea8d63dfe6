//! Polling hints a feed gives in its text. Hand-written with regexes because feed-rs exposes
//! only `<ttl>`: the syndication module (`sy:`) and RSS `skipHours`/`skipDays` are dropped.

use std::sync::LazyLock;

use chrono::Duration;
use feed_rs::model::Feed;
use regex::bytes::Regex;

use crate::schedule::Hints;

static UPDATE_PERIOD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u)<sy:updatePeriod>\s*(hourly|daily|weekly|monthly|yearly)\s*</sy:updatePeriod>",
    )
    .expect("static regex")
});
static UPDATE_FREQUENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)<sy:updateFrequency>\s*([0-9]{1,4})\s*</sy:updateFrequency>")
        .expect("static regex")
});
static SKIP_HOURS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s-u)<skipHours>(.*?)</skipHours>").expect("static regex"));
static SKIP_DAYS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s-u)<skipDays>(.*?)</skipDays>").expect("static regex"));
static HOUR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)<hour>\s*([0-9]{1,2})\s*</hour>").expect("static regex"));
static DAY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)<day>\s*([A-Za-z]+)\s*</day>").expect("static regex"));

pub(super) fn of(feed: &Feed, body: &[u8]) -> Hints {
    let ttl = feed
        .ttl
        .map(|minutes| Duration::minutes(minutes.min(10_080) as i64));
    let period = UPDATE_PERIOD.captures(body).and_then(|c| {
        let days = match c.get(1)?.as_bytes() {
            b"hourly" => return Some(Duration::hours(1)),
            b"daily" => 1,
            b"weekly" => 7,
            b"monthly" => 30,
            _ => 365,
        };
        Some(Duration::days(days))
    });
    let frequency = UPDATE_FREQUENCY
        .captures(body)
        .and_then(|c| {
            std::str::from_utf8(c.get(1)?.as_bytes())
                .ok()?
                .parse::<i32>()
                .ok()
        })
        .filter(|f| *f > 0)
        .unwrap_or(1);
    let sy = period.map(|p| p / frequency);
    let skip_hours = SKIP_HOURS
        .captures(body)
        .and_then(|c| c.get(1))
        .map(|block| {
            HOUR.captures_iter(block.as_bytes())
                .filter_map(|h| {
                    std::str::from_utf8(h.get(1)?.as_bytes())
                        .ok()?
                        .parse::<u32>()
                        .ok()
                })
                .map(|h| h % 24)
                .collect()
        })
        .unwrap_or_default();
    let skip_days = SKIP_DAYS
        .captures(body)
        .and_then(|c| c.get(1))
        .map(|block| {
            DAY.captures_iter(block.as_bytes())
                .filter_map(|d| {
                    let name = String::from_utf8_lossy(d.get(1)?.as_bytes()).to_lowercase();
                    [
                        "monday",
                        "tuesday",
                        "wednesday",
                        "thursday",
                        "friday",
                        "saturday",
                        "sunday",
                    ]
                    .iter()
                    .position(|n| *n == name)
                    .map(|i| i as u32)
                })
                .collect()
        })
        .unwrap_or_default();
    Hints {
        fresh_for: None,
        update_every: [ttl, sy].into_iter().flatten().max(),
        skip_hours,
        skip_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_sy_and_skips_are_read() {
        let xml = br#"<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title><ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency><skipHours><hour>0</hour><hour>1</hour></skipHours><skipDays><day>Sunday</day></skipDays></channel></rss>"#;
        let url = url::Url::parse("https://e.org/f").unwrap();
        let parsed = crate::parse::parse(xml, None, &url).unwrap();
        let h = parsed.hints(xml);
        assert_eq!(h.update_every, Some(Duration::minutes(30)));
        assert_eq!(h.skip_hours, vec![0, 1]);
        assert_eq!(h.skip_days, vec![6]);
    }
}
