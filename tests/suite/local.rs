//! Local mode: `tgpipe local poll` keeps a bot's updates as the ingest Lambda would, `tgpipe
//! local etl` turns them into Parquet, and `tgpipe query --local` reads it, all on one machine
//! against a stand-in for the Telegram Bot API.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::TelegramStandIn;

use crate::common;

const TOKEN: &str = "123456789:AAlocal-mode-token_0123456789abcdefghij";
const GROUP: &str = "-1001234567890";
const CHANNEL: &str = "-1005555555555";
/// The generator's chat that we do not keep.
const OTHER_CHAT: &str = "\"chat\":{\"id\":-1009999999999";

fn tgpipe(bot: &TelegramStandIn, args: &[&str]) -> Command {
    let mut command = common::tgpipe(args);
    command
        .env("TGPIPE_BOT_TOKEN", TOKEN)
        .env("TGPIPE_TELEGRAM_API_URL", &bot.url);
    command
}

fn run(bot: &TelegramStandIn, args: &[&str]) -> (i32, String, String) {
    let (code, stdout, stderr) = common::run(tgpipe(bot, args));
    // The token is a secret: never in any output.
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    assert!(!stdout.contains("AAlocal-mode") && !stderr.contains("AAlocal-mode"));
    (code, stdout, stderr)
}

/// `tgpipe query messages_per_day` on the lake at `dir`, as CSV.
fn messages_per_day(bot: &TelegramStandIn, dir: &str) -> String {
    let query = [
        "query",
        "messages_per_day",
        "--local",
        dir,
        "--format",
        "csv",
    ];
    let (code, csv, err) = run(bot, &query);
    assert_eq!(code, 0, "{err}");
    csv
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    testkit::files(dir).into_iter().collect()
}

/// The sample updates in delivery order, and the raw lake of them, less the chat we do not
/// keep: what the ingest Lambda would have stored.
fn generated(dir: &Path, updates: usize) -> (Vec<String>, BTreeMap<String, Vec<u8>>) {
    let lines = testkit::gen_lake(dir, updates, 2, "2024-05-01", 11);
    let mut expected = files(&dir.join("raw"));
    expected.retain(|_, body| !String::from_utf8_lossy(body).contains(OTHER_CHAT));
    assert!(expected.len() < lines.len() && expected.len() > lines.len() / 2);
    (lines, expected)
}

#[test]
fn polled_updates_are_kept_byte_for_byte_then_become_parquet_and_answer_queries() {
    let generated_dir = tempfile::tempdir().unwrap();
    let (updates, expected) = generated(generated_dir.path(), 600);
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("lake");
    let dir_arg = dir.to_str().unwrap();
    let bot = TelegramStandIn::start(TOKEN);
    let poll = [
        "local",
        "poll",
        dir_arg,
        "--chat-id",
        GROUP,
        "--chat-id",
        CHANNEL,
        "--once",
    ];

    // Two polls, as updates arrive; each confirms what it stored and takes nothing twice.
    bot.push_updates(&updates[..400]);
    let (code, _, err) = run(&bot, &poll);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bot.pending_updates(), 0, "every update confirmed: {err}");
    assert!(err.contains("Polling @test_bot into"), "{err}");
    // The chat not kept is named once, with the id --chat-id would take.
    assert_eq!(
        err.matches("not kept: chat -1009999999999 (Not ours); add --chat-id -1009999999999")
            .count(),
        1,
        "{err}"
    );
    bot.push_updates(&updates[400..]);
    let (code, _, err) = run(&bot, &poll);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bot.pending_updates(), 0);
    let kept = files(&dir.join("raw"));
    assert_eq!(
        kept.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    assert!(
        kept == expected,
        "stored bytes differ from the updates sent"
    );
    let ignored = updates.len() - expected.len();
    let second: usize = updates[400..]
        .iter()
        .filter(|u| !u.contains(OTHER_CHAT))
        .count();
    assert!(err.contains(&format!("Kept {second} updates in")), "{err}");
    assert!(ignored > 0);
    // Only the allowed update kinds are asked for, and each poll starts where the last stopped.
    let calls: Vec<_> = bot
        .calls()
        .into_iter()
        .filter(|c| c.method == "getUpdates")
        .collect();
    assert!(calls.iter().all(|c| {
        c.params["allowed_updates"]
            .as_array()
            .is_some_and(|a| a.iter().any(|k| k == "edited_message"))
    }));

    // The ETL: every day with updates, then nothing until new ones come.
    let (code, out, err) = run(&bot, &["local", "etl", dir_arg]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.starts_with("2024-05-01  "), "{out}");
    for day in ["2024-05-01", "2024-05-02"] {
        assert!(
            dir.join(format!(
                "enriched/telegram/context_date={day}/part-00000.parquet"
            ))
            .is_file()
        );
    }
    let (code, out, err) = run(&bot, &["local", "etl", dir_arg]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.contains("Nothing to do"), "{err}");
    // As JSON: the summary the ETL Lambda answers, and the lines for people on stderr.
    let (code, out, err) = run(
        &bot,
        &[
            "local",
            "etl",
            dir_arg,
            "--date",
            "2024-05-02",
            "--output",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let summary: etl::Summary = serde_json::from_str(&out).unwrap();
    assert_eq!(summary.days.len(), 1);
    assert!(summary.days[0].rows_written > 0, "{out}");
    assert!(err.starts_with("2024-05-02  "), "{err}");

    // And the analyses run on it: one row per day, every message of our group counted once.
    let csv = messages_per_day(&bot, dir_arg);
    let total: u64 = csv
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap().1.parse::<u64>().unwrap())
        .sum();
    // One row per message: an edit is the same message, a channel post one of its own.
    let messages: std::collections::BTreeSet<(i64, i64)> = expected
        .values()
        .filter_map(|body| {
            let update: serde_json::Value = serde_json::from_slice(body).unwrap();
            let m = ["message", "edited_message", "channel_post"]
                .iter()
                .find_map(|k| update.get(*k))?;
            Some((m["chat"]["id"].as_i64()?, m["message_id"].as_i64()?))
        })
        .collect();
    assert_eq!(total, messages.len() as u64, "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

#[test]
fn polling_refuses_a_webhook_unless_told_and_never_loses_an_update() {
    let bot = TelegramStandIn::start(TOKEN);
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("lake");
    let dir_arg = dir.to_str().unwrap();
    let update = format!(
        "{{\"update_id\":7,\"message\":{{\"message_id\":1,\"date\":1714560000,\"chat\":{{\"id\":{GROUP},\"type\":\"supergroup\"}},\"text\":\"olá\"}}}}"
    );
    bot.push_updates(std::slice::from_ref(&update));
    let poll = ["local", "poll", dir_arg, "--chat-id", GROUP, "--once"];

    // A webhook is set (the AWS pipeline, say): polling would steal nothing, and says why.
    bot.set_webhook_info(
        serde_json::json!({"url": "https://example.com/webhook", "pending_update_count": 1}),
    );
    let (code, _, err) = run(&bot, &poll);
    assert_eq!(code, 1);
    assert!(
        err.contains("webhook") && err.contains("--delete-webhook"),
        "{err}"
    );
    assert_eq!(bot.pending_updates(), 1);

    // Storing fails (the raw table is a file, not a directory): the update stays with Telegram.
    std::fs::create_dir_all(dir.join("raw")).unwrap();
    std::fs::write(dir.join("raw/telegram"), "in the way").unwrap();
    let mut with_delete = poll.to_vec();
    with_delete.push("--delete-webhook");
    let (code, _, err) = run(&bot, &with_delete);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot store update 7") && err.contains("stays with Telegram"),
        "{err}"
    );
    assert_eq!(bot.webhook()["url"], "");
    assert_eq!(bot.pending_updates(), 1, "a failed update is not confirmed");

    // Fixed, the same update is kept.
    std::fs::remove_file(dir.join("raw/telegram")).unwrap();
    let (code, _, err) = run(&bot, &poll);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("raw/telegram/context_date=2024-05-01/7.json")).unwrap(),
        update
    );
    assert_eq!(bot.pending_updates(), 0);

    // Telegram overloaded for a moment (502 twice): the poll waits, retries and loses nothing.
    let late = update.replace("\"update_id\":7", "\"update_id\":8");
    bot.push_updates(std::slice::from_ref(&late));
    bot.fail_get_updates(2);
    let (code, _, err) = run(&bot, &poll);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("HTTP 502")
            && err.contains("retrying in 1 s")
            && err.contains("retrying in 2 s"),
        "{err}"
    );
    assert!(
        dir.join("raw/telegram/context_date=2024-05-01/8.json")
            .is_file()
    );
    assert_eq!(bot.pending_updates(), 0);

    // No token, a bad zone, no raw data: each says what to do.
    let (code, _, err) = {
        let out = tgpipe(&bot, &poll)
            .env_remove("TGPIPE_BOT_TOKEN")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            (),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, 1);
    assert!(err.contains("no bot token"), "{err}");
    let mut zoned = poll.to_vec();
    zoned.extend(["--timezone", "Mars/Olympus"]);
    let (code, _, err) = run(&bot, &zoned);
    assert_eq!(code, 1);
    assert!(err.contains("Mars/Olympus"), "{err}");
    let empty = data.path().join("nothing");
    let (code, _, err) = run(&bot, &["local", "etl", empty.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("tgpipe local poll"), "{err}");
}

#[test]
fn ctrl_c_stops_a_long_poll_with_every_kept_update_confirmed() {
    let bot = TelegramStandIn::start(TOKEN);
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("lake");
    let mut child = tgpipe(
        &bot,
        &["local", "poll", dir.to_str().unwrap(), "--chat-id", GROUP],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let updates: Vec<String> = (1..=3)
        .map(|i| format!("{{\"update_id\":{i},\"message\":{{\"message_id\":{i},\"date\":1714560000,\"chat\":{{\"id\":{GROUP},\"type\":\"supergroup\"}},\"text\":\"m{i}\"}}}}"))
        .collect();
    bot.push_updates(&updates);
    let day = dir.join("raw/telegram/context_date=2024-05-01");
    let started = Instant::now();
    while files(&day).len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "updates not kept"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the poll go back to waiting on Telegram, then stop it as Ctrl-C would.
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Ctrl-C did not stop the poll"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("Kept 3 updates"), "{err}");
    assert_eq!(bot.pending_updates(), 0, "kept updates are confirmed");
}

#[test]
fn the_demo_runs_the_whole_pipeline_and_counts_nothing_twice_when_run_again() {
    let bot = TelegramStandIn::start(TOKEN);
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("demo");
    let dir_arg = dir.to_str().unwrap();
    let demo = ["local", "demo", dir_arg, "--days", "2", "--per-day", "300"];
    let (code, first, err) = run(&bot, &demo);
    assert_eq!(code, 0, "{err}");
    // No bot is needed: Telegram is never called.
    assert!(bot.calls().is_empty());
    let raw = files(&dir.join("raw"));
    let kept = first
        .lines()
        .find_map(|l| l.strip_prefix("2. Kept "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("{first}"));
    assert_eq!(raw.len(), kept, "{first}");
    assert!(kept > 500 && kept < 600, "{first}");
    let before = messages_per_day(&bot, dir_arg);
    assert_eq!(before.lines().count(), 3, "{before}");
    assert!(first.contains("$ tgpipe query top_words"), "{first}");
    // The demo ends with the report of its lake (the figures are checked in report.rs).
    let total: i64 = before
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1)?.parse::<i64>().ok())
        .sum();
    let page = std::fs::read_to_string(dir.join("report.html")).expect("the demo's report");
    assert!(
        page.contains(&format!("id=\"messages\" data-value=\"{total}\"")),
        "the demo's report does not count its {total} messages"
    );
    assert!(
        first.contains("report.html (open it in a browser"),
        "{first}"
    );

    let (code, second, err) = run(&bot, &demo);
    assert_eq!(code, 0, "{err}");
    assert_eq!(second, first);
    assert!(files(&dir.join("raw")) == raw);
    assert_eq!(messages_per_day(&bot, dir_arg), before);
}

#[test]
fn polling_warns_of_privacy_mode_waits_as_flood_control_says_and_never_overflows() {
    let bot = TelegramStandIn::start(TOKEN);
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("lake");
    let dir_s = dir.to_str().unwrap().to_owned();
    // A bot in privacy mode, not an admin: told before polling nothing for hours.
    bot.set_chat(GROUP.parse().unwrap(), "supergroup", "Team chat", "member");
    let update = format!(
        "{{\"update_id\":7,\"message\":{{\"message_id\":1,\"chat\":{{\"id\":{GROUP},\"type\":\"supergroup\"}},\"date\":1714564800,\"text\":\"hi\"}}}}"
    );
    bot.push_updates(std::slice::from_ref(&update));
    // Flood control: 429 with retry_after 3; the poll waits that long, not its own 1 s.
    bot.throttle_get_updates(1, 3);
    let poll = ["local", "poll", &dir_s, "--chat-id", GROUP, "--once"];
    let started = Instant::now();
    let (code, _, err) = run(&bot, &poll);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("\"Team chat\"") && err.contains("/setprivacy"),
        "{err}"
    );
    assert!(err.contains("retrying in 3 s"), "{err}");
    assert!(started.elapsed() >= Duration::from_secs(3));
    let kept = dir.join("raw/telegram/context_date=2024-05-01/7.json");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), update);
    // People's messages: the directory and the files are the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&kept), 0o600);
    }

    // The largest id there is cannot be confirmed: stored, then a clear stop, no overflow.
    let top = update.replace("\"update_id\":7", &format!("\"update_id\":{}", i64::MAX));
    bot.push_updates(std::slice::from_ref(&top));
    let (code, _, err) = run(&bot, &poll);
    assert_ne!(code, 0);
    assert!(err.contains("cannot be told to move past it"), "{err}");
    assert!(
        dir.join(format!(
            "raw/telegram/context_date=2024-05-01/{}.json",
            i64::MAX
        ))
        .is_file()
    );
}
