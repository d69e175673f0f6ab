//! Over a bad network: `up`, `status`, `set-webhook` and `down --delete-data` with a fifth of
//! AWS's answers failing transiently (500, 503, throttling) and some connections dropped, through
//! `testkit::FaultProxy` in front of moto. Each command must succeed in one run, and the account
//! must end as it began: the stack whole after `up`, nothing of it after `down`, and nothing
//! else touched. Also: a call that AWS carried out and then answered 500 is not repeated blindly.

use std::collections::BTreeMap;

use crate::common;

const TOKEN: &str = "123456789:AAHtestTOKENvalue_0123456789abcdef";
const CHAT: &str = "-1001234567890";

pub(crate) struct Net {
    pub(crate) moto: testkit::Moto,
    pub(crate) proxy: testkit::FaultProxy,
    pub(crate) bot: testkit::TelegramStandIn,
    home: tempfile::TempDir,
    artifacts: tempfile::TempDir,
}

impl Net {
    pub(crate) fn new(config: testkit::FaultConfig) -> Net {
        let moto = testkit::Moto::start();
        common::moto_lambda_without_docker(&moto);
        let artifacts = common::fake_artifacts();
        let proxy = testkit::FaultProxy::start(&moto.endpoint, config);
        Net {
            moto,
            proxy,
            bot: testkit::TelegramStandIn::start(TOKEN),
            home: tempfile::tempdir().unwrap(),
            artifacts,
        }
    }

    /// tgpipe through the proxy; exit code, stdout, stderr.
    pub(crate) fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = common::tgpipe_on_aws(&self.proxy.endpoint, args);
        cmd.env("HOME", self.home.path())
            .env("TGPIPE_TELEGRAM_API_URL", &self.bot.url)
            .env("TGPIPE_BOT_TOKEN", TOKEN);
        common::run(cmd)
    }

    pub(crate) fn up(&self) -> (i32, String, String) {
        let artifacts = self.artifacts.path().to_str().unwrap();
        self.run(&[
            "up",
            "--chat-id",
            CHAT,
            "--artifacts",
            artifacts,
            "--alert-email",
            "ops@example.com",
        ])
    }
}

pub(crate) fn ok(what: &str, (code, out, err): (i32, String, String)) -> String {
    assert_eq!(code, 0, "{what}\nstdout:\n{out}\nstderr:\n{err}");
    err
}

/// Everything in the account, by kind, read straight from moto (no faults).
async fn inventory(moto: &testkit::Moto) -> BTreeMap<&'static str, Vec<String>> {
    let config = common::sdk_config(moto).await;
    let s3 = tgpipe::aws::s3_client(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let api = aws_sdk_apigatewayv2::Client::new(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let athena = aws_sdk_athena::Client::new(&config);
    let glue = aws_sdk_glue::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let mut all = BTreeMap::new();
    let buckets = s3.list_buckets().send().await.unwrap();
    let mut objects = Vec::new();
    for b in buckets.buckets() {
        let name = b.name().unwrap_or_default();
        let listed = s3.list_objects_v2().bucket(name).send().await.unwrap();
        objects.extend(
            listed
                .contents()
                .iter()
                .map(|o| format!("{name}/{}", o.key().unwrap_or_default())),
        );
    }
    all.insert(
        "buckets",
        buckets
            .buckets()
            .iter()
            .map(|b| b.name().unwrap_or_default().to_owned())
            .collect(),
    );
    all.insert("objects", objects);
    let roles = iam.list_roles().send().await.unwrap();
    all.insert(
        "roles",
        roles
            .roles()
            .iter()
            .map(|r| r.role_name().to_owned())
            .collect(),
    );
    let functions = lambda.list_functions().send().await.unwrap();
    all.insert(
        "functions",
        functions
            .functions()
            .iter()
            .map(|f| f.function_name().unwrap_or_default().to_owned())
            .collect(),
    );
    let groups = logs.describe_log_groups().send().await.unwrap();
    all.insert(
        "log groups",
        groups
            .log_groups()
            .iter()
            .map(|g| g.log_group_name().unwrap_or_default().to_owned())
            .collect(),
    );
    let apis = api.get_apis().send().await.unwrap();
    all.insert(
        "apis",
        apis.items()
            .iter()
            .map(|a| a.name().unwrap_or_default().to_owned())
            .collect(),
    );
    let rules = events.list_rules().send().await.unwrap();
    all.insert(
        "rules",
        rules
            .rules()
            .iter()
            .map(|r| r.name().unwrap_or_default().to_owned())
            .collect(),
    );
    let groups = athena.list_work_groups().send().await.unwrap();
    all.insert(
        "workgroups",
        groups
            .work_groups()
            .iter()
            .map(|w| w.name().unwrap_or_default().to_owned())
            .collect(),
    );
    let databases = glue.get_databases().send().await.unwrap();
    all.insert(
        "databases",
        databases
            .database_list()
            .iter()
            .map(|d| d.name().to_owned())
            .collect(),
    );
    let topics = sns.list_topics().send().await.unwrap();
    all.insert(
        "topics",
        topics
            .topics()
            .iter()
            .map(|t| t.topic_arn().unwrap_or_default().to_owned())
            .collect(),
    );
    let alarms = cloudwatch.describe_alarms().send().await.unwrap();
    all.insert(
        "alarms",
        alarms
            .metric_alarms()
            .iter()
            .map(|a| a.alarm_name().unwrap_or_default().to_owned())
            .collect(),
    );
    for list in all.values_mut() {
        list.sort();
    }
    all
}

/// Things of someone else's in the account, which no command may touch.
async fn someone_elses(moto: &testkit::Moto) {
    let config = common::sdk_config(moto).await;
    let s3 = tgpipe::aws::s3_client(&config);
    common::create_bucket(&s3, "someone-elses-bucket").await;
    s3.put_object()
        .bucket("someone-elses-bucket")
        .key("telegram/context_date=2024-05-01/1.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    aws_sdk_iam::Client::new(&config)
        .create_role()
        .role_name("someone-elses-role")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&config)
        .create_log_group()
        .log_group_name("/aws/lambda/someone-elses")
        .send()
        .await
        .unwrap();
    aws_sdk_eventbridge::Client::new(&config)
        .put_rule()
        .name("someone-elses-rule")
        .schedule_expression("rate(1 day)")
        .send()
        .await
        .unwrap();
    aws_sdk_sns::Client::new(&config)
        .create_topic()
        .name("someone-elses-alerts")
        .send()
        .await
        .unwrap();
    // Named like the stack's alarms, but not the stack's.
    aws_sdk_cloudwatch::Client::new(&config)
        .put_metric_alarm()
        .alarm_name("tgpipe-someone-elses")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
        )
        .send()
        .await
        .unwrap();
}

/// The kinds of resource `up` names, in the order of its lines.
fn resource_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("  ")?;
            let (word, rest) = rest.split_once(' ')?;
            if !["created", "updated", "unchanged"].contains(&word) {
                return None;
            }
            Some(rest.trim_start().get(..17)?.trim_end().to_owned())
        })
        .filter(|kind| kind != "telegram webhook")
        .collect()
}

/// What a first `up` creates, in the order it says so (the stack's components, in order).
const FIRST_UP_ORDER: [&str; 23] = [
    "s3 bucket",
    "s3 bucket",
    "s3 bucket",
    "iam role",
    "iam role",
    "log group",
    "log group",
    "lambda function",
    "lambda function",
    "http api",
    "eventbridge rule",
    "athena workgroup",
    "glue database",
    "glue table",
    "sns topic",
    "sns subscription",
    "cloudwatch alarm",
    "cloudwatch alarm",
    "cloudwatch alarm",
    "cloudwatch alarm",
    "cloudwatch alarm",
    "cloudwatch alarm",
    "cloudwatch alarm",
];

#[tokio::test(flavor = "multi_thread")]
async fn up_status_set_webhook_and_down_succeed_in_one_run_when_a_fifth_of_calls_fail() {
    let net = Net::new(testkit::FaultConfig::default());
    someone_elses(&net.moto).await;
    let before = inventory(&net.moto).await;
    // Three cycles, each with its own sequence of faults.
    for seed in 1..=3 {
        net.proxy.set_config(testkit::FaultConfig {
            failures: 0.2,
            drops: 0.03,
            seed,
            ..Default::default()
        });
        net.proxy.reset();
        let (code, out, err) = net.up();
        assert_eq!(code, 0, "up, seed {seed}\nstdout:\n{out}\nstderr:\n{err}");
        // Made side by side, and still told in the same order whatever finished first.
        assert_eq!(
            resource_lines(&out),
            FIRST_UP_ORDER,
            "seed {seed}: the lines of up came in another order:\n{out}"
        );
        let up = net.proxy.stats();
        let stack = inventory(&net.moto).await;
        for (kind, n) in [
            ("functions", 2),
            ("roles", 2),
            ("apis", 1),
            ("rules", 1),
            ("topics", 1),
            ("alarms", 7),
        ] {
            assert_eq!(
                stack[kind].len(),
                before[kind].len() + n,
                "seed {seed}: {kind} after up: {:?}",
                stack[kind]
            );
        }
        let status = net.run(&["status", "--output", "json"]);
        // No data has come yet, which status may call stale; what matters is that it answered.
        assert!(
            status.0 == 0 || status.0 == 3,
            "status, seed {seed}: {}\n{}",
            status.1,
            status.2
        );
        let report: serde_json::Value = serde_json::from_str(&status.1)
            .unwrap_or_else(|e| panic!("status, seed {seed}: {e}: {}", status.2));
        assert!(
            report["resources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["state"] == "present"),
            "status, seed {seed}: {report}"
        );
        ok(
            &format!("set-webhook, seed {seed}"),
            net.run(&["set-webhook"]),
        );
        ok(
            &format!("down, seed {seed}"),
            net.run(&["down", "--yes", "--delete-data"]),
        );
        let stats = net.proxy.stats();
        assert!(
            up.failed > 0 && stats.failed + stats.dropped > 5,
            "seed {seed}: too few faults to prove anything: {stats:?}"
        );
        assert_eq!(
            inventory(&net.moto).await,
            before,
            "seed {seed}: the account is not as it was"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_aws_carried_out_but_answered_500_is_not_made_twice() {
    // AWS sometimes does the work and then fails the answer. An HTTP API (or an integration)
    // has no idempotency token: a blind retry would make a second one. The other creates are
    // retried, and must take "it exists already" from their retry as success.
    let creates = [
        "apigateway CreateApi",
        "apigateway CreateIntegration",
        "apigateway POST /v2/apis/*/routes",
        "apigateway POST /v2/apis/*/stages",
        "iam CreateRole",
        "logs CreateLogGroup",
        "s3 PUT /tgpipe-123456789012-eu-west-1-raw/",
        "lambda POST /2015-03-31/functions",
        "lambda POST /2015-03-31/functions/tgpipe-ingest/policy",
        "glue CreateDatabase",
        "glue CreateTable",
        "athena CreateWorkGroup",
    ];
    let net = Net::new(testkit::FaultConfig {
        applied_then_failed: creates.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    });
    let before = inventory(&net.moto).await;
    let err = ok("up", net.up());
    let after = inventory(&net.moto).await;
    for (kind, n) in [
        ("functions", 2),
        ("roles", 2),
        ("apis", 1),
        ("log groups", 2),
        ("workgroups", 1),
        ("databases", 1),
    ] {
        assert_eq!(
            after[kind].len(),
            before[kind].len() + n,
            "{kind}: {:?}",
            after[kind]
        );
    }
    let config = common::sdk_config(&net.moto).await;
    let api = aws_sdk_apigatewayv2::Client::new(&config);
    let apis = api.get_apis().send().await.unwrap();
    assert_eq!(apis.items().len(), 1, "{:?}\n{err}", apis.items());
    let id = apis.items()[0].api_id().unwrap();
    let integrations = api.get_integrations().api_id(id).send().await.unwrap();
    assert_eq!(integrations.items().len(), 1, "{:?}", integrations.items());
    assert_eq!(
        net.proxy.stats().failed,
        creates.len(),
        "every fault happened: {:?}",
        net.proxy.stats().operations
    );
    // And the next `up` finds nothing to change.
    let again = ok("up again", net.up());
    assert!(!again.contains("error"), "{again}");
}

#[test]
fn verbose_shows_each_retry_as_it_happens() {
    let net = Net::new(testkit::FaultConfig {
        failures: 0.3,
        seed: 5,
        ..Default::default()
    });
    let (code, out, err) = net.run(&["--verbose", "status"]);
    assert!(code == 0 || code == 3, "{out}\n{err}");
    let retry = err
        .lines()
        .find(|l| l.contains(", retrying after "))
        .unwrap_or_else(|| panic!("no retry shown:\n{err}"));
    // "  aws CloudWatch Logs DescribeLogGroups: 503, retrying after 0.1 s"; an operation's name
    // may hold digits (S3 ListObjectsV2).
    let re = regex::Regex::new(
        r"^  aws [A-Za-z0-9 ]+ [A-Za-z0-9]+: (500|503|400|429|no answer), retrying after \d+\.\d s$",
    )
    .unwrap();
    assert!(re.is_match(retry), "{retry}");
    // The buckets' objects are reached through the lake's storage: each of its requests is a
    // line too, failed attempts included ("  aws s3 GET /bucket?list-type=2&prefix=…: 503").
    let object = regex::Regex::new(r"^  aws s3 (GET|PUT|HEAD|DELETE) /\S+: \d{3}$").unwrap();
    let objects: Vec<&str> = err.lines().filter(|l| object.is_match(l)).collect();
    assert!(
        objects.iter().any(|l| l.contains("list-type=2")),
        "no bucket listing shown:\n{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lambdas_echo_of_the_variables_never_prints_the_webhook_secret() {
    let net = Net::new(testkit::FaultConfig::default());
    ok("up", net.up());
    let config = common::sdk_config(&net.moto).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let secret = lambda
        .get_function_configuration()
        .function_name("tgpipe-ingest")
        .send()
        .await
        .unwrap()
        .environment()
        .unwrap()
        .variables()
        .unwrap()["TGPIPE_WEBHOOK_SECRET"]
        .clone();
    // A rotation writes both secrets; Lambda refuses, quoting every variable it was sent.
    net.proxy.set_config(testkit::FaultConfig {
        variables_too_large: vec![
            "lambda PUT /2015-03-31/functions/tgpipe-ingest/configuration".into(),
        ],
        ..Default::default()
    });
    let (code, out, err) = net.run(&["set-webhook", "--rotate-secret"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("exceeded the 4KB limit"), "{err}");
    assert!(err.contains("TGPIPE_TIMEZONE"), "the rest is shown: {err}");
    assert!(err.contains("[withheld]"), "{err}");
    assert!(
        !err.contains(&secret),
        "the webhook secret was printed: {err}"
    );
    assert!(!out.contains(&secret));
}

/// Lambda refuses a change while another update of the function is in progress
/// (`ResourceConflictException`, the code it also gives a statement id that is taken): `up`
/// waits and makes the change, and never takes the refusal for a permission already there.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_refused_while_an_update_is_in_progress_is_made_once_the_function_is_ready() {
    let policy = "lambda POST /2015-03-31/functions/tgpipe-ingest/policy".to_owned();
    let configuration = "lambda PUT /2015-03-31/functions/tgpipe-ingest/configuration".to_owned();
    let net = Net::new(testkit::FaultConfig {
        in_progress: vec![policy.clone(), policy],
        ..Default::default()
    });
    ok("up", net.up());
    let config = common::sdk_config(&net.moto).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let statement = lambda
        .get_policy()
        .function_name("tgpipe-ingest")
        .send()
        .await
        .expect("the API's permission to invoke the ingest function")
        .policy()
        .unwrap_or_default()
        .to_owned();
    assert!(statement.contains("tgpipe-apigateway"), "{statement}");
    assert_eq!(net.proxy.stats().failed, 2);
    // A rotation's change of the variables, refused once, is made too.
    net.proxy.set_config(testkit::FaultConfig {
        in_progress: vec![configuration],
        ..Default::default()
    });
    ok("set-webhook", net.run(&["set-webhook", "--rotate-secret"]));
    assert_eq!(net.proxy.stats().failed, 3);
}

/// S3 right after CreateBucket may not find the new bucket for its settings (`NoSuchBucket`),
/// and the name of a bucket just deleted stays taken for a while (`OperationAborted`): `up`
/// rides out both, and `up` right after `down` makes the stack whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_bucket_not_found_yet_and_a_name_not_released_yet_are_waited_out() {
    let not_yet = (
        "s3 PUT /tgpipe-*?*".to_owned(),
        404,
        "NoSuchBucket",
        "The specified bucket does not exist",
    );
    let net = Net::new(testkit::FaultConfig {
        refusals: vec![not_yet.clone(), not_yet.clone(), not_yet],
        ..Default::default()
    });
    ok("up", net.up());
    assert_eq!(net.proxy.stats().failed, 3);
    let (code, out, err) = net.run(&["status", "--output", "json"]);
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert!(code == 0 || code == 3, "{err}");
    assert!(
        report["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "present"),
        "every bucket's settings were made: {report}"
    );
    ok("down", net.run(&["down", "--yes", "--delete-data"]));
    let taken = (
        "s3 PUT /tgpipe-123456789012-eu-west-1-raw/".to_owned(),
        409,
        "OperationAborted",
        "A conflicting conditional operation is currently in progress against this resource. Please try again.",
    );
    net.proxy.set_config(testkit::FaultConfig {
        refusals: vec![taken.clone(), taken],
        ..Default::default()
    });
    let err = ok("up after down", net.up());
    let stats = net.proxy.stats();
    assert!(
        err.contains("waiting for S3 to release the name"),
        "{err}\n{stats:?}"
    );
}
