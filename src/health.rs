//! What the data says about the stack, for `status` and `up`: bodies in quarantine, days whose
//! raw updates are newer than their Parquet, and kept groups that became supergroups.

use anyhow::Context;
use aws_sdk_s3::Client;
use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures::{StreamExt, TryStreamExt};
use lake::{layout, update};
use serde::Serialize;

use crate::aws::AwsResultExt;
use crate::stack::Stack;

/// Updates waiting at Telegram while nothing has been stored for this long: deliveries are stuck.
pub const PENDING_GRACE: TimeDelta = TimeDelta::minutes(5);
/// A delivery error Telegram reports is news for this long.
pub const ERROR_NEWS: TimeDelta = TimeDelta::hours(24);

/// One listed object.
pub struct Listed {
    pub key: String,
    pub last_modified: Option<DateTime<Utc>>,
}

/// Every object under `prefix` (all pages); none when the bucket is missing.
pub async fn list_all(s3: &Client, bucket: &str, prefix: &str) -> anyhow::Result<Vec<Listed>> {
    Ok(list_pages(s3, bucket, prefix, None).await?.0)
}

/// One listing, every page of it: the objects and, with a `delimiter`, the common prefixes;
/// nothing when the bucket is missing.
pub async fn list_pages(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
) -> anyhow::Result<(Vec<Listed>, Vec<String>)> {
    let (mut objects, mut prefixes) = (Vec::new(), Vec::new());
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_owned))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => {
                return Ok((Vec::new(), Vec::new()));
            }
            Err(e) => return Err(e).aws(format!("S3 ListObjectsV2 {bucket}/{prefix}")),
        };
        for o in page.contents() {
            objects.push(Listed {
                key: o.key().unwrap_or_default().to_owned(),
                last_modified: o
                    .last_modified()
                    .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
            });
        }
        prefixes.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
    }
    Ok((objects, prefixes))
}

/// The newest raw object (key and time) and the newest enriched day, over every page of days.
pub async fn freshness(
    s3: &Client,
    stack: &Stack,
) -> anyhow::Result<(Option<(String, DateTime<Utc>)>, Option<NaiveDate>)> {
    let table = format!("{}/", layout::TABLE_PREFIX);
    let newest_day = |bucket: String| {
        let table = table.clone();
        async move {
            let (_, days) = list_pages(s3, &bucket, &table, Some("/")).await?;
            Ok::<_, anyhow::Error>(days.iter().filter_map(|p| layout::day_of_key(p)).max())
        }
    };
    let (raw_day, enriched_day) = tokio::try_join!(
        newest_day(stack.raw_bucket()),
        newest_day(stack.enriched_bucket())
    )?;
    let newest_raw = match raw_day {
        None => None,
        Some(day) => list_all(s3, &stack.raw_bucket(), &layout::day_prefix(day))
            .await?
            .into_iter()
            .filter_map(|o| o.last_modified.map(|t| (o.key, t)))
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
pub async fn migrations(s3: &Client, stack: &Stack) -> anyhow::Result<Vec<Migration>> {
    let listed = list_all(s3, &stack.raw_bucket(), layout::MIGRATED_PREFIX).await?;
    Ok(listed
        .into_iter()
        .filter_map(|o| {
            let (from, to) = layout::migration_of_key(&o.key)?;
            Some(Migration {
                from,
                to,
                seen: o.last_modified,
            })
        })
        .collect())
}

/// The ingest side's notes of chats it heard from but does not keep (`chats/seen/…` in the raw
/// bucket); a note that cannot be read is left out.
pub async fn seen_chats(s3: &Client, stack: &Stack) -> anyhow::Result<Vec<update::SeenChat>> {
    let bucket = stack.raw_bucket();
    let mut notes = Vec::new();
    for o in list_all(s3, &bucket, layout::SEEN_PREFIX).await? {
        let body = s3
            .get_object()
            .bucket(&bucket)
            .key(&o.key)
            .send()
            .await
            .aws(format!("S3 GetObject {bucket}/{}", o.key))?
            .body
            .collect()
            .await
            .with_context(|| format!("cannot read s3://{bucket}/{}", o.key))?
            .into_bytes();
        if let Ok(note) = serde_json::from_slice(&body) {
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
    /// The days the next scheduled ETL run rebuilds (`etl::scheduled_rebuilds`): every day
    /// marked as changed late, and the last week's days whose raw updates are newer than their
    /// Parquet.
    pub stale_days: Vec<NaiveDate>,
    pub migrations: Vec<Migration>,
    /// Chats not kept that sent the bot updates (the ingest side's notes; `tgpipe chats` names
    /// them): a kept chat that stays silent while one of these talks is a wrong `--chat-id`.
    pub chats_not_kept: usize,
}

pub async fn data_health(
    s3: &Client,
    stack: &Stack,
    tz: lake::TimeZone,
    now: DateTime<Utc>,
) -> anyhow::Result<DataHealth> {
    let raw = stack.raw_bucket();
    let enriched = stack.enriched_bucket();
    // Every listing that does not depend on another, at once.
    let (quarantined, marks, built, migrations, seen) = tokio::try_join!(
        list_all(s3, &raw, layout::QUARANTINE_PREFIX),
        list_all(s3, &raw, layout::CHANGED_PREFIX),
        list_all(s3, &enriched, layout::BUILT_PREFIX),
        migrations(s3, stack),
        list_all(s3, &raw, layout::SEEN_PREFIX),
    )?;
    let lookback = etl::lookback_days(lake::day::today(now, tz));
    let marked: BTreeSet<NaiveDate> = marks
        .iter()
        .filter_map(|mark| layout::day_of_key(&mark.key))
        .collect();
    let built = etl::built_times(built.into_iter().map(|o| o.key));
    // Then the last week's raw objects, a day a listing (a marked day is rebuilt whatever
    // they say).
    let newest = futures::stream::iter(lookback.iter().copied())
        .map(|day| {
            let raw = &raw;
            async move {
                let newest = list_all(s3, raw, &layout::day_prefix(day))
                    .await?
                    .into_iter()
                    .filter(|o| layout::is_raw_object(&o.key))
                    .filter_map(|o| o.last_modified)
                    .max();
                anyhow::Ok(newest.map(|t| (day, t)))
            }
        })
        .buffered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let newest = newest.into_iter().flatten().collect();
    // The ETL's own rule: what is listed here is what its next scheduled run rebuilds.
    let stale_days =
        etl::scheduled_rebuilds(&lookback, &marked, &newest, &built, etl::S3_CLOCK_MARGIN)
            .into_iter()
            .collect();
    Ok(DataHealth {
        quarantined: quarantined.len(),
        stale_days,
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
