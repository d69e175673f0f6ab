//! Two `up`s at once on one stack: an HTTP API has no idempotency token, so each may make one.
//! Every run must end on the same single API, with the function's permission, the route and
//! Telegram's webhook all naming it (a webhook at an API that cannot invoke the function answers
//! every delivery 500).

use crate::common;
use crate::network::{Net, ok};

/// The stack's APIs as moto holds them: (id, endpoint), oldest first.
async fn apis(moto: &testkit::Moto) -> Vec<(String, String)> {
    let config = common::sdk_config(moto).await;
    let api = aws_sdk_apigatewayv2::Client::new(&config);
    let mut found: Vec<_> = api
        .get_apis()
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter(|a| a.name() == Some(common::stack("tgpipe").http_api().as_str()))
        .map(|a| {
            (
                a.created_date().map(|d| d.as_nanos()),
                a.api_id().unwrap().to_owned(),
                a.api_endpoint().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, id, url)| (id, url)).collect()
}

/// The HTTP API's state as `status --output json` reports it. (The e-mail subscription waits
/// for confirmation, so `status` exits 3 whatever the API's state.)
fn api_state(net: &Net) -> serde_json::Value {
    let (_, out, err) = net.run(&["status", "--output", "json"]);
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "http api")
        .unwrap_or_else(|| panic!("no HTTP API in {report}"))
        .clone()
}

/// One API, and everything that leads to the function goes through it.
async fn wired_to_one_api(net: &Net) -> String {
    let apis = apis(&net.moto).await;
    assert_eq!(apis.len(), 1, "one API of the stack: {apis:?}");
    let (id, endpoint) = &apis[0];
    let config = common::sdk_config(&net.moto).await;
    let policy = aws_sdk_lambda::Client::new(&config)
        .get_policy()
        .function_name("tgpipe-ingest")
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap_or_default()
        .to_owned();
    assert!(
        policy.contains(&format!("{id}/*/POST/webhook")),
        "the permission names the API {id}: {policy}"
    );
    let routes = aws_sdk_apigatewayv2::Client::new(&config)
        .get_routes()
        .api_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(routes.items().len(), 1, "{:?}", routes.items());
    assert_eq!(
        net.bot.webhook()["url"],
        format!("{endpoint}/webhook"),
        "Telegram delivers to the API that can invoke the function"
    );
    id.clone()
}

/// Another `up` made its API a moment before this one made its own (the proxy makes the same
/// CreateApi twice, the copy first): this run gives way to the older API and deletes its own,
/// and a route or stage another run made meanwhile (API Gateway's ConflictException) is taken as
/// made (here, not listed yet, made again).
#[tokio::test(flavor = "multi_thread")]
async fn an_api_made_by_another_up_at_the_same_moment_is_the_one_both_use() {
    let net = Net::new(testkit::FaultConfig {
        twice: vec!["apigateway CreateApi".into()],
        refusals: vec![
            (
                "apigateway POST /v2/apis/*/routes".into(),
                409,
                "ConflictException",
                "Unable to create route. Route key already exists for this API",
            ),
            (
                "apigateway POST /v2/apis/*/stages".into(),
                409,
                "ConflictException",
                "Stage already exist",
            ),
        ],
        ..Default::default()
    });
    ok("up", net.up());
    wired_to_one_api(&net).await;
    assert_eq!(
        net.proxy.stats().failed,
        2,
        "the route's and the stage's conflicts happened"
    );
    let api = api_state(&net);
    assert_eq!(api["state"], "present", "{api}");
}

/// Two APIs left by two `up`s at once (as an older tgpipe left them): `status` names the drift,
/// `up` keeps the older one (where the webhook points) and deletes the other, and `down` would
/// have deleted both.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_api_of_the_stack_is_shown_and_deleted_by_up() {
    let net = Net::new(testkit::FaultConfig::default());
    ok("up", net.up());
    let first = wired_to_one_api(&net).await;
    let config = common::sdk_config(&net.moto).await;
    let api = aws_sdk_apigatewayv2::Client::new(&config);
    // Created in a later second than the first, so that it is the newer.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    api.create_api()
        .name(common::stack("tgpipe").http_api())
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .tags("tgpipe:stack", "tgpipe")
        .send()
        .await
        .unwrap();
    assert_eq!(apis(&net.moto).await.len(), 2);
    let (code, out, err) = net.run(&["status"]);
    assert_eq!(code, 3, "drift is a problem: {out}\n{err}");
    assert!(out.contains("1 more API(s) of this stack"), "{out}");
    let api = api_state(&net);
    assert_eq!(api["state"], "drifted", "{api}");
    ok("up", net.up());
    assert_eq!(wired_to_one_api(&net).await, first, "the older API stays");
    let api = api_state(&net);
    assert_eq!(api["state"], "present", "{api}");
}

/// Two `up`s started together on a new stack: both succeed, and the stack ends with one API that
/// Telegram's webhook, the route and the permission all name.
#[tokio::test(flavor = "multi_thread")]
async fn two_ups_started_together_on_a_new_stack_end_with_one_api() {
    let net = Net::new(testkit::FaultConfig::default());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| net.up());
        let b = s.spawn(|| net.up());
        (a.join().unwrap(), b.join().unwrap())
    });
    ok("the first up", a);
    ok("the second up", b);
    wired_to_one_api(&net).await;
    let api = api_state(&net);
    assert_eq!(api["state"], "present", "{api}");
}
