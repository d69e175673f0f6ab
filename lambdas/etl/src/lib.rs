//! The ETL: rebuild days of the enriched table from the raw updates.
//!
//! A day is rebuilt whole: list its raw objects (every page), fetch them concurrently, fold them
//! into one row per message, write the Parquet part(s), then remove parts left over from a larger
//! earlier output. Unreadable objects are skipped, named and counted; they never stop the day.
//!
//! A day's output is recorded with the time its listing started (`etl/built/…`): raw objects
//! stored after that time make the day stale again, so an update that arrives during a run is
//! never left out for good. A scheduled run rebuilds the stale days of the last week, every
//! older day the ingest side marked as changed (`changed/…`) and every day of any age that has
//! raw updates and no output (the week's first, then the oldest), as many as its time allows.
//! No two runs overlap: the function's concurrency is 1, and each run also holds a lease object
//! (taken with S3's conditional write) for accounts where no concurrency can be reserved.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures::TryStreamExt;
use lake::env::{self, MissingVar};
use lake::{DayRows, Storage, StorageError, TimeZone, Update, layout, parquet_out};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod lease;
mod stale;

use lease::take_lease;
pub use stale::{
    Built, Listings, Pending, Why, built, built_times, in_run_order, is_stale, lookback_days,
    next_scheduled, raw_days, scheduled_days, scheduled_rebuilds, stale_raw_days,
};
use stale::{changed_marks, first_marks};

/// How many days back a scheduled run lists every object to find stale days (today included);
/// older days are rebuilt when they have no output or carry a mark.
pub const SCHEDULED_LOOKBACK_DAYS: u64 = 7;
/// How many skipped keys a day's summary names (all of them are in the log).
const SKIPPED_KEYS_IN_SUMMARY: usize = 20;
/// How far S3's clock (which keeps whole seconds) may be from ours: a raw object this close
/// before a listing started still makes the day stale (one rebuild too many at worst). A local
/// directory shares our clock and keeps fractions of a second: no margin there.
pub const S3_CLOCK_MARGIN: TimeDelta = TimeDelta::seconds(5);
/// How long a run's lease holds: the function's timeout, and a margin. A lease older than this
/// was left by a run that died, and is taken over.
pub const LEASE_TTL: TimeDelta = TimeDelta::minutes(16);

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
    #[error(
        "another ETL run holds the lease since {since} (until {until} at the latest); this run is retried later"
    )]
    LeaseHeld { since: String, until: String },
}

impl EtlError {
    /// A name for the error that a person can search the logs for (Lambda's `errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            EtlError::MissingVar(_) => "tgpipe.etl.MissingVariable",
            EtlError::TimeZone(_) => "tgpipe.etl.UnknownTimeZone",
            EtlError::Storage(_) => "tgpipe.etl.StorageFailed",
            EtlError::Parquet { .. } => "tgpipe.etl.ParquetFailed",
            EtlError::BadEvent(_) => "tgpipe.etl.UnrecognisedEvent",
            EtlError::DaysFailed { .. } => "tgpipe.etl.DaysFailed",
            EtlError::LeaseHeld { .. } => "tgpipe.etl.RunInProgress",
        }
    }
}

impl From<EtlError> for lambda_runtime::Diagnostic {
    fn from(e: EtlError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
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
            // At most 200 bytes of the event, cut at a character boundary.
            let shown = event.to_string();
            let end = (0..=shown.len().min(200))
                .rev()
                .find(|&i| shown.is_char_boundary(i))
                .unwrap_or(0);
            EtlError::BadEvent(shown[..end].to_owned())
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub days: Vec<DayReport>,
    /// The days the run had no time left for, in the order it would have taken them: they stay
    /// stale (or unbuilt, or marked), so the next run takes them; none is skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remaining: Vec<NaiveDate>,
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

impl Summary {
    /// The run's embedded-format metric line (see `lake::metrics`), for `function`.
    pub fn metric(&self, function: &str, now: DateTime<Utc>) -> String {
        use lake::metrics::{FUNCTION, etl, line};
        let failed = self.days.iter().filter(|d| d.error.is_some()).count();
        let rebuilt = self.days.len() - failed;
        let succeeded = if failed == 0 { 1.0 } else { 0.0 };
        line(
            now,
            &[(FUNCTION, function.to_owned())],
            &[
                (etl::REBUILT, rebuilt as f64),
                (etl::FAILED, failed as f64),
                (etl::REMAINING, self.remaining.len() as f64),
                (etl::SUCCEEDED, succeeded),
            ],
        )
    }
}

/// Runs a request to completion under the lease: every day is attempted, failures are reported
/// per day. A scheduled run takes the stale days of the week and the days marked as changed.
pub async fn run(
    config: &Config,
    request: Request,
    now: DateTime<Utc>,
) -> Result<Summary, EtlError> {
    run_until(config, request, now, None).await
}

/// [`run`], starting no day once the time left before `deadline` (the function's own) is too
/// short for one; the days left are in the summary's `remaining`. A scheduled run takes the
/// week's days first, then older ones oldest first ([`in_run_order`]).
pub async fn run_until(
    config: &Config,
    request: Request,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<Summary, EtlError> {
    take_lease(config).await?;
    let result = run_leased(config, request, now, deadline).await;
    // A lease left behind (a failed delete) only delays the next run until it expires.
    if let Err(e) = config.enriched.delete(layout::LEASE_KEY).await {
        tracing::warn!(error = %e, "could not release the lease");
    }
    result
}

async fn run_leased(
    config: &Config,
    request: Request,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<Summary, EtlError> {
    // Marks are listed before any day is: a mark seen here was written after its update, so the
    // day's listing that follows holds that update, and deleting the mark loses nothing.
    let marks = changed_marks(config).await?;
    let days: Vec<NaiveDate> = match request {
        Request::Dates(days) => days.into_iter().collect(),
        Request::Scheduled(time) => {
            let time = time.unwrap_or(now);
            let days = scheduled_days(config, &first_marks(&marks), time).await?;
            let week = lookback_days(lake::day::today(time, config.tz));
            in_run_order(days.into_keys().collect(), &week)
        }
    };
    let mut reports = Vec::with_capacity(days.len());
    let mut remaining = Vec::new();
    let mut longest = TimeDelta::zero();
    let mut days = days.into_iter();
    while let Some(day) = days.next() {
        if let Some(deadline) = deadline
            && !time_for_a_day(Utc::now(), deadline, longest)
        {
            remaining = std::iter::once(day).chain(days).collect();
            tracing::warn!(
                remaining = remaining.len(),
                first = %day,
                "out of time: the next run rebuilds the days left"
            );
            break;
        }
        let started = Utc::now();
        let report = match rebuild_day(config, day).await {
            Ok(report) => {
                for mark in marks.get(&day).into_iter().flatten().map(|m| &m.key) {
                    // A mark left behind only makes the day rebuilt once more.
                    if let Err(e) = config.raw.delete(mark).await {
                        tracing::warn!(%mark, error = %e, "could not delete the mark");
                    }
                }
                report
            }
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
        longest = longest.max(Utc::now() - started);
        reports.push(report);
    }
    Ok(Summary {
        days: reports,
        remaining,
    })
}

/// The least time a run keeps in hand to start one more day, and how many times the longest
/// day so far it keeps (a day's size says little of the next one's).
const DAY_RESERVE: TimeDelta = TimeDelta::seconds(60);
const LONGEST_DAY_FACTOR: i32 = 2;

/// Whether a day can start at `now`: the time left before `deadline` covers the reserve and
/// twice the longest day so far.
pub fn time_for_a_day(now: DateTime<Utc>, deadline: DateTime<Utc>, longest: TimeDelta) -> bool {
    deadline - now >= DAY_RESERVE.max(longest * LONGEST_DAY_FACTOR)
}

/// Rebuilds one day of the enriched table from its raw objects.
pub async fn rebuild_day(config: &Config, day: NaiveDate) -> Result<DayReport, EtlError> {
    let prefix = layout::day_prefix(day);
    // By the raw store's own clock, which stamps the objects this is compared with.
    let listing_started = config.raw.now().await?;
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
    // Last: a run that dies before this leaves the day stale, and the next one rebuilds it.
    let old_records = config
        .enriched
        .list_keys(&layout::built_prefix(day))
        .await?;
    let record = Built {
        listing_started,
        objects_read,
        rows_written: rows.len(),
    };
    let key = layout::built_key(day, listing_started);
    let body = serde_json::to_vec(&record).unwrap_or_default();
    config.enriched.put(&key, body.into()).await?;
    for old in old_records.iter().filter(|k| **k != key) {
        config.enriched.delete(old).await?;
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
