//! `tgpipe`: stands up (and tears down) a Telegram data pipeline on your own AWS account.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = tgpipe::cli::Cli::parse();
    match tgpipe::cli::run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // One line: what went wrong and what to do; `{:#}` keeps the causes.
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
