//! The HTTP API and the daily rule against moto: wired to the right functions, with permissions
//! scoped to their source, idempotent, and removed by `destroy`.

use crate::common;

use std::collections::BTreeMap;

use crate::common::{mutating, stack};
use tgpipe::plan::{Removal, State};
use tgpipe::stack::Function;
use tgpipe::stack::{apigw, events, lambda};

#[tokio::test(flavor = "multi_thread")]
async fn api_and_rule_invoke_the_right_functions_and_nothing_else() {
    let moto = testkit::Moto::start();
    common::moto_lambda_without_docker(&moto);
    let config = common::sdk_config(&moto).await;
    let fns = aws_sdk_lambda::Client::new(&config);
    let api = aws_sdk_apigatewayv2::Client::new(&config);
    let rules = aws_sdk_eventbridge::Client::new(&config);
    let c = tgpipe::stack::Clients::new(&config, false);
    let a = stack("team-a");
    common::ensure(&tgpipe::stack::iam::Roles, &c, &a, &common::names_only())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let specs: Vec<_> = Function::ALL
        .into_iter()
        .map(|f| {
            let path = lambda::artifact_path(dir.path(), f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, common::zip_with_comment(f.suffix())).unwrap();
            lambda::FunctionSpec::load(
                &a,
                f,
                &lambda::Artifacts::Dir(dir.path().into()),
                BTreeMap::new(),
            )
            .unwrap()
        })
        .collect();
    let desired = common::desired(specs, events::DEFAULT_SCHEDULE);
    common::ensure(&lambda::Functions, &c, &a, &desired)
        .await
        .unwrap();

    let before = common::ensure(&apigw::HttpApi, &c, &a, &desired)
        .await
        .unwrap();
    assert_eq!(before[0].state, State::Missing);
    let created = apigw::find(&api, &a).await.unwrap().unwrap();
    let url = apigw::webhook_url(&created).unwrap();
    assert!(
        url.starts_with("https://") && url.ends_with("/webhook"),
        "{url}"
    );
    let id = created.api_id().unwrap();
    let integration = &api
        .get_integrations()
        .api_id(id)
        .send()
        .await
        .unwrap()
        .items()[0]
        .clone();
    assert_eq!(
        integration.integration_type().unwrap().as_str(),
        "AWS_PROXY"
    );
    assert_eq!(integration.payload_format_version(), Some("2.0"));
    assert_eq!(
        integration.integration_uri(),
        Some(a.function_arn(Function::Ingest).as_str())
    );
    let routes = api.get_routes().api_id(id).send().await.unwrap();
    assert_eq!(routes.items().len(), 1);
    assert_eq!(routes.items()[0].route_key(), Some("POST /webhook"));
    let stage = api
        .get_stage()
        .api_id(id)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_eq!(stage.auto_deploy(), Some(true));
    assert_eq!(
        stage
            .default_route_settings()
            .unwrap()
            .throttling_burst_limit(),
        Some(apigw::THROTTLE_BURST)
    );
    let policy = fns
        .get_policy()
        .function_name("team-a-ingest")
        .send()
        .await
        .unwrap();
    let policy = policy.policy().unwrap();
    assert!(policy.contains(&format!("{id}/*/POST/webhook")), "{policy}");

    assert_eq!(
        common::ensure(&events::Schedule, &c, &a, &desired)
            .await
            .unwrap()[0]
            .state,
        State::Missing
    );
    let rule = rules
        .describe_rule()
        .name("team-a-etl-daily")
        .send()
        .await
        .unwrap();
    assert_eq!(rule.schedule_expression(), Some(events::DEFAULT_SCHEDULE));
    let targets = rules
        .list_targets_by_rule()
        .rule("team-a-etl-daily")
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets()[0].arn(), a.function_arn(Function::Etl));
    let policy = fns
        .get_policy()
        .function_name("team-a-etl")
        .send()
        .await
        .unwrap();
    assert!(policy.policy().unwrap().contains("rule/team-a-etl-daily"));

    moto.start_recording();
    let again = common::ensure(&apigw::HttpApi, &c, &a, &desired)
        .await
        .unwrap();
    let rule_again = common::ensure(&events::Schedule, &c, &a, &desired)
        .await
        .unwrap();
    let calls = moto.recorded();
    assert_eq!(
        (again[0].state.clone(), rule_again[0].state.clone()),
        (State::Present, State::Present)
    );
    assert!(mutating(&calls).is_empty(), "{:?}", mutating(&calls));

    // A new schedule is drift, repaired by one PutRule.
    let hourly = common::desired(Vec::new(), "rate(1 hour)");
    let drifted = common::inspect(&events::Schedule, &c, &a, Some(&hourly))
        .await
        .unwrap();
    assert_eq!(
        drifted[0].state,
        State::Drifted(vec!["schedule differs".into()])
    );
    common::ensure(&events::Schedule, &c, &a, &hourly)
        .await
        .unwrap();
    assert_eq!(
        common::inspect(&events::Schedule, &c, &a, Some(&hourly))
            .await
            .unwrap()[0]
            .state,
        State::Present
    );

    assert_eq!(
        common::destroy(&apigw::HttpApi, &c, &a, &Default::default(), false)
            .await
            .unwrap()[0]
            .removal,
        Removal::Deleted
    );
    assert_eq!(
        common::destroy(&apigw::HttpApi, &c, &a, &Default::default(), false)
            .await
            .unwrap()[0]
            .removal,
        Removal::AlreadyGone
    );
    assert_eq!(
        common::destroy(&events::Schedule, &c, &a, &Default::default(), false)
            .await
            .unwrap()[0]
            .removal,
        Removal::Deleted
    );
    assert_eq!(
        common::destroy(&events::Schedule, &c, &a, &Default::default(), false)
            .await
            .unwrap()[0]
            .removal,
        Removal::AlreadyGone
    );
}
