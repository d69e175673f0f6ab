//! `tgpipe`: stands up (and tears down) a Telegram data pipeline on your own AWS account.
//!
//! The commands `up`, `down`, `set-webhook` and `status` come with the stack; today the binary
//! only answers `--help` and `--version`. The data path lives in `lambdas/`.

use clap::Parser;

/// Stand up (and tear down) a Telegram data pipeline on your own AWS account.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    println!(
        "tgpipe {}: the stack commands are not built yet; see README.md",
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}
