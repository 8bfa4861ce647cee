//! Times as people read them: a clock time on each bubble, day separators, "last seen".
//! Local time zone through `chrono`; `now` is a parameter wherever the answer depends on it.

use chrono::{DateTime, Local, NaiveDate, TimeZone};

fn local(ms: u64) -> DateTime<Local> {
    Local
        .timestamp_millis_opt(i64::try_from(ms).unwrap_or(i64::MAX))
        .single()
        .unwrap_or_else(|| DateTime::<Local>::from(DateTime::UNIX_EPOCH))
}

/// The local calendar day of a Unix-millisecond time.
pub fn day(ms: u64) -> NaiveDate {
    local(ms).date_naive()
}

/// `14:05` for a bubble.
pub fn clock(ms: u64) -> String {
    local(ms).format("%H:%M").to_string()
}

/// `14:05:09` for the traffic list.
pub fn clock_secs(ms: u64) -> String {
    local(ms).format("%H:%M:%S").to_string()
}

/// "Today", "Yesterday", or `Mon 23 Nov 2026` for a day separator.
pub fn day_label(ms: u64, now_ms: u64) -> String {
    let (d, today) = (day(ms), day(now_ms));
    if d == today {
        "Today".to_owned()
    } else if today.pred_opt() == Some(d) {
        "Yesterday".to_owned()
    } else {
        local(ms).format("%a %-d %b %Y").to_string()
    }
}

/// "just now", "5 min ago", "3 h ago", "2 days ago" for a peer's last seen time.
pub fn ago(ms: u64, now_ms: u64) -> String {
    let secs = now_ms.saturating_sub(ms) / 1000;
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        86_400..172_800 => "yesterday".to_owned(),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// Wall-clock now in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_buckets() {
        let now = 10_000_000_000;
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now - 5 * 60_000, now), "5 min ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 h ago");
        assert_eq!(ago(now - 3 * 86_400_000, now), "3 days ago");
        assert_eq!(
            ago(now + 1_000, now),
            "just now",
            "clock skew is not negative time"
        );
    }

    #[test]
    fn day_labels() {
        let now = 1_790_000_000_000;
        assert_eq!(day_label(now, now), "Today");
        assert_eq!(day_label(now - 86_400_000, now), "Yesterday");
        assert!(day_label(now - 9 * 86_400_000, now).ends_with("2026"));
    }
}
