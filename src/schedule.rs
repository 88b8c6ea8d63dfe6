//! When to poll a source next: its interval, raised by what the publisher asks for
//! (`Cache-Control: max-age`, `Expires`, RSS `<ttl>`, `sy:updatePeriod`), never sooner than
//! `[poll] min_interval`, moved out of the publisher's `skipHours`/`skipDays`, with jitter so
//! sources drift apart; after a failure, `Retry-After` or exponential backoff up to a cap.
//! Pure: the caller passes the clock and a jitter seed.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

/// What the publisher said about polling, from the HTTP response and the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// From `Cache-Control: max-age` or `Expires`.
    pub fresh_for: Option<Duration>,
    /// RSS `<ttl>` or `sy:updatePeriod` / `sy:updateFrequency`.
    pub update_every: Option<Duration>,
    /// UTC hours (0-23) and days (0 = Monday) the publisher asks not to be polled in.
    pub skip_hours: Vec<u32>,
    pub skip_days: Vec<u32>,
}

/// The shortest wait between two polls of a source and the longest a backoff may reach, from
/// `[poll] min_interval` and `backoff_cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitBounds {
    pub min_interval: Duration,
    pub backoff_cap: Duration,
}

/// ±10%, from a seed in 0..1000.
fn jitter(d: Duration, seed: u64) -> Duration {
    let permille = (seed % 201) as i32 - 100; // -100..=100
    d + d / 1000 * permille
}

/// Next poll after a success.
pub fn after_success(
    interval: Duration,
    hints: &Hints,
    bounds: WaitBounds,
    now: DateTime<Utc>,
    seed: u64,
) -> DateTime<Utc> {
    let wait = [Some(interval), hints.fresh_for, hints.update_every]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(interval)
        .max(bounds.min_interval);
    let mut next = now + jitter(wait, seed).max(bounds.min_interval);
    // At most a week of skipped hours: a publisher that skips every hour is ignored.
    for _ in 0..(24 * 7) {
        let skipped = hints.skip_hours.contains(&next.hour())
            || hints
                .skip_days
                .contains(&next.weekday().num_days_from_monday());
        if !skipped {
            break;
        }
        next = next + Duration::hours(1) - Duration::minutes(next.minute() as i64);
    }
    next
}

/// Next poll after the `failures`-th failure in a row: `retry_after` when the server gave one,
/// else the interval doubled per failure, capped.
pub fn after_failure(
    interval: Duration,
    failures: u32,
    retry_after: Option<DateTime<Utc>>,
    bounds: WaitBounds,
    now: DateTime<Utc>,
    seed: u64,
) -> DateTime<Utc> {
    let earliest = now + bounds.min_interval;
    if let Some(at) = retry_after {
        return at.max(earliest).min(now + bounds.backoff_cap);
    }
    let factor = 2i32.saturating_pow(failures.saturating_sub(1).min(20));
    let wait = interval
        .checked_mul(factor)
        .unwrap_or(bounds.backoff_cap)
        .min(bounds.backoff_cap);
    (now + jitter(wait, seed)).max(earliest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: WaitBounds = WaitBounds {
        min_interval: Duration::seconds(60),
        backoff_cap: Duration::hours(24),
    };

    fn at(h: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2025, 11, 24, h, 0, 0).unwrap()
        // a Monday
    }

    #[test]
    fn the_publishers_hints_only_ever_lengthen_the_wait() {
        let fifteen = Duration::minutes(15);
        let none = Hints::default();
        assert_eq!(
            after_success(fifteen, &none, BOUNDS, at(10), 100),
            at(10) + fifteen
        );
        let hour = Hints {
            fresh_for: Some(Duration::hours(1)),
            ..Hints::default()
        };
        assert_eq!(after_success(fifteen, &hour, BOUNDS, at(10), 100), at(11));
        let short = Hints {
            update_every: Some(Duration::minutes(1)),
            ..Hints::default()
        };
        assert_eq!(
            after_success(fifteen, &short, BOUNDS, at(10), 100),
            at(10) + fifteen
        );
        assert_eq!(
            after_success(Duration::seconds(5), &none, BOUNDS, at(10), 100),
            at(10) + Duration::seconds(60)
        );
        let jittered = after_success(fifteen, &none, BOUNDS, at(10), 0);
        assert_eq!(jittered, at(10) + Duration::seconds(810), "-10%");
    }

    #[test]
    fn skip_hours_and_days_are_respected() {
        let hints = Hints {
            skip_hours: vec![11, 12],
            ..Hints::default()
        };
        assert_eq!(
            after_success(Duration::hours(1), &hints, BOUNDS, at(10), 100),
            at(13)
        );
        let sunday_off = Hints {
            skip_days: vec![0],
            ..Hints::default()
        }; // Monday
        let next = after_success(Duration::hours(1), &sunday_off, BOUNDS, at(10), 100);
        assert_eq!(next.weekday().num_days_from_monday(), 1);
    }

    #[test]
    fn failures_back_off_exponentially_to_the_cap_or_as_told() {
        let i = Duration::minutes(15);
        assert_eq!(after_failure(i, 1, None, BOUNDS, at(10), 100), at(10) + i);
        assert_eq!(
            after_failure(i, 3, None, BOUNDS, at(10), 100),
            at(10) + i * 4
        );
        assert_eq!(
            after_failure(i, 30, None, BOUNDS, at(10), 100),
            at(10) + Duration::hours(24)
        );
        let told = at(12);
        assert_eq!(after_failure(i, 1, Some(told), BOUNDS, at(10), 100), told);
        assert_eq!(
            after_failure(i, 1, Some(at(10)), BOUNDS, at(10), 100),
            at(10) + Duration::seconds(60)
        );
    }
}
