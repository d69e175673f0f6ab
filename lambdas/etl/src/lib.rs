//! The ETL: rebuild days of the enriched table from the raw updates.
//!
//! A day is rebuilt whole: list its raw objects (every page), fetch them concurrently, fold them
//! into one row per message, write the Parquet part(s), then remove parts left over from a larger
//! earlier output. Unreadable objects are skipped, named and counted; they never stop the day.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, Utc};
use futures::TryStreamExt;
use lake::env::{self, MissingVar};
use lake::{DayRows, Storage, StorageError, TimeZone, Update, layout, parquet_out};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many days back a scheduled run looks for stale days (today included).
pub const SCHEDULED_LOOKBACK_DAYS: u64 = 7;
/// How many skipped keys a day's summary names (all of them are in the log).
const SKIPPED_KEYS_IN_SUMMARY: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    #[error(transparent)]
    MissingVar(#[from] MissingVar),
    #[error(transparent)]
    TimeZone(#[from] lake::DayError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("writing Parquet for {day}: {source}")]
    Parquet {
        day: NaiveDate,
        source: lake::parquet_out::ParquetError,
    },
    #[error(
        "unrecognised event: expected an EventBridge scheduled event or {{\"dates\": [\"YYYY-MM-DD\", …]}}, got {0}"
    )]
    BadEvent(String),
    #[error("{failed} of {total} days failed: {first}")]
    DaysFailed {
        failed: usize,
        total: usize,
        first: String,
    },
}

pub struct Config {
    pub raw: Storage,
    pub enriched: Storage,
    pub tz: TimeZone,
}

impl Config {
    /// Reads the configuration through `var` (the process environment in the Lambda).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, EtlError> {
        Ok(Config {
            raw: Storage::open(&env::required(&var, env::RAW_BUCKET)?)?,
            enriched: Storage::open(&env::required(&var, env::ENRICHED_BUCKET)?)?,
            tz: env::time_zone(&var)?,
        })
    }
}

/// What a run was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The daily EventBridge rule: rebuild the stale days of the week before the event's `time`
    /// (so that a retried event looks at the same days), or before now when it has none.
    Scheduled(Option<DateTime<Utc>>),
    /// `{"dates": [...]}`: rebuild exactly these days.
    Dates(BTreeSet<NaiveDate>),
}

#[derive(Deserialize)]
struct DatesEvent {
    dates: Vec<String>,
}

impl Request {
    pub fn from_event(event: &Value) -> Result<Request, EtlError> {
        let bad = || {
            let mut shown = event.to_string();
            shown.truncate(200);
            EtlError::BadEvent(shown)
        };
        if event.get("dates").is_some() {
            let dates: DatesEvent = serde_json::from_value(event.clone()).map_err(|_| bad())?;
            let days = dates
                .dates
                .iter()
                .map(|d| layout::parse_day(d).ok_or_else(bad))
                .collect::<Result<BTreeSet<_>, _>>()?;
            return Ok(Request::Dates(days));
        }
        let scheduled = event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
            || event.get("source").and_then(Value::as_str) == Some("aws.events");
        if scheduled {
            let time = event
                .get("time")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            Ok(Request::Scheduled(time))
        } else {
            Err(bad())
        }
    }
}

/// What happened to one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayReport {
    pub date: NaiveDate,
    pub objects_read: usize,
    pub rows_written: usize,
    pub objects_skipped: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_keys: Vec<String>,
    pub parts: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The JSON result of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub days: Vec<DayReport>,
}

impl Summary {
    /// Fails the run (so that the invocation shows as failed and is retried) when a day failed.
    pub fn into_result(self) -> Result<Summary, EtlError> {
        let failed: Vec<&DayReport> = self.days.iter().filter(|d| d.error.is_some()).collect();
        match failed.first() {
            None => Ok(self),
            Some(first) => Err(EtlError::DaysFailed {
                failed: failed.len(),
                total: self.days.len(),
                first: format!("{}: {}", first.date, first.error.as_deref().unwrap_or("")),
            }),
        }
    }
}

/// Runs a request to completion: every day is attempted, failures are reported per day.
pub async fn run(
    config: &Config,
    request: Request,
    now: DateTime<Utc>,
) -> Result<Summary, EtlError> {
    let days = match request {
        Request::Dates(days) => days,
        Request::Scheduled(time) => stale_days(config, time.unwrap_or(now)).await?,
    };
    let mut reports = Vec::with_capacity(days.len());
    for day in days {
        let report = match rebuild_day(config, day).await {
            Ok(report) => report,
            Err(e) => {
                tracing::error!(%day, error = %e, "day failed");
                DayReport {
                    date: day,
                    objects_read: 0,
                    rows_written: 0,
                    objects_skipped: 0,
                    skipped_keys: vec![],
                    parts: 0,
                    error: Some(e.to_string()),
                }
            }
        };
        reports.push(report);
    }
    Ok(Summary { days: reports })
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

/// Those of `days` whose raw data is newer than their enriched output (or has none).
async fn stale_among(
    config: &Config,
    days: impl IntoIterator<Item = NaiveDate>,
) -> Result<BTreeSet<NaiveDate>, EtlError> {
    let checks = days.into_iter().map(|day| async move {
        let prefix = layout::day_prefix(day);
        let (raw, enriched) =
            futures::try_join!(config.raw.list(&prefix), config.enriched.list(&prefix))?;
        let newest_raw = raw
            .iter()
            .filter(|o| layout::is_raw_object(&o.key))
            .map(|o| o.last_modified)
            .max();
        let oldest_part = enriched
            .iter()
            .filter(|o| layout::is_enriched_part(&o.key))
            .map(|o| o.last_modified)
            .min();
        // Equal times count as stale: S3 keeps whole seconds, and a rebuild is harmless.
        let stale = match (newest_raw, oldest_part) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(raw), Some(part)) => raw >= part,
        };
        Ok::<_, EtlError>(stale.then_some(day))
    });
    let stale: Vec<Option<NaiveDate>> = futures::future::try_join_all(checks).await?;
    Ok(stale.into_iter().flatten().collect())
}

/// Rebuilds one day of the enriched table from its raw objects.
pub async fn rebuild_day(config: &Config, day: NaiveDate) -> Result<DayReport, EtlError> {
    let prefix = layout::day_prefix(day);
    let mut keys = config.raw.list_keys(&prefix).await?;
    keys.retain(|k| layout::is_raw_object(k));
    let objects_read = keys.len();

    let mut rows = DayRows::new();
    let mut skipped = Vec::new();
    let mut updates = config.raw.get_many(keys, |key, bytes| {
        Update::from_slice(&bytes).map_err(|e| (key, e))
    });
    while let Some(parsed) = updates.try_next().await? {
        match parsed {
            Ok(update) => rows.add(update),
            Err((key, e)) => {
                tracing::warn!(%key, error = %e, "skipped: not a readable update");
                skipped.push(key);
            }
        }
    }
    skipped.sort();
    let objects_skipped = skipped.len();
    skipped.truncate(SKIPPED_KEYS_IN_SUMMARY);

    let rows = rows.into_rows();
    let mut old_parts = config.enriched.list_keys(&prefix).await?;
    old_parts.retain(|k| layout::is_enriched_part(k));
    let mut written = BTreeSet::new();
    for (n, part) in parquet_out::parts(&rows).enumerate() {
        let bytes = parquet_out::write(part).map_err(|source| EtlError::Parquet { day, source })?;
        let key = layout::enriched_part_key(day, n);
        config.enriched.put(&key, bytes).await?;
        written.insert(key);
    }
    // Only after the new output is in place: remove what the previous output had beyond it.
    for key in old_parts.iter().filter(|k| !written.contains(*k)) {
        config.enriched.delete(key).await?;
    }
    tracing::info!(%day, objects_read, rows = rows.len(), objects_skipped, "day rebuilt");
    Ok(DayReport {
        date: day,
        objects_read,
        rows_written: rows.len(),
        objects_skipped,
        skipped_keys: skipped,
        parts: written.len(),
        error: None,
    })
}
