//! How dates are written in messages and reports: one format everywhere.

use chrono::{DateTime, Utc};

/// `2025-07-15`.
pub(crate) fn date(d: DateTime<Utc>) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `2025-07-15 00:00 UTC`, or with seconds when the time has them.
pub(crate) fn datetime(d: DateTime<Utc>) -> String {
    if d.timestamp() % 60 == 0 {
        d.format("%Y-%m-%d %H:%M UTC").to_string()
    } else {
        d.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}
