//! Which alarms the stack wants and how each is set: one pure function of the settings, so that
//! `up`, `--dry-run` and the tests agree on them.

use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, Statistic};
use lake::metrics;

use crate::stack::{Alerts, Function, Stack, events};

/// How CloudWatch treats a period without data points.
const NOT_BREACHING: &str = "notBreaching";
const BREACHING: &str = "breaching";
/// Requests refused for a wrong or missing secret in 15 minutes that are worth telling: Telegram
/// never sends one while the secrets agree.
pub const REFUSED_BURST: f64 = 5.0;
/// Hours beyond one period of the schedule before a missing successful run is news.
const ETL_MARGIN_HOURS: i64 = 2;

/// One alarm as the stack sets it (and as DescribeAlarms answers, for comparison).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    pub name: String,
    /// What it means and what to do: CloudWatch puts it in the e-mail.
    pub description: String,
    pub namespace: String,
    pub metric: String,
    /// Sorted by name.
    pub dimensions: Vec<(String, String)>,
    pub statistic: Statistic,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints: i32,
    pub threshold: f64,
    pub comparison: ComparisonOperator,
    pub treat_missing: String,
    /// The topic, told of ALARM and of OK.
    pub actions: Vec<String>,
    /// Whether the actions are on (someone's `disable-alarm-actions` silences every alert).
    pub actions_enabled: bool,
}

impl AlarmSpec {
    /// An alarm that fires when no data says all is well: a new one would start in ALARM, so
    /// `up` first gives its metric one data point of "all well" (see `alarms::seed`).
    pub fn breaching_when_silent(&self) -> bool {
        self.treat_missing == BREACHING
    }

    /// The window it watches, in seconds.
    pub fn window_seconds(&self) -> i64 {
        i64::from(self.period) * i64::from(self.evaluation_periods)
    }

    /// What differs from `wanted` (empty when nothing).
    pub fn drift(&self, wanted: &AlarmSpec) -> Vec<&'static str> {
        let mut d = Vec::new();
        if (&self.namespace, &self.metric, &self.dimensions)
            != (&wanted.namespace, &wanted.metric, &wanted.dimensions)
        {
            d.push("watches another metric");
        }
        if (
            &self.statistic,
            self.period,
            self.evaluation_periods,
            self.datapoints,
            &self.comparison,
            &self.treat_missing,
        ) != (
            &wanted.statistic,
            wanted.period,
            wanted.evaluation_periods,
            wanted.datapoints,
            &wanted.comparison,
            &wanted.treat_missing,
        ) || self.threshold != wanted.threshold
        {
            d.push("evaluation differs");
        }
        if self.actions != wanted.actions {
            d.push("notifies elsewhere");
        }
        if self.actions_enabled != wanted.actions_enabled {
            d.push("actions disabled");
        }
        if self.description != wanted.description {
            d.push("description differs");
        }
        d
    }

    /// The alarm as DescribeAlarms answers it.
    pub fn from_found(a: &MetricAlarm) -> AlarmSpec {
        let mut dimensions: Vec<(String, String)> = a
            .dimensions()
            .iter()
            .map(|d| {
                (
                    d.name().unwrap_or_default().to_owned(),
                    d.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        dimensions.sort();
        let mut actions = a.alarm_actions().to_vec();
        // OK is told to the same topic, INSUFFICIENT_DATA to nobody: anything else is drift.
        if a.ok_actions() != a.alarm_actions() {
            actions.push("(OK actions differ)".to_owned());
        }
        if !a.insufficient_data_actions().is_empty() {
            actions.push("(INSUFFICIENT_DATA actions)".to_owned());
        }
        AlarmSpec {
            name: a.alarm_name().unwrap_or_default().to_owned(),
            description: a.alarm_description().unwrap_or_default().to_owned(),
            namespace: a.namespace().unwrap_or_default().to_owned(),
            metric: a.metric_name().unwrap_or_default().to_owned(),
            dimensions,
            statistic: a.statistic().cloned().unwrap_or(Statistic::Sum),
            period: a.period().unwrap_or_default(),
            evaluation_periods: a.evaluation_periods().unwrap_or_default(),
            datapoints: a
                .datapoints_to_alarm()
                .or(a.evaluation_periods())
                .unwrap_or_default(),
            threshold: a.threshold().unwrap_or_default(),
            comparison: a
                .comparison_operator()
                .cloned()
                .unwrap_or(ComparisonOperator::GreaterThanOrEqualToThreshold),
            treat_missing: a.treat_missing_data().unwrap_or("missing").to_owned(),
            actions,
            actions_enabled: a.actions_enabled().unwrap_or(true),
        }
    }
}

/// The name of the alarm on a kept chat's silence.
pub fn chat_alarm(stack: &Stack, chat: i64) -> String {
    stack.alarm(&format!("silent-chat{chat}"))
}

/// The chat an alarm name watches, when it is a chat's alarm of this stack.
pub fn chat_of(stack: &Stack, name: &str) -> Option<i64> {
    name.strip_prefix(&stack.alarm_prefix())?
        .strip_prefix("silent-chat")?
        .parse()
        .ok()
}

/// The names of the alarms that do not depend on the chats.
pub fn fixed_names(stack: &Stack) -> Vec<String> {
    FIXED.iter().map(|what| stack.alarm(what)).collect()
}

const FIXED: [&str; 6] = [
    "etl-failed",
    "etl-late",
    "ingest-errors",
    "api-5xx",
    "refused",
    "quarantined",
];

/// Where an alarm comes in `up`'s list: the fixed ones first, then the chats' by name.
pub fn order(stack: &Stack, name: &str) -> (usize, String) {
    let fixed = fixed_names(stack).iter().position(|n| n == name);
    (fixed.unwrap_or(FIXED.len()), name.to_owned())
}

/// Whether `name` is one of the stack's alarm names (another stack's prefix may be longer).
pub fn is_ours(stack: &Stack, name: &str) -> bool {
    fixed_names(stack).iter().any(|n| n == name) || chat_of(stack, name).is_some()
}

/// What most alarms share: a sum of at least one over 5 minutes, silence good news, the topic
/// told of ALARM and of OK.
fn base(
    stack: &Stack,
    what: &str,
    description: String,
    (namespace, metric): (&str, &str),
) -> AlarmSpec {
    AlarmSpec {
        name: stack.alarm(what),
        description,
        namespace: namespace.to_owned(),
        metric: metric.to_owned(),
        dimensions: Vec::new(),
        statistic: Statistic::Sum,
        period: 300,
        evaluation_periods: 1,
        datapoints: 1,
        threshold: 1.0,
        comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
        treat_missing: NOT_BREACHING.to_owned(),
        actions: vec![stack.alert_topic_arn()],
        actions_enabled: true,
    }
}

/// `spec` firing on `hours` hourly periods in a row without the good news (missing is bad).
fn silent_for(hours: i32, spec: AlarmSpec) -> AlarmSpec {
    AlarmSpec {
        statistic: Statistic::Maximum,
        period: 3600,
        evaluation_periods: hours,
        datapoints: hours,
        comparison: ComparisonOperator::LessThanThreshold,
        treat_missing: BREACHING.to_owned(),
        ..spec
    }
}

/// A tgpipe metric (the functions' own log lines).
fn ours(metric: &str) -> (&str, &str) {
    (metrics::NAMESPACE, metric)
}

fn function_dims(stack: &Stack, f: Function) -> Vec<(String, String)> {
    vec![(metrics::FUNCTION.to_owned(), stack.function(f))]
}

fn lambda_dims(stack: &Stack, f: Function) -> Vec<(String, String)> {
    vec![("FunctionName".to_owned(), stack.function(f))]
}

/// The ETL-late alarm: no successful run for one period of the schedule and a margin; none
/// where that is beyond what CloudWatch watches (7 days: a monthly schedule), rather than one
/// that fires between every two runs.
fn etl_late(stack: &Stack, schedule: &str) -> Option<AlarmSpec> {
    let hours = events::period(schedule)
        .unwrap_or(events::DAILY)
        .num_hours()
        .saturating_add(ETL_MARGIN_HOURS)
        .max(1);
    (hours <= i64::from(Alerts::MAX_SILENCE_HOURS)).then(|| {
        let hours = hours as i32;
        let late = base(
            stack,
            "etl-late",
            texts::etl_late(hours),
            ours(metrics::etl::SUCCEEDED),
        );
        silent_for(
            hours,
            AlarmSpec {
                dimensions: function_dims(stack, Function::Etl),
                ..late
            },
        )
    })
}

/// A kept chat's alarm: no update stored for `hours`.
fn chat_silent(stack: &Stack, chat: i64, hours: i32) -> AlarmSpec {
    let mut dimensions = function_dims(stack, Function::Ingest);
    dimensions.push((metrics::CHAT.to_owned(), chat.to_string()));
    dimensions.sort();
    let spec = base(
        stack,
        "",
        texts::silent(chat, hours),
        ours(metrics::ingest::STORED),
    );
    silent_for(
        hours,
        AlarmSpec {
            name: chat_alarm(stack, chat),
            dimensions,
            ..spec
        },
    )
}

/// Every alarm the stack wants, in [`FIXED`]'s order then the chats': `api_id` is the API the
/// webhook reaches (unknown before the first `up` made it).
pub fn wanted(
    stack: &Stack,
    alerts: &Alerts,
    chats: &[i64],
    schedule: &str,
    api_id: Option<&str>,
) -> Vec<AlarmSpec> {
    let api = vec![("ApiId".to_owned(), api_id.unwrap_or_default().to_owned())];
    let silence = alerts.silence_hours.clamp(1, Alerts::MAX_SILENCE_HOURS) as i32;
    let mut out = vec![AlarmSpec {
        dimensions: lambda_dims(stack, Function::Etl),
        ..base(
            stack,
            "etl-failed",
            texts::ETL_FAILED.to_owned(),
            ("AWS/Lambda", "Errors"),
        )
    }];
    out.extend(etl_late(stack, schedule));
    out.extend([
        AlarmSpec {
            dimensions: lambda_dims(stack, Function::Ingest),
            period: 900,
            ..base(
                stack,
                "ingest-errors",
                texts::INGEST_ERRORS.to_owned(),
                ("AWS/Lambda", "Errors"),
            )
        },
        AlarmSpec {
            dimensions: api,
            period: 900,
            ..base(
                stack,
                "api-5xx",
                texts::API_5XX.to_owned(),
                ("AWS/ApiGateway", "5xx"),
            )
        },
        AlarmSpec {
            dimensions: function_dims(stack, Function::Ingest),
            period: 900,
            threshold: REFUSED_BURST,
            ..base(
                stack,
                "refused",
                texts::REFUSED.to_owned(),
                ours(metrics::ingest::REFUSED),
            )
        },
        AlarmSpec {
            dimensions: function_dims(stack, Function::Ingest),
            period: 3600,
            ..base(
                stack,
                "quarantined",
                texts::QUARANTINED.to_owned(),
                ours(metrics::ingest::QUARANTINED),
            )
        },
    ]);
    out.extend(chats.iter().map(|&chat| chat_silent(stack, chat, silence)));
    out
}

/// What each alarm means and what to do about it: the e-mail's description, and the README's.
mod texts {
    pub const ETL_FAILED: &str = "The ETL function failed (an error, a timeout or running out of memory). Its days stay raw and are retried by the next run. See `tgpipe logs etl --since 1d`; `tgpipe status` names the days waiting.";
    pub const INGEST_ERRORS: &str = "The ingest function failed on webhook deliveries. Telegram keeps the updates and retries for about a day. See `tgpipe logs ingest --since 1h`.";
    pub const API_5XX: &str = "The webhook's API answered Telegram with server errors (the ingest function failed, timed out or could not store). Telegram retries; see `tgpipe logs ingest --since 1h` and `tgpipe status`.";
    pub const REFUSED: &str = "The webhook refused requests for a wrong or missing secret: Telegram holds another secret than the stack (then every delivery is refused: run `tgpipe status`, then `tgpipe set-webhook`), or someone is sending forged updates.";
    pub const QUARANTINED: &str = "Telegram sent bodies that are not updates; they are kept under quarantine/ in the raw bucket. `tgpipe status` counts them.";

    pub fn etl_late(hours: i32) -> String {
        format!(
            "No successful ETL run for {hours} hours: runs failed or did not come. `tgpipe status` names the days waiting; `tgpipe logs etl --since 2d` says what failed; `tgpipe etl` runs it now."
        )
    }

    pub fn silent(chat: i64, hours: i32) -> String {
        format!(
            "No update stored for chat {chat} for {hours} hours: the group fell silent, the bot lost access, or the webhook is broken. `tgpipe status` checks the webhook and the chat."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::StackName;

    fn stack() -> Stack {
        Stack::new(
            StackName::parse("tg").unwrap(),
            "123456789012",
            "cn-north-1",
        )
    }

    #[test]
    fn the_windows_follow_the_schedule_and_the_silence_within_cloudwatchs_7_days() {
        let alerts = Alerts {
            email: "a@example.com".into(),
            silence_hours: 500,
        };
        let all = wanted(&stack(), &alerts, &[-100], "rate(12 hours)", Some("abc"));
        let late = all.iter().find(|a| a.name == "tg-etl-late").unwrap();
        assert_eq!((late.period, late.evaluation_periods), (3600, 14));
        let weekly = wanted(&stack(), &alerts, &[], "cron(0 3 ? * MON *)", None);
        // A week and two hours is more than CloudWatch watches: no alarm that would cry wolf.
        assert!(weekly.iter().all(|a| a.name != "tg-etl-late"));
        assert_eq!(weekly.len(), FIXED.len() - 1);
        assert!(all.iter().all(|a| a.window_seconds() <= 604_800));
        let chat = all.iter().find(|a| a.name == "tg-silent-chat-100").unwrap();
        assert_eq!(chat.window_seconds(), 604_800);
        assert!(chat.breaching_when_silent());
        assert_eq!(
            chat.actions,
            vec!["arn:aws-cn:sns:cn-north-1:123456789012:tg-alerts"]
        );
        assert_eq!(chat_of(&stack(), &chat.name), Some(-100));
        assert!(all.iter().all(|a| is_ours(&stack(), &a.name)));
        assert!(!is_ours(&stack(), "tg-x-etl-failed"));
    }

    #[test]
    fn a_found_alarm_as_set_has_no_drift_and_a_changed_one_says_what() {
        let alerts = Alerts {
            email: "a@example.com".into(),
            silence_hours: 48,
        };
        let all = wanted(
            &stack(),
            &alerts,
            &[-100],
            events::DEFAULT_SCHEDULE,
            Some("a"),
        );
        for a in &all {
            assert!(a.drift(a).is_empty());
        }
        let mut moved = all[3].clone();
        moved.dimensions[0].1 = "b".into();
        assert_eq!(moved.drift(&all[3]), vec!["watches another metric"]);
    }
}
