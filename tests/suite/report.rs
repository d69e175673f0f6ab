//! `tgpipe report`: the page in a real browser (headless Chromium shows the analyses' own
//! figures, loads nothing, fits a phone, and a name in the data stays text), the days and chats
//! asked for, and the same report from Athena (moto behind `testkit::AthenaShim`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common;

/// A group member's name that would run, or load an image, if the page did not escape it.
const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>Eve \"&\" 'Co' </table>";

fn tgpipe(args: &[&str]) -> (i32, String, String) {
    common::run(common::tgpipe(args))
}

/// The demo's lake, plus one message from a member whose name is markup.
fn demo_lake(dir: &Path) {
    let d = dir.to_str().unwrap();
    let (code, _, err) = tgpipe(&["local", "demo", d, "--days", "14", "--per-day", "300"]);
    assert_eq!(code, 0, "{err}");
    let update = json!({"update_id": 999_000_001, "message": {
        "message_id": 999_001, "date": 1_715_083_200,
        "chat": {"id": tgpipe::demo::GROUP_ID, "type": "supergroup", "title": "Dados & Café ☕"},
        "from": {"id": 4242, "is_bot": false, "first_name": HOSTILE_NAME},
        "text": "<script>fetch('http://127.0.0.1:9/')</script> olá"}});
    let day = dir.join("raw/telegram/context_date=2024-05-07");
    std::fs::write(day.join("999000001.json"), update.to_string()).unwrap();
    let (code, _, err) = tgpipe(&["local", "etl", d, "--date", "2024-05-07"]);
    assert_eq!(code, 0, "{err}");
}

/// Each analysis of the report, as `tgpipe query NAME --local DIR --format json` answers it.
fn answers(dir: &Path, extra: &[&str]) -> BTreeMap<&'static str, Vec<Value>> {
    tgpipe::report::ANALYSES
        .iter()
        .map(|name| {
            let mut args = vec!["query", name, "--local", dir.to_str().unwrap()];
            args.extend(["--format", "json", "--max-rows", "0"]);
            args.extend(extra);
            let (code, out, err) = tgpipe(&args);
            assert_eq!(code, 0, "{name}: {err}");
            (*name, serde_json::from_str(&out).unwrap())
        })
        .collect()
}

/// 12345 → "12,345", written here again so that the page's own formatting is checked.
fn grouped(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A page's table as the browser read it: rows of (shown text, data-value).
type Rows = Vec<Vec<(String, Option<String>)>>;

fn table(page: &Value, analysis: &str) -> Rows {
    page["tables"][analysis]
        .as_array()
        .unwrap_or_else(|| panic!("no table of {analysis} in the page"))
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["text"].as_str().unwrap().to_owned(),
                        c["value"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .collect()
}

/// A cell's `data-value` as a whole number, checking that the page shows that number.
fn shown_count(cell: &(String, Option<String>)) -> i64 {
    let n: i64 = cell.1.as_deref().unwrap().parse().unwrap();
    assert!(
        cell.0 == grouped(n) || cell.0.starts_with(&format!("{} ·", grouped(n))),
        "the page shows {:?} for {n}",
        cell.0
    );
    n
}

fn value(cell: &(String, Option<String>)) -> &str {
    cell.1.as_deref().unwrap()
}

/// The page's figures against the analyses' answers, chart by chart.
fn assert_same_figures(page: &Value, answers: &BTreeMap<&str, Vec<Value>>) {
    let days: Vec<(String, i64)> = table(page, "messages_per_day")
        .iter()
        .map(|r| (r[0].0.clone(), shown_count(&r[1])))
        .collect();
    let want: Vec<(String, i64)> = answers["messages_per_day"]
        .iter()
        .map(|r| {
            (
                r["context_date"].as_str().unwrap().to_owned(),
                r["message_amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(days, want, "messages per day");
    let total: i64 = want.iter().map(|d| d.1).sum();
    assert_eq!(page["messages"], json!(total.to_string()));

    let mut week = [[0i64; 24]; 7];
    for r in &answers["activity_by_hour_weekday_week"] {
        let d = r["parsed_date_weekday"].as_u64().unwrap() as usize;
        let h = r["parsed_date_hour"].as_u64().unwrap() as usize;
        week[d - 1][h] += r["message_amount"].as_i64().unwrap();
    }
    let shown = table(page, "activity_by_hour_weekday_week");
    assert_eq!(shown.len(), 7, "a row per weekday");
    for (d, row) in shown.iter().enumerate() {
        let hours: Vec<i64> = row[1..].iter().map(shown_count).collect();
        assert_eq!(hours, week[d], "weekday {}", d + 1);
    }

    let words: Vec<(String, i64)> = table(page, "top_words")
        .iter()
        .map(|r| (r[1].0.clone(), shown_count(&r[2])))
        .collect();
    let want: Vec<(String, i64)> = answers["top_words"]
        .iter()
        .map(|r| {
            (
                r["word"].as_str().unwrap().to_owned(),
                r["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(words, want, "top words");

    let users: Vec<(i64, String, i64, f64)> = table(page, "user_share")
        .iter()
        .map(|r| {
            (
                value(&r[0]).parse().unwrap(),
                r[0].0.clone(),
                shown_count(&r[1]),
                value(&r[2]).parse().unwrap(),
            )
        })
        .collect();
    let want: Vec<(i64, String, i64, f64)> = answers["user_share"]
        .iter()
        .map(|r| {
            (
                r["user_id"].as_i64().unwrap(),
                r["user_first_name"].as_str().unwrap().to_owned(),
                r["message_amount"].as_i64().unwrap(),
                r["share"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(users, want, "each user's share");

    let replies: Vec<(i64, i64, f64)> = table(page, "reply_time")
        .iter()
        .map(|r| {
            (
                value(&r[0]).parse().unwrap(),
                shown_count(&r[1]),
                value(&r[2]).parse().unwrap(),
            )
        })
        .collect();
    let want: Vec<(i64, i64, f64)> = answers["reply_time"]
        .iter()
        .map(|r| {
            (
                r["user_id"].as_i64().unwrap(),
                r["replies"].as_i64().unwrap(),
                r["median_reply_seconds"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(replies, want, "median reply time per user");

    let types: Vec<(String, i64)> = table(page, "message_types")
        .iter()
        .map(|r| (value(&r[0]).to_owned(), shown_count(&r[2])))
        .collect();
    let want: Vec<(String, i64)> = answers["message_types"]
        .iter()
        .map(|r| {
            (
                r["message_type"].as_str().unwrap().to_owned(),
                r["message_amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(types, want, "message types");

    let senders: BTreeMap<String, i64> = table(page, "bots_vs_humans")
        .iter()
        .map(|r| (value(&r[0]).to_owned(), shown_count(&r[2])))
        .collect();
    let mut want = BTreeMap::from([("false".to_owned(), 0), ("true".to_owned(), 0)]);
    for r in &answers["bots_vs_humans"] {
        *want
            .get_mut(&r["user_is_bot"].as_bool().unwrap().to_string())
            .unwrap() += r["message_amount"].as_i64().unwrap();
    }
    assert_eq!(senders, want, "bots and people");
}

#[test]
#[ignore = "needs Chromium (CHROMIUM=path); scripts/test installs it and runs this"]
fn the_report_in_a_real_browser_shows_the_analyses_figures_and_loads_nothing() {
    let chromium = std::env::var("CHROMIUM")
        .expect("CHROMIUM names the Chromium binary (scripts/chromium installs Debian's)");
    let dir = tempfile::tempdir().unwrap();
    demo_lake(dir.path());
    // Kept under target/ for CI to keep as artifacts (and for the README's screenshot).
    let out = testkit::workspace_root().join("target/report");
    std::fs::create_dir_all(&out).unwrap();
    let html = out.join("report.html");
    let (code, _, err) = tgpipe(&[
        "report",
        "--local",
        dir.path().to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    let python = testkit::workspace_root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "run scripts/dev-env first (it installs websocket-client)"
    );
    let read = Command::new(python)
        .arg(testkit::workspace_root().join("tests/browser/report.py"))
        .arg(&html)
        .arg(&out)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let (code, stdout, stderr) = common::outcome(read);
    assert_eq!(code, 0, "the browser check failed:\n{stderr}");
    let page: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));

    assert_eq!(page["requests"], json!([]), "the page asked for something");
    assert_eq!(
        page["console"],
        json!([]),
        "errors in the browser's console"
    );
    let answers = answers(dir.path(), &[]);
    assert_eq!(
        page["title"].as_str(),
        answers["chats"][0]["chat_title"].as_str(),
        "the group's name heads the page"
    );
    assert_same_figures(&page, &answers);
    // The name is shown as the member wrote it, as text.
    let names: Vec<String> = table(&page, "user_share")
        .into_iter()
        .map(|r| r[0].0.clone())
        .collect();
    assert!(
        names.iter().any(|n| n == HOSTILE_NAME),
        "the member named with markup is missing: {names:?}"
    );

    // A phone: nothing wider than the screen, no text too small to read.
    let phone = &page["phone"];
    assert!(
        phone["width"].as_f64() <= phone["viewport"].as_f64(),
        "the page is wider than a phone: {phone}"
    );
    assert!(
        phone["smallest_text_px"].as_f64().unwrap() >= 11.0,
        "text too small on a phone: {phone}"
    );
    for shot in page["screenshots"].as_array().unwrap() {
        let png = std::fs::read(shot.as_str().unwrap()).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{shot}: not a screenshot"
        );
    }
}

#[test]
fn a_report_covers_the_days_and_the_chats_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    demo_lake(dir.path());
    let d = dir.path().to_str().unwrap();
    let html = dir.path().join("may.html");
    let (code, out, err) = tgpipe(&[
        "report",
        "--local",
        d,
        "-o",
        html.to_str().unwrap(),
        "--from",
        "2024-05-08",
        "--to",
        "2024-05-10",
        "--chat-id",
        &tgpipe::demo::GROUP_ID.to_string(),
        "--timezone",
        "America/Sao_Paulo",
        "--output",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let written: Value = serde_json::from_str(&out).unwrap();
    // `tgpipe query` takes the same scope, and answers the days of the whole table's answer.
    let group = tgpipe::demo::GROUP_ID.to_string();
    let scoped = answers(
        dir.path(),
        &[
            "--from",
            "2024-05-08",
            "--to",
            "2024-05-10",
            "--chat-id",
            &group,
        ],
    );
    let all = answers(dir.path(), &[]);
    let in_range: Vec<&Value> = all["messages_per_day"]
        .iter()
        .filter(|r| ("2024-05-08".."2024-05-11").contains(&r["context_date"].as_str().unwrap()))
        .collect();
    assert_eq!(in_range.len(), 3);
    assert_eq!(
        scoped["messages_per_day"].iter().collect::<Vec<_>>(),
        in_range
    );
    let want: i64 = in_range
        .iter()
        .map(|r| r["message_amount"].as_i64().unwrap())
        .sum();
    assert_eq!(written["messages"], json!(want), "{written}");
    assert_eq!(written["from"], json!("2024-05-08"));
    assert_eq!(written["to"], json!("2024-05-10"));
    assert_eq!(written["timezone"], json!("America/Sao_Paulo"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(written["bytes"], json!(page.len()));
    // It names the group's members: the owner's only, as local mode's files are.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&html).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let days_table = page
        .split("data-analysis=\"messages_per_day\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    assert_eq!(
        days_table.matches("<th scope=\"row\">").count(),
        3,
        "three days: {days_table}"
    );
    assert!(page.contains("Hours and weekdays are in America/Sao_Paulo"));
    assert!(
        page.contains(&format!(
            "tgpipe query NAME --local {d} --from 2024-05-08 --to 2024-05-10 --chat-id {group} --timezone America/Sao_Paulo"
        )),
        "the footer names the query that gives the same figures"
    );

    // A chat with nothing in the table, a period backwards, and no lake: one clear line each.
    let (code, _, err) = tgpipe(&["report", "--local", d, "--chat-id", "-1009", "-o", "-"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no messages in the table in chat -1009"),
        "{err}"
    );
    let (code, _, err) = tgpipe(&[
        "report",
        "--local",
        d,
        "--from",
        "2024-05-10",
        "--to",
        "2024-05-08",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--from 2024-05-10 is after --to 2024-05-08"),
        "{err}"
    );
    let (code, _, err) = tgpipe(&["report", "--local", "/nonexistent/lake"]);
    assert_eq!(code, 1);
    assert!(err.contains("no lake at /nonexistent/lake"), "{err}");

    // `-o -` writes the page on stdout, and nothing else.
    let (code, page, _) = tgpipe(&["report", "--local", d, "-o", "-"]);
    assert_eq!(code, 0);
    assert!(page.starts_with("<!doctype html>") && page.trim_end().ends_with("</html>"));
}

/// The Athena types of a column of `tgpipe query --format json` rows.
fn athena_type(column: &str, value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() => "bigint",
        Value::Number(_) => "double",
        _ if ["context_date", "first_day", "last_day"].contains(&column) => "date",
        _ => "varchar",
    }
}

/// Queues the answers for moto to give, one per query, in the order the queries start.
fn seed_athena(moto: &testkit::Moto, answers: &BTreeMap<&str, Vec<Value>>) {
    let results: Vec<Value> = tgpipe::report::ANALYSES
        .iter()
        .map(|name| {
            let rows = &answers[name];
            let columns: Vec<String> = rows[0].as_object().unwrap().keys().cloned().collect();
            let text = |v: &Value| match v {
                Value::Null => json!({}),
                Value::String(s) => json!({ "VarCharValue": s }),
                other => json!({ "VarCharValue": other.to_string() }),
            };
            // Athena repeats the column names as the first row of a SELECT's result.
            let mut data = vec![json!({"Data": columns.iter().map(|c| json!({"VarCharValue": c})).collect::<Vec<_>>()})];
            data.extend(rows.iter().map(|r| json!({"Data": columns.iter().map(|c| text(&r[c])).collect::<Vec<_>>()})));
            let info: Vec<Value> = columns
                .iter()
                .map(|c| {
                    // A column's type is that of its first non-null value.
                    let sample = rows.iter().map(|r| &r[c]).find(|v| !v.is_null()).unwrap_or(&Value::Null);
                    json!({"Name": c, "Label": c, "Type": athena_type(c, sample), "Nullable": "UNKNOWN"})
                })
                .collect();
            json!({"rows": data, "column_info": info})
        })
        .collect();
    moto.queue_athena_results(common::REGION, &results);
}

/// The page without its footer, which names where the figures came from and when.
fn without_footer(page: &str) -> &str {
    page.split("<footer>").next().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_on_athena_runs_every_analysis_in_the_stack_and_draws_the_same_page() {
    let dir = tempfile::tempdir().unwrap();
    demo_lake(dir.path());
    let group = tgpipe::demo::GROUP_ID.to_string();
    let scope = ["--chat-id", group.as_str(), "--timezone", "Europe/Lisbon"];
    let answers = answers(dir.path(), &scope);
    let local_page = dir.path().join("local.html");
    let mut args = vec!["report", "--local", dir.path().to_str().unwrap()];
    args.extend(["-o", local_page.to_str().unwrap()]);
    args.extend(scope);
    let (code, _, err) = tgpipe(&args);
    assert_eq!(code, 0, "{err}");

    let moto = testkit::Moto::start();
    let shim = testkit::AthenaShim::start(
        &moto.endpoint,
        testkit::AthenaShimConfig {
            scanned_bytes: 5_000_000,
            fail_marker: "no_such_column".into(),
            fail_reason: "COLUMN_NOT_FOUND".into(),
        },
    );
    let config = common::sdk_config(&moto).await;
    let athena = aws_sdk_athena::Client::new(&config);
    let stack = common::stack("rp");
    common::ensure(
        &tgpipe::stack::athena::Analytics,
        &tgpipe::stack::Clients::new(&config, false),
        &stack,
        &common::names_only(),
    )
    .await
    .unwrap();
    seed_athena(&moto, &answers);
    let page = dir.path().join("athena.html");
    let mut args = vec!["--name", "rp", "report", "-o", page.to_str().unwrap()];
    args.extend(scope);
    args.extend(["--output", "json"]);
    let (code, out, err) = common::run(common::tgpipe_on_aws(&shim.endpoint, &args));
    assert_eq!(code, 0, "{err}");
    let written: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        written["scanned_bytes"],
        json!(5_000_000 * tgpipe::report::ANALYSES.len() as i64),
        "{written}"
    );
    assert!(
        written["source"]
            .as_str()
            .unwrap()
            .contains("Athena (stack rp"),
        "{written}"
    );
    // Athena's answers, in the order the queries were started, make the page the local engine's.
    let (athena_page, local) = (
        std::fs::read_to_string(&page).unwrap(),
        std::fs::read_to_string(&local_page).unwrap(),
    );
    assert_eq!(without_footer(&athena_page), without_footer(&local));

    // One query per analysis in the stack's workgroup, each reading through the scope.
    let ids = athena
        .list_query_executions()
        .work_group("rp")
        .send()
        .await
        .unwrap();
    let ids = ids.query_execution_ids();
    assert_eq!(ids.len(), tgpipe::report::ANALYSES.len());
    for id in ids {
        let execution = athena
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .unwrap();
        let query = execution
            .query_execution()
            .and_then(|e| e.query())
            .unwrap_or_default();
        assert!(
            query.contains(&format!(
                "telegram_in_scope AS (SELECT * FROM telegram WHERE chat_id IN ({group}))"
            )),
            "{query}"
        );
        assert!(!query.contains("${timezone}"), "{query}");
    }
}
