//! Running the deployed ETL function on chosen days (`tgpipe etl`, `tgpipe import`): a
//! synchronous invocation per batch of days, with its per-day summary back.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use chrono::NaiveDate;

use crate::aws::{NotFound, aws_error};
use crate::stack::{Function, Stack};

/// Days one invocation rebuilds at most: as many as the scheduled run, which fits the function's
/// timeout.
pub const DAYS_PER_INVOCATION: usize = etl::SCHEDULED_LOOKBACK_DAYS as usize;
/// How long to wait for a run already under way (the function runs one at a time) before giving up.
const BUSY_WAIT: Duration = Duration::from_secs(20 * 60);
const BUSY_RETRY: Duration = Duration::from_secs(15);

/// The payload that asks the ETL function to rebuild exactly `days`.
pub fn dates_event(days: &[NaiveDate]) -> serde_json::Value {
    let dates: Vec<String> = days
        .iter()
        .map(|d| d.format(lake::layout::DAY_FORMAT).to_string())
        .collect();
    serde_json::json!({ "dates": dates })
}

/// Rebuilds `days` with the deployed ETL function, [`DAYS_PER_INVOCATION`] at a time, in order;
/// `batch` hears of each batch's summary as it comes. Days an invocation had no time for go
/// first into the next one. Stops at the first batch that fails.
pub async fn run_etl(
    client: &Client,
    stack: &Stack,
    days: &BTreeSet<NaiveDate>,
    note: &(dyn Fn(String) + Sync),
    batch: &(dyn Fn(&etl::Summary) + Sync),
) -> anyhow::Result<etl::Summary> {
    let mut queue: VecDeque<NaiveDate> = days.iter().copied().collect();
    let mut all = etl::Summary::default();
    while !queue.is_empty() {
        let chunk: Vec<NaiveDate> = queue
            .drain(..DAYS_PER_INVOCATION.min(queue.len()))
            .collect();
        let summary = match invoke(client, stack, &chunk, note).await {
            Ok(summary) => summary,
            Err(e) => return Err(with_unsent(e, &queue)),
        };
        batch(&summary);
        if summary.remaining.len() == chunk.len() {
            bail!(
                "the ETL function had no time to rebuild {}: raise its timeout (the stack sets 15 minutes) and run `tgpipe etl` again",
                days_label(&chunk)
            );
        }
        for day in summary.remaining.iter().rev() {
            queue.push_front(*day);
        }
        let failed = summary.days.iter().any(|d| d.error.is_some());
        all.days.extend(summary.days);
        if failed {
            all.remaining = queue.into_iter().collect();
            break;
        }
    }
    Ok(all)
}

/// A failed invocation's error, naming the days after it that were not sent.
fn with_unsent(e: anyhow::Error, unsent: &VecDeque<NaiveDate>) -> anyhow::Error {
    match (unsent.front(), unsent.back()) {
        (Some(first), Some(last)) => e.context(format!(
            "{} later days were not sent ({first} to {last}): once this is fixed, `tgpipe etl --from {first} --to {last}`",
            unsent.len()
        )),
        _ => e,
    }
}

/// One synchronous invocation; waits out a run already under way.
async fn invoke(
    client: &Client,
    stack: &Stack,
    days: &[NaiveDate],
    note: &(dyn Fn(String) + Sync),
) -> anyhow::Result<etl::Summary> {
    let name = stack.function(Function::Etl);
    let payload = serde_json::to_vec(&dates_event(days))?;
    let started = std::time::Instant::now();
    let out = loop {
        let sent = client
            .invoke()
            .function_name(&name)
            .payload(Blob::new(payload.clone()))
            .send()
            .await;
        match sent {
            Ok(out) => break out,
            // Reserved concurrency 1: a scheduled run is under way.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_too_many_requests_exception())
                    && started.elapsed() < BUSY_WAIT =>
            {
                note(format!(
                    "{name} is busy with another run; trying again in {} s",
                    BUSY_RETRY.as_secs()
                ));
                tokio::time::sleep(BUSY_RETRY).await;
            }
            Err(e) if e.is_not_found() => {
                bail!(
                    "stack {} has no ETL function ({name}): run `tgpipe up` first",
                    stack.name
                )
            }
            Err(e) => return Err(aws_error(format!("Lambda Invoke {name}"), e)),
        }
    };
    let body = out.payload().map(|p| p.as_ref()).unwrap_or_default();
    let text = String::from_utf8_lossy(body);
    if out.function_error().is_some() {
        // The function's own error: {"errorType": …, "errorMessage": …}.
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(500).collect());
        bail!(
            "the ETL function failed on {}: {message} (`tgpipe logs etl` says more)",
            days_label(days)
        );
    }
    serde_json::from_slice(body).with_context(|| {
        format!(
            "the ETL function answered something that is not a summary: {}",
            text.chars().take(200).collect::<String>()
        )
    })
}

fn days_label(days: &[NaiveDate]) -> String {
    match (days.first(), days.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}..{b}"),
        (Some(a), _) => a.to_string(),
        _ => "no day".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_is_the_one_the_etl_function_reads() {
        let days = [
            NaiveDate::from_ymd_opt(2024, 5, 1).unwrap(),
            NaiveDate::from_ymd_opt(2024, 5, 3).unwrap(),
        ];
        let event = dates_event(&days);
        assert_eq!(
            etl::Request::from_event(&event).unwrap(),
            etl::Request::Dates(days.into_iter().collect())
        );
    }
}
