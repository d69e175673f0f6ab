//! Where the data is: a local lake (a directory laid out as local mode keeps it) or the stack's
//! buckets, behind one type that knows its time zone, runs SQL and rebuilds days. `query`,
//! `report`, `etl` and `import` open a [`Lake`] once and never branch on `--local` again.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::NaiveDate;
use lake::day::TimeZone;

use crate::connection::Ctx;
use crate::import::pipeline::Target;
use crate::query::athena::Outcome;
use crate::query::output::Answer;

pub enum Lake {
    /// A local lake: its directory.
    Local(PathBuf),
    /// The stack's buckets, queried on Athena and rebuilt by its ETL function.
    Stack(Box<Ctx>),
}

/// What a run of statements gave, in their order.
pub struct Ran {
    pub answers: Vec<Answer>,
    /// What Athena scanned for each (nothing on a local lake, which costs nothing).
    pub scanned: Option<Vec<i64>>,
    /// Athena's query ids.
    pub ids: Vec<String>,
}

impl Ran {
    /// What Athena scanned for all of them.
    pub fn scanned_total(&self) -> Option<i64> {
        self.scanned.as_ref().map(|s| s.iter().sum())
    }
}

impl Lake {
    /// The zone days and hours are told in: `given` (`--timezone`), else the stack's (the one
    /// its ETL function files days by); a local lake's is UTC.
    pub async fn zone(&self, given: Option<TimeZone>) -> anyhow::Result<TimeZone> {
        if let Some(zone) = given {
            return Ok(zone);
        }
        match self {
            Lake::Local(_) => Ok(chrono_tz::UTC),
            Lake::Stack(ctx) => ctx.time_zone().await,
        }
    }

    /// Where the answers come from, as a report's footer says it.
    pub fn source(&self) -> String {
        match self {
            Lake::Local(dir) => format!("the lake in {}", dir.display()),
            Lake::Stack(ctx) => format!(
                "Athena (stack {}, {} in account {})",
                ctx.stack.name, ctx.stack.region, ctx.stack.account
            ),
        }
    }

    /// Runs each statement (read-only SQL), in order; `step` hears what is under way. On the
    /// stack, Ctrl-C cancels the queries on Athena and answers [`Outcome::Cancelled`].
    pub async fn run(&self, sqls: &[String], step: &dyn Fn(&str)) -> anyhow::Result<Outcome<Ran>> {
        match self {
            Lake::Local(dir) => {
                let ctx = crate::query::local::open(dir).await?;
                let mut answers = Vec::new();
                for (i, sql) in sqls.iter().enumerate() {
                    let answer = crate::query::local::run(&ctx, sql)
                        .await
                        .with_context(|| format!("statement {} of {}", i + 1, sqls.len()))?;
                    answers.push(answer);
                }
                Ok(Outcome::Finished(Ran {
                    answers,
                    scanned: None,
                    ids: Vec::new(),
                }))
            }
            Lake::Stack(ctx) => {
                let outcome =
                    crate::query::athena::run_all(&ctx.aws.athena, &ctx.stack, sqls, step).await?;
                Ok(match outcome {
                    Outcome::Cancelled(ids) => Outcome::Cancelled(ids),
                    Outcome::Finished(done) => {
                        let mut ran = Ran {
                            answers: Vec::new(),
                            scanned: Some(Vec::new()),
                            ids: Vec::new(),
                        };
                        for d in done {
                            ran.answers.push(d.answer);
                            ran.scanned.get_or_insert_default().push(d.scanned_bytes);
                            ran.ids.push(d.execution_id);
                        }
                        Outcome::Finished(ran)
                    }
                })
            }
        }
    }

    /// Rebuilds `days` where the lake is: locally in this process (no days: every stale one),
    /// on the stack with its ETL function ([`crate::stack::lambda::DAYS_PER_INVOCATION`] a
    /// run). `batch` hears of each run's summary as it comes. `None` when a local lake had
    /// nothing to rebuild.
    pub async fn rebuild(
        &self,
        days: &BTreeSet<NaiveDate>,
        note: &(dyn Fn(String) + Sync),
        batch: &(dyn Fn(&etl::Summary) + Sync),
    ) -> anyhow::Result<Option<etl::Summary>> {
        match self {
            Lake::Local(dir) => {
                let dates: Vec<NaiveDate> = days.iter().copied().collect();
                let summary = crate::local::etl(dir, &dates).await?;
                if let Some(summary) = &summary {
                    batch(summary);
                }
                Ok(summary)
            }
            Lake::Stack(ctx) => Ok(Some(
                crate::stack::lambda::run_etl(&ctx.aws.lambda, &ctx.stack, days, note, batch)
                    .await?,
            )),
        }
    }

    /// Where raw updates are kept.
    pub fn raw(&self) -> anyhow::Result<Target> {
        Ok(match self {
            Lake::Local(dir) => crate::local::stores(dir)?.0,
            Lake::Stack(ctx) => ctx.raw()?,
        })
    }
}
