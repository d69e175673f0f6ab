//! What the data says about the stack, for `status` and `up`: bodies in quarantine, days whose
//! raw updates are newer than their Parquet, and kept groups that became supergroups. The
//! buckets are read through `lake::Storage`, the Lambdas' own storage type.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use lake::{ObjectInfo, Storage, layout, update};
use serde::Serialize;

/// Updates waiting at Telegram while nothing has been stored for this long: deliveries are stuck.
pub const PENDING_GRACE: TimeDelta = TimeDelta::minutes(5);
/// A delivery error Telegram reports is news for this long.
pub const ERROR_NEWS: TimeDelta = TimeDelta::hours(24);

/// Every object under `prefix` (all pages); none when the bucket is missing.
pub async fn list_all(store: &Storage, prefix: &str) -> anyhow::Result<Vec<ObjectInfo>> {
    match store.list(prefix).await {
        Ok(objects) => Ok(objects),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// The "directories" right under `prefix`; none when the bucket is missing.
async fn list_dirs(store: &Storage, prefix: &str) -> anyhow::Result<Vec<String>> {
    match store.list_dirs(prefix).await {
        Ok(dirs) => Ok(dirs),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// The newest raw object (key and time) and the newest enriched day, over every page of days.
pub async fn freshness(
    raw: &Storage,
    enriched: &Storage,
) -> anyhow::Result<(Option<(String, DateTime<Utc>)>, Option<NaiveDate>)> {
    let table = format!("{}/", layout::TABLE_PREFIX);
    let newest_day = |store: &Storage| {
        let (store, table) = (store.clone(), table.clone());
        async move {
            let days = list_dirs(&store, &table).await?;
            anyhow::Ok(days.iter().filter_map(|p| layout::day_of_key(p)).max())
        }
    };
    let (raw_day, enriched_day) = tokio::try_join!(newest_day(raw), newest_day(enriched))?;
    let newest_raw = match raw_day {
        None => None,
        Some(day) => list_all(raw, &layout::day_prefix(day))
            .await?
            .into_iter()
            .map(|o| (o.key, o.last_modified))
            .max_by_key(|(_, t)| *t),
    };
    Ok((newest_raw, enriched_day))
}

/// A kept group that became a supergroup, as the ingest side noted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    pub from: i64,
    pub to: i64,
    /// When the ingest side noted it.
    pub seen: Option<DateTime<Utc>>,
}

/// The migrations the ingest side has seen (`chats/migrated/…` in the raw bucket: the keys say
/// it all, so one listing reads them).
pub async fn migrations(raw: &Storage) -> anyhow::Result<Vec<Migration>> {
    let listed = list_all(raw, layout::MIGRATED_PREFIX).await?;
    Ok(listed
        .into_iter()
        .filter_map(|o| {
            let (from, to) = layout::migration_of_key(&o.key)?;
            Some(Migration {
                from,
                to,
                seen: Some(o.last_modified),
            })
        })
        .collect())
}

/// The ingest side's notes of chats it heard from but does not keep (`chats/seen/…` in the raw
/// bucket); a note that cannot be read is left out.
pub async fn seen_chats(raw: &Storage) -> anyhow::Result<Vec<update::SeenChat>> {
    let mut notes = Vec::new();
    for o in list_all(raw, layout::SEEN_PREFIX).await? {
        if let Some(body) = raw.get_opt(&o.key).await?
            && let Ok(note) = serde_json::from_slice(&body)
        {
            notes.push(note);
        }
    }
    Ok(notes)
}

/// What `status` reports of the data.
#[derive(Debug, Clone, Serialize)]
pub struct DataHealth {
    /// Bodies Telegram sent that were not updates, kept under `quarantine/`.
    pub quarantined: usize,
    /// The days the next scheduled ETL run rebuilds, as the ETL itself works them out
    /// (`etl::next_scheduled`): every day marked as changed late, and the last week's days whose
    /// raw updates are newer than their Parquet.
    pub stale_days: Vec<NaiveDate>,
    pub migrations: Vec<Migration>,
    /// Chats not kept that sent the bot updates (the ingest side's notes; `tgpipe chats` names
    /// them): a kept chat that stays silent while one of these talks is a wrong `--chat-id`.
    pub chats_not_kept: usize,
}

/// The data's health, from the raw bucket (which exists) and the enriched one.
pub async fn data_health(
    raw: Storage,
    enriched: Storage,
    tz: lake::TimeZone,
    now: DateTime<Utc>,
) -> anyhow::Result<DataHealth> {
    // The ETL's own configuration: what is listed here is what its next scheduled run rebuilds,
    // found by the same code.
    let config = etl::Config { raw, enriched, tz };
    let raw = &config.raw;
    // Every listing that does not depend on another, at once.
    let (quarantined, migrations, seen, stale_days) = tokio::try_join!(
        list_all(raw, layout::QUARANTINE_PREFIX),
        migrations(raw),
        list_all(raw, layout::SEEN_PREFIX),
        async {
            match etl::next_scheduled(&config, now).await {
                Ok(days) => anyhow::Ok(days),
                // No enriched bucket: `status` names it among the resources; no day's output can
                // be judged.
                Err(etl::EtlError::Storage(e)) if e.is_not_found() => Ok(BTreeSet::new()),
                Err(e) => Err(e.into()),
            }
        },
    )?;
    Ok(DataHealth {
        quarantined: quarantined.len(),
        stale_days: stale_days
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        migrations,
        chats_not_kept: seen.len(),
    })
}

/// What is wrong with the webhook as Telegram reports it, beyond where it points: a delivery
/// error in the last day, or updates waiting while nothing has been stored for a while.
pub fn webhook_problems(
    info: &crate::telegram::WebhookInfo,
    newest_raw: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(when) = info
        .last_error_date
        .and_then(|d| DateTime::from_timestamp(d, 0))
        && now - when < ERROR_NEWS
    {
        problems.push(format!(
            "Telegram could not deliver at {}: {}",
            when.to_rfc3339(),
            info.last_error_message
                .as_deref()
                .unwrap_or("no reason given")
        ));
    }
    if info.pending_update_count > 0 && newest_raw.is_none_or(|t| now - t > PENDING_GRACE) {
        problems.push(format!(
            "{} updates wait at Telegram and nothing was stored in the last {} minutes",
            info.pending_update_count,
            PENDING_GRACE.num_minutes()
        ));
    }
    problems
}
