//! Athena's workgroup and the Glue table against moto: configured as the contract says, columns
//! from the one schema, partition projection, idempotent, repaired, removed.

use crate::common;

use crate::common::{mutating, stack};
use tgpipe::plan::{Removal, State};
use tgpipe::stack::athena;

#[tokio::test(flavor = "multi_thread")]
async fn workgroup_database_and_table_follow_the_contract() {
    let moto = testkit::Moto::start();
    let config = common::sdk_config(&moto).await;
    let (ath, glue) = (
        aws_sdk_athena::Client::new(&config),
        aws_sdk_glue::Client::new(&config),
    );
    let aws = tgpipe::stack::Clients::new(&config, false);
    let a = stack("team-a");

    let before = common::ensure(&athena::Analytics, &aws, &a, &common::names_only())
        .await
        .unwrap();
    assert!(
        before.iter().all(|r| r.state == State::Missing),
        "{before:?}"
    );

    let wg = ath
        .get_work_group()
        .work_group("team-a")
        .send()
        .await
        .unwrap();
    let c = wg.work_group().unwrap().configuration().unwrap();
    assert_eq!(
        c.result_configuration().unwrap().output_location(),
        Some(format!("s3://{}/results/", a.athena_bucket()).as_str())
    );
    assert_eq!(c.enforce_work_group_configuration(), Some(true));
    assert_eq!(
        c.bytes_scanned_cutoff_per_query(),
        Some(athena::BYTES_SCANNED_CUTOFF)
    );

    let table = glue
        .get_table()
        .database_name("team_a")
        .name("telegram")
        .send()
        .await
        .unwrap();
    let table = table.table().unwrap();
    let columns: Vec<(String, String)> = table
        .storage_descriptor()
        .unwrap()
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.r#type().unwrap().to_owned()))
        .collect();
    // The course's eight columns first, with their Athena types.
    let first: Vec<(&str, &str)> = columns
        .iter()
        .take(8)
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        first,
        vec![
            ("message_id", "bigint"),
            ("user_id", "bigint"),
            ("user_is_bot", "boolean"),
            ("user_first_name", "string"),
            ("chat_id", "bigint"),
            ("chat_type", "string"),
            ("text", "string"),
            ("date", "bigint"),
        ]
    );
    assert_eq!(columns.len(), lake::schema::COLUMNS.len());
    assert_eq!(table.partition_keys()[0].name(), "context_date");
    assert_eq!(table.partition_keys()[0].r#type(), Some("date"));
    assert_eq!(
        table.storage_descriptor().unwrap().location(),
        Some(format!("s3://{}/telegram/", a.enriched_bucket()).as_str())
    );
    let params = table.parameters().unwrap();
    assert_eq!(params["projection.enabled"], "true");
    assert_eq!(params["projection.context_date.type"], "date");
    assert_eq!(params["projection.context_date.format"], "yyyy-MM-dd");
    // From Telegram's first day (an import reaching back to 2013 shows), to a day past Athena's
    // NOW, which is UTC ("today" in zones east of it).
    assert_eq!(
        params["projection.context_date.range"],
        "2013-08-01,NOW+1DAYS"
    );

    moto.start_recording();
    let again = common::ensure(&athena::Analytics, &aws, &a, &common::names_only())
        .await
        .unwrap();
    let calls = moto.recorded();
    assert!(again.iter().all(|r| r.state == State::Present), "{again:?}");
    assert!(mutating(&calls).is_empty(), "{:?}", mutating(&calls));

    // Projection switched off by hand: drift, repaired by one UpdateTable.
    let mut input = aws_sdk_glue::types::TableInput::builder()
        .name("telegram")
        .set_storage_descriptor(table.storage_descriptor().cloned())
        .set_partition_keys(Some(table.partition_keys().to_vec()))
        .build()
        .unwrap();
    input.parameters = Some(Default::default());
    glue.update_table()
        .database_name("team_a")
        .table_input(input)
        .send()
        .await
        .unwrap();
    let status = common::inspect(&athena::Analytics, &aws, &a, None)
        .await
        .unwrap();
    assert_eq!(
        status[2].state,
        State::Drifted(vec!["partition projection differs".into()])
    );
    common::ensure(&athena::Analytics, &aws, &a, &common::names_only())
        .await
        .unwrap();
    assert!(
        common::inspect(&athena::Analytics, &aws, &a, None)
            .await
            .unwrap()
            .iter()
            .all(|r| r.state.is_ok())
    );

    let removed = common::destroy(&athena::Analytics, &aws, &a, &Default::default(), false)
        .await
        .unwrap();
    assert!(
        removed.iter().all(|r| r.removal == Removal::Deleted),
        "{removed:?}"
    );
    let again = common::destroy(&athena::Analytics, &aws, &a, &Default::default(), false)
        .await
        .unwrap();
    assert!(
        again.iter().all(|r| r.removal == Removal::AlreadyGone),
        "{again:?}"
    );
}
