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

/// When a peer was last heard, as a time that stays true without repainting: "today at
/// 14:05", "yesterday at 09:10", "Mon 23 Nov at 14:05" within a week, `23 Nov 2025` before.
pub fn seen(ms: u64, now_ms: u64) -> String {
    let (d, today) = (day(ms), day(now_ms));
    let days = (today - d).num_days();
    let at = clock(ms);
    match days {
        ..=0 => format!("today at {at}"),
        1 => format!("yesterday at {at}"),
        2..7 => format!("{} at {at}", local(ms).format("%a %-d %b")),
        _ => local(ms).format("%-d %b %Y").to_string(),
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
    fn last_seen_is_a_time_not_a_countdown() {
        let now = 1_790_000_000_000;
        let at = clock(now - 60_000);
        assert_eq!(seen(now - 60_000, now), format!("today at {at}"));
        assert!(seen(now + 5_000, now).starts_with("today at"), "clock skew");
        let y = now - 86_400_000;
        assert_eq!(seen(y, now), format!("yesterday at {}", clock(y)));
        assert!(seen(now - 3 * 86_400_000, now).contains(" at "));
        assert!(seen(now - 30 * 86_400_000, now).ends_with("2026"));
    }

    #[test]
    fn day_labels() {
        let now = 1_790_000_000_000;
        assert_eq!(day_label(now, now), "Today");
        assert_eq!(day_label(now - 86_400_000, now), "Yesterday");
        assert!(day_label(now - 9 * 86_400_000, now).ends_with("2026"));
    }
}
