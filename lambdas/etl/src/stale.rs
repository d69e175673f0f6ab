//! What is stale: each day's record of the listing its output was built from, the marks of days
//! changed late, and which days must be rebuilt.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use lake::{ObjectInfo, StorageError, TimeZone, layout};
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
) -> Result<BTreeMap<NaiveDate, Vec<ObjectInfo>>, EtlError> {
    let mut marks = BTreeMap::<NaiveDate, Vec<ObjectInfo>>::new();
    for mark in config.raw.list(layout::CHANGED_PREFIX).await? {
        if let Some(day) = layout::day_of_key(&mark.key) {
            marks.entry(day).or_default().push(mark);
        }
    }
    Ok(marks)
}

/// Each marked day and when its first mark was written.
pub(crate) fn first_marks(
    marks: &BTreeMap<NaiveDate, Vec<ObjectInfo>>,
) -> BTreeMap<NaiveDate, DateTime<Utc>> {
    marks
        .iter()
        .filter_map(|(day, marks)| Some((*day, marks.iter().map(|m| m.last_modified).min()?)))
        .collect()
}

/// Why a scheduled run rebuilds a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// It has raw updates and no output at all.
    Unbuilt,
    /// The ingest side marked it as changed after its output was built.
    Marked,
    /// A day of the last week with raw updates newer than the listing its output was built from.
    Newer,
}

/// A day the next scheduled run rebuilds: why, and since when it has waited for its output (for
/// a day without output, the day's end; else the first update its output lacks, as far as the
/// listings tell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub why: Why,
    pub since: DateTime<Utc>,
}

/// What a scheduled run at `now` rebuilds: the days marked as changed late, the stale days of
/// the last week, and every day that has raw updates and no output at all, whatever its age.
/// `tgpipe status` asks this very function, so that what it lists is what the next run rebuilds.
pub async fn next_scheduled(
    config: &Config,
    now: DateTime<Utc>,
) -> Result<BTreeMap<NaiveDate, Pending>, EtlError> {
    let marks = changed_marks(config).await?;
    scheduled_days(config, &first_marks(&marks), now).await
}

/// The days a scheduled run lists object by object: the last week's, in the zone.
pub fn lookback_days(today: NaiveDate) -> BTreeSet<NaiveDate> {
    (0..SCHEDULED_LOOKBACK_DAYS)
        .filter_map(|back| today.checked_sub_days(Days::new(back)))
        .collect()
}

/// What a scheduled run looks at: the last week's days, the marked ones (with their first
/// mark's time) and every day that has raw updates, with when each raw object of the last
/// week's days was stored and the start of the listing each day's output was built from.
pub struct Listings {
    pub lookback: BTreeSet<NaiveDate>,
    pub marked: BTreeMap<NaiveDate, DateTime<Utc>>,
    pub raw_days: BTreeSet<NaiveDate>,
    pub raw_times: BTreeMap<NaiveDate, Vec<DateTime<Utc>>>,
    pub built: BTreeMap<NaiveDate, DateTime<Utc>>,
}

/// The days a scheduled run rebuilds: every day marked as changed late; every day that has raw
/// updates and no recorded output, whatever its age, so that days a failing ETL, an import
/// without its ETL or a long schedule left behind are never dropped; and each day of the last
/// week whose newest raw object is newer than the listing its output was built from (`margin`:
/// how far the store's clock may be off). Older days need no listing of their objects: an
/// update stored for one of them after it was built leaves a mark. The one rule both the ETL
/// and `tgpipe status` follow, so that what `status` says the next run rebuilds is what it does.
pub fn scheduled_rebuilds(
    seen: &Listings,
    tz: TimeZone,
    margin: TimeDelta,
) -> BTreeMap<NaiveDate, Pending> {
    let mut pending = BTreeMap::new();
    let mut add = |day: NaiveDate, why: Why, since: DateTime<Utc>| {
        let entry = pending.entry(day).or_insert(Pending { why, since });
        if since < entry.since {
            *entry = Pending { why, since };
        }
    };
    for (&day, times) in &seen.raw_times {
        let Some(&built) = seen
            .built
            .get(&day)
            .filter(|_| seen.lookback.contains(&day))
        else {
            continue;
        };
        // It waits since the first update its output may lack.
        let first_missed = times
            .iter()
            .copied()
            .filter(|t| is_stale(Some(*t), Some(built), margin))
            .min();
        if let Some(since) = first_missed {
            add(day, Why::Newer, since);
        }
    }
    for (&day, &since) in &seen.marked {
        add(day, Why::Marked, since);
    }
    for &day in seen.raw_days.iter().filter(|d| !seen.built.contains_key(d)) {
        add(day, Why::Unbuilt, lake::day::end_of(day, tz));
    }
    pending
}

/// What a scheduled run at `now` rebuilds, given the days marked as changed late.
pub async fn scheduled_days(
    config: &Config,
    marked: &BTreeMap<NaiveDate, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<BTreeMap<NaiveDate, Pending>, EtlError> {
    let lookback = lookback_days(lake::day::today(now, config.tz));
    let (built, raw_days, raw_times) = futures::try_join!(
        async {
            let keys = config.enriched.list_keys(layout::BUILT_PREFIX).await?;
            Ok::<_, EtlError>(built_times(keys))
        },
        raw_days(config),
        raw_times(config, &lookback),
    )?;
    let seen = Listings {
        lookback,
        marked: marked.clone(),
        raw_days,
        raw_times,
        built,
    };
    Ok(scheduled_rebuilds(&seen, config.tz, clock_margin(config)))
}

/// The days that have raw updates, whatever their age: one listing of the table's day folders
/// (a page per thousand days), not of their objects.
pub async fn raw_days(config: &Config) -> Result<BTreeSet<NaiveDate>, EtlError> {
    let table = format!("{}/", layout::TABLE_PREFIX);
    let dirs = config.raw.list_dirs(&table).await?;
    Ok(dirs.iter().filter_map(|d| layout::day_of_key(d)).collect())
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
async fn raw_times(
    config: &Config,
    days: &BTreeSet<NaiveDate>,
) -> Result<BTreeMap<NaiveDate, Vec<DateTime<Utc>>>, EtlError> {
    let listed = days.iter().map(|&day| async move {
        let raw = config.raw.list(&layout::day_prefix(day)).await?;
        let times: Vec<DateTime<Utc>> = raw
            .iter()
            .filter(|o| layout::is_raw_object(&o.key))
            .map(|o| o.last_modified)
            .collect();
        Ok::<_, EtlError>((!times.is_empty()).then_some((day, times)))
    });
    let times = futures::future::try_join_all(listed).await?;
    Ok(times.into_iter().flatten().collect())
}

/// The order a scheduled run takes `days` in: the last week's first (a day of the week that is
/// built and unmarked is found only while it is in the week, so a long backlog must not push it
/// out), then the older ones, oldest first, so that a backlog drains from its start.
pub fn in_run_order(days: BTreeSet<NaiveDate>, lookback: &BTreeSet<NaiveDate>) -> Vec<NaiveDate> {
    let (recent, older): (Vec<NaiveDate>, Vec<NaiveDate>) =
        days.into_iter().partition(|d| lookback.contains(d));
    recent.into_iter().chain(older).collect()
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

/// Those of `days` whose raw data is newer than the listing their output was built from, or
/// that have raw data and no output.
pub(crate) async fn stale_among(
    config: &Config,
    days: impl IntoIterator<Item = NaiveDate>,
) -> Result<BTreeSet<NaiveDate>, EtlError> {
    let days: BTreeSet<NaiveDate> = days.into_iter().collect();
    let built = built_times(config.enriched.list_keys(layout::BUILT_PREFIX).await?);
    let raw_times = raw_times(config, &days).await?;
    let seen = Listings {
        raw_days: raw_times.keys().copied().collect(),
        lookback: days,
        marked: BTreeMap::new(),
        raw_times,
        built,
    };
    Ok(scheduled_rebuilds(&seen, config.tz, clock_margin(config))
        .into_keys()
        .collect())
}

/// When the listing of a day's current output started; `None` when it has no record.
pub async fn built(config: &Config, day: NaiveDate) -> Result<Option<DateTime<Utc>>, StorageError> {
    let keys = config
        .enriched
        .list_keys(&layout::built_prefix(day))
        .await?;
    Ok(built_times(keys).get(&day).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 5, n).unwrap()
    }

    fn at(d: u32, hour: u32) -> DateTime<Utc> {
        day(d).and_hms_opt(hour, 0, 0).unwrap().and_utc()
    }

    #[test]
    fn a_scheduled_run_takes_unbuilt_days_of_any_age_marked_days_and_the_week_s_newer_ones() {
        let seen = Listings {
            lookback: (24..=30).map(day).collect(),
            marked: BTreeMap::from([(day(3), at(29, 8))]),
            // 1: no output, long ago. 2: built, unmarked, long ago. 3: built and marked since.
            // 25: built before its newest update. 26: built after. 30: today, not built yet.
            raw_days: [1, 2, 3, 25, 26, 30].into_iter().map(day).collect(),
            raw_times: BTreeMap::from([
                (day(25), vec![at(25, 21), at(25, 23), at(25, 22)]),
                (day(26), vec![at(26, 23)]),
                (day(30), vec![at(30, 9)]),
            ]),
            built: BTreeMap::from([
                (day(2), at(3, 1)),
                (day(3), at(4, 1)),
                (day(25), at(25, 22)),
                (day(26), at(27, 1)),
            ]),
        };
        let pending = scheduled_rebuilds(&seen, chrono_tz::UTC, TimeDelta::zero());
        let expected = BTreeMap::from([
            (
                day(1),
                Pending {
                    why: Why::Unbuilt,
                    since: at(2, 0),
                },
            ),
            (
                day(3),
                Pending {
                    why: Why::Marked,
                    since: at(29, 8),
                },
            ),
            (
                day(25),
                // Built at 22:00: it waits since the first update stored from then on.
                Pending {
                    why: Why::Newer,
                    since: at(25, 22),
                },
            ),
            (
                day(30),
                Pending {
                    why: Why::Unbuilt,
                    since: at(31, 0),
                },
            ),
        ]);
        assert_eq!(pending, expected);
    }

    #[test]
    fn a_day_with_several_reasons_waits_since_the_earliest() {
        let seen = Listings {
            lookback: BTreeSet::from([day(25)]),
            marked: BTreeMap::from([(day(25), at(26, 5))]),
            raw_days: BTreeSet::from([day(25)]),
            raw_times: BTreeMap::from([(day(25), vec![at(25, 23)])]),
            built: BTreeMap::from([(day(25), at(25, 22))]),
        };
        let pending = scheduled_rebuilds(&seen, chrono_tz::UTC, TimeDelta::zero());
        assert_eq!(
            pending[&day(25)],
            Pending {
                why: Why::Newer,
                since: at(25, 23)
            }
        );
    }
}

#[cfg(test)]
mod order {
    use super::*;

    #[test]
    fn the_week_goes_first_then_the_backlog_oldest_first() {
        let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
        let lookback = lookback_days(day(6, 1));
        let days = BTreeSet::from([day(1, 1), day(5, 31), day(3, 1), day(6, 1), day(5, 20)]);
        assert_eq!(
            in_run_order(days, &lookback),
            vec![day(5, 31), day(6, 1), day(1, 1), day(3, 1), day(5, 20)]
        );
    }
}
