//! What a command found and did, resource by resource: the words of `--dry-run`, `up` and `status`.

use serde::Serialize;

/// The state of one resource compared with what the stack wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "details", rename_all = "lowercase")]
pub enum State {
    Present,
    Missing,
    /// Present but different: what differs.
    Drifted(Vec<String>),
}

impl State {
    pub fn is_ok(&self) -> bool {
        matches!(self, State::Present)
    }
}

/// What `up` does (or, with `--dry-run`, would do) to a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", content = "details", rename_all = "lowercase")]
pub enum Action {
    Create,
    Update(Vec<String>),
    Unchanged,
}

impl From<&State> for Action {
    fn from(state: &State) -> Action {
        match state {
            State::Present => Action::Unchanged,
            State::Missing => Action::Create,
            State::Drifted(what) => Action::Update(what.clone()),
        }
    }
}

/// One resource of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub kind: &'static str,
    pub name: String,
    #[serde(flatten)]
    pub state: State,
}
