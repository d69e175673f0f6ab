//! What a shell gets from `tgpipe`: completion scripts and the man page, from the same
//! definitions as the command line, so every command, flag and analysis name is in them.

use crate::common;

#[test]
fn completions_offer_every_command_flag_and_analysis() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, script, err) = common::run(common::tgpipe(&["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["set-webhook", "delete-data", "chat-id", "local"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
        // clap_complete offers a positional's values in bash and zsh only.
        if shell == "bash" || shell == "zsh" {
            for analysis in tgpipe::query::ANALYSES {
                assert!(
                    script.contains(analysis.name),
                    "{shell} completions lack the analysis {}",
                    analysis.name
                );
            }
        }
    }
    let (code, _, err) = common::run(common::tgpipe(&["completions", "tcsh"]));
    assert_eq!(code, 2, "an unknown shell is a command line error");
    assert!(err.contains("bash") && err.contains("zsh"), "{err}");
}

#[test]
fn the_man_page_documents_the_commands_and_exit_codes() {
    let (code, page, err) = common::run(common::tgpipe(&["man"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        page.starts_with(".ie") || page.contains(".TH tgpipe 1"),
        "{page}"
    );
    for word in [
        "up",
        "down",
        "status",
        "set\\-webhook",
        "query",
        "Exit codes",
    ] {
        assert!(page.contains(word), "the man page lacks {word}");
    }
}
