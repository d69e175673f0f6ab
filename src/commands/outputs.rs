//! `tgpipe outputs`: what the deployed stack is, read back from the account: the webhook URL,
//! the buckets, functions, workgroup, database and table, the schedule, the zone and the chats.
//! Names that do not exist (yet) are left out, so a script can tell.

use clap::Args;
use serde::Serialize;

use super::ExitStatus;
use super::args::{AwsArgs, Global};
use crate::plan::{Kind, State};
use crate::stack::{Function, events};
use crate::ui::{Output, Printer, Render};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe outputs
  tgpipe outputs --output json | jq -r .api_url")]
pub struct OutputsArgs {
    /// `json`: the outputs as one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Serialize, Default)]
struct Outputs {
    stack: String,
    account: String,
    region: String,
    api_url: Option<String>,
    raw_bucket: Option<String>,
    enriched_bucket: Option<String>,
    athena_bucket: Option<String>,
    ingest_function: Option<String>,
    etl_function: Option<String>,
    workgroup: Option<String>,
    database: Option<String>,
    table: Option<String>,
    schedule: Option<String>,
    timezone: Option<String>,
    chats: Vec<i64>,
}

pub async fn run(global: &Global, args: OutputsArgs) -> anyhow::Result<ExitStatus> {
    let ctx = args.aws.connect(global).await?;
    let stack = &ctx.stack;
    let read = ctx.read().await?;
    let found = read.states(stack, None);
    // A resource the account holds (drifted or not), by kind and name (the API, the workgroup and
    // the database share the stack's name), or nothing.
    let held = |kind: Kind, name: String| {
        found
            .iter()
            .any(|r| r.kind == kind && r.name == name && r.state != State::Missing)
            .then_some(name)
    };
    let outputs = Outputs {
        stack: stack.name.to_string(),
        account: stack.account.clone(),
        region: stack.region.clone(),
        api_url: read.outputs().webhook_url,
        raw_bucket: held(Kind::Bucket, stack.raw_bucket()),
        enriched_bucket: held(Kind::Bucket, stack.enriched_bucket()),
        athena_bucket: held(Kind::Bucket, stack.athena_bucket()),
        ingest_function: held(Kind::Function, stack.function(Function::Ingest)),
        etl_function: held(Kind::Function, stack.function(Function::Etl)),
        workgroup: held(Kind::Workgroup, stack.workgroup()),
        database: held(Kind::GlueDatabase, stack.glue_database()),
        table: held(
            Kind::GlueTable,
            format!("{}.{}", stack.glue_database(), stack.table()),
        ),
        schedule: read
            .of::<events::Schedule>()
            .and_then(|rule| rule.schedule())
            .map(str::to_owned),
        timezone: ctx.variable(Function::Etl, lake::env::TIMEZONE).await?,
        chats: ctx.deployed_chats().await?.unwrap_or_default(),
    };
    Printer::new(args.output).answer(&outputs)?;
    Ok(ExitStatus::Success)
}

impl Render for Outputs {
    fn render(&self, printer: Printer) {
        let o = self;
        printer.line(format_args!(
            "Stack {} in account {} ({})",
            o.stack, o.account, o.region
        ));
        let none = "(none)";
        let rows = [
            ("API URL", o.api_url.as_deref()),
            ("raw bucket", o.raw_bucket.as_deref()),
            ("enriched bucket", o.enriched_bucket.as_deref()),
            ("athena bucket", o.athena_bucket.as_deref()),
            ("ingest function", o.ingest_function.as_deref()),
            ("ETL function", o.etl_function.as_deref()),
            ("workgroup", o.workgroup.as_deref()),
            ("database", o.database.as_deref()),
            ("table", o.table.as_deref()),
            ("schedule", o.schedule.as_deref()),
            ("time zone", o.timezone.as_deref()),
        ];
        for (what, value) in rows {
            printer.line(format_args!("  {what:<16} {}", value.unwrap_or(none)));
        }
        let chats: Vec<String> = o.chats.iter().map(i64::to_string).collect();
        printer.line(format_args!(
            "  {:<16} {}",
            "chats",
            if chats.is_empty() {
                none.to_owned()
            } else {
                chats.join(", ")
            }
        ));
    }
}
