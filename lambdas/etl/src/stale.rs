//! What is stale: each day's record of the listing its output was built from, the marks of days
//! changed late, and which days must be rebuilt.

use std::collections::{BTreeMap, BTreeSet};

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

/// What a scheduled run at `now` rebuilds: the days marked as changed late and the stale days
/// of the last week. `tgpipe status` asks this very function, so that what it lists is what the
/// next run rebuilds.
pub async fn next_scheduled(
    config: &Config,
    now: DateTime<Utc>,
) -> Result<BTreeSet<NaiveDate>, EtlError> {
    let marked = changed_marks(config).await?.into_keys().collect();
    scheduled_days(config, &marked, now).await
}

/// The days a scheduled run looks at besides the marked ones: the last week's, in the zone.
pub fn lookback_days(today: NaiveDate) -> BTreeSet<NaiveDate> {
    (0..SCHEDULED_LOOKBACK_DAYS)
        .filter_map(|back| today.checked_sub_days(Days::new(back)))
        .collect()
}

/// The days a scheduled run rebuilds: every day marked as changed late, and each day of
/// `lookback` whose newest raw object (`newest_raw`, by day) is newer than the listing its
/// output was built from (`built`). The one rule both the ETL and `tgpipe status` follow, so
/// that what `status` says the next run rebuilds is what it rebuilds.
pub fn scheduled_rebuilds(
    lookback: &BTreeSet<NaiveDate>,
    marked: &BTreeSet<NaiveDate>,
    newest_raw: &BTreeMap<NaiveDate, DateTime<Utc>>,
    built: &BTreeMap<NaiveDate, DateTime<Utc>>,
    margin: TimeDelta,
) -> BTreeSet<NaiveDate> {
    let stale = lookback.iter().copied().filter(|day| {
        is_stale(
            newest_raw.get(day).copied(),
            built.get(day).copied(),
            margin,
        )
    });
    marked.iter().copied().chain(stale).collect()
}

/// What a scheduled run at `now` rebuilds, given the days marked as changed late.
pub async fn scheduled_days(
    config: &Config,
    marked: &BTreeSet<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<NaiveDate>, EtlError> {
    let lookback = lookback_days(lake::day::today(now, config.tz));
    let built = built_times(config.enriched.list_keys(layout::BUILT_PREFIX).await?);
    let newest = newest_raw(config, &lookback).await?;
    Ok(scheduled_rebuilds(
        &lookback,
        marked,
        &newest,
        &built,
        clock_margin(config),
    ))
}

/// How far the store's clock may be off from the listing's: nothing for a local directory.
fn clock_margin(config: &Config) -> TimeDelta {
    if config.raw.is_local() {
        TimeDelta::zero()
    } else {
        S3_CLOCK_MARGIN
    }
}

/// Each day's newest raw object, for the days that have one.
async fn newest_raw(
    config: &Config,
    days: &BTreeSet<NaiveDate>,
) -> Result<BTreeMap<NaiveDate, DateTime<Utc>>, EtlError> {
    let listed = days.iter().map(|&day| async move {
        let raw = config.raw.list(&layout::day_prefix(day)).await?;
        let newest = raw
            .iter()
            .filter(|o| layout::is_raw_object(&o.key))
            .map(|o| o.last_modified)
            .max();
        Ok::<_, EtlError>(newest.map(|t| (day, t)))
    });
    let newest = futures::future::try_join_all(listed).await?;
    Ok(newest.into_iter().flatten().collect())
}

/// The days of the raw data, whatever their age, that are stale as a scheduled run judges a day of its last week.
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
    let days: BTreeSet<NaiveDate> = days.into_iter().collect();
    let built = built_times(config.enriched.list_keys(layout::BUILT_PREFIX).await?);
    let newest = newest_raw(config, &days).await?;
    Ok(scheduled_rebuilds(
        &days,
        &BTreeSet::new(),
        &newest,
        &built,
        clock_margin(config),
    ))
}

/// When the listing of a day's current output started; `None` when it has no record.
pub async fn built(config: &Config, day: NaiveDate) -> Result<Option<DateTime<Utc>>, StorageError> {
    let keys = config
        .enriched
        .list_keys(&layout::built_prefix(day))
        .await?;
    Ok(built_times(keys).get(&day).copied())
}
