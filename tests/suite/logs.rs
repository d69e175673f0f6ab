//! `tgpipe logs`: the functions' lines from CloudWatch Logs (moto), merged by time, narrowed by
//! function, time and filter, as text or JSON lines, with the webhook secret and token-shaped
//! text withheld; `--follow` prints lines as they come.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::cli::{Aws, Env, ok};
use crate::common;

const STREAM: &str = "2024/05/01/[$LATEST]0123456789abcdef";
/// Shaped like a bot token, and not the test's own (which `assert_token_never_printed` checks).
const TOKEN_SHAPED: &str = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9";

/// Puts `lines` (milliseconds ago, message) into a function's log group.
fn put_lines(aws: &Aws, function: &str, lines: &[(i64, String)]) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&aws.config);
    let group = format!("/aws/lambda/tgpipe-{function}");
    let now = Utc::now().timestamp_millis();
    aws.rt.block_on(async {
        // A second call for the same stream finds it there.
        let _ = logs
            .create_log_stream()
            .log_group_name(&group)
            .log_stream_name(STREAM)
            .send()
            .await;
        let events = lines.iter().map(|(ago, message)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now - ago)
                .message(message)
                .build()
                .unwrap()
        });
        logs.put_log_events()
            .log_group_name(&group)
            .log_stream_name(STREAM)
            .set_log_events(Some(events.collect()))
            .send()
            .await
            .unwrap();
    });
}

fn messages(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.splitn(3, "  ").nth(2).unwrap_or("").trim().to_owned())
        .collect()
}

#[test]
fn logs_merges_the_functions_by_time_narrows_them_and_withholds_secrets() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&[]));
    let secret = aws.ingest_vars()["TGPIPE_WEBHOOK_SECRET"].clone();
    put_lines(
        &aws,
        "ingest",
        &[
            (3_000, "stored update 1".to_owned()),
            (1_000, format!("refused a request with the header {secret}")),
        ],
    );
    put_lines(
        &aws,
        "etl",
        &[
            (2 * 3_600_000, "a run two hours ago".to_owned()),
            (2_000, format!("day rebuilt; getMe with {TOKEN_SHAPED}")),
        ],
    );

    // Both functions, the last hour, oldest first.
    let (code, out, err) = env.run(&["logs"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        messages(&out),
        vec![
            "stored update 1".to_owned(),
            "day rebuilt; getMe with [bot token withheld]".to_owned(),
            "refused a request with the header [webhook secret withheld]".to_owned(),
        ],
        "{out}"
    );
    assert!(
        !out.contains(&secret) && !out.contains(TOKEN_SHAPED),
        "{out}"
    );
    assert!(out.lines().nth(1).unwrap().contains("  etl  "), "{out}");

    // One function, further back, filtered.
    let (code, out, err) = env.run(&["logs", "etl", "--since", "3h", "--filter", "run"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        messages(&out),
        vec!["a run two hours ago".to_owned()],
        "{out}"
    );

    // JSON lines, one object each.
    let (code, out, err) = env.run(&["logs", "ingest", "--output", "json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["function"], "ingest");
    assert_eq!(lines[0]["message"], "stored update 1");
    assert_eq!(lines[0]["stream"], STREAM);
    assert!(!out.contains(&secret), "{out}");

    // A stack without log groups has no lines, and says so.
    let (code, out, err) = env.run(&["logs", "--name", "other"], None);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.contains("No log lines in the last"), "{err}");

    // A bad --since is named.
    let (code, _, err) = env.run(&["logs", "--since", "yesterday"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("30m, 6h, 2d"), "{err}");
    env.assert_token_never_printed();
}

#[test]
fn logs_follow_prints_lines_as_they_come() {
    let env = Env::new();
    let aws = Aws::new(&env);
    ok(&env.up(&[]));
    put_lines(&aws, "etl", &[(1_000, "before".to_owned())]);
    let mut cmd = common::tgpipe_on_aws(&env.moto.endpoint, &["logs", "etl", "--follow"]);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        rx.recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line {what:?} within 30 s"))
    };
    assert!(next("before").ends_with("before"));
    put_lines(&aws, "etl", &[(0, "after".to_owned())]);
    let started = Instant::now();
    assert!(next("after").ends_with("after"));
    // Printed once, not again at each ask.
    assert!(
        rx.recv_timeout(Duration::from_secs(5)).is_err(),
        "a line came twice"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    child.kill().unwrap();
    child.wait().unwrap();
}
