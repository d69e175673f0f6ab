//! Running a query on the stack's Athena workgroup: start it, wait (Ctrl-C stops it on Athena
//! too), page through every result row, and tell the data scanned and what it cost.

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_athena::Client;
use aws_sdk_athena::types::{ColumnInfo, QueryExecutionContext, QueryExecutionState, Row};

use super::output::{Answer, Cell};
use crate::aws::AwsResultExt;
use crate::plan::State;
use crate::stack::Stack;

/// Athena's price: USD per TB (2^40 bytes) scanned, with at least 10 MB counted per query.
pub const USD_PER_TB: f64 = 5.0;
const MIN_BILLED_BYTES: i64 = 10 * 1024 * 1024;
/// The most rows one GetQueryResults page holds.
const PAGE_ROWS: i32 = 1000;

pub struct Finished {
    pub execution_id: String,
    pub answer: Answer,
    pub scanned_bytes: i64,
}

pub enum Outcome {
    Finished(Finished),
    /// Ctrl-C: the query was stopped on Athena.
    Cancelled(String),
}

/// What a query scanned, as Athena bills it.
pub fn cost_usd(scanned_bytes: i64) -> f64 {
    // Billing rounds up to whole megabytes, with a 10 MB minimum.
    let mb = 1024 * 1024;
    let billed = ((scanned_bytes.max(0) + mb - 1) / mb * mb).max(MIN_BILLED_BYTES);
    billed as f64 / (1u64 << 40) as f64 * USD_PER_TB
}

/// Runs `sql` in the stack's workgroup and database; `step` hears what is under way.
pub async fn run(
    client: &Client,
    stack: &Stack,
    sql: &str,
    step: &dyn Fn(&str),
) -> anyhow::Result<Outcome> {
    let workgroup = stack.workgroup();
    if crate::stack::athena::workgroup_state(client, stack).await? == State::Missing {
        bail!(
            "there is no stack {} in account {} ({}): its Athena workgroup {workgroup} does not exist; run `tgpipe up` first (or pass the --name/--region it was deployed with)",
            stack.name,
            stack.account,
            stack.region
        );
    }
    let started = client
        .start_query_execution()
        .query_string(sql)
        .work_group(&workgroup)
        .query_execution_context(
            QueryExecutionContext::builder()
                .catalog("AwsDataCatalog")
                .database(stack.glue_database())
                .build(),
        )
        .send()
        .await
        .aws(format!(
            "Athena StartQueryExecution in workgroup {workgroup}"
        ))?;
    let id = started
        .query_execution_id()
        .context("Athena StartQueryExecution returned no query id")?
        .to_owned();
    // The handler is installed on the first poll: before the line that invites Ctrl-C, or a
    // Ctrl-C right after it would kill tgpipe and leave the query running (and billed).
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let early = futures::FutureExt::now_or_never(&mut interrupted).is_some();
    step(&format!(
        "query {id} is running on Athena (Ctrl-C stops it)"
    ));

    let scanned = tokio::select! {
        done = wait(client, &id), if !early => done?,
        _ = async { if !early { (&mut interrupted).await.ok(); } } => {
            client
                .stop_query_execution()
                .query_execution_id(&id)
                .send()
                .await
                .aws(format!("Athena StopQueryExecution {id}"))?;
            return Ok(Outcome::Cancelled(id));
        }
    };
    step("fetching the results");
    let answer = results(client, &id).await?;
    Ok(Outcome::Finished(Finished {
        execution_id: id,
        answer,
        scanned_bytes: scanned,
    }))
}

/// Waits for the query to end; its bytes scanned, or Athena's reason for failing.
async fn wait(client: &Client, id: &str) -> anyhow::Result<i64> {
    let mut pause = Duration::from_millis(100);
    loop {
        let out = client
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .aws(format!("Athena GetQueryExecution {id}"))?;
        let execution = out
            .query_execution()
            .context("Athena GetQueryExecution returned no execution")?;
        let status = execution.status();
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => {
                return Ok(execution
                    .statistics()
                    .and_then(|s| s.data_scanned_in_bytes())
                    .unwrap_or(0));
            }
            Some(QueryExecutionState::Failed) => {
                let reason = status
                    .and_then(|s| s.athena_error().and_then(|e| e.error_message()))
                    .or_else(|| status.and_then(|s| s.state_change_reason()))
                    .unwrap_or("no reason given");
                bail!("the query failed on Athena: {reason}");
            }
            Some(QueryExecutionState::Cancelled) => {
                bail!("the query {id} was cancelled on Athena (by someone else)")
            }
            _ => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Every row of the result, page by page.
async fn results(client: &Client, id: &str) -> anyhow::Result<Answer> {
    let mut columns: Vec<ColumnInfo> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_query_results()
            .query_execution_id(id)
            .max_results(PAGE_ROWS)
            .set_next_token(token.take())
            .send()
            .await
            .aws(format!("Athena GetQueryResults {id}"))?;
        if let Some(set) = page.result_set() {
            if columns.is_empty() {
                columns = set
                    .result_set_metadata()
                    .map(|m| m.column_info().to_vec())
                    .unwrap_or_default();
            }
            rows.extend(set.rows().iter().cloned());
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(to_answer(&columns, &rows))
}

/// Athena sends every value as text, with the column's SQL type beside it; a SELECT's first
/// row repeats the column names.
fn to_answer(columns: &[ColumnInfo], rows: &[Row]) -> Answer {
    let names: Vec<String> = columns.iter().map(|c| c.name().to_owned()).collect();
    let texts = |row: &Row| -> Vec<Option<String>> {
        row.data()
            .iter()
            .map(|d| d.var_char_value().map(str::to_owned))
            .collect()
    };
    let header: Vec<Option<String>> = names.iter().cloned().map(Some).collect();
    let skip = usize::from(rows.first().is_some_and(|r| texts(r) == header));
    let rows = rows[skip..]
        .iter()
        .map(|row| {
            let values = texts(row);
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| typed(values.get(i).cloned().flatten(), c.r#type()))
                .collect()
        })
        .collect();
    Answer {
        columns: names,
        rows,
    }
}

fn typed(value: Option<String>, sql_type: &str) -> Cell {
    let Some(text) = value else {
        return Cell::Null;
    };
    let parsed = match sql_type.to_ascii_lowercase().as_str() {
        "tinyint" | "smallint" | "integer" | "int" | "bigint" => text.parse().ok().map(Cell::Int),
        "double" | "real" | "float" => text.parse().ok().map(Cell::Float),
        "boolean" => text.parse().ok().map(Cell::Bool),
        _ => None,
    };
    parsed.unwrap_or(Cell::Text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_counts_whole_megabytes_and_at_least_ten() {
        let ten_mb = 10.0 * 1024.0 * 1024.0 / (1u64 << 40) as f64 * USD_PER_TB;
        assert_eq!(cost_usd(0), ten_mb);
        assert_eq!(cost_usd(1), ten_mb);
        assert_eq!(cost_usd(1 << 40), USD_PER_TB);
        assert_eq!(
            cost_usd((1 << 40) + 1),
            USD_PER_TB + 1024.0 * 1024.0 / (1u64 << 40) as f64 * USD_PER_TB
        );
    }
}
