//! The real `tgpipe` binary against moto and a Telegram Bot API stand-in: up, a second up that
//! changes nothing, status, drift repaired, dry-run, set-webhook, down; and the token never shows.

use crate::common;

use crate::common::mutating;

pub const TOKEN: &str = "123456789:AAHtestTOKENvalue_0123456789abcdef";

/// moto, the Bot API stand-in and a home of its own: what `tgpipe` runs against.
pub struct Env {
    pub moto: testkit::Moto,
    pub bot: testkit::TelegramStandIn,
    home: tempfile::TempDir,
    pub artifacts: tempfile::TempDir,
    printed: std::cell::RefCell<String>,
}

impl Env {
    pub fn new() -> Env {
        Self::with_moto(testkit::Moto::start())
    }

    fn with_moto(moto: testkit::Moto) -> Env {
        common::moto_lambda_without_docker(&moto);
        let artifacts = common::fake_artifacts();
        Env {
            moto,
            bot: testkit::TelegramStandIn::start(TOKEN),
            home: tempfile::tempdir().unwrap(),
            artifacts,
            printed: Default::default(),
        }
    }

    /// Runs tgpipe; returns exit code, stdout, stderr (all of it is kept to check for the token).
    pub fn run(&self, args: &[&str], token: Option<&str>) -> (i32, String, String) {
        let mut cmd = common::tgpipe_on_aws(&self.moto.endpoint, args);
        cmd.env("HOME", self.home.path())
            .env("TGPIPE_TELEGRAM_API_URL", &self.bot.url);
        if let Some(t) = token {
            cmd.env("TGPIPE_BOT_TOKEN", t);
        }
        let (code, stdout, stderr) = common::run(cmd);
        self.printed
            .borrow_mut()
            .push_str(&format!("{stdout}\n{stderr}\n"));
        (code, stdout, stderr)
    }

    pub fn up(&self, extra: &[&str]) -> (i32, String, String) {
        let artifacts = self.artifacts.path().to_str().unwrap().to_owned();
        let mut args = vec![
            "up",
            "--chat-id",
            "-1001234567890",
            "--artifacts",
            &artifacts,
        ];
        args.extend(extra);
        self.run(&args, Some(TOKEN))
    }

    pub fn assert_token_never_printed(&self) {
        let printed = self.printed.borrow();
        assert!(!printed.contains(TOKEN), "the bot token was printed");
        assert!(
            !printed.contains(TOKEN.split(':').nth(1).unwrap()),
            "part of the bot token was printed"
        );
    }
}

pub fn ok(result: &(i32, String, String)) {
    assert_eq!(result.0, 0, "stdout:\n{}\nstderr:\n{}", result.1, result.2);
}

#[test]
fn bad_input_is_one_clear_line_and_creates_nothing() {
    let env = Env::new();
    let cases: [(&[&str], Option<&str>, &str); 7] = [
        (
            &["--name", "Bad_Name", "up", "--chat-id", "-1"],
            Some(TOKEN),
            "invalid stack name",
        ),
        (&["up", "--chat-id", "-1"], None, "no bot token"),
        (
            &["up", "--chat-id", "-1"],
            Some("123456789:AAHwrongTOKENvalue_999999"),
            "rejected the bot token",
        ),
        (&["up", "--chat-id", "-1"], Some("not-a-token"), "malformed"),
        (
            &["up", "--chat-id", "-1", "--artifacts", "/nonexistent"],
            Some(TOKEN),
            "scripts/lambdas",
        ),
        (
            &["up", "--chat-id", "-1", "--alert-email", "ops at example"],
            Some(TOKEN),
            "not an e-mail address",
        ),
        // EventBridge would refuse it only after the buckets, roles and functions were made.
        (
            &["up", "--chat-id", "-1", "--schedule", "cron(0 3 * *)"],
            Some(TOKEN),
            "a cron expression has 6 fields",
        ),
    ];
    env.moto.start_recording();
    for (args, token, expected) in cases {
        let (code, stdout, stderr) = env.run(args, token);
        assert_ne!(code, 0, "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        let _ = stdout;
    }
    // CloudWatch evaluates at most 7 days: a longer silence is refused before anything is asked.
    let (code, _, stderr) = env.run(
        &["up", "--chat-id", "-1", "--alert-silence-hours", "500"],
        Some(TOKEN),
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("1..=168"), "{stderr}");
    let calls = env.moto.recorded();
    assert!(mutating(&calls).is_empty(), "{:?}", mutating(&calls));
    let (code, _, stderr) = env.run(&["up", "--chat-id", "my-group"], Some(TOKEN));
    assert_ne!(code, 0);
    assert!(stderr.contains("--chat-id"), "{stderr}");
    let unreachable = env.run(&["status", "--endpoint-url", "http://127.0.0.1:9"], None);
    assert_eq!(unreachable.0, 1);
    assert!(
        unreachable
            .2
            .contains("AWS could not be reached: check --region"),
        "{}",
        unreachable.2
    );
    let wrong = env.run(&["status"], Some("123456789:AAHwrongTOKENvalue_999999"));
    assert!(
        !wrong.2.contains("AAHwrongTOKENvalue_999999"),
        "{}",
        wrong.2
    );
    env.assert_token_never_printed();
}

/// An `up` interrupted after any step leaves a partial stack; the next `up` completes it.
#[test]
fn an_interrupted_up_is_completed_by_the_next() {
    let env = Env::new();
    ok(&env.up(&[]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(common::sdk_config(&env.moto));
    let stack = tgpipe::stack::Stack::new(
        tgpipe::stack::StackName::parse("tgpipe").unwrap(),
        "123456789012",
        common::REGION,
    );
    let clients = tgpipe::stack::Clients::new(&config, false);
    let (lambda, api) = (&clients.lambda, &clients.api);
    // Removes these components as `down` would.
    let remove = |parts: &'static [&'static dyn tgpipe::stack::Component]| {
        let (clients, stack) = (&clients, &stack);
        async move {
            for part in parts {
                common::destroy(*part, clients, stack, &Default::default(), false)
                    .await
                    .unwrap();
            }
        }
    };
    // Each cut undoes the steps after a point, as if `up` had stopped there.
    let cuts: [(&str, &dyn Fn()); 5] = [
        ("only the buckets exist", &|| {
            rt.block_on(async {
                remove(&[
                    &tgpipe::stack::events::Schedule,
                    &tgpipe::stack::apigw::HttpApi,
                    &tgpipe::stack::lambda::Functions,
                    &tgpipe::stack::logs::LogGroups,
                    &tgpipe::stack::iam::Roles,
                    &tgpipe::stack::athena::Analytics,
                ])
                .await;
            })
        }),
        ("roles, no functions", &|| {
            rt.block_on(async {
                remove(&[
                    &tgpipe::stack::events::Schedule,
                    &tgpipe::stack::apigw::HttpApi,
                    &tgpipe::stack::lambda::Functions,
                ])
                .await;
            })
        }),
        ("an API without its route and stage", &|| {
            rt.block_on(async {
                let found = tgpipe::stack::apigw::find(api, &stack)
                    .await
                    .unwrap()
                    .unwrap();
                let id = found.api_id().unwrap();
                let routes = api.get_routes().api_id(id).send().await.unwrap();
                for r in routes.items() {
                    api.delete_route()
                        .api_id(id)
                        .route_id(r.route_id().unwrap())
                        .send()
                        .await
                        .unwrap();
                }
                api.delete_stage()
                    .api_id(id)
                    .stage_name("$default")
                    .send()
                    .await
                    .unwrap();
                remove(&[&tgpipe::stack::events::Schedule]).await;
            })
        }),
        ("a rule without its permission", &|| {
            rt.block_on(async {
                lambda
                    .remove_permission()
                    .function_name("tgpipe-etl")
                    .statement_id("tgpipe-eventbridge")
                    .send()
                    .await
                    .unwrap();
            })
        }),
        ("everything but the webhook", &|| {
            env.bot
                .set_webhook_info(serde_json::json!({"url": "", "pending_update_count": 0}));
        }),
    ];
    for (what, cut) in cuts {
        cut();
        assert_eq!(
            env.run(&["status"], Some(TOKEN)).0,
            3,
            "{what}: status should see the gap"
        );
        // A cut that removed the API leaves the webhook at a URL nothing answers, and the
        // stand-in reports no failed delivery: that takes a --yes (see webhook::takeover).
        ok(&env.up(&["--yes"]));
        let status = env.run(&["status"], Some(TOKEN));
        assert_eq!(status.0, 0, "{what}:\n{}", status.1);
        env.moto.start_recording();
        let again = env.up(&[]);
        let calls = env.moto.recorded();
        ok(&again);
        assert!(
            mutating(&calls).is_empty(),
            "{what}: {:?}",
            mutating(&calls)
        );
    }
    env.assert_token_never_printed();
}

/// The SDK against an environment's moto, for what a test seeds or checks in the account.
pub struct Aws {
    pub rt: tokio::runtime::Runtime,
    pub config: aws_config::SdkConfig,
}

impl Aws {
    pub fn new(env: &Env) -> Aws {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = rt.block_on(common::sdk_config(&env.moto));
        Aws { rt, config }
    }

    /// The ingest function's variables as deployed.
    pub fn ingest_vars(&self) -> std::collections::HashMap<String, String> {
        let lambda = aws_sdk_lambda::Client::new(&self.config);
        let c = self
            .rt
            .block_on(
                lambda
                    .get_function_configuration()
                    .function_name("tgpipe-ingest")
                    .send(),
            )
            .unwrap();
        c.environment().unwrap().variables().unwrap().clone()
    }

    /// moto applies the buckets' TLS-only Deny to plain-HTTP object calls: a test that seeds or
    /// reads objects lifts it first.
    pub fn lift_tls_only_policy(&self, bucket: &str) {
        let s3 = tgpipe::aws::s3_client(&self.config);
        self.rt
            .block_on(s3.delete_bucket_policy().bucket(bucket).send())
            .unwrap();
    }

    pub fn put(&self, bucket: &str, key: &str, body: &str) {
        let s3 = tgpipe::aws::s3_client(&self.config);
        self.rt
            .block_on(
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(body.as_bytes().to_vec().into())
                    .send(),
            )
            .unwrap();
    }
}

pub const RAW: &str = "tgpipe-123456789012-eu-west-1-raw";
pub const GROUP: &str = "-1001234567890";

/// Every secret `setWebhook` gave Telegram, in order.
pub fn secrets_given(env: &Env) -> Vec<String> {
    env.bot
        .calls()
        .into_iter()
        .filter(|c| c.method == "setWebhook")
        .map(|c| c.params["secret_token"].as_str().unwrap().to_owned())
        .collect()
}

fn status_json(env: &Env) -> (i32, serde_json::Value) {
    let (code, out, err) = env.run(&["status", "--output", "json"], Some(TOKEN));
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, report)
}

#[test]
fn a_bot_that_cannot_read_the_group_is_a_warning_on_up_and_makes_status_unhealthy() {
    let env = Env::new();
    // Privacy mode on (the stand-in's default) and not an admin: commands and mentions only.
    env.bot
        .set_chat(GROUP.parse().unwrap(), "supergroup", "Team chat", "member");
    let up = env.up(&[]);
    ok(&up);
    assert!(up.1.contains("\"Team chat\" (supergroup)"), "{}", up.1);
    assert!(
        up.1.contains("WARNING") && up.1.contains("/setprivacy"),
        "{}",
        up.1
    );
    let (code, report) = status_json(&env);
    assert_eq!(code, 3);
    assert_eq!(report["healthy"], false);
    let problem = report["chats"][0]["problem"].as_str().unwrap();
    assert!(problem.contains("/setprivacy"), "{problem}");

    // Privacy mode off: the bot reads everything, all is well.
    env.bot.set_privacy_off(true);
    let (code, report) = status_json(&env);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["chats"][0]["title"], "Team chat");

    // Removed from the group: unhealthy, and it says what to do.
    env.bot
        .set_chat(GROUP.parse().unwrap(), "supergroup", "Team chat", "left");
    let (code, report) = status_json(&env);
    assert_eq!(code, 3);
    assert!(
        report["chats"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("not a member"),
        "{report}"
    );
    env.assert_token_never_printed();
}

#[test]
fn a_secret_rotation_never_leaves_a_gap_and_an_interrupted_one_is_finished_by_up() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&[]));
    let old = secrets_given(&env)[0].clone();

    // Telegram refuses setWebhook in the middle of a rotation: the function accepts both.
    env.bot.fail_set_webhook(1);
    let rotate = env.run(&["set-webhook", "--rotate-secret"], Some(TOKEN));
    assert_ne!(rotate.0, 0, "{rotate:?}");
    let both = aws.ingest_vars()["TGPIPE_WEBHOOK_SECRET"].clone();
    let (new, kept_old) = both
        .split_once(',')
        .expect("two secrets during the rotation");
    assert_eq!(kept_old, old, "Telegram's secret stays accepted");
    assert_eq!(env.bot.secret(), Some(old.clone()));
    let (code, report) = status_json(&env);
    assert_eq!(code, 3);
    assert!(
        report["problems"].to_string().contains("rotation"),
        "{report}"
    );

    // The next up tells Telegram the new secret, then drops the old.
    let up = env.up(&[]);
    ok(&up);
    assert!(
        up.1.contains(&tgpipe::ui::status_line("finished", "secret rotation", "")),
        "{}",
        up.1
    );
    assert_eq!(env.bot.secret().as_deref(), Some(new));
    assert_eq!(aws.ingest_vars()["TGPIPE_WEBHOOK_SECRET"], new);
    assert_eq!(status_json(&env).0, 0);

    // A rotation that goes through: no setWebhook with anything but the function's secret.
    ok(&env.run(&["set-webhook", "--rotate-secret"], Some(TOKEN)));
    let newest = aws.ingest_vars()["TGPIPE_WEBHOOK_SECRET"].clone();
    assert!(!newest.contains(','), "{newest}");
    assert_eq!(env.bot.secret(), Some(newest.clone()));

    // Nothing differs: up calls setWebhook no more, and mutates nothing.
    let calls_before = secrets_given(&env).len();
    env.moto.start_recording();
    let again = env.up(&[]);
    ok(&again);
    assert!(mutating(&env.moto.recorded()).is_empty());
    assert_eq!(secrets_given(&env).len(), calls_before);
    for s in [&old, &newest] {
        assert!(
            !env.printed.borrow().contains(s.as_str()),
            "a secret was printed"
        );
    }
}

#[test]
fn a_recreated_ingest_function_gets_telegram_its_new_secret() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&[]));
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    aws.rt
        .block_on(
            lambda
                .delete_function()
                .function_name("tgpipe-ingest")
                .send(),
        )
        .unwrap();
    ok(&env.up(&[]));
    let secret = aws.ingest_vars()["TGPIPE_WEBHOOK_SECRET"].clone();
    let given = secrets_given(&env);
    assert_eq!(given.len(), 2);
    assert_eq!(
        given[1], secret,
        "Telegram holds the secret the function accepts"
    );
}

#[test]
fn status_is_unhealthy_on_a_recent_delivery_error_or_updates_piling_up() {
    let env = Env::new();
    let up = env.up(&[]);
    ok(&up);
    let mut hook = env.bot.webhook();
    let now = chrono::Utc::now().timestamp();
    hook["last_error_date"] = serde_json::json!(now - 600);
    hook["last_error_message"] =
        serde_json::json!("Wrong response from the webhook: 401 Unauthorized");
    env.bot.set_webhook_info(hook.clone());
    let (code, report) = status_json(&env);
    assert_eq!(code, 3);
    assert!(
        report["webhook"]["problems"]
            .to_string()
            .contains("401 Unauthorized"),
        "{report}"
    );

    // An error of two days ago is old news; updates waiting while nothing is stored are not.
    hook["last_error_date"] = serde_json::json!(now - 2 * 86400);
    env.bot.set_webhook_info(hook.clone());
    assert_eq!(status_json(&env).0, 0);
    hook["pending_update_count"] = serde_json::json!(12);
    env.bot.set_webhook_info(hook);
    let (code, report) = status_json(&env);
    assert_eq!(code, 3);
    assert!(
        report["webhook"]["problems"]
            .to_string()
            .contains("12 updates wait"),
        "{report}"
    );
}

#[test]
fn status_and_up_read_the_data_quarantine_stale_days_migrations_and_the_deployed_values() {
    let env = Env::new();
    let aws = Aws::new(&env);
    // A schedule of one's own is not drift, and up without --schedule keeps it.
    ok(&env.up(&["--schedule", "rate(6 hours)"]));
    assert_eq!(status_json(&env).0, 0);
    // Neither --chat-id nor --schedule: the deployed ones are kept.
    ok(&env.run(
        &["up", "--artifacts", env.artifacts.path().to_str().unwrap()],
        Some(TOKEN),
    ));
    let events = aws_sdk_eventbridge::Client::new(&aws.config);
    let rule = aws
        .rt
        .block_on(events.describe_rule().name("tgpipe-etl-daily").send())
        .unwrap();
    assert_eq!(rule.schedule_expression(), Some("rate(6 hours)"));
    assert_eq!(aws.ingest_vars()["TGPIPE_ALLOWED_CHAT_IDS"], GROUP);

    // A body in quarantine, a day with raw updates and no Parquet, a group that migrated.
    let today = chrono::Utc::now().date_naive();
    aws.lift_tls_only_policy(RAW);
    aws.put(RAW, "quarantine/received_date=2024-05-01/abc", "not json");
    aws.put(
        RAW,
        &format!("telegram/context_date={today}/1.json"),
        "{\"update_id\":1}",
    );
    aws.put(RAW, &format!("chats/migrated/-1009999/from={GROUP}"), "{}");
    // Over a thousand days of history: the newest day is on the second page of the listing.
    let first = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    aws.rt.block_on(async {
        let s3 = tgpipe::aws::s3_client(&aws.config);
        use futures::StreamExt;
        // 32 at a time: a thousand connections at once can time out on a busy machine.
        let puts = futures::stream::iter(first.iter_days().take(1001).map(|day| {
            s3.put_object()
                .bucket(RAW)
                .key(format!("telegram/context_date={day}/1.json"))
                .body(b"{}".to_vec().into())
                .send()
        }))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
        for put in puts {
            put.unwrap();
        }
    });
    let (code, report) = status_json(&env);
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["quarantined"], 1);
    // Every day without Parquet is rebuilt by the next run, whatever its age, and each but
    // today has waited longer than the schedule's period: a problem, named.
    let history: Vec<String> = first
        .iter_days()
        .take(1001)
        .map(|d| d.to_string())
        .collect();
    let mut unbuilt = history.clone();
    unbuilt.push(today.to_string());
    assert_eq!(report["stale_days"], serde_json::json!(unbuilt));
    assert_eq!(report["overdue_days"], serde_json::json!(history));
    let overdue = format!(
        "1001 days have waited longer than one period of the ETL's schedule for their Parquet ({} to {})",
        history[0], history[1000]
    );
    assert!(
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().starts_with(&overdue)),
        "{report}"
    );
    assert_eq!(report["migrations"][0]["to"], -1009999);
    let newest = report["newest_raw_object"].as_str().unwrap();
    assert!(
        newest.starts_with(&format!("telegram/context_date={today}/1.json")),
        "{newest}"
    );
    let text = env.run(&["status"], Some(TOKEN));
    assert!(
        text.1.contains("became the supergroup -1009999"),
        "{}",
        text.1
    );

    // up adds the new chat to the stack's chats.
    let up = env.run(
        &["up", "--artifacts", env.artifacts.path().to_str().unwrap()],
        Some(TOKEN),
    );
    ok(&up);
    assert!(up.1.contains("became the supergroup -1009999"), "{}", up.1);
    assert_eq!(
        aws.ingest_vars()["TGPIPE_ALLOWED_CHAT_IDS"],
        format!("{GROUP},-1009999")
    );

    // Another time zone on a stack that holds updates is confirmed, never silent.
    let artifacts = env.artifacts.path().to_str().unwrap().to_owned();
    let tz = env.run(
        &[
            "up",
            "--artifacts",
            &artifacts,
            "--timezone",
            "America/Sao_Paulo",
        ],
        Some(TOKEN),
    );
    assert_ne!(tz.0, 0);
    assert!(tz.2.contains("--yes"), "{}", tz.2);
    assert_eq!(aws.ingest_vars()["TGPIPE_TIMEZONE"], "UTC");
    ok(&env.run(
        &[
            "up",
            "--artifacts",
            &artifacts,
            "--timezone",
            "America/Sao_Paulo",
            "--yes",
        ],
        Some(TOKEN),
    ));
    assert_eq!(aws.ingest_vars()["TGPIPE_TIMEZONE"], "America/Sao_Paulo");
}

#[test]
fn the_etl_runs_alone_reserved_concurrency_bounded_retries_and_a_lease_where_none_can_be_reserved()
{
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&[]));
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    let concurrency = aws
        .rt
        .block_on(
            lambda
                .get_function_concurrency()
                .function_name("tgpipe-etl")
                .send(),
        )
        .unwrap();
    assert_eq!(concurrency.reserved_concurrent_executions(), Some(1));
    let invoke = aws
        .rt
        .block_on(
            lambda
                .get_function_event_invoke_config()
                .function_name("tgpipe-etl")
                .send(),
        )
        .unwrap();
    assert_eq!(invoke.maximum_retry_attempts(), Some(2));
    let events = aws_sdk_eventbridge::Client::new(&aws.config);
    let targets = aws
        .rt
        .block_on(
            events
                .list_targets_by_rule()
                .rule("tgpipe-etl-daily")
                .send(),
        )
        .unwrap();
    assert!(targets.targets()[0].retry_policy().is_some());
    // Taken away by hand: status says so, up puts it back.
    aws.rt
        .block_on(
            lambda
                .delete_function_concurrency()
                .function_name("tgpipe-etl")
                .send(),
        )
        .unwrap();
    let (code, report) = status_json(&env);
    assert_eq!(code, 3);
    assert!(
        report["resources"]
            .to_string()
            .contains("reserved concurrency is not 1"),
        "{report}"
    );
    ok(&env.up(&[]));
    assert_eq!(status_json(&env).0, 0);

    // A new account's quota leaves nothing to reserve: up says so and relies on the lease, and
    // the next up does not ask again.
    let small = Env::with_moto(testkit::Moto::start_with(&[(
        "MOTO_LAMBDA_CONCURRENCY_QUOTA",
        "10",
    )]));
    let up = small.up(&[]);
    ok(&up);
    assert!(up.2.contains("lease"), "{}", up.2);
    small.moto.start_recording();
    ok(&small.up(&[]));
    assert!(mutating(&small.moto.recorded()).is_empty());
}

#[test]
fn chats_names_every_chat_the_bot_heard_from_without_taking_updates_and_up_takes_a_username() {
    const CLUB: i64 = -100111;
    const OTHER: i64 = -100222;
    let env = Env::new();
    let aws = Aws::new(&env);
    env.bot
        .set_chat(CLUB, "supergroup", "Data club", "administrator");
    env.bot.set_chat(OTHER, "group", "Book club", "member");
    env.bot.set_member_count(CLUB, 42);
    env.bot.set_username(CLUB, "data_club");
    let message = |id: i64, chat: i64, title: &str| {
        serde_json::json!({"update_id": id, "message": {"message_id": 1, "date": 1_714_613_400,
            "chat": {"id": chat, "type": "supergroup", "title": title}, "text": "hello"}})
        .to_string()
    };
    env.bot.push_updates(&[
        message(1, CLUB, "Data club"),
        message(2, OTHER, "Book club"),
    ]);

    // Before any stack: the waiting updates name the chats, and stay waiting.
    let (code, out, err) = env.run(&["chats", "--output", "json"], Some(TOKEN));
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let chats = report["chats"].as_array().unwrap();
    let ids: Vec<i64> = chats.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [OTHER, CLUB]);
    assert_eq!(chats[1]["title"], "Data club");
    assert_eq!(chats[1]["members"], 42);
    assert_eq!(chats[1]["kept"], false);
    assert_eq!(chats[1]["heard_from"], serde_json::json!(["waiting"]));
    assert_eq!(chats[0]["type"], "group");
    assert_eq!(
        env.bot.pending_updates(),
        2,
        "chats took updates from Telegram"
    );
    for call in env.bot.calls().iter().filter(|c| c.method == "getUpdates") {
        assert!(
            call.params.get("offset").is_none(),
            "{call:?} confirms updates"
        );
        assert!(
            call.params.get("allowed_updates").is_none(),
            "{call:?} changes what the bot receives"
        );
    }
    let (code, out, _) = env.run(&["chats"], Some(TOKEN));
    assert_eq!(code, 0);
    assert!(
        out.contains("Data club") && out.contains(&CLUB.to_string()),
        "{out}"
    );
    assert!(
        out.contains(&format!("tgpipe up --chat-id {OTHER}")),
        "{out}"
    );

    // A public group by its @username; one that does not exist is an error naming it.
    let artifacts = env.artifacts.path().to_str().unwrap().to_owned();
    let (code, _, err) = env.run(
        &["up", "--chat-id", "@nobody_here", "--artifacts", &artifacts],
        Some(TOKEN),
    );
    assert_eq!(code, 1);
    assert!(err.contains("cannot find the chat @nobody_here"), "{err}");
    let (code, _, err) = env.run(&["up", "--chat-id", "data club"], Some(TOKEN));
    assert_eq!(code, 2, "{err}");
    ok(&env.run(
        &["up", "--chat-id", "@data_club", "--artifacts", &artifacts],
        Some(TOKEN),
    ));
    assert_eq!(
        aws.ingest_vars()["TGPIPE_ALLOWED_CHAT_IDS"],
        CLUB.to_string()
    );

    // Deployed: the webhook holds the updates, and the stack's note names the chat not kept.
    aws.lift_tls_only_policy(RAW);
    let seen = |h: i64| chrono::DateTime::from_timestamp(1_714_613_400 + h * 3600, 0).unwrap();
    let note = lake::update::SeenChat {
        chat: lake::update::ChatRef {
            id: OTHER,
            kind: "group".into(),
            title: Some("Book club".into()),
        },
        first_seen: seen(0),
        last_seen: seen(5),
    };
    aws.put(
        RAW,
        &lake::layout::seen_key(OTHER),
        &serde_json::to_string(&note).unwrap(),
    );
    let (code, out, err) = env.run(&["chats", "--output", "json"], Some(TOKEN));
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["stack"], "tgpipe");
    let chats = report["chats"].as_array().unwrap();
    assert_eq!(chats.len(), 2, "{chats:?}");
    assert_eq!(chats[1]["id"], CLUB);
    assert_eq!(chats[1]["kept"], true);
    assert_eq!(chats[0]["heard_from"], serde_json::json!(["stack"]));
    assert_eq!(
        chats[0]["last_seen"],
        seen(5).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let (_, out, _) = env.run(&["chats"], Some(TOKEN));
    assert!(
        out.contains(&format!("tgpipe up --chat-id {CLUB} --chat-id {OTHER}")),
        "{out}"
    );
    // status counts them: a kept chat that is silent while another talks is a wrong id.
    assert_eq!(status_json(&env).1["chats_not_kept"], 1);
    env.assert_token_never_printed();
}

#[test]
fn up_set_webhook_and_down_answer_in_json_with_nothing_else_on_stdout() {
    let env = Env::new();
    let json = |r: (i32, String, String), code: i32| -> serde_json::Value {
        assert_eq!(r.0, code, "stdout:\n{}\nstderr:\n{}", r.1, r.2);
        serde_json::from_str(&r.1)
            .unwrap_or_else(|e| panic!("{e}: stdout is not one JSON document:\n{}", r.1))
    };
    let action_of = |report: &serde_json::Value, kind: &str| -> Vec<String> {
        report["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["action"].as_str().unwrap().to_owned())
            .collect()
    };
    let plan = json(env.up(&["--dry-run", "--output", "json"]), 3);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["changed"], true);
    assert_eq!(
        action_of(&plan, "s3 bucket"),
        ["create", "create", "create"]
    );
    let done = json(env.up(&["--output", "json"]), 0);
    assert_eq!(action_of(&done, "lambda function"), ["create", "create"]);
    assert_eq!(done["webhook_set"], true);
    let url = done["webhook_url"].as_str().unwrap().to_owned();
    assert!(url.ends_with("/webhook"), "{url}");
    assert_eq!(done["chats"][0]["id"], -1001234567890_i64);
    let again = json(env.up(&["--output", "json"]), 0);
    assert_eq!(again["changed"], false);
    assert_eq!(action_of(&again, "glue table"), ["unchanged"]);

    let set = json(
        env.run(&["set-webhook", "--output", "json"], Some(TOKEN)),
        0,
    );
    assert_eq!(set["webhook_url"], url);

    let plan = json(
        env.run(&["down", "--dry-run", "--output", "json"], Some(TOKEN)),
        0,
    );
    assert!(plan["removed"].as_array().unwrap().is_empty());
    assert!(
        plan["plan"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["delete"] == true)
    );
    // Off a terminal, down without --yes still refuses, JSON or not.
    let (code, out, _) = env.run(&["down", "--output", "json"], Some(TOKEN));
    assert_eq!((code, out.as_str()), (1, ""));
    let gone = json(
        env.run(&["down", "--yes", "--output", "json"], Some(TOKEN)),
        0,
    );
    assert_eq!(gone["webhook"], "deleted");
    let removed = gone["removed"].as_array().unwrap();
    assert!(
        removed.iter().any(|r| r["name"] == "tgpipe-ingest"),
        "{gone}"
    );
    env.assert_token_never_printed();
}

/// `tgpipe` on a pseudo-terminal (tests/pty/run.py) with `answer` typed in: exit code and all
/// it wrote.
fn on_terminal(env: &Env, answer: &str, args: &[&str]) -> (i32, String) {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pty/run.py"))
        .arg(answer)
        .arg(env!("CARGO_BIN_EXE_tgpipe"))
        .args(args);
    let mut cmd = common::on_aws(cmd, &env.moto.endpoint);
    cmd.env("HOME", env.home.path())
        .env("TGPIPE_TELEGRAM_API_URL", &env.bot.url)
        .env("TGPIPE_BOT_TOKEN", TOKEN);
    let (code, out, err) = common::run(cmd);
    assert!(err.is_empty(), "{err}");
    env.printed.borrow_mut().push_str(&out);
    (code, out)
}

#[test]
fn down_shows_the_same_data_bucket_decision_it_then_makes() {
    // A user turned versioning on and deleted what the raw bucket held: no current object is
    // left, but older versions are, and they are data.
    let env = Env::new();
    ok(&env.up(&[]));
    let aws = Aws::new(&env);
    aws.lift_tls_only_policy(RAW);
    let s3 = tgpipe::aws::s3_client(&aws.config);
    aws.rt.block_on(async {
        s3.put_bucket_versioning()
            .bucket(RAW)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    aws.put(RAW, "telegram/context_date=2024-05-01/1.json", "{}");
    aws.rt.block_on(async {
        s3.delete_object()
            .bucket(RAW)
            .key("telegram/context_date=2024-05-01/1.json")
            .send()
            .await
            .unwrap();
    });

    let (code, out, err) = env.run(&["down", "--dry-run", "--output", "json"], Some(TOKEN));
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let raw = plan["plan"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == RAW)
        .unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(raw["delete"], false, "{raw}");
    assert!(
        raw["note"].as_str().unwrap().contains("older versions"),
        "{raw}"
    );

    let (code, out, err) = env.run(&["down", "--yes", "--output", "json"], Some(TOKEN));
    assert_eq!(code, 0, "{err}");
    let done: serde_json::Value = serde_json::from_str(&out).unwrap();
    let raw = done["removed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == RAW)
        .unwrap_or_else(|| panic!("{done}"));
    assert_eq!(raw["removal"], "kept_with_data", "{raw}");
}

#[test]
fn down_on_a_terminal_asks_first_and_deletes_data_only_for_the_stacks_name_typed() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&[]));
    let s3 = tgpipe::aws::s3_client(&aws.config);
    aws.lift_tls_only_policy(RAW);
    aws.put(RAW, "telegram/context_date=2024-05-01/1.json", "{}");
    let raw_exists = || aws.rt.block_on(s3.head_bucket().bucket(RAW).send()).is_ok();
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    let ingest_exists = || {
        aws.rt
            .block_on(lambda.get_function().function_name("tgpipe-ingest").send())
            .is_ok()
    };

    // "n": nothing is deleted.
    let (code, out) = on_terminal(&env, "n\n", &["down"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Delete these"), "{out}");
    assert!(out.contains("Nothing was deleted."), "{out}");
    assert!(ingest_exists());
    // The data asks for the stack's name: anything else deletes nothing.
    let (code, out) = on_terminal(&env, "yes\n", &["down", "--delete-data"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Type the stack's name (tgpipe)"), "{out}");
    assert!(out.contains("Nothing was deleted."), "{out}");
    assert!(raw_exists() && ingest_exists());
    // The name: everything goes, data and all.
    let (code, out) = on_terminal(&env, "tgpipe\n", &["down", "--delete-data"]);
    assert_eq!(code, 0, "{out}");
    assert!(!raw_exists() && !ingest_exists(), "{out}");
    env.assert_token_never_printed();
}

#[test]
fn etl_invokes_the_function_a_week_of_days_at_a_time_and_shows_each_days_summary() {
    let env = Env::new();
    ok(&env.up(&[]));
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2024, 5, d).unwrap();
    // What the function would answer for each batch (moto runs no code).
    // Read and written counts that differ by day, so each printed line can be told apart.
    let summary = |days: std::ops::RangeInclusive<u32>| {
        etl_answer(days.map(|d| (day(d), 10 + d as usize, 9 + d as usize)))
    };
    env.moto
        .queue_lambda_results(common::REGION, &[summary(1..=7), summary(8..=9)]);
    env.moto.start_recording();
    let (code, out, err) = env.run(
        &[
            "etl",
            "--from",
            "2024-05-01",
            "--to",
            "2024-05-09",
            "--output",
            "json",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let shown: etl::Summary = serde_json::from_str(&out).unwrap();
    assert_eq!(shown.days.len(), 9);
    assert!(err.contains("2024-05-09  19 updates → 18 rows"), "{err}");
    // The payloads: the nine days, seven then two, in order.
    let payloads: Vec<serde_json::Value> = env
        .moto
        .recorded_requests()
        .into_iter()
        .filter(|r| r.what.contains("/functions/tgpipe-etl/invocations"))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let dates = |from: u32, to: u32| serde_json::json!({"dates": (from..=to).map(|d| day(d).to_string()).collect::<Vec<_>>()});
    assert_eq!(payloads, [dates(1, 7), dates(8, 9)]);

    // Days are required on the stack, and a range must run forwards.
    let (code, _, err) = env.run(&["etl"], None);
    assert_eq!(code, 1);
    assert!(err.contains("say which days"), "{err}");
    let (code, _, err) = env.run(&["etl", "--from", "2024-05-09", "--to", "2024-05-01"], None);
    assert_eq!(code, 1);
    assert!(err.contains("is after --to"), "{err}");
    let (code, _, _) = env.run(
        &["etl", "--date", "2024-05-01", "--from", "2024-05-01"],
        None,
    );
    assert_eq!(code, 2);
}

#[test]
fn import_stores_an_export_in_the_raw_bucket_and_rebuilds_the_days_it_touched() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&[]));
    let s3 = tgpipe::aws::s3_client(&aws.config);
    aws.lift_tls_only_policy(RAW);
    let summary = |days: &[&str]| {
        etl_answer(
            days.iter()
                .map(|d| (lake::layout::parse_day(d).unwrap(), 1, 1)),
        )
    };
    env.moto
        .queue_lambda_results(common::REGION, &[summary(&["2024-05-01", "2024-05-02"])]);
    let export = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/export/result.json"
    );
    env.moto.start_recording();
    let (code, out, err) = env.run(&["import", export, "--output", "json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["stored"], 12);
    assert_eq!(report["chats"][0]["kept"], true);
    let recorded = env.moto.recorded_requests();
    let puts = recorded
        .iter()
        .filter(|r| r.method == "PUT" && r.what.contains("import_-1001234567890_"))
        .count();
    assert_eq!(puts, 12);
    let payloads: Vec<serde_json::Value> = recorded
        .iter()
        .filter(|r| r.what.contains("/functions/tgpipe-etl/invocations"))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(
        payloads,
        [serde_json::json!({"dates": ["2024-05-01", "2024-05-02"]})]
    );
    let listed = aws
        .rt
        .block_on(s3.list_objects_v2().bucket(RAW).prefix("telegram/").send())
        .unwrap();
    assert_eq!(listed.contents().len(), 12);

    // Again: the bucket's record of the import says all is stored; no message is put again.
    env.moto
        .queue_lambda_results(common::REGION, &[summary(&["2024-05-01", "2024-05-02"])]);
    env.moto.start_recording();
    let (code, out, err) = env.run(&["import", export, "--output", "json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["stored"].as_u64(), report["already_stored"].as_u64()),
        (Some(0), Some(12))
    );
    let puts = env
        .moto
        .recorded_requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.what.contains("import_-1001234567890_"))
        .count();
    assert_eq!(puts, 0);
}

/// What the ETL function answers (moto runs no code): each day with the updates it read and the
/// rows it wrote.
fn etl_answer(days: impl Iterator<Item = (chrono::NaiveDate, usize, usize)>) -> String {
    let days = days
        .map(|(date, read, written)| etl::DayReport {
            date,
            objects_read: read,
            objects_skipped: 0,
            skipped_keys: Vec::new(),
            rows_written: written,
            parts: 1,
            error: None,
        })
        .collect();
    serde_json::to_string(&etl::Summary {
        days,
        remaining: Vec::new(),
    })
    .unwrap()
}

/// The token need not be on the command line (where `ps` and the shell's history keep it).
#[test]
fn the_bot_token_comes_from_stdin_or_a_file_and_is_never_printed() {
    use std::io::Write;
    let env = Env::new();
    let mut cmd = common::tgpipe_on_aws(
        &env.moto.endpoint,
        &["chats", "--no-stack", "--bot-token-file", "-"],
    );
    cmd.env("TGPIPE_TELEGRAM_API_URL", &env.bot.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{TOKEN}\n").as_bytes())
        .unwrap();
    let (code, out, err) = common::outcome(child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), TOKEN).unwrap();
    let path = file.path().to_str().unwrap();
    let mut cmd = common::tgpipe_on_aws(
        &env.moto.endpoint,
        &["chats", "--no-stack", "--bot-token-file", path],
    );
    // The file wins over a token in the environment.
    cmd.env("TGPIPE_TELEGRAM_API_URL", &env.bot.url)
        .env("TGPIPE_BOT_TOKEN", "123456789:AAHwrongTOKENvalue_999999");
    let (code, out, err) = common::run(cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    let mut cmd = common::tgpipe_on_aws(
        &env.moto.endpoint,
        &[
            "chats",
            "--no-stack",
            "--bot-token-file",
            "/nonexistent/token",
        ],
    );
    cmd.env("TGPIPE_TELEGRAM_API_URL", &env.bot.url);
    let (code, _, err) = common::run(cmd);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read the bot token from /nonexistent/token"),
        "{err}"
    );
}

/// A rotation cut short (Telegram still holds the old secret) and `set-webhook --rotate-secret`
/// run again: the first is finished before the second starts, so the secret Telegram holds is
/// never dropped while it holds it.
#[test]
fn a_rotation_run_again_after_an_interrupted_one_never_drops_the_secret_telegram_holds() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&[]));
    let old = secrets_given(&env)[0].clone();
    env.bot.fail_set_webhook(1);
    assert_ne!(
        env.run(&["set-webhook", "--rotate-secret"], Some(TOKEN)).0,
        0
    );
    let both = aws.ingest_vars()["TGPIPE_WEBHOOK_SECRET"].clone();
    let (pending, _) = both.split_once(',').expect("two secrets");
    assert_eq!(env.bot.secret(), Some(old.clone()));
    let given_before = secrets_given(&env).len();
    ok(&env.run(&["set-webhook", "--rotate-secret"], Some(TOKEN)));
    let newest = aws.ingest_vars()["TGPIPE_WEBHOOK_SECRET"].clone();
    // Telegram was given the pending secret (so that the old could go), then the newest.
    assert_eq!(
        secrets_given(&env)[given_before..],
        [pending.to_owned(), newest.clone()]
    );
    assert_eq!(env.bot.secret(), Some(newest));
}
