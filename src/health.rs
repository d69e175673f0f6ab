//! What the data says about the stack, for `status` and `up`: bodies in quarantine, days whose
//! raw updates are newer than their Parquet, and kept groups that became supergroups. The
//! buckets are read through `lake::Storage`, the Lambdas' own storage type.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use lake::{ObjectInfo, Storage, layout, update};
use serde::Serialize;

/// Updates waiting at Telegram while nothing has been stored for this long: deliveries are stuck.
pub const PENDING_GRACE: TimeDelta = TimeDelta::minutes(5);
/// A delivery error Telegram reports is news for this long (unless an update was stored since).
pub const ERROR_NEWS: TimeDelta = TimeDelta::hours(24);
/// What a day may wait for its Parquet beyond one period of the schedule: the run itself (its
/// function's timeout is 15 minutes) and EventBridge's lateness.
pub const ETL_ALLOWANCE: TimeDelta = TimeDelta::hours(1);

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
    /// (`etl::next_scheduled`): every day with raw updates and no Parquet, whatever its age,
    /// every day marked as changed late, and the last week's days whose raw updates are newer
    /// than their Parquet.
    pub stale_days: Vec<NaiveDate>,
    /// Those of them that have waited longer than one period of the schedule (and an hour):
    /// runs failed or did not come. Each is a problem until it is rebuilt.
    pub overdue_days: Vec<NaiveDate>,
    pub migrations: Vec<Migration>,
    /// Chats not kept that sent the bot updates (the ingest side's notes; `tgpipe chats` names
    /// them): a kept chat that stays silent while one of these talks is a wrong `--chat-id`.
    pub chats_not_kept: usize,
}

/// The data's health, from the raw bucket (which exists) and the enriched one; `period`: the
/// longest time between two scheduled ETL runs.
pub async fn data_health(
    raw: Storage,
    enriched: Storage,
    tz: lake::TimeZone,
    period: TimeDelta,
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
                Err(etl::EtlError::Storage(e)) if e.is_not_found() => Ok(BTreeMap::new()),
                Err(e) => Err(e.into()),
            }
        },
    )?;
    Ok(DataHealth {
        quarantined: quarantined.len(),
        overdue_days: overdue(&stale_days, period, now),
        stale_days: stale_days.into_keys().collect(),
        migrations,
        chats_not_kept: seen.len(),
    })
}

/// The days of `pending` that have waited for their Parquet longer than one `period` of the
/// schedule and [`ETL_ALLOWANCE`].
pub fn overdue(
    pending: &BTreeMap<NaiveDate, etl::Pending>,
    period: TimeDelta,
    now: DateTime<Utc>,
) -> Vec<NaiveDate> {
    pending
        .iter()
        .filter(|(_, p)| now - p.since > period + ETL_ALLOWANCE)
        .map(|(day, _)| *day)
        .collect()
}

/// What is wrong with the webhook as Telegram reports it, beyond where it points: a delivery
/// error in the last day that no stored update has come after (an older one is history: Telegram
/// retried and got through), or updates waiting while nothing has been stored for a while.
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
        && newest_raw.is_none_or(|stored| stored <= when)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours_ago: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_717_200_000 - hours_ago * 3600, 0).unwrap()
    }

    #[test]
    fn a_day_is_overdue_once_it_waited_a_period_and_the_run_s_allowance() {
        let now = at(0);
        let day = |d| NaiveDate::from_ymd_opt(2024, 5, d).unwrap();
        let pending = |since| etl::Pending {
            why: etl::Why::Unbuilt,
            since,
        };
        let days = BTreeMap::from([
            (day(1), pending(at(26))),
            (day(2), pending(at(24))),
            (day(3), pending(at(2))),
        ]);
        assert_eq!(overdue(&days, TimeDelta::days(1), now), vec![day(1)]);
        assert_eq!(
            overdue(&days, TimeDelta::hours(1), now),
            vec![day(1), day(2)]
        );
    }

    #[test]
    fn a_delivery_error_before_the_newest_stored_update_is_history() {
        let info = |error_at: DateTime<Utc>| crate::telegram::WebhookInfo {
            last_error_date: Some(error_at.timestamp()),
            last_error_message: Some("Wrong response from the webhook: 503".to_owned()),
            ..Default::default()
        };
        let now = at(0);
        // Deliveries failed at first, then got through.
        assert!(webhook_problems(&info(at(3)), Some(at(2)), now).is_empty());
        // They fail still.
        let problems = webhook_problems(&info(at(1)), Some(at(2)), now);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(webhook_problems(&info(at(1)), None, now).len() == 1);
    }
}
