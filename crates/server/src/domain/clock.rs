//! Times as statements of reasons write them.

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD HH:MM UTC` of a time in Unix milliseconds.
pub fn when(ms: i64) -> String {
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{} {:02}:{:02} UTC",
        parley_store::utc_day(ms),
        secs / 3600,
        secs % 3600 / 60
    )
}
