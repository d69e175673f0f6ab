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
        if i > 0 && (digits.len() - i) % 3 == 0 {
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
    let all = answers(dir.path(), &[]);
    let want: i64 = all["messages_per_day"]
        .iter()
        .filter(|r| ("2024-05-08".."2024-05-11").contains(&r["context_date"].as_str().unwrap()))
        .map(|r| r["message_amount"].as_i64().unwrap())
        .sum();
    assert!(want > 0);
    assert_eq!(written["messages"], json!(want), "{written}");
    assert_eq!(written["from"], json!("2024-05-08"));
    assert_eq!(written["to"], json!("2024-05-10"));
    assert_eq!(written["timezone"], json!("America/Sao_Paulo"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(written["bytes"], json!(page.len()));
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
