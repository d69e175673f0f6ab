//! `tgpipe status`: every resource, the webhook as Telegram sees it, the chats as the bot sees
//! them, and the data's freshness; exits 3 when anything is wrong (and says what).

use clap::Args;
use serde::Serialize;

mod alerts;

use super::ExitStatus;
use super::args::{AwsArgs, BotArgs, Global};
use crate::connection::Ctx;
use crate::plan::{Resource, State};
use crate::stack::events;
use crate::telegram::{Telegram, WebhookInfo};
use crate::ui::{Output, Printer, Render, detail_line, status_line};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe status                    # exit 3 when something is wrong; it says what
  tgpipe status --output json | jq .problems")]
pub struct StatusArgs {
    /// `json`: everything found, and the problems, as one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub bot: BotArgs,
}

#[derive(Serialize)]
pub struct StatusReport {
    stack: String,
    account: String,
    region: String,
    resources: Vec<Resource>,
    /// Where the alarms send word, and each alarm's state; none without `up --alert-email`.
    alerts: Option<alerts::AlertsStatus>,
    webhook: Option<WebhookStatus>,
    webhook_skipped: Option<String>,
    /// The kept chats as the bot sees them (with a token).
    chats: Vec<crate::webhook::ChatCheck>,
    newest_raw_object: Option<String>,
    newest_enriched_day: Option<String>,
    #[serde(flatten)]
    data: Option<crate::health::DataHealth>,
    /// Everything found wrong, one sentence each.
    problems: Vec<String>,
    healthy: bool,
}

#[derive(Serialize)]
pub struct WebhookStatus {
    #[serde(flatten)]
    info: WebhookInfo,
    points_at_api: bool,
    /// Delivery errors of the last day, updates piling up, secrets out of step.
    problems: Vec<String>,
}

pub async fn run(global: &Global, args: StatusArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    let bot = args.bot.telegram(global.verbose)?;
    let ctx = args.aws.connect(global).await?;
    let stack = &ctx.stack;
    let now = chrono::Utc::now();
    // The stack, the data and Telegram's side are read at once.
    let telegram_and_freshness = async {
        let (newest_raw, newest_enriched_day) =
            crate::health::freshness(&ctx.raw()?, &ctx.enriched()?).await?;
        let telegram = match &bot {
            Some(bot) => {
                let newest = newest_raw.as_ref().map(|n| n.1);
                Some(telegram_side(&ctx, bot, newest, now).await?)
            }
            None => None,
        };
        anyhow::Ok((newest_raw, newest_enriched_day, telegram))
    };
    // The data's health needs the raw bucket; when it is missing the answer is dropped below.
    let data = async {
        let (zone, read) = tokio::try_join!(ctx.time_zone(), ctx.read())?;
        let period = read
            .of::<events::Schedule>()
            .and_then(|rule| rule.schedule())
            .and_then(events::period)
            .unwrap_or(events::DAILY);
        crate::health::data_health(ctx.raw()?, ctx.enriched()?, zone, period, now).await
    };
    let (read, side, data) = tokio::join!(ctx.read(), telegram_and_freshness, data);
    let read = read?;
    let resources = read.states(stack, None);
    let alerts = alerts::read(read);
    let (newest_raw, newest_enriched_day, telegram) = side?;
    // The data's health is the raw bucket's: without it there is none to tell.
    let data = if resources
        .iter()
        .any(|r| r.name == stack.raw_bucket() && r.state != State::Missing)
    {
        Some(data?)
    } else {
        None
    };
    let mut report = StatusReport {
        stack: stack.name.to_string(),
        account: stack.account.clone(),
        region: stack.region.clone(),
        resources,
        alerts,
        webhook: None,
        webhook_skipped: None,
        chats: Vec::new(),
        newest_raw_object: newest_raw.map(|(k, t)| format!("{k} at {}", t.to_rfc3339())),
        newest_enriched_day: newest_enriched_day.map(|d| d.to_string()),
        data,
        problems: Vec::new(),
        healthy: false,
    };
    report.judge(telegram);
    printer.answer(&report)?;
    Ok(match (report.healthy, &report.webhook_skipped) {
        (false, _) => ExitStatus::NotAsItShouldBe,
        (true, Some(_)) => ExitStatus::NotChecked,
        (true, None) => ExitStatus::Success,
    })
}

/// What `telegram_side` found: the webhook, the chat checks, and what is wrong with either.
type TelegramSide = (WebhookStatus, Vec<crate::webhook::ChatCheck>, Vec<String>);

impl StatusReport {
    /// Takes Telegram's side in (or says it was skipped), then lists every problem: resources not
    /// as deployed, Telegram's, the data's.
    fn judge(&mut self, telegram: Option<TelegramSide>) {
        let mut problems: Vec<String> = self
            .resources
            .iter()
            .filter(|r| !r.state.is_ok())
            .map(|r| format!("{} {} is not as deployed", r.kind, r.name))
            .collect();
        problems.extend(self.alerts.iter().flat_map(alerts::AlertsStatus::problems));
        match telegram {
            Some((webhook, chats, found)) => {
                problems.extend(found);
                self.webhook = Some(webhook);
                self.chats = chats;
            }
            None => {
                self.webhook_skipped = Some(
                    "no bot token: the webhook and the chats were not checked (pass --bot-token or set TGPIPE_BOT_TOKEN to check them)"
                        .to_owned(),
                );
            }
        }
        if let Some(data) = &self.data
            && let (Some(first), Some(last)) = (data.overdue_days.first(), data.overdue_days.last())
        {
            problems.push(format!(
                "{} days have waited longer than one period of the ETL's schedule for their Parquet ({first} to {last}): runs failed or did not come; the next scheduled run rebuilds them oldest first, `tgpipe etl --from {first} --to {last}` does it now, and the ETL function's log says what failed",
                data.overdue_days.len()
            ));
        }
        if let Some(data) = &self.data
            && data.quarantined > 0
        {
            problems.push(format!(
                "{} bodies Telegram sent were not updates and are kept under quarantine/ in the raw bucket",
                data.quarantined
            ));
        }
        self.healthy = problems.is_empty();
        self.problems = problems;
    }
}

/// The webhook as Telegram sees it and the chats as the bot sees them, with what is wrong.
async fn telegram_side(
    ctx: &Ctx,
    bot: &Telegram,
    newest_raw: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<TelegramSide> {
    let mut problems = Vec::new();
    let (url, info, secrets, me, chats) = tokio::try_join!(
        async { anyhow::Ok(ctx.read().await?.outputs().webhook_url) },
        async { anyhow::Ok(bot.get_webhook_info().await?) },
        async { anyhow::Ok(crate::webhook::secrets_read(ctx.read().await?)) },
        async { anyhow::Ok(bot.me().await?) },
        ctx.deployed_chats(),
    )?;
    let points_at_api = url.as_deref() == Some(info.url.as_str());
    let mut wrong = crate::health::webhook_problems(&info, newest_raw, now);
    if let Some(secrets) = secrets {
        if secrets.rotating() {
            wrong.push("a secret rotation was not finished: run `tgpipe set-webhook`".to_owned());
        } else if !secrets.telegram_has_current() {
            wrong.push("Telegram may hold another secret than the ingest function, which would refuse every delivery: run `tgpipe set-webhook`".to_owned());
        }
    }
    if !crate::webhook::allowed_updates_agree(&info) && points_at_api {
        wrong.push(
            "Telegram sends other update kinds than the stack keeps: run `tgpipe up`".to_owned(),
        );
    }
    if !points_at_api {
        problems.push("the webhook does not point at this stack's API".to_owned());
    }
    problems.extend(wrong.iter().cloned());
    let checks = crate::webhook::check_chats(bot, &me, &chats.unwrap_or_default()).await?;
    problems.extend(checks.iter().filter_map(|c| {
        c.problem
            .as_ref()
            .map(|p| format!("chat {}: {p}", c.label()))
    }));
    let webhook = WebhookStatus {
        info,
        points_at_api,
        problems: wrong,
    };
    Ok((webhook, checks, problems))
}

impl Render for StatusReport {
    fn render(&self, printer: Printer) {
        let r = self;
        printer.line(format_args!(
            "Stack {} in account {} ({})",
            r.stack, r.account, r.region
        ));
        for res in &r.resources {
            let (word, details) = match &res.state {
                State::Present => ("ok", String::new()),
                State::Missing => ("MISSING", String::new()),
                State::Drifted(d) => ("DRIFTED", format!(" ({})", d.join("; "))),
                State::Unwanted => ("UNWANTED", String::new()),
            };
            let more = r
                .alerts
                .as_ref()
                .and_then(|a| a.detail(res))
                .unwrap_or_default();
            printer.line(status_line(
                word,
                res.kind,
                format_args!("{}{more}{details}", res.name),
            ));
        }
        print_webhook(printer, r);
        for c in &r.chats {
            let word = if c.problem.is_some() { "WARNING" } else { "ok" };
            printer.line(status_line(word, "telegram chat", c.label()));
            if let Some(p) = &c.problem {
                printer.line(detail_line(p));
            }
        }
        printer.line(format_args!(
            "  newest raw object:   {}",
            r.newest_raw_object.as_deref().unwrap_or("none yet")
        ));
        printer.line(format_args!(
            "  newest enriched day: {}",
            r.newest_enriched_day.as_deref().unwrap_or("none yet")
        ));
        if let Some(d) = &r.data {
            if !d.stale_days.is_empty() {
                printer.line(format_args!(
                    "  raw newer than Parquet (the next ETL run rebuilds them): {}",
                    days_list(&d.stale_days)
                ));
            }
            printer.line(format_args!("  quarantined bodies:  {}", d.quarantined));
            for m in &d.migrations {
                printer.line(format_args!(
                    "  chat {} became the supergroup {}{}; its updates are kept",
                    m.from,
                    m.to,
                    m.seen
                        .map(|t| format!(" (seen {})", t.to_rfc3339()))
                        .unwrap_or_default()
                ));
            }
            if d.chats_not_kept > 0 {
                printer.line(format_args!(
                    "  chats not kept that sent updates: {} (`tgpipe chats` names them)",
                    d.chats_not_kept
                ));
            }
        }
        if r.healthy && r.webhook_skipped.is_some() {
            printer.line(
                "Nothing wrong found, but the webhook was not checked: with --bot-token (or TGPIPE_BOT_TOKEN) status checks it too.",
            );
        } else if r.healthy {
            printer.line("All is well.");
        } else {
            for p in &r.problems {
                printer.line(format_args!("PROBLEM: {p}"));
            }
            printer.line("Something is wrong: `tgpipe up` repairs the stack.");
        }
    }
}

/// Days for a line: each of up to [`DAYS_SHOWN`], else the first few, how many more, the last.
fn days_list(days: &[chrono::NaiveDate]) -> String {
    const DAYS_SHOWN: usize = 8;
    if days.len() <= DAYS_SHOWN {
        return days
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ");
    }
    let first: Vec<String> = days[..DAYS_SHOWN - 1]
        .iter()
        .map(|d| d.to_string())
        .collect();
    let last = days.last().map(|d| d.to_string()).unwrap_or_default();
    format!(
        "{}, … {} more …, {last} ({} days; `--output json` lists all)",
        first.join(", "),
        days.len() - DAYS_SHOWN,
        days.len()
    )
}

/// The webhook as Telegram sees it, or why it was not checked.
fn print_webhook(printer: Printer, r: &StatusReport) {
    match (&r.webhook, &r.webhook_skipped) {
        (Some(w), _) => {
            printer.line(status_line(
                if w.points_at_api { "ok" } else { "WRONG" },
                "telegram webhook",
                if w.info.url.is_empty() {
                    "(none set)"
                } else {
                    w.info.url.as_str()
                },
            ));
            printer.line(detail_line(format_args!(
                "pending updates: {}",
                w.info.pending_update_count
            )));
            if let Some(msg) = &w.info.last_error_message {
                let when = w
                    .info
                    .last_error_date
                    .and_then(|d| chrono::DateTime::from_timestamp(d, 0))
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default();
                printer.line(detail_line(format_args!("last error: {msg} ({when})")));
            }
            for p in &w.problems {
                printer.line(detail_line(format_args!("PROBLEM: {p}")));
            }
        }
        (None, Some(why)) => printer.line(status_line("skipped", "telegram webhook", why)),
        (None, None) => {}
    }
}
