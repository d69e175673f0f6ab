//! Every command's `--help`, whole: a change of the command line shows as a diff of these
//! snapshots. After a deliberate change: `INSTA_UPDATE=always cargo test --test suite help::`,
//! then read the diff of `tests/suite/snapshots/` before committing it.

use clap::CommandFactory;

use crate::common;

/// Every command line there is, from the definitions themselves: `[]`, `["up"]`, …,
/// `["local", "poll"]`; hidden commands and clap's own `help` left out.
fn command_lines(command: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    out.push(prefix.to_vec());
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let mut line = prefix.to_vec();
        line.push(sub.get_name().to_owned());
        command_lines(sub, &line, out);
    }
}

#[test]
fn every_commands_help_is_as_reviewed() {
    let mut lines = Vec::new();
    command_lines(&tgpipe::cli::Cli::command(), &[], &mut lines);
    assert!(lines.len() > 14, "{lines:?}");
    for line in lines {
        let mut args: Vec<&str> = line.iter().map(String::as_str).collect();
        args.push("--help");
        // Nothing of the caller's environment (AWS_PROFILE, TGPIPE_NAME, …) shows as a default.
        let mut cmd = common::tgpipe(&args);
        cmd.env_clear();
        let (code, help, err) = common::run(cmd);
        assert_eq!(code, 0, "{args:?}: {err}");
        let name = if line.is_empty() {
            "tgpipe".to_owned()
        } else {
            format!("tgpipe {}", line.join(" "))
        };
        insta::assert_snapshot!(name.replace(' ', "_"), help, &format!("{name} --help"));
    }
}
