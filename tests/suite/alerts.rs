//! `up --alert-email`: the topic, the e-mail subscription and the alarms, kept by later `up`s,
//! changed and removed with the setting, shown by `status`, removed by `down`.

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic, Tag};
use tgpipe::stack::STACK_TAG;

use crate::cli::{Aws, Env, GROUP, TOKEN, ok};
use crate::common::mutating;

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:tgpipe-alerts";

impl Aws {
    fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.config)
    }

    /// The alarms named `tgpipe-…`, by name.
    fn alarms(&self) -> std::collections::BTreeMap<String, aws_sdk_cloudwatch::types::MetricAlarm> {
        let out = self
            .rt
            .block_on(
                self.cloudwatch()
                    .describe_alarms()
                    .alarm_name_prefix("tgpipe-")
                    .send(),
            )
            .unwrap();
        out.metric_alarms()
            .iter()
            .map(|a| (a.alarm_name().unwrap().to_owned(), a.clone()))
            .collect()
    }

    /// The topic's subscriptions: (address, confirmed).
    fn subscriptions(&self) -> Vec<String> {
        let sns = aws_sdk_sns::Client::new(&self.config);
        match self
            .rt
            .block_on(sns.list_subscriptions_by_topic().topic_arn(TOPIC).send())
        {
            Ok(out) => out
                .subscriptions()
                .iter()
                .map(|s| s.endpoint().unwrap().to_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn topic_exists(&self) -> bool {
        let sns = aws_sdk_sns::Client::new(&self.config);
        self.rt
            .block_on(sns.get_topic_attributes().topic_arn(TOPIC).send())
            .is_ok()
    }

    fn api_id(&self) -> String {
        let api = aws_sdk_apigatewayv2::Client::new(&self.config);
        let apis = self.rt.block_on(api.get_apis().send()).unwrap();
        apis.items()[0].api_id().unwrap().to_owned()
    }
}

fn status(env: &Env) -> (i32, serde_json::Value) {
    let (code, out, err) = env.run(&["status", "--output", "json"], Some(TOKEN));
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}")),
    )
}

#[test]
fn alert_email_stands_up_the_topic_and_alarms_keeps_them_changes_them_and_takes_them_down() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&["--alert-email", "ops@example.com"]));
    assert!(aws.topic_exists());
    assert_eq!(aws.subscriptions(), vec!["ops@example.com"]);
    let alarms = aws.alarms();
    let names: Vec<&str> = alarms.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "tgpipe-api-5xx",
            "tgpipe-etl-failed",
            "tgpipe-etl-late",
            "tgpipe-ingest-errors",
            "tgpipe-quarantined",
            "tgpipe-refused",
            "tgpipe-silent-chat-1001234567890",
        ]
    );
    for a in alarms.values() {
        assert_eq!(a.alarm_actions(), [TOPIC], "{:?}", a.alarm_name());
    }
    // The API alarms watch the API the webhook reaches, made by this same `up`.
    let api_id = aws.api_id();
    let five = &alarms["tgpipe-api-5xx"];
    assert_eq!(five.namespace(), Some("AWS/ApiGateway"));
    assert_eq!(five.dimensions()[0].value(), Some(api_id.as_str()));
    // A kept chat's silence: the ingest function's own metric, by chat, 48 hours by default.
    let silent = &alarms["tgpipe-silent-chat-1001234567890"];
    assert_eq!(silent.namespace(), Some(lake::metrics::NAMESPACE));
    assert_eq!(silent.metric_name(), Some(lake::metrics::ingest::STORED));
    let mut dims: Vec<(&str, &str)> = silent
        .dimensions()
        .iter()
        .map(|d| (d.name().unwrap(), d.value().unwrap()))
        .collect();
    dims.sort();
    assert_eq!(dims, [("ChatId", GROUP), ("Function", "tgpipe-ingest")]);
    assert_eq!(
        (silent.period(), silent.evaluation_periods()),
        (Some(3600), Some(48))
    );
    assert_eq!(silent.treat_missing_data(), Some("breaching"));
    let late = &alarms["tgpipe-etl-late"];
    assert_eq!(late.evaluation_periods(), Some(26));
    assert_eq!(late.statistic(), Some(&Statistic::Maximum));

    // A second `up` without the flag keeps the alerts and changes nothing.
    env.moto.start_recording();
    let (code, out, err) = env.up(&[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let calls = env.moto.recorded();
    assert!(mutating(&calls).is_empty(), "{:?}", mutating(&calls));
    assert_eq!(aws.alarms().len(), 7);

    let (code, report) = status(&env);
    assert_eq!(code, 0, "{report:#}");
    let alerts = &report["alerts"];
    assert_eq!(alerts["email"], "ops@example.com");
    assert_eq!(alerts["waiting_for_confirmation"], false);
    assert_eq!(alerts["alarms"].as_array().unwrap().len(), 7);
    assert!(
        report["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "cloudwatch alarm" && r["state"] == "present")
    );

    // Another address replaces the first; a shorter silence changes the chat's alarm only.
    ok(&env.up(&[
        "--alert-email",
        "data@example.com",
        "--alert-silence-hours",
        "24",
    ]));
    assert_eq!(aws.subscriptions(), vec!["data@example.com"]);
    let alarms = aws.alarms();
    assert_eq!(
        alarms["tgpipe-silent-chat-1001234567890"].evaluation_periods(),
        Some(24)
    );
    assert_eq!(alarms["tgpipe-etl-late"].evaluation_periods(), Some(26));
    ok(&env.up(&[]));
    assert_eq!(
        aws.alarms()["tgpipe-silent-chat-1001234567890"].evaluation_periods(),
        Some(24),
        "a later up keeps the silence given"
    );

    // The address unsubscribed (a click on the mail's link; SNS also drops a subscription left
    // unconfirmed for 48 hours): status says so, and a plain `up` subscribes it again, the
    // setting being the topic's, not the subscription's.
    let sns = aws_sdk_sns::Client::new(&aws.config);
    let subs = aws
        .rt
        .block_on(sns.list_subscriptions_by_topic().topic_arn(TOPIC).send())
        .unwrap();
    let arn = subs.subscriptions()[0]
        .subscription_arn()
        .unwrap()
        .to_owned();
    aws.rt
        .block_on(sns.unsubscribe().subscription_arn(arn).send())
        .unwrap();
    let (code, report) = status(&env);
    assert_eq!(code, 3, "{report:#}");
    assert!(
        report["problems"]
            .to_string()
            .contains("sns subscription data@example.com is not as deployed"),
        "{report:#}"
    );
    ok(&env.up(&[]));
    assert_eq!(aws.subscriptions(), vec!["data@example.com"]);
    assert_eq!(aws.alarms().len(), 7);

    // `none` turns them off: the dry run says so (exit 3), then up deletes them.
    let (code, out, _) = env.up(&["--alert-email", "none", "--dry-run"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("delete") && out.contains("tgpipe-etl-late"),
        "{out}"
    );
    assert_eq!(aws.alarms().len(), 7, "a dry run changes nothing");
    ok(&env.up(&["--alert-email", "none"]));
    assert!(aws.alarms().is_empty());
    assert!(!aws.topic_exists());
    let (code, report) = status(&env);
    assert_eq!(code, 0, "{report:#}");
    assert!(report["alerts"].is_null());

    // Back on, then `down` takes the alarms and the topic with the rest.
    ok(&env.up(&["--alert-email", "ops@example.com"]));
    let (code, out, err) = env.run(&["down", "--yes"], Some(TOKEN));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("tgpipe-alerts"), "{out}");
    assert!(aws.alarms().is_empty());
    assert!(!aws.topic_exists());
    env.assert_token_never_printed();
}

#[test]
fn alarms_on_silence_start_with_good_news_and_status_counts_a_firing_alarm() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&["--alert-email", "ops@example.com"]));
    // The alarms that fire on silence got one "all well" data point before they were made, so
    // that a new stack's are not in ALARM before they could be.
    let metrics = aws
        .rt
        .block_on(
            aws.cloudwatch()
                .list_metrics()
                .namespace(lake::metrics::NAMESPACE)
                .send(),
        )
        .unwrap();
    let mut seeded: Vec<String> = metrics
        .metrics()
        .iter()
        .map(|m| {
            let dims: Vec<String> = m
                .dimensions()
                .iter()
                .map(|d| format!("{}={}", d.name().unwrap(), d.value().unwrap()))
                .collect();
            format!("{} {}", m.metric_name().unwrap(), dims.join(","))
        })
        .collect();
    seeded.sort();
    assert_eq!(
        seeded,
        [
            "RunsSucceeded Function=tgpipe-etl",
            "UpdatesStored ChatId=-1001234567890,Function=tgpipe-ingest",
        ]
    );
    let (code, report) = status(&env);
    assert_eq!(code, 0, "{report:#}");
    // A failed ETL run is news.
    aws.rt
        .block_on(
            aws.cloudwatch()
                .set_alarm_state()
                .alarm_name("tgpipe-etl-failed")
                .state_value(StateValue::Alarm)
                .state_reason("test")
                .send(),
        )
        .unwrap();
    let (code, report) = status(&env);
    assert_eq!(code, 3, "{report:#}");
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("alarm tgpipe-etl-failed is in ALARM"),
        "{problems}"
    );
    assert!(problems.contains("tgpipe logs etl"), "{problems}");
    let (_, out, _) = env.run(&["status"], Some(TOKEN));
    assert!(out.contains("tgpipe-etl-failed: ALARM"), "{out}");
    assert!(out.contains("tgpipe-etl-late: OK"), "{out}");
}

#[test]
fn up_repairs_a_changed_alarm_drops_a_chat_no_longer_kept_and_refuses_one_not_its_own() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&["--alert-email", "ops@example.com"]));
    // Someone raises a threshold in the console.
    aws.rt
        .block_on(
            aws.cloudwatch()
                .put_metric_alarm()
                .alarm_name("tgpipe-refused")
                .namespace("AWS/ApiGateway")
                .metric_name("4xx")
                .statistic(Statistic::Sum)
                .period(300)
                .evaluation_periods(1)
                .threshold(1000.0)
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .send(),
        )
        .unwrap();
    // And someone silences another.
    aws.rt
        .block_on(
            aws.cloudwatch()
                .disable_alarm_actions()
                .alarm_names("tgpipe-etl-late")
                .send(),
        )
        .unwrap();
    let (code, out, _) = env.up(&["--dry-run"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("tgpipe-refused (watches another metric; evaluation differs; notifies elsewhere; description differs)"), "{out}");
    assert!(out.contains("tgpipe-etl-late (actions disabled)"), "{out}");
    ok(&env.up(&[]));
    let alarms = aws.alarms();
    let refused = &alarms["tgpipe-refused"];
    assert_eq!(refused.threshold(), Some(5.0));
    assert_eq!(refused.alarm_actions(), [TOPIC]);
    assert_eq!(alarms["tgpipe-etl-late"].actions_enabled(), Some(true));

    // Another chat instead of the first: its alarm replaces the old chat's.
    let artifacts = env.artifacts.path().to_str().unwrap().to_owned();
    ok(&env.run(
        &["up", "--chat-id", "-1009999", "--artifacts", &artifacts],
        Some(TOKEN),
    ));
    let names: Vec<String> = aws.alarms().into_keys().collect();
    assert!(
        names.contains(&"tgpipe-silent-chat-1009999".to_owned()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"tgpipe-silent-chat-1001234567890".to_owned()),
        "{names:?}"
    );

    // An alarm with one of the stack's names that the stack did not make is never adopted (its
    // tag says whose it is: moto, unlike CloudWatch, keeps a deleted alarm's tags for the next
    // alarm of that name).
    ok(&env.up(&["--alert-email", "none"]));
    aws.rt
        .block_on(
            aws.cloudwatch()
                .put_metric_alarm()
                .alarm_name("tgpipe-etl-failed")
                .namespace("AWS/Lambda")
                .metric_name("Errors")
                .statistic(Statistic::Sum)
                .period(300)
                .evaluation_periods(1)
                .threshold(5.0)
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .tags(Tag::builder().key(STACK_TAG).value("someone-else").build())
                .send(),
        )
        .unwrap();
    let (code, _, err) = env.up(&["--alert-email", "ops@example.com"]);
    assert_eq!(code, 1);
    assert!(err.contains("tgpipe-etl-failed"), "{err}");
    assert_eq!(aws.alarms()["tgpipe-etl-failed"].threshold(), Some(5.0));
}
