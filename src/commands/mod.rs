//! One module per command, its flags beside it (as cargo's `commands/` and uv's `commands/`).
//! Each command returns an [`ExitStatus`]; an error is [`ExitStatus::Failure`].

pub mod args;
pub mod chats;
pub mod completions;
pub mod down;
pub mod etl;
pub mod import;
pub mod local;
pub mod logs;
pub mod outputs;
pub mod query;
pub mod report;
pub mod set_webhook;
pub mod status;
pub mod up;

/// How `tgpipe` exits. 2 is clap's, for a command line it cannot parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done; for `status`, everything is well; for `up --dry-run`, nothing to change.
    Success,
    /// An error stopped the command (printed as `error: …`).
    Failure,
    /// Not as it should be: `status` found something wrong, `up --dry-run` has changes to make
    /// (each says what).
    NotAsItShouldBe,
    /// `status` found nothing wrong but could not check everything: without a bot token it
    /// cannot look at the webhook, which is what makes data arrive.
    NotChecked,
    /// The user stopped it (Ctrl-C during an Athena query, which is then cancelled).
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::NotAsItShouldBe => 3,
            ExitStatus::NotChecked => 4,
            ExitStatus::Interrupted => 130,
        }
    }
}
