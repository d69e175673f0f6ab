//! The main outputs compared whole with their reviewed snapshots (`tests/suite/snapshots/`):
//! `up --dry-run` on an empty account, `up`, `status` and `down --dry-run` of a deployed stack,
//! the demo and `query` tables. What differs from run to run (the API's id, directories, times)
//! is redacted first. After a deliberate change: `INSTA_UPDATE=always cargo test --test suite
//! whole::`, then read the diff.

use crate::cli::{Env, TOKEN};
use crate::common;

/// The output with what changes between runs replaced by a name for it.
fn redact(text: &str, dir: Option<&str>) -> String {
    let rules = [
        (
            r"https://[a-z0-9]+\.execute-api",
            "https://[API-ID].execute-api",
        ),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)",
            "[TIME]",
        ),
        (r"  \(\d+ s\)", ""),
    ];
    let mut text = match dir {
        Some(dir) => text.replace(dir, "[DIR]"),
        None => text.to_owned(),
    };
    for (pattern, with) in rules {
        text = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, with)
            .into_owned();
    }
    text
}

#[test]
fn up_status_and_down_print_as_reviewed() {
    let env = Env::new();
    let up = |extra: &[&str]| env.up(extra);
    let (code, plan, err) = up(&["--dry-run", "--alert-email", "ops@example.com"]);
    assert_eq!(code, 3, "{err}");
    insta::assert_snapshot!("up_dry_run_on_an_empty_account", redact(&plan, None));

    let (code, done, err) = up(&["--alert-email", "ops@example.com"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("up_on_an_empty_account", redact(&done, None));

    let (code, again, err) = up(&[]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("up_again", redact(&again, None));

    let (code, status, err) = env.run(&["status"], Some(TOKEN));
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("status_of_a_new_stack", redact(&status, None));

    let (code, down, err) = env.run(&["down", "--dry-run"], Some(TOKEN));
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("down_dry_run", redact(&down, None));
}

#[test]
fn the_demo_and_query_tables_print_as_reviewed() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("demo");
    let dir = dir.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = common::tgpipe(args);
        cmd.env_clear();
        common::run(cmd)
    };
    let (code, demo, err) = run(&["local", "demo", dir, "--days", "2", "--per-day", "300"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("local_demo", redact(&demo, Some(dir)));
    for analysis in ["messages_per_day", "message_types", "user_share"] {
        let (code, table, err) = run(&[
            "query",
            analysis,
            "--local",
            dir,
            "--format",
            "table",
            "--max-rows",
            "8",
        ]);
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("query_{analysis}_table"), table);
    }
}
