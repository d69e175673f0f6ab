//! `tgpipe completions SHELL`: the shell's completion script, and `tgpipe man`: the man page,
//! both from the same definitions as the command line itself.

use anyhow::Context;
use clap::{Args, CommandFactory};

use super::ExitStatus;
use crate::cli::Cli;

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe completions bash > ~/.local/share/bash-completion/completions/tgpipe
  tgpipe completions zsh > \"${fpath[1]}/_tgpipe\"
  tgpipe completions fish > ~/.config/fish/completions/tgpipe.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "tgpipe", &mut std::io::stdout());
    Ok(ExitStatus::Success)
}

pub fn man() -> anyhow::Result<ExitStatus> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .context("cannot write the man page to standard output")?;
    Ok(ExitStatus::Success)
}
