//! `tgpipe completions SHELL`: the shell's completion script, and `tgpipe man`: the man page,
//! both from the same definitions as the command line itself.

use anyhow::Context;
use clap::Args;

use super::ExitStatus;

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe completions bash > ~/.local/share/bash-completion/completions/tgpipe
  tgpipe completions zsh > \"${fpath[1]}/_tgpipe\"
  tgpipe completions fish > ~/.config/fish/completions/tgpipe.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// `command` is the whole command line's definition (`Cli::command()`).
pub fn completions(
    mut command: clap::Command,
    args: CompletionsArgs,
) -> anyhow::Result<ExitStatus> {
    clap_complete::generate(args.shell, &mut command, "tgpipe", &mut std::io::stdout());
    Ok(ExitStatus::Success)
}

pub fn man(command: clap::Command) -> anyhow::Result<ExitStatus> {
    clap_mangen::Man::new(command)
        .render(&mut std::io::stdout())
        .context("cannot write the man page to standard output")?;
    Ok(ExitStatus::Success)
}
