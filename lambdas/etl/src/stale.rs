//! What is stale: each day's record of the listing its output was built from, the marks of days
//! changed late, and which days must be rebuilt.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use lake::{StorageError, layout};
use serde::{Deserialize, Serialize};

use crate::{Config, EtlError, S3_CLOCK_MARGIN, SCHEDULED_LOOKBACK_DAYS};

/// The body of a day's record (`etl/built/context_date=D/{ms}.json` in the enriched bucket); the
/// key alone says when the listing started, so that one listing reads every day's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Built {
    /// When the listing of the raw objects the output was built from started.
    pub listing_started: DateTime<Utc>,
    pub objects_read: usize,
    pub rows_written: usize,
}

/// Whether a day must be rebuilt: it has raw objects, and either no recorded output or one whose
/// listing (started at `built`) may have missed the newest of them (`margin`: how far the store's
/// clock may be off).
pub fn is_stale(
    newest_raw: Option<DateTime<Utc>>,
    built: Option<DateTime<Utc>>,
    margin: TimeDelta,
) -> bool {
    match (newest_raw, built) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(raw), Some(listing_started)) => raw + margin >= listing_started,
    }
}

/// When each day's output was listed, from the records' keys (the latest record of a day).
pub fn built_times(
    keys: impl IntoIterator<Item = String>,
) -> std::collections::BTreeMap<NaiveDate, DateTime<Utc>> {
    let mut times = std::collections::BTreeMap::new();
    for (day, at) in keys.into_iter().filter_map(|k| layout::built_of_key(&k)) {
        let latest: &mut DateTime<Utc> = times.entry(day).or_insert(at);
        *latest = (*latest).max(at);
    }
    times
}

/// The marks of days changed late, by day.
pub(crate) async fn changed_marks(
    config: &Config,
) -> Result<std::collections::BTreeMap<NaiveDate, Vec<String>>, EtlError> {
    let mut marks = std::collections::BTreeMap::<NaiveDate, Vec<String>>::new();
    for key in config.raw.list_keys(layout::CHANGED_PREFIX).await? {
        if let Some(day) = layout::day_of_key(&key) {
            marks.entry(day).or_default().push(key);
        }
    }
    Ok(marks)
}

/// The days of the last week whose raw data is newer than their enriched output (or has none).
pub async fn stale_days(
    config: &Config,
    now: DateTime<Utc>,
) -> Result<BTreeSet<NaiveDate>, EtlError> {
    let today = lake::day::today(now, config.tz);
    let days =
        (0..SCHEDULED_LOOKBACK_DAYS).filter_map(|back| today.checked_sub_days(Days::new(back)));
    stale_among(config, days).await
}

/// The days of the raw data, whatever their age, that are stale as [`stale_days`] says.
pub async fn stale_raw_days(config: &Config) -> Result<BTreeSet<NaiveDate>, EtlError> {
    let keys = config.raw.list_keys(layout::TABLE_PREFIX).await?;
    let days: BTreeSet<NaiveDate> = keys
        .iter()
        .filter(|k| layout::is_raw_object(k))
        .filter_map(|k| layout::day_of_key(k))
        .collect();
    stale_among(config, days).await
}

/// Those of `days` whose raw data is newer than the listing their output was built from.
pub(crate) async fn stale_among(
    config: &Config,
    days: impl IntoIterator<Item = NaiveDate>,
) -> Result<BTreeSet<NaiveDate>, EtlError> {
    let built = &built_times(config.enriched.list_keys(layout::BUILT_PREFIX).await?);
    let checks = days.into_iter().map(|day| async move {
        let prefix = layout::day_prefix(day);
        let raw = config.raw.list(&prefix).await?;
        let built = built.get(&day).copied();
        let newest_raw = raw
            .iter()
            .filter(|o| layout::is_raw_object(&o.key))
            .map(|o| o.last_modified)
            .max();
        let margin = if config.raw.is_local() {
            TimeDelta::zero()
        } else {
            S3_CLOCK_MARGIN
        };
        Ok::<_, EtlError>(is_stale(newest_raw, built, margin).then_some(day))
    });
    let stale: Vec<Option<NaiveDate>> = futures::future::try_join_all(checks).await?;
    Ok(stale.into_iter().flatten().collect())
}

/// When the listing of a day's current output started; `None` when it has no record.
pub async fn built(config: &Config, day: NaiveDate) -> Result<Option<DateTime<Utc>>, StorageError> {
    let keys = config
        .enriched
        .list_keys(&layout::built_prefix(day))
        .await?;
    Ok(built_times(keys).get(&day).copied())
}
