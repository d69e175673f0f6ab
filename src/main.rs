//! `tgpipe`: stands up (and tears down) a Telegram data pipeline on your own AWS account.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = tgpipe::cli::Cli::parse();
    let status = match tgpipe::commands::run(cli).await {
        Ok(status) => status,
        Err(e) => {
            // One line: what went wrong and what to do; `{:#}` keeps the causes.
            eprintln!("error: {e:#}");
            tgpipe::commands::ExitStatus::Failure
        }
    };
    std::process::exit(status.code());
}
