//! The key layout of the raw and enriched buckets (and of local mode's directories).
//!
//! raw:      `telegram/context_date=YYYY-MM-DD/{update_id}.json`      (the table's input)
//!           `quarantine/received_date=YYYY-MM-DD/{sha256}`            (bodies that are not updates)
//!           `changed/context_date=YYYY-MM-DD/{update_id}`             (a late change to an old day)
//!           `chats/migrated/{new_chat_id}/from={old_chat_id}`          (a kept group became a supergroup)
//! enriched: `telegram/context_date=YYYY-MM-DD/part-00000.parquet`     (the table)
//!           `etl/built/context_date=YYYY-MM-DD/{unix_ms}.json`        (when a day's output was listed)
//!
//! The notes carry what they say in their keys, so that one listing reads them all (and no
//! object has to be fetched).
//!           `etl/lease.json`                                          (the run under way, if any)
//!
//! Only `telegram/` is the table: everything else lives beside it, where neither Athena nor the
//! embedded engine reads.

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
/// The first day a Telegram message can bear (Telegram began on 14 August 2013; a few days
/// before, so that its first hours are in every zone): the table's partitions (Athena's
/// projection) start there, and an import skips anything earlier.
pub const FIRST_DAY: &str = "2013-08-01";

/// [`FIRST_DAY`] as a date.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2013, 8, 1).unwrap_or(NaiveDate::MIN)
}

/// The start of [`FIRST_DAY`], in Unix seconds (UTC).
pub fn first_day_start() -> i64 {
    first_day()
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp())
}

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

/// The raw object of message `message_id` of `chat` imported from a Telegram Desktop export:
/// the same on every import, and never an `update_id` key (those are digits only).
pub fn imported_key(day: NaiveDate, chat: i64, message_id: i64) -> String {
    format!("{}import_{chat}_{message_id}.json", day_prefix(day))
}

/// Whether a key under a raw day prefix is an update object (and not a stray file).
pub fn is_raw_object(key: &str) -> bool {
    key.ends_with(".json")
}

/// Where a body that passed the secret check but is not an update is kept, byte for byte, named
/// by its SHA-256 (hex) under the day it arrived.
pub fn quarantine_key(received: NaiveDate, sha256_hex: &str) -> String {
    format!(
        "{QUARANTINE_PREFIX}received_date={}/{sha256_hex}",
        received.format(DAY_FORMAT)
    )
}

/// The prefix of every quarantined body.
pub const QUARANTINE_PREFIX: &str = "quarantine/";

/// The prefix of the marks of days changed late (outside the scheduled run's window).
pub const CHANGED_PREFIX: &str = "changed/";

/// The mark that `update_id` changed `day` after that day left the scheduled run's window. One
/// mark an update, so that a run deletes exactly the marks it saw and never one written since.
pub fn changed_key(day: NaiveDate, update_id: i64) -> String {
    format!(
        "{CHANGED_PREFIX}{PARTITION_COLUMN}={}/{update_id}",
        day.format(DAY_FORMAT)
    )
}

/// The prefix of the chat migrations the ingest side has seen.
pub const MIGRATED_PREFIX: &str = "chats/migrated/";

/// Where the notes that some kept chat now goes on as `to` are.
pub fn migrated_prefix(to: i64) -> String {
    format!("{MIGRATED_PREFIX}{to}/")
}

/// The note that kept chat `from` now goes on as `to` (a group that became a supergroup).
pub fn migrated_key(from: i64, to: i64) -> String {
    format!("{}from={from}", migrated_prefix(to))
}

/// The (from, to) of a migration note, from its key.
pub fn migration_of_key(key: &str) -> Option<(i64, i64)> {
    let (to, from) = key.strip_prefix(MIGRATED_PREFIX)?.split_once('/')?;
    Some((from.strip_prefix("from=")?.parse().ok()?, to.parse().ok()?))
}

/// The prefix of the notes of chats the ingest side heard from but does not keep.
pub const SEEN_PREFIX: &str = "chats/seen/";

/// The note that chat `id` sent updates the stack does not keep (see [`crate::update::SeenChat`]).
pub fn seen_key(id: i64) -> String {
    format!("{SEEN_PREFIX}{id}.json")
}

/// Where `tgpipe import` records how far it got with an export (in the raw bucket, out of the
/// table's way), so that an import cut short continues where it stopped.
pub const IMPORTS_PREFIX: &str = "imports/";

/// The record of an export's import, by the SHA-256 of the export file.
pub fn import_checkpoint_key(export_sha256_hex: &str) -> String {
    format!("{IMPORTS_PREFIX}{export_sha256_hex}.json")
}

/// The prefix of the ETL's records of each day's output, in the enriched bucket.
pub const BUILT_PREFIX: &str = "etl/built/";

/// The records of one day's output.
pub fn built_prefix(day: NaiveDate) -> String {
    format!(
        "{BUILT_PREFIX}{PARTITION_COLUMN}={}/",
        day.format(DAY_FORMAT)
    )
}

/// The record of a day's output built from a listing that started at `listing_started`.
pub fn built_key(day: NaiveDate, listing_started: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{}{}.json",
        built_prefix(day),
        listing_started.timestamp_millis()
    )
}

/// The day and listing time of a record, from its key.
pub fn built_of_key(key: &str) -> Option<(NaiveDate, chrono::DateTime<chrono::Utc>)> {
    let day = day_of_key(key)?;
    let millis = key
        .rsplit('/')
        .next()?
        .strip_suffix(".json")?
        .parse()
        .ok()?;
    Some((day, chrono::DateTime::from_timestamp_millis(millis)?))
}

/// The lease a run of the ETL holds, so that two runs never rebuild at once.
pub const LEASE_KEY: &str = "etl/lease.json";

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
        // Marks and records sit outside the table's prefix, and carry their day.
        let at = chrono::DateTime::from_timestamp_millis(1_714_530_600_123).unwrap();
        for key in [
            changed_key(day, 9),
            built_key(day, at),
            quarantine_key(day, "ab"),
        ] {
            assert!(!key.starts_with(TABLE_PREFIX), "{key}");
        }
        assert_eq!(day_of_key(&changed_key(day, 9)), Some(day));
        assert_eq!(built_of_key(&built_key(day, at)), Some((day, at)));
        assert_eq!(
            migration_of_key(&migrated_key(-4001, -1004001)),
            Some((-4001, -1004001))
        );
        assert!(migrated_key(-4001, -1004001).starts_with(&migrated_prefix(-1004001)));
        assert_eq!(
            quarantine_key(day, "ab"),
            "quarantine/received_date=2024-05-01/ab"
        );
    }
}
