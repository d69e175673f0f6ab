//! The key layout of the raw and enriched buckets (and of local mode's directories).
//!
//! raw:      `telegram/context_date=YYYY-MM-DD/{update_id}.json`
//! enriched: `telegram/context_date=YYYY-MM-DD/part-00000.parquet`

use chrono::NaiveDate;

/// The raw store: the suffix of its bucket's name, and its directory in local mode.
pub const RAW_STORE: &str = "raw";
/// The enriched store (the Parquet of the table): likewise.
pub const ENRICHED_STORE: &str = "enriched";

/// The prefix of the `telegram` table in both buckets.
pub const TABLE_PREFIX: &str = "telegram";
/// The Hive-style partition column in the key (and in Athena).
pub const PARTITION_COLUMN: &str = "context_date";
/// How days are written in keys and accepted on input.
pub const DAY_FORMAT: &str = "%Y-%m-%d";

/// `telegram/context_date=YYYY-MM-DD/` — everything of one day, in either bucket.
pub fn day_prefix(day: NaiveDate) -> String {
    format!(
        "{TABLE_PREFIX}/{PARTITION_COLUMN}={}/",
        day.format(DAY_FORMAT)
    )
}

/// Where the ingest Lambda stores one update, byte for byte.
pub fn raw_key(day: NaiveDate, update_id: i64) -> String {
    format!("{}{update_id}.json", day_prefix(day))
}

/// Whether a key under a raw day prefix is an update object (and not a stray file).
pub fn is_raw_object(key: &str) -> bool {
    key.ends_with(".json")
}

/// The `n`-th Parquet part of a day in the enriched bucket.
pub fn enriched_part_key(day: NaiveDate, part: usize) -> String {
    format!("{}part-{part:05}.parquet", day_prefix(day))
}

/// Whether a key under an enriched day prefix is one of our Parquet parts.
pub fn is_enriched_part(key: &str) -> bool {
    key.rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with("part-") && name.ends_with(".parquet"))
}

/// Parses a day as written in keys and on the command line (`YYYY-MM-DD`).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, DAY_FORMAT).ok()
}

/// The day a key belongs to, from its `context_date=` segment.
pub fn day_of_key(key: &str) -> Option<NaiveDate> {
    let marker = format!("{PARTITION_COLUMN}=");
    key.split('/')
        .find_map(|segment| segment.strip_prefix(marker.as_str()))
        .and_then(parse_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_their_day() {
        let day = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        assert_eq!(raw_key(day, 42), "telegram/context_date=2024-05-01/42.json");
        assert_eq!(
            enriched_part_key(day, 0),
            "telegram/context_date=2024-05-01/part-00000.parquet"
        );
        assert_eq!(day_of_key(&raw_key(day, 7)), Some(day));
        assert!(is_enriched_part(&enriched_part_key(day, 3)));
        assert!(!is_enriched_part(
            "telegram/context_date=2024-05-01/notes.txt"
        ));
        assert!(is_raw_object(&raw_key(day, 1)));
    }
}
