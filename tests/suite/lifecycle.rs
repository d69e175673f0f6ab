//! The stack's life through the real binary, against moto and the Bot API stand-in: the first
//! `up` and a second that changes nothing, drift shown and repaired, the secret rotated, and
//! `down` keeping the data and another stack. Each test stands up its own stack; the token never
//! shows.

use crate::cli::{Aws, Env, RAW, TOKEN, ok, secrets_given};
use crate::common::mutating;

/// The secret the last `setWebhook` gave Telegram.
fn given_secret(env: &Env) -> String {
    secrets_given(env).pop().unwrap()
}

#[test]
fn the_first_up_deploys_everything_and_tells_telegram_and_a_second_changes_nothing() {
    let env = Env::new();
    let dry = env.up(&["--dry-run"]);
    // Changes pending: "not as it should be".
    assert_eq!(dry.0, 3, "stdout:\n{}\nstderr:\n{}", dry.1, dry.2);
    assert!(
        dry.1.contains("create") && dry.1.contains("Dry run: nothing was changed."),
        "{}",
        dry.1
    );

    let first = env.up(&[]);
    ok(&first);
    let api_url = first
        .1
        .lines()
        .find_map(|l| l.strip_prefix("API URL:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(api_url.ends_with("/webhook"), "{api_url}");
    // `outputs` reads the same back from the account.
    let outputs = env.run(&["outputs", "--output", "json"], None);
    ok(&outputs);
    let outputs: serde_json::Value = serde_json::from_str(&outputs.1).unwrap();
    assert_eq!(outputs["api_url"], api_url.as_str());
    assert_eq!(outputs["raw_bucket"], "tgpipe-123456789012-eu-west-1-raw");
    assert_eq!(outputs["ingest_function"], "tgpipe-ingest");
    assert_eq!(outputs["table"], "tgpipe.telegram");
    assert_eq!(outputs["schedule"], "cron(30 0 * * ? *)");
    assert_eq!(outputs["timezone"], "UTC");
    assert_eq!(outputs["chats"], serde_json::json!([-1001234567890i64]));
    let set: Vec<_> = env
        .bot
        .calls()
        .into_iter()
        .filter(|c| c.method == "setWebhook")
        .collect();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].params["url"], api_url);
    let secret = set[0].params["secret_token"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32, "{secret}");
    assert_eq!(
        set[0].params["allowed_updates"],
        serde_json::json!([
            "message",
            "edited_message",
            "channel_post",
            "edited_channel_post",
            "my_chat_member"
        ])
    );
    assert!(
        !first.1.contains(&secret) && !first.2.contains(&secret),
        "the webhook secret was printed"
    );

    // The ingest function holds the same secret, the chat list and the raw bucket.
    let vars = Aws::new(&env).ingest_vars();
    assert_eq!(vars["TGPIPE_WEBHOOK_SECRET"], secret);
    assert_eq!(vars["TGPIPE_ALLOWED_CHAT_IDS"], "-1001234567890");
    assert_eq!(
        vars["TGPIPE_RAW_BUCKET"],
        "tgpipe-123456789012-eu-west-1-raw"
    );

    // Again, nothing changed: not one mutating AWS request, and no new setWebhook.
    env.moto.start_recording();
    let second = env.up(&[]);
    let calls = env.moto.recorded();
    ok(&second);
    assert!(
        second
            .1
            .contains("Everything is up to date: no changes made."),
        "{}",
        second.1
    );
    assert!(mutating(&calls).is_empty(), "{:?}", mutating(&calls));
    assert_eq!(
        env.bot
            .calls()
            .iter()
            .filter(|c| c.method == "setWebhook")
            .count(),
        1
    );
    // A deployed stack that is as it should be: a dry run has nothing to do, and says so with 0.
    let settled = env.up(&["--dry-run"]);
    ok(&settled);
    assert!(settled.1.contains("Nothing would be"), "{}", settled.1);

    let status = env.run(&["status", "--output", "json"], Some(TOKEN));
    ok(&status);
    let report: serde_json::Value = serde_json::from_str(&status.1).unwrap();
    assert_eq!(report["healthy"], true);
    assert_eq!(report["webhook"]["points_at_api"], true);
    assert_eq!(
        report["resources"].as_array().unwrap().len(),
        14,
        "{}",
        status.1
    );

    env.assert_token_never_printed();
}

#[test]
fn status_names_drift_and_up_repairs_it_and_verbose_names_every_call_but_not_the_token() {
    let env = Env::new();
    ok(&env.up(&[]));
    let aws = Aws::new(&env);
    let s3 = tgpipe::aws::s3_client(&aws.config);
    let rt = &aws.rt;
    // Drift by hand: status says so and fails; up repairs it.
    rt.block_on(
        s3.delete_bucket_encryption()
            .bucket("tgpipe-123456789012-eu-west-1-enriched")
            .send(),
    )
    .unwrap();
    // Someone widens a function's role: an administrator's policy attached, another inline.
    let iam = aws_sdk_iam::Client::new(&aws.config);
    let admin = rt
        .block_on(
            iam.create_policy()
                .policy_name("admin")
                .policy_document(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                )
                .send(),
        )
        .unwrap();
    rt.block_on(
        iam.attach_role_policy()
            .role_name("tgpipe-ingest")
            .policy_arn(admin.policy().unwrap().arn().unwrap())
            .send(),
    )
    .unwrap();
    rt.block_on(
        iam.put_role_policy()
            .role_name("tgpipe-etl")
            .policy_name("extra")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
            .send(),
    )
    .unwrap();
    // And lets another account invoke the ingest function (with made-up updates, into the lake).
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    rt.block_on(
        lambda
            .add_permission()
            .function_name("tgpipe-ingest")
            .statement_id("someone")
            .action("lambda:InvokeFunction")
            .principal("210987654321")
            .send(),
    )
    .unwrap();
    env.bot.set_webhook_info(
        serde_json::json!({"url": "https://elsewhere.example/hook", "pending_update_count": 7,
        "last_error_date": 1714564800, "last_error_message": "Connection refused"}),
    );
    let drifted = env.run(&["status"], Some(TOKEN));
    assert_eq!(drifted.0, 3, "{}", drifted.1);
    assert!(
        drifted
            .1
            .contains("tgpipe-ingest (other policies attached)")
            && drifted.1.contains("tgpipe-etl (other policies attached)"),
        "{}",
        drifted.1
    );
    assert!(
        drifted
            .1
            .contains("may also be invoked by 210987654321 (statement someone)"),
        "{}",
        drifted.1
    );
    assert!(
        drifted.1.contains("DRIFTED") && drifted.1.contains("default encryption differs"),
        "{}",
        drifted.1
    );
    assert!(
        drifted.1.contains("WRONG")
            && drifted.1.contains("pending updates: 7")
            && drifted.1.contains("Connection refused"),
        "{}",
        drifted.1
    );
    // The webhook serves something else: `up` names it and changes nothing without --yes.
    let (code, out, err) = env.up(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("points at https://elsewhere.example/hook") && err.contains("--yes"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (code, plan, _) = env.up(&["--dry-run"]);
    assert_eq!(code, 3);
    assert!(
        plan.contains("replace      telegram webhook  https://elsewhere.example/hook"),
        "{plan}"
    );
    let (code, _, _) = env.run(&["set-webhook"], Some(TOKEN));
    assert_eq!(code, 1, "set-webhook asks the same");
    ok(&env.up(&["--yes"]));
    ok(&env.run(&["status"], Some(TOKEN)));
    let attached = rt
        .block_on(
            iam.list_attached_role_policies()
                .role_name("tgpipe-ingest")
                .send(),
        )
        .unwrap();
    assert!(attached.attached_policies().is_empty());
    let inline = rt
        .block_on(iam.list_role_policies().role_name("tgpipe-etl").send())
        .unwrap();
    assert_eq!(inline.policy_names(), [tgpipe::stack::iam::POLICY_NAME]);
    let policy = rt
        .block_on(lambda.get_policy().function_name("tgpipe-ingest").send())
        .unwrap();
    assert!(
        !policy.policy().unwrap_or_default().contains("someone"),
        "{policy:?}"
    );

    // --verbose names every AWS call and Telegram method, and still not the token.
    let verbose = env.run(&["--verbose", "status"], Some(TOKEN));
    ok(&verbose);
    assert!(
        verbose.2.contains("aws S3 GetBucketEncryption: 200"),
        "{}",
        verbose.2
    );
    assert!(
        verbose.2.contains("GetCallerIdentity: 200"),
        "{}",
        verbose.2
    );
    assert!(
        verbose.2.contains("telegram getWebhookInfo: 200"),
        "{}",
        verbose.2
    );

    // Without a token, status does the rest, says what it skipped, and exits 4: a monitoring
    // script tells "not checked" from "healthy".
    let tokenless = env.run(&["status"], None);
    assert_eq!(tokenless.0, 4, "{}\n{}", tokenless.1, tokenless.2);
    assert!(
        tokenless.1.contains("the webhook was not checked"),
        "{}",
        tokenless.1
    );
    assert!(
        tokenless
            .1
            .contains(&tgpipe::ui::status_line("skipped", "telegram webhook", "")),
        "{}",
        tokenless.1
    );

    env.assert_token_never_printed();
}

#[test]
fn set_webhook_rotates_the_secret_in_the_function_and_in_telegram() {
    let env = Env::new();
    ok(&env.up(&[]));
    let secret = given_secret(&env);
    // set-webhook --rotate-secret: a new secret in the function and in Telegram.
    ok(&env.run(&["set-webhook", "--rotate-secret"], Some(TOKEN)));
    let rotated = given_secret(&env);
    assert_ne!(rotated, secret);
    assert_eq!(
        Aws::new(&env).ingest_vars()["TGPIPE_WEBHOOK_SECRET"],
        rotated
    );

    env.assert_token_never_printed();
}

#[test]
fn down_keeps_the_data_unless_asked_and_leaves_another_stack_alone() {
    let env = Env::new();
    ok(&env.up(&[]));
    let aws = Aws::new(&env);
    // A second stack beside it, then down of the first: the second is untouched.
    ok(&env.run(
        &[
            "--name",
            "other",
            "up",
            // The same bot: the second stack takes the webhook over.
            "--yes",
            "--chat-id",
            "-100",
            "--artifacts",
            env.artifacts.path().to_str().unwrap(),
        ],
        Some(TOKEN),
    ));
    // Data in the raw bucket: moto applies the TLS-only Deny to plain-HTTP object calls, so the
    // set-up lifts the policy to seed an object.
    let raw = RAW;
    aws.lift_tls_only_policy(raw);
    aws.put(raw, "telegram/context_date=2024-05-01/1.json", "{}");
    let fresh = env.run(&["status", "--output", "json"], Some(TOKEN));
    let report: serde_json::Value = serde_json::from_str(&fresh.1).unwrap();
    let newest = report["newest_raw_object"].as_str().unwrap_or_default();
    assert!(
        newest.starts_with("telegram/context_date=2024-05-01/1.json at "),
        "{}",
        fresh.1
    );
    assert!(report["newest_enriched_day"].is_null(), "{}", fresh.1);
    // down shows what it would delete; without a terminal it needs --yes, and without it, or
    // with --dry-run, nothing goes.
    for args in [
        &["down"][..],
        &["down", "--dry-run"],
        &["down", "--delete-data"],
    ] {
        let shown = env.run(args, Some(TOKEN));
        let dry = args.contains(&"--dry-run");
        assert_eq!(shown.0, if dry { 0 } else { 1 }, "{args:?}: {}", shown.2);
        assert!(
            shown.1.contains(&tgpipe::ui::status_line(
                "keep",
                "s3 bucket",
                format!("{raw} (holds 1 objects; --delete-data deletes them)")
            )) || args.contains(&"--delete-data"),
            "{}",
            shown.1
        );
        assert!(
            shown.1.contains(&tgpipe::ui::status_line(
                "delete",
                "lambda function",
                "tgpipe-ingest"
            )),
            "{}",
            shown.1
        );
        if !dry {
            assert!(shown.2.contains("pass --yes"), "{}", shown.2);
        }
        let after = env.run(&["status", "--output", "json"], Some(TOKEN));
        let after: serde_json::Value = serde_json::from_str(&after.1).unwrap();
        assert_eq!(
            after["resources"], report["resources"],
            "{args:?} changed something"
        );
    }
    let down = env.run(&["down", "--yes"], Some(TOKEN));
    ok(&down);
    assert!(
        down.1.contains(&tgpipe::ui::status_line(
            "kept",
            "s3 bucket",
            format!("{raw} (holds data)")
        )),
        "{}",
        down.1
    );
    assert!(down.1.contains("--delete-data"), "{}", down.1);
    assert!(
        down.1.contains(&tgpipe::ui::status_line(
            "deleted",
            "s3 bucket",
            "tgpipe-123456789012-eu-west-1-enriched"
        )),
        "{}",
        down.1
    );
    let with_data = env.run(&["down", "--yes", "--delete-data"], Some(TOKEN));
    ok(&with_data);
    assert!(
        with_data
            .1
            .contains(&tgpipe::ui::status_line("deleted", "s3 bucket", raw)),
        "{}",
        with_data.1
    );
    assert!(
        !env.bot.calls().iter().any(|c| c.method == "deleteWebhook"),
        "the webhook pointed at the other stack"
    );
    let gone = env.run(&["status", "--output", "json"], None);
    assert_eq!(gone.0, 3);
    let report: serde_json::Value = serde_json::from_str(&gone.1).unwrap();
    assert!(
        report["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "missing"),
        "{}",
        gone.1
    );
    ok(&env.run(&["--name", "other", "status"], Some(TOKEN)));
    let down_again = env.run(&["down", "--yes"], None);
    ok(&down_again);
    assert!(down_again.1.contains("already gone"), "{}", down_again.1);
    let outputs = env.run(&["outputs", "--output", "json"], None);
    ok(&outputs);
    let outputs: serde_json::Value = serde_json::from_str(&outputs.1).unwrap();
    for gone in [
        "api_url",
        "raw_bucket",
        "ingest_function",
        "workgroup",
        "table",
        "schedule",
    ] {
        assert!(outputs[gone].is_null(), "{gone}: {outputs}");
    }
    env.assert_token_never_printed();
}

/// Deleting the Glue database would take every table in it, the workgroup its saved queries,
/// the Athena bucket the data of tables made with CREATE TABLE AS and anything put there by
/// hand: `down` names them in its plan and keeps them (and what holds them) unless
/// --delete-data. Query results go with the bucket.
#[test]
fn down_keeps_the_users_own_tables_and_saved_queries_unless_asked() {
    let env = Env::new();
    ok(&env.up(&[]));
    let aws = Aws::new(&env);
    let glue = aws_sdk_glue::Client::new(&aws.config);
    let athena = aws_sdk_athena::Client::new(&aws.config);
    aws.rt
        .block_on(
            glue.create_table()
                .database_name("tgpipe")
                .table_input(
                    aws_sdk_glue::types::TableInput::builder()
                        .name("mine")
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .unwrap();
    aws.rt
        .block_on(
            athena
                .create_named_query()
                .name("weekly")
                .database("tgpipe")
                .query_string("SELECT 1")
                .work_group("tgpipe")
                .send(),
        )
        .unwrap();
    let bucket = "tgpipe-123456789012-eu-west-1-athena";
    aws.lift_tls_only_policy(bucket);
    aws.put(bucket, "results/0a1b.csv", "a query's result");
    aws.put(
        bucket,
        "results/tables/0a1c/part-0.parquet",
        "a CTAS table's data",
    );
    let (code, plan, err) = env.run(&["down", "--dry-run"], Some(TOKEN));
    assert_eq!(code, 0, "{err}");
    assert!(plan.contains("tables of your own (mine)"), "{plan}");
    assert!(plan.contains("1 saved queries"), "{plan}");
    assert!(
        plan.contains(&format!("{bucket} (holds 1 objects of your own")),
        "{plan}"
    );
    ok(&env.run(&["down", "--yes"], Some(TOKEN)));
    let tables = aws
        .rt
        .block_on(glue.get_tables().database_name("tgpipe").send())
        .expect("the database is kept");
    let names: Vec<&str> = tables.table_list().iter().map(|t| t.name()).collect();
    assert_eq!(names, ["mine"], "the stack's table goes, the user's stays");
    assert!(
        aws.rt
            .block_on(athena.get_work_group().work_group("tgpipe").send())
            .is_ok(),
        "the workgroup with its saved query is kept"
    );
    let s3 = tgpipe::aws::s3_client(&aws.config);
    let kept = aws
        .rt
        .block_on(s3.list_objects_v2().bucket(bucket).send())
        .expect("the Athena bucket is kept");
    assert_eq!(kept.key_count(), Some(2), "{kept:?}");
    ok(&env.run(&["down", "--yes", "--delete-data"], Some(TOKEN)));
    assert!(
        aws.rt
            .block_on(glue.get_database().name("tgpipe").send())
            .is_err()
    );
}
