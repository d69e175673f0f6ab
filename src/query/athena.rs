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

pub enum Outcome<T = Finished> {
    Finished(T),
    /// Ctrl-C: the queries (their ids) were stopped on Athena.
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
    Ok(
        match run_all(client, stack, &[sql.to_owned()], step).await? {
            Outcome::Finished(mut all) => Outcome::Finished(all.remove(0)),
            Outcome::Cancelled(id) => Outcome::Cancelled(id),
        },
    )
}

/// Runs each statement in the stack's workgroup, side by side: they are started in the order
/// given, then waited for together, and the answers come back in that order. Ctrl-C stops every
/// one on Athena, and so does the failure of one (its reason is the error).
pub async fn run_all(
    client: &Client,
    stack: &Stack,
    sqls: &[String],
    step: &dyn Fn(&str),
) -> anyhow::Result<Outcome<Vec<Finished>>> {
    let workgroup = stack.workgroup();
    if crate::stack::athena::workgroup_state(client, stack).await? == State::Missing {
        bail!(
            "there is no stack {} in account {} ({}): its Athena workgroup {workgroup} does not exist; run `tgpipe up` first (or pass the --name/--region it was deployed with)",
            stack.name,
            stack.account,
            stack.region
        );
    }
    // The handler is installed before the first query starts: a Ctrl-C after that stops the
    // queries instead of killing tgpipe and leaving them running (and billed).
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    if futures::FutureExt::now_or_never(&mut interrupted).is_some() {
        return Ok(Outcome::Cancelled("none started".to_owned()));
    }
    let mut ids = Vec::with_capacity(sqls.len());
    for sql in sqls {
        match start(client, stack, sql).await {
            Ok(id) => ids.push(id),
            Err(e) => {
                stop_all(client, &ids).await;
                return Err(e);
            }
        }
    }
    step(&match ids.as_slice() {
        [id] => format!("query {id} is running on Athena (Ctrl-C stops it)"),
        _ => format!(
            "{} queries are running on Athena (Ctrl-C stops them)",
            ids.len()
        ),
    });
    let one = ids.len() == 1;
    let all = futures::future::try_join_all(ids.iter().map(|id| async move {
        let scanned = wait(client, id).await?;
        if one {
            step("fetching the results");
        }
        let answer = results(client, id).await?;
        anyhow::Ok(Finished {
            execution_id: id.clone(),
            answer,
            scanned_bytes: scanned,
        })
    }));
    tokio::select! {
        done = all => match done {
            Ok(done) => Ok(Outcome::Finished(done)),
            Err(e) => {
                stop_all(client, &ids).await;
                Err(e)
            }
        },
        _ = &mut interrupted => {
            for id in &ids {
                client
                    .stop_query_execution()
                    .query_execution_id(id)
                    .send()
                    .await
                    .aws(format!("Athena StopQueryExecution {id}"))?;
            }
            Ok(Outcome::Cancelled(ids.join(", ")))
        }
    }
}

/// Starts one query in the stack's workgroup and database; its execution id.
async fn start(client: &Client, stack: &Stack, sql: &str) -> anyhow::Result<String> {
    let workgroup = stack.workgroup();
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
    Ok(started
        .query_execution_id()
        .context("Athena StartQueryExecution returned no query id")?
        .to_owned())
}

/// Stops queries that are no longer wanted, as well as it can: the error that made them
/// unwanted is what the user needs to see, and a finished query cannot be stopped anyway.
async fn stop_all(client: &Client, ids: &[String]) {
    for id in ids {
        let _ = client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await;
    }
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
