//! The functions' roles against moto: trust and least-privilege permissions as specified, nothing
//! rewritten when right, drift repaired, other stacks and untagged roles left alone.

use crate::common;

use crate::common::{mutating, stack};
use tgpipe::plan::{Kind, Removal, Removed, State};
use tgpipe::stack::iam;

fn decode(doc: &str) -> serde_json::Value {
    serde_json::from_str(doc).unwrap_or_else(|_| {
        let decoded: String = url::form_urlencoded::parse(format!("d={doc}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        serde_json::from_str(&decoded).unwrap()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_are_least_privilege_idempotent_repaired_and_removed() {
    let moto = testkit::Moto::start();
    let client = aws_sdk_iam::Client::new(&common::sdk_config(&moto).await);
    let c = common::clients(&moto).await;
    let (a, b) = (stack("team-a"), stack("team-b"));

    let before = common::ensure(&iam::Roles, &c, &a, &common::names_only())
        .await
        .unwrap();
    assert!(before.iter().all(|r| r.state == State::Missing));
    common::ensure(&iam::Roles, &c, &b, &common::names_only())
        .await
        .unwrap();

    let role = client
        .get_role()
        .role_name("team-a-ingest")
        .send()
        .await
        .unwrap();
    let trust = decode(role.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    let ingest = client
        .get_role_policy()
        .role_name("team-a-ingest")
        .policy_name(iam::POLICY_NAME)
        .send()
        .await
        .unwrap();
    let ingest = decode(ingest.policy_document());
    // The ingest side writes updates, quarantined bodies, marks of late days and its notes
    // (migrations, chats not kept), and reads only the notes: never the table's objects.
    assert_eq!(ingest["Statement"][0]["Action"], "s3:PutObject");
    let raw = a.raw_bucket();
    assert_eq!(
        ingest["Statement"][0]["Resource"],
        serde_json::json!([
            format!("arn:aws:s3:::{raw}/telegram/*"),
            format!("arn:aws:s3:::{raw}/quarantine/*"),
            format!("arn:aws:s3:::{raw}/changed/*"),
            format!("arn:aws:s3:::{raw}/chats/migrated/*"),
            format!("arn:aws:s3:::{raw}/chats/seen/*"),
        ])
    );
    assert_eq!(ingest["Statement"][1]["Action"], "s3:GetObject");
    assert_eq!(
        ingest["Statement"][1]["Resource"],
        serde_json::json!([
            format!("arn:aws:s3:::{raw}/chats/migrated/*"),
            format!("arn:aws:s3:::{raw}/chats/seen/*"),
        ])
    );
    let etl = client
        .get_role_policy()
        .role_name("team-a-etl")
        .policy_name(iam::POLICY_NAME)
        .send()
        .await
        .unwrap();
    let etl = decode(etl.policy_document()).to_string();
    assert!(
        etl.contains(&format!("arn:aws:s3:::{}/telegram/*", a.enriched_bucket())),
        "{etl}"
    );
    assert!(etl.contains("log-group:/aws/lambda/team-a-etl:*"), "{etl}");
    // The ETL deletes the marks it handled and keeps its records beside the table.
    assert!(
        etl.contains(&format!("arn:aws:s3:::{}/changed/*", a.raw_bucket())),
        "{etl}"
    );
    assert!(
        etl.contains(&format!("arn:aws:s3:::{}/etl/*", a.enriched_bucket())),
        "{etl}"
    );
    // No wildcard resource beyond the stack's own prefixes and log groups.
    for doc in [ingest.to_string(), etl.clone()] {
        assert!(!doc.contains("\"Resource\":\"*\""), "{doc}");
        assert!(!doc.contains("team-b"), "{doc}");
    }

    moto.start_recording();
    let before = common::ensure(&iam::Roles, &c, &a, &common::names_only())
        .await
        .unwrap();
    let calls = moto.recorded();
    assert!(
        before.iter().all(|r| r.state == State::Present),
        "{before:?}"
    );
    assert!(mutating(&calls).is_empty(), "{:?}", mutating(&calls));

    client
        .delete_role_policy()
        .role_name("team-a-etl")
        .policy_name(iam::POLICY_NAME)
        .send()
        .await
        .unwrap();
    let status = common::inspect(&iam::Roles, &c, &a, None).await.unwrap();
    assert_eq!(
        status[1].state,
        State::Drifted(vec!["permissions missing".into()])
    );
    common::ensure(&iam::Roles, &c, &a, &common::names_only())
        .await
        .unwrap();
    assert!(
        common::inspect(&iam::Roles, &c, &a, None)
            .await
            .unwrap()
            .iter()
            .all(|r| r.state.is_ok())
    );

    // A role with our name that is not tagged as ours is not deleted.
    client
        .untag_role()
        .role_name("team-a-etl")
        .tag_keys(tgpipe::stack::STACK_TAG)
        .send()
        .await
        .unwrap();
    let removed = common::destroy(&iam::Roles, &c, &a, &Default::default(), false)
        .await
        .unwrap();
    assert_eq!(
        removed[0],
        Removed::new(Kind::Role, "team-a-ingest".to_owned(), Removal::Deleted)
    );
    assert_eq!(removed[1].removal, Removal::NotOurs);
    assert!(
        common::inspect(&iam::Roles, &c, &b, None)
            .await
            .unwrap()
            .iter()
            .all(|r| r.state.is_ok())
    );
    let again = common::destroy(&iam::Roles, &c, &a, &Default::default(), false)
        .await
        .unwrap();
    assert_eq!(again[0].removal, Removal::AlreadyGone);
}
