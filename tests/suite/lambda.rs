//! The functions and their log groups against moto: created as specified, untouched when right,
//! code uploaded only when its SHA-256 changes, configuration only when it differs.

use crate::common;

use std::collections::BTreeMap;

use crate::common::{mutating, stack};
use tgpipe::plan::{Removal, State};
use tgpipe::stack::lambda::{self, Artifacts, FunctionSpec};
use tgpipe::stack::logs;
use tgpipe::stack::{Function, STACK_TAG};

fn artifacts(dir: &std::path::Path, version: &str) {
    for f in Function::ALL {
        let path = lambda::artifact_path(dir, f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            path,
            common::zip_with_comment(&format!("{} {version}", f.suffix())),
        )
        .unwrap();
    }
}

fn specs(s: &tgpipe::stack::Stack, dir: &std::path::Path, chat: &str) -> Vec<FunctionSpec> {
    Function::ALL
        .into_iter()
        .map(|f| {
            let env = BTreeMap::from([
                (lake::env::RAW_BUCKET.to_owned(), s.raw_bucket()),
                (lake::env::ALLOWED_CHAT_IDS.to_owned(), chat.to_owned()),
            ]);
            FunctionSpec::load(s, f, &Artifacts::Dir(dir.into()), env).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn functions_are_created_updated_only_where_different_and_removed() {
    let moto = testkit::Moto::start();
    common::moto_lambda_without_docker(&moto);
    let config = common::sdk_config(&moto).await;
    let (client, logs_client) = (
        aws_sdk_lambda::Client::new(&config),
        aws_sdk_cloudwatchlogs::Client::new(&config),
    );
    let aws = tgpipe::stack::Clients::new(&config, false);
    let a = stack("team-a");
    common::ensure(&tgpipe::stack::iam::Roles, &aws, &a, &common::names_only())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let missing = FunctionSpec::load(
        &a,
        Function::Etl,
        &Artifacts::Dir(dir.path().into()),
        BTreeMap::new(),
    )
    .unwrap_err();
    assert!(
        format!("{missing:#}").contains("scripts/lambdas"),
        "{missing:#}"
    );

    artifacts(dir.path(), "v1");
    let v1 = common::desired(
        specs(&a, dir.path(), "-100"),
        tgpipe::stack::events::DEFAULT_SCHEDULE,
    );
    let before = common::ensure(&lambda::Functions, &aws, &a, &v1)
        .await
        .unwrap();
    assert!(before.iter().all(|r| r.state == State::Missing));
    common::ensure(&logs::LogGroups, &aws, &a, &common::names_only())
        .await
        .unwrap();

    let f = client
        .get_function()
        .function_name("team-a-ingest")
        .send()
        .await
        .unwrap();
    let c = f.configuration().unwrap();
    assert_eq!(c.runtime().unwrap().as_str(), "provided.al2023");
    assert_eq!(c.architectures()[0].as_str(), "x86_64");
    assert_eq!(c.handler(), Some("bootstrap"));
    assert_eq!(
        c.role(),
        Some("arn:aws:iam::123456789012:role/team-a-ingest")
    );
    assert_eq!(c.code_sha256(), Some(v1.specs[0].code_sha256.as_str()));
    assert_eq!(
        c.environment().unwrap().variables().unwrap()["TGPIPE_ALLOWED_CHAT_IDS"],
        "-100"
    );
    assert_eq!(f.tags().unwrap()[STACK_TAG], "team-a");
    let groups = logs_client
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/team-a")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups().len(), 2);
    assert!(
        groups
            .log_groups()
            .iter()
            .all(|g| g.retention_in_days() == Some(lambda::LOG_RETENTION_DAYS))
    );

    // Nothing changed: no write at all.
    moto.start_recording();
    let before = common::ensure(&lambda::Functions, &aws, &a, &v1)
        .await
        .unwrap();
    common::ensure(&logs::LogGroups, &aws, &a, &common::names_only())
        .await
        .unwrap();
    let calls = moto.recorded();
    assert!(
        before.iter().all(|r| r.state == State::Present),
        "{before:?}"
    );
    assert!(mutating(&calls).is_empty(), "{:?}", mutating(&calls));

    // New code for both: code uploads only.
    artifacts(dir.path(), "v2");
    let v2 = common::desired(
        specs(&a, dir.path(), "-100"),
        tgpipe::stack::events::DEFAULT_SCHEDULE,
    );
    moto.start_recording();
    common::ensure(&lambda::Functions, &aws, &a, &v2)
        .await
        .unwrap();
    let calls = moto.recorded();
    let writes = mutating(&calls);
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(
        writes.iter().all(|(_, what)| what.ends_with("/code")),
        "{writes:?}"
    );

    // A new chat id: configuration only, and the drift names the variable, not its value.
    let v3 = common::desired(
        specs(&a, dir.path(), "-200"),
        tgpipe::stack::events::DEFAULT_SCHEDULE,
    );
    let status = common::inspect(&lambda::Functions, &aws, &a, Some(&v3))
        .await
        .unwrap();
    assert_eq!(
        status[0].state,
        State::Drifted(vec!["environment differs (TGPIPE_ALLOWED_CHAT_IDS)".into()])
    );
    moto.start_recording();
    common::ensure(&lambda::Functions, &aws, &a, &v3)
        .await
        .unwrap();
    let calls = moto.recorded();
    let writes = mutating(&calls);
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(
        writes
            .iter()
            .all(|(_, what)| what.ends_with("/configuration")),
        "{writes:?}"
    );
    assert!(
        common::inspect(&lambda::Functions, &aws, &a, Some(&v3))
            .await
            .unwrap()
            .iter()
            .all(|r| r.state.is_ok())
    );

    let removed = common::destroy(&lambda::Functions, &aws, &a, &Default::default(), false)
        .await
        .unwrap();
    assert!(
        removed.iter().all(|r| r.removal == Removal::Deleted),
        "{removed:?}"
    );
    assert!(
        common::destroy(&lambda::Functions, &aws, &a, &Default::default(), false)
            .await
            .unwrap()
            .iter()
            .all(|r| r.removal == Removal::AlreadyGone)
    );
    common::destroy(&logs::LogGroups, &aws, &a, &Default::default(), false)
        .await
        .unwrap();
    assert!(
        common::inspect(&logs::LogGroups, &aws, &a, None)
            .await
            .unwrap()
            .iter()
            .all(|r| r.state == State::Missing)
    );
}
