//! `tgpipe`: stands up (and tears down) a Telegram data pipeline on your own AWS account.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = tgpipe::cli::Cli::parse();
    let status = match cli.run().await {
        Ok(status) => status,
        Err(e) => {
            // One line: what went wrong and what to do.
            tgpipe::ui::error(&e);
            tgpipe::commands::ExitStatus::Failure
        }
    };
    std::process::exit(status.code());
}
