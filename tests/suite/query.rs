//! `tgpipe query`: every analysis on a generated lake, checked against the raw updates and
//! DuckDB; its errors; and the Athena path against moto.

use std::path::Path;
use std::process::Command;

use crate::common;

use chrono::Utc;

/// A lake of the sample updates turned into Parquet by the real ETL. Its days straddle a new
/// year, so ISO weeks of two years meet.
fn lake(dir: &Path, updates: usize, days: usize, start: &str) {
    testkit::gen_lake(dir, updates, days, start, 5);
    let config = etl::Config::from_vars(|name| match name {
        lake::env::RAW_BUCKET => Some(format!("file://{}/raw", dir.display())),
        lake::env::ENRICHED_BUCKET => Some(format!("file://{}/enriched", dir.display())),
        _ => None,
    })
    .unwrap();
    let first = lake::layout::parse_day(start).unwrap();
    let dates: Vec<_> = (0..days as i64)
        .map(|d| (first + chrono::Duration::days(d)).to_string())
        .collect();
    let request = etl::Request::from_event(&serde_json::json!({ "dates": dates })).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let summary = runtime
        .block_on(etl::run(&config, request, Utc::now()))
        .unwrap();
    assert_eq!(summary.days.len(), days);
}

fn tgpipe(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let mut cmd = common::tgpipe(args);
    cmd.current_dir(cwd);
    common::run(cmd)
}

#[test]
fn every_analysis_matches_the_raw_updates_and_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path(), 4000, 3, "2024-12-30");
    let python = testkit::workspace_root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "run scripts/dev-env first (it installs sqlglot and duckdb)"
    );
    // A zone west of UTC moves hours, weekdays and even weeks: the zone must be honoured.
    let out = Command::new(python)
        .arg(testkit::workspace_root().join("tests/suite/sql_check.py"))
        .arg(env!("CARGO_BIN_EXE_tgpipe"))
        .arg(dir.path())
        .arg("America/Sao_Paulo")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{printed}");
    assert!(out.status.success(), "{printed}");
    let checked = printed.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(checked, tgpipe::query::ANALYSES.len(), "{printed}");
}

#[test]
fn queries_run_from_anywhere_in_every_format_and_zone() {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path(), 600, 1, "2024-05-01");
    let elsewhere = tempfile::tempdir().unwrap();
    let lake_dir = dir.path().to_str().unwrap();

    // --list names every analysis with what it answers, outside the repository.
    let (code, list, _) = tgpipe(&["query", "--list"], elsewhere.path());
    assert_eq!(code, 0);
    for a in tgpipe::query::ANALYSES {
        assert!(
            list.contains(a.name) && list.contains(a.summary()),
            "{list}"
        );
    }

    let (code, csv, rows) = tgpipe(
        &[
            "query",
            "messages_per_day",
            "--local",
            lake_dir,
            "--format",
            "csv",
        ],
        elsewhere.path(),
    );
    assert_eq!(code, 0, "{rows}");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("context_date,message_amount"));
    let (day, count) = lines.next().unwrap().split_once(',').unwrap();
    assert_eq!(day, "2024-05-01");
    assert!(count.parse::<u32>().unwrap() > 400, "{csv}");
    // The summary on stderr: the row count and the engine's time, which bench/query.py reads.
    let took = rows
        .trim()
        .strip_prefix("1 row in ")
        .and_then(|t| t.strip_suffix(" s"))
        .unwrap_or_else(|| panic!("{rows}"));
    assert!(took.parse::<f64>().is_ok_and(|s| s > 0.0), "{rows}");

    let (_, table, _) = tgpipe(
        &[
            "query",
            "messages_per_day",
            "--local",
            lake_dir,
            "--format",
            "table",
        ],
        elsewhere.path(),
    );
    assert!(
        table.starts_with("context_date  message_amount\n------------  --------------\n2024-05-01"),
        "{table}"
    );

    // The same day's hours in UTC and three hours west: every count moves by three hours.
    let hours = |zone: &str| -> Vec<(i64, i64)> {
        let (code, json, err) = tgpipe(
            &[
                "query",
                "busiest_hours",
                "--local",
                lake_dir,
                "--format",
                "json",
                "--timezone",
                zone,
            ],
            elsewhere.path(),
        );
        assert_eq!(code, 0, "{err}");
        let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["hour"].as_i64().unwrap(),
                    r["message_amount"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let utc = hours("UTC");
    let west: std::collections::HashMap<i64, i64> =
        hours("America/Sao_Paulo").into_iter().collect();
    assert!(!utc.is_empty());
    for (hour, count) in utc {
        assert_eq!(west.get(&((hour + 21) % 24)), Some(&count), "hour {hour}");
    }

    // --file and --sql run the user's own SQL, ${timezone} included.
    let file = elsewhere.path().join("mine.sql");
    std::fs::write(&file, "SELECT count(*) AS n, min(hour(from_unixtime(\"date\", '${timezone}'))) AS h FROM telegram").unwrap();
    let (code, out, err) = tgpipe(
        &[
            "query",
            "--file",
            file.to_str().unwrap(),
            "--local",
            lake_dir,
            "--format",
            "csv",
        ],
        elsewhere.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("n,h\n"), "{out}");
    let (code, out, _) = tgpipe(
        &[
            "query",
            "--sql",
            "SELECT CAST(2.5 AS INT) AS a, CAST(-2.5 AS BIGINT) AS b, day_of_week(DATE '2024-05-05') AS sunday",
            "--local",
            lake_dir,
            "--format",
            "csv",
        ],
        elsewhere.path(),
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "a,b,sunday\n3,-3,7\n"),
        "Trino rounds casts; Sunday is 7"
    );

    // A long answer as a table: the first and last rows, and how many are left out; all of
    // them with --max-rows 0, and always all of them in CSV.
    let hours_sql = "SELECT hour(from_unixtime(\"date\")) AS hour, count(*) AS n FROM telegram GROUP BY 1 ORDER BY 1";
    let table = |extra: &[&str]| {
        let mut args = vec!["query", "--sql", hours_sql, "--local", lake_dir];
        args.extend(extra);
        let (code, out, err) = tgpipe(&args, elsewhere.path());
        assert_eq!(code, 0, "{err}");
        out
    };
    let csv = table(&["--format", "csv", "--max-rows", "6"]);
    let hours: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| &l[..l.find(',').unwrap()])
        .collect();
    assert!(hours.len() > 10, "{csv}");
    let short = table(&["--format", "table", "--max-rows", "6"]);
    let lines: Vec<&str> = short.lines().collect();
    assert_eq!(lines.len(), 2 + 6 + 1, "{short}");
    let first = |line: &str| line.split_whitespace().next().unwrap_or("").to_owned();
    assert_eq!(first(lines[2]), hours[0], "{short}");
    assert_eq!(
        lines[5],
        format!("… {} more rows", hours.len() - 6),
        "{short}"
    );
    assert_eq!(first(lines[8]), hours[hours.len() - 1], "{short}");
    let all = table(&["--format", "table", "--max-rows", "0"]);
    assert_eq!(all.lines().count(), 2 + hours.len());
    // --output json is every command's flag for JSON: the rows here, the analyses with --list.
    let rows: serde_json::Value = serde_json::from_str(&table(&["--output", "json"])).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(hours.len()));
    let (code, list, _) = tgpipe(&["query", "--list", "--output", "json"], elsewhere.path());
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["name"], tgpipe::query::ANALYSES[0].name);
    let (code, _, err) = tgpipe(
        &["query", "--list", "--output", "json", "--format", "csv"],
        elsewhere.path(),
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn bad_queries_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    lake(dir.path(), 200, 1, "2024-05-01");
    let here = dir.path();
    let lake_dir = here.to_str().unwrap();

    // A name that is not an analysis is a command line error (2), with the names to choose from.
    let (code, _, err) = tgpipe(&["query", "messages_per_dya", "--local", lake_dir], here);
    assert_eq!(code, 2);
    assert!(
        err.contains("messages_per_day") && err.contains("top_words"),
        "{err}"
    );

    let (code, _, err) = tgpipe(
        &[
            "query",
            "--sql",
            "SELECT count(*) FROM telegram WHERE AND x = 1",
            "--local",
            lake_dir,
        ],
        here,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("SQL error") && err.contains("Line: 1, Column"),
        "{err}"
    );

    let (code, _, err) = tgpipe(
        &[
            "query",
            "--sql",
            "SELECT nope FROM telegram",
            "--local",
            lake_dir,
        ],
        here,
    );
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");

    // Read-only: no statement writes anything.
    let (code, _, err) = tgpipe(
        &[
            "query",
            "--sql",
            "COPY (SELECT 1) TO 'x.csv'",
            "--local",
            lake_dir,
        ],
        here,
    );
    assert_eq!(code, 1, "{err}");
    assert!(!here.join("x.csv").exists());

    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = tgpipe(
        &[
            "query",
            "messages_per_day",
            "--local",
            empty.path().to_str().unwrap(),
        ],
        here,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("is empty") && err.contains("enriched/telegram"),
        "{err}"
    );

    let (code, _, err) = tgpipe(
        &["query", "messages_per_day", "--local", "/no/such/lake"],
        here,
    );
    assert_eq!(code, 1);
    assert!(err.contains("no lake at /no/such/lake"), "{err}");

    let (code, _, err) = tgpipe(
        &[
            "query",
            "messages_per_day",
            "--local",
            lake_dir,
            "--timezone",
            "Mars/Olympus",
        ],
        here,
    );
    assert_eq!(code, 1);
    assert!(err.contains("unknown time zone"), "{err}");
}
