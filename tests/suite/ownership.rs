//! Nothing that bears the stack's names without its tag is the stack's: `up` refuses before any
//! change, `down` keeps it, and names it; kinds that share the stack's name say nothing of each
//! other.

use crate::cli::{Aws, Env, GROUP, TOKEN, ok};
use crate::common;
use crate::common::mutating;

#[test]
fn resources_that_bear_the_stacks_names_without_its_tag_are_never_adopted_or_deleted() {
    let env = Env::new();
    let aws = Aws::new(&env);
    let c = &aws.config;
    let (s3, iam, lambda) = (
        tgpipe::aws::s3_client(c),
        aws_sdk_iam::Client::new(c),
        aws_sdk_lambda::Client::new(c),
    );
    let (logs, events) = (
        aws_sdk_cloudwatchlogs::Client::new(c),
        aws_sdk_eventbridge::Client::new(c),
    );
    let (athena, glue) = (aws_sdk_athena::Client::new(c), aws_sdk_glue::Client::new(c));
    // Someone else's resources, one of each kind, with the names a stack "other" would use.
    aws.rt.block_on(async {
        common::create_bucket(&s3, "other-123456789012-eu-west-1-raw").await;
        let trust = tgpipe::stack::iam::trust_policy().to_string();
        iam.create_role()
            .role_name("other-etl")
            .assume_role_policy_document(&trust)
            .send()
            .await
            .unwrap();
        lambda
            .create_function()
            .function_name("other-ingest")
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role("arn:aws:iam::123456789012:role/other-etl")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(common::zip_with_comment("theirs").into())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        logs.create_log_group()
            .log_group_name("/aws/lambda/other-etl")
            .send()
            .await
            .unwrap();
        events
            .put_rule()
            .name("other-etl-daily")
            .schedule_expression("rate(1 day)")
            .send()
            .await
            .unwrap();
        athena
            .create_work_group()
            .name("other")
            .send()
            .await
            .unwrap();
        // An HTTP API of the same name: APIs are found by name and tag, so it is never ours.
        aws_sdk_apigatewayv2::Client::new(c)
            .create_api()
            .name("other")
            .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
            .send()
            .await
            .unwrap();
        glue.create_database()
            .database_input(
                aws_sdk_glue::types::DatabaseInput::builder()
                    .name("other")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let theirs = [
        "s3 bucket other-123456789012-eu-west-1-raw",
        "iam role other-etl",
        "lambda function other-ingest",
        "log group /aws/lambda/other-etl",
        "eventbridge rule other-etl-daily",
        "athena workgroup other",
        "glue database other",
    ];

    // up stops before changing anything, naming each of them.
    let artifacts = env.artifacts.path().to_str().unwrap().to_owned();
    env.moto.start_recording();
    let up = env.run(
        &[
            "--name",
            "other",
            "up",
            "--chat-id",
            GROUP,
            "--artifacts",
            &artifacts,
        ],
        Some(TOKEN),
    );
    assert_ne!(up.0, 0);
    for name in theirs {
        assert!(up.2.contains(name), "{name} not named: {}", up.2);
    }
    assert!(up.2.contains("nothing was changed"), "{}", up.2);
    assert!(
        mutating(&env.moto.recorded()).is_empty(),
        "{:?}",
        mutating(&env.moto.recorded())
    );

    // down leaves every one of them and says so.
    let down = env.run(
        &["--name", "other", "down", "--yes", "--delete-data"],
        Some(TOKEN),
    );
    ok(&down);
    assert!(down.1.contains("not this stack's"), "{}", down.1);
    aws.rt.block_on(async {
        s3.head_bucket()
            .bucket("other-123456789012-eu-west-1-raw")
            .send()
            .await
            .unwrap();
        iam.get_role().role_name("other-etl").send().await.unwrap();
        lambda
            .get_function()
            .function_name("other-ingest")
            .send()
            .await
            .unwrap();
        let groups = logs
            .describe_log_groups()
            .log_group_name_prefix("/aws/lambda/other-etl")
            .send()
            .await
            .unwrap();
        assert_eq!(groups.log_groups().len(), 1);
        events
            .describe_rule()
            .name("other-etl-daily")
            .send()
            .await
            .unwrap();
        athena
            .get_work_group()
            .work_group("other")
            .send()
            .await
            .unwrap();
        glue.get_database().name("other").send().await.unwrap();
        let apis = aws_sdk_apigatewayv2::Client::new(c)
            .get_apis()
            .send()
            .await
            .unwrap();
        assert!(apis.items().iter().any(|a| a.name() == Some("other")));
    });

    // Names of AWS's own resources are refused before any call.
    for name in ["default", "primary"] {
        let refused = env.run(&["--name", name, "up", "--chat-id", GROUP], Some(TOKEN));
        assert_ne!(refused.0, 0);
        assert!(refused.2.contains("AWS's own"), "{}", refused.2);
        let refused = env.run(&["--name", name, "down", "--yes"], Some(TOKEN));
        assert!(refused.2.contains("AWS's own"), "{}", refused.2);
    }
}

/// The `(kind, name)` pairs of a `down --output json` list (`plan` or `removed`) with `field`.
fn by_kind(report: &serde_json::Value, list: &str, field: &str) -> Vec<(String, String, String)> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {report}"))
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["name"].as_str().unwrap().to_owned(),
                r[field].to_string(),
            )
        })
        .collect()
}

#[test]
fn someone_elses_workgroup_named_like_the_stack_keeps_only_itself_on_down() {
    // The default stack "tgpipe" names its HTTP API, its workgroup and its Glue database alike.
    let env = Env::new();
    ok(&env.up(&[]));
    let aws = Aws::new(&env);
    let athena = aws_sdk_athena::Client::new(&aws.config);
    // The workgroup loses the stack's tag, as someone else's of that name would lack it (moto
    // keeps a deleted workgroup's tags for its next namesake, so it is untagged, not recreated).
    aws.rt.block_on(async {
        athena
            .untag_resource()
            .resource_arn("arn:aws:athena:eu-west-1:123456789012:workgroup/tgpipe")
            .tag_keys(tgpipe::stack::STACK_TAG)
            .send()
            .await
            .unwrap();
    });

    let (code, out, err) = env.run(&["down", "--dry-run", "--output", "json"], Some(TOKEN));
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let plan = by_kind(&plan, "plan", "delete");
    for (kind, delete) in [
        ("http api", "true"),
        ("glue database", "true"),
        ("glue table", "true"),
        ("athena workgroup", "false"),
    ] {
        let entry = (kind.to_owned(), "tgpipe".to_owned(), delete.to_owned());
        let entry = if kind == "glue table" {
            (
                kind.to_owned(),
                "tgpipe.telegram".to_owned(),
                delete.to_owned(),
            )
        } else {
            entry
        };
        assert!(plan.contains(&entry), "{entry:?} not in {plan:?}");
    }

    let (code, out, err) = env.run(&["down", "--yes", "--output", "json"], Some(TOKEN));
    assert_eq!(code, 0, "{err}");
    let removed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let removed = by_kind(&removed, "removed", "removal");
    for (kind, name, removal) in [
        ("http api", "tgpipe", "deleted"),
        ("glue database", "tgpipe", "deleted"),
        ("glue table", "tgpipe.telegram", "deleted"),
        ("athena workgroup", "tgpipe", "not_ours"),
    ] {
        let entry = (kind.to_owned(), name.to_owned(), format!("{removal:?}"));
        assert!(removed.contains(&entry), "{entry:?} not in {removed:?}");
    }
    aws.rt.block_on(async {
        athena
            .get_work_group()
            .work_group("tgpipe")
            .send()
            .await
            .unwrap();
        let glue = aws_sdk_glue::Client::new(&aws.config);
        assert!(glue.get_database().name("tgpipe").send().await.is_err());
        let apis = aws_sdk_apigatewayv2::Client::new(&aws.config)
            .get_apis()
            .send()
            .await
            .unwrap();
        assert!(apis.items().is_empty(), "{:?}", apis.items());
    });
}
