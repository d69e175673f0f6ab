//! `tgpipe query` on Athena, against moto behind `testkit::AthenaShim` (moto runs no SQL: results
//! are seeded through `/moto-api/static/athena/query-results`, and the shim adds Athena's paging,
//! bytes scanned and failures): every page read, types kept, the stack's workgroup and database,
//! a failed query's reason, a missing stack, and Ctrl-C stopping the query on Athena.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tgpipe::stack::Function;

/// The text of each query.
async fn query_texts(athena: &aws_sdk_athena::Client, ids: &[String]) -> Vec<String> {
    let mut queries = Vec::new();
    for id in ids {
        let out = athena
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .unwrap();
        queries.push(
            out.query_execution()
                .and_then(|e| e.query())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    queries
}

const ROWS: usize = 1500;
const SCANNED: i64 = 3_500_000_000;
const FAILURE: &str = "COLUMN_NOT_FOUND: line 1:8: Column 'no_such_column' cannot be resolved";

fn tgpipe(endpoint: &str, args: &[&str]) -> Command {
    common::tgpipe_on_aws(endpoint, args)
}

fn run(endpoint: &str, args: &[&str]) -> (i32, String, String) {
    common::run(tgpipe(endpoint, args))
}

/// One seeded result: a header row (as Athena sends for a SELECT), then `ROWS` rows.
fn seed(moto: &testkit::Moto) {
    let cell = |v: Option<String>| v.map_or(json!({}), |v| json!({ "VarCharValue": v }));
    let header: Vec<Value> = [
        "context_date",
        "message_amount",
        "share",
        "user_is_bot",
        "word",
    ]
    .iter()
    .map(|c| cell(Some(c.to_string())))
    .collect();
    let mut rows = vec![json!({ "Data": header })];
    for i in 0..ROWS {
        rows.push(json!({"Data": [
            cell(Some(format!("2024-05-{:02}", i % 28 + 1))),
            cell(Some(i.to_string())),
            cell(Some(format!("{}", i as f64 / 8.0))),
            cell(Some((i % 2 == 0).to_string())),
            cell((i % 3 != 0).then(|| format!("word,{i}"))),
        ]}));
    }
    let column = |name: &str, ty: &str| json!({"Name": name, "Label": name, "Type": ty, "Nullable": "UNKNOWN"});
    let result = json!({"rows": rows, "column_info": [
        column("context_date", "date"), column("message_amount", "bigint"),
        column("share", "double"), column("user_is_bot", "boolean"), column("word", "varchar"),
    ]});
    moto.queue_athena_results(common::REGION, &[result]);
}

#[tokio::test(flavor = "multi_thread")]
async fn athena_queries_page_keep_types_fail_clearly_and_stop_on_ctrl_c() {
    let moto = testkit::Moto::start();
    let shim = testkit::AthenaShim::start(
        &moto.endpoint,
        testkit::AthenaShimConfig {
            scanned_bytes: SCANNED,
            fail_marker: "no_such_column".into(),
            fail_reason: FAILURE.into(),
        },
    );
    let config = common::sdk_config(&moto).await;
    let athena = aws_sdk_athena::Client::new(&config);
    let stack = common::stack("qa");
    common::ensure(
        &tgpipe::stack::athena::Analytics,
        &tgpipe::stack::Clients::new(&config, false),
        &stack,
        &common::names_only(),
    )
    .await
    .unwrap();
    seed(&moto);

    // Every page, in the stack's workgroup and database, with the zone bound.
    let (code, out, err) = run(
        &shim.endpoint,
        &[
            "--name",
            "qa",
            "query",
            "busiest_hours",
            "--format",
            "json",
            "--timezone",
            "Europe/Lisbon",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        rows.len(),
        ROWS,
        "the header row is dropped and every page read"
    );
    assert_eq!(
        rows[1],
        json!({"context_date": "2024-05-02", "message_amount": 1, "share": 0.125, "user_is_bot": false, "word": "word,1"})
    );
    assert_eq!(rows[ROWS - 1]["message_amount"], json!(ROWS - 1));
    assert_eq!(rows[0]["word"], Value::Null);
    let pages = shim.result_pages();
    assert_eq!(
        pages,
        vec![(None, Some(1000)), (Some("1000".to_owned()), Some(1000))],
        "GetQueryResults is paged by NextToken"
    );
    let cost = format!("{:.6}", tgpipe::query::athena::cost_usd(SCANNED));
    assert!(
        err.contains("1500 rows") && err.contains("scanned 3.3 GB") && err.contains(&cost),
        "{err}"
    );

    let ids = athena
        .list_query_executions()
        .work_group("qa")
        .send()
        .await
        .unwrap();
    let id = ids
        .query_execution_ids()
        .first()
        .cloned()
        .expect("a query in the stack's workgroup");
    let execution = athena
        .get_query_execution()
        .query_execution_id(&id)
        .send()
        .await
        .unwrap();
    let execution = execution.query_execution().unwrap();
    assert_eq!(execution.work_group(), Some("qa"));
    assert_eq!(
        execution
            .query_execution_context()
            .and_then(|c| c.database()),
        Some("qa")
    );
    let query = execution.query().unwrap_or_default();
    assert!(
        query.contains("'Europe/Lisbon'") && query.contains("FROM telegram"),
        "{query}"
    );

    // CSV of the same types: quoted where needed, nulls empty.
    seed(&moto);
    let (code, csv, err) = run(
        &shim.endpoint,
        &[
            "--name", "qa", "query", "--sql", "SELECT 1", "--format", "csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "context_date,message_amount,share,user_is_bot,word"
    );
    assert_eq!(lines[1], "2024-05-01,0,0,true,");
    assert_eq!(lines[2], "2024-05-02,1,0.125,false,\"word,1\"");

    // A failed query shows Athena's reason.
    let (code, _, err) = run(
        &shim.endpoint,
        &[
            "--name",
            "qa",
            "query",
            "--sql",
            "SELECT no_such_column FROM telegram",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains(FAILURE), "{err}");

    // No stack of that name: say to run `up`.
    let (code, _, err) = run(
        &shim.endpoint,
        &["--name", "nothing", "query", "messages_per_day"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("tgpipe up") && err.contains("nothing"),
        "{err}"
    );

    // Without --timezone, the zone is the stack's: the one its ETL function files days by.
    common::moto_lambda_without_docker(&moto);
    common::ensure(
        &tgpipe::stack::iam::Roles,
        &tgpipe::stack::Clients::new(&config, false),
        &stack,
        &common::names_only(),
    )
    .await
    .unwrap();
    let artifacts = tempfile::tempdir().unwrap();
    let specs: Vec<_> = Function::ALL
        .into_iter()
        .map(|f| {
            let path = tgpipe::stack::lambda::artifact_path(artifacts.path(), f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, common::zip_with_comment(f.suffix())).unwrap();
            let env = BTreeMap::from([(
                lake::env::TIMEZONE.to_owned(),
                "America/Sao_Paulo".to_owned(),
            )]);
            tgpipe::stack::lambda::FunctionSpec::load(
                &stack,
                f,
                &tgpipe::stack::lambda::Artifacts::Dir(artifacts.path().into()),
                env,
            )
            .unwrap()
        })
        .collect();
    let desired = common::desired(specs, tgpipe::stack::events::DEFAULT_SCHEDULE);
    common::ensure(
        &tgpipe::stack::lambda::Functions,
        &tgpipe::stack::Clients::new(&config, false),
        &stack,
        &desired,
    )
    .await
    .unwrap();
    let (code, _, err) = run(
        &shim.endpoint,
        &["--name", "qa", "query", "busiest_hours", "--format", "csv"],
    );
    assert_eq!(code, 0, "{err}");
    let latest = athena
        .list_query_executions()
        .work_group("qa")
        .send()
        .await
        .unwrap();
    let queries: Vec<String> = query_texts(&athena, latest.query_execution_ids()).await;
    assert!(
        queries
            .iter()
            .any(|q| q.contains("hour(from_unixtime(\"date\", 'America/Sao_Paulo'))")),
        "{queries:?}"
    );

    // Ctrl-C while the query runs stops it on Athena.
    let transition = json!({"model_name": "athena::execution", "transition": {"progression": "manual", "times": 1000}});
    testkit::http(
        &moto.endpoint,
        "POST",
        "/moto-api/state-manager/set-transition",
        &transition.to_string(),
    )
    .unwrap();
    let mut child = tgpipe(
        &shim.endpoint,
        &["--name", "qa", "query", "messages_per_day"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("is running on Athena") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "tgpipe ended before the query ran"
        );
    }
    let running = line.split_whitespace().nth(2).unwrap().to_owned();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest}");
    assert!(rest.contains("cancelled on Athena"), "{rest}");
    let state = athena
        .get_query_execution()
        .query_execution_id(&running)
        .send()
        .await
        .unwrap();
    assert_eq!(
        state
            .query_execution()
            .and_then(|e| e.status())
            .and_then(|s| s.state()),
        Some(&aws_sdk_athena::types::QueryExecutionState::Cancelled)
    );
}
