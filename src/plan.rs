//! What a command found and did, resource by resource: the words of `--dry-run`, `up` and `status`.

use serde::Serialize;

/// A kind of resource of the stack: what a line, a plan and a JSON document call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    #[serde(rename = "s3 bucket")]
    Bucket,
    #[serde(rename = "iam role")]
    Role,
    #[serde(rename = "log group")]
    LogGroup,
    #[serde(rename = "lambda function")]
    Function,
    #[serde(rename = "http api")]
    HttpApi,
    #[serde(rename = "eventbridge rule")]
    Rule,
    #[serde(rename = "athena workgroup")]
    Workgroup,
    #[serde(rename = "glue database")]
    GlueDatabase,
    #[serde(rename = "glue table")]
    GlueTable,
    #[serde(rename = "sns topic")]
    Topic,
    #[serde(rename = "sns subscription")]
    Subscription,
    #[serde(rename = "cloudwatch alarm")]
    Alarm,
}

impl Kind {
    /// The words for people and for JSON alike.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Bucket => "s3 bucket",
            Kind::Role => "iam role",
            Kind::LogGroup => "log group",
            Kind::Function => "lambda function",
            Kind::HttpApi => "http api",
            Kind::Rule => "eventbridge rule",
            Kind::Workgroup => "athena workgroup",
            Kind::GlueDatabase => "glue database",
            Kind::GlueTable => "glue table",
            Kind::Topic => "sns topic",
            Kind::Subscription => "sns subscription",
            Kind::Alarm => "cloudwatch alarm",
        }
    }
}

impl std::fmt::Display for Kind {
    // `pad`, so that `{:<17}` lines the columns up.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.label())
    }
}

/// The state of one resource compared with what the stack wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "details", rename_all = "lowercase")]
pub enum State {
    Present,
    Missing,
    /// Present but different: what differs.
    Drifted(Vec<String>),
    /// Present, the stack's, and no longer wanted (alerts turned off, a chat no longer kept):
    /// `up` deletes it.
    Unwanted,
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
    Delete,
    Unchanged,
}

impl From<&State> for Action {
    fn from(state: &State) -> Action {
        match state {
            State::Present => Action::Unchanged,
            State::Missing => Action::Create,
            State::Drifted(what) => Action::Update(what.clone()),
            State::Unwanted => Action::Delete,
        }
    }
}

/// One resource of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub kind: Kind,
    pub name: String,
    #[serde(flatten)]
    pub state: State,
}

impl Resource {
    /// A resource from a component's typed drift: `None` when missing, empty when as wanted.
    /// The drift becomes words here, for display and JSON only.
    pub fn with_drift<D: std::fmt::Display>(
        kind: Kind,
        name: String,
        drift: Option<Vec<D>>,
    ) -> Resource {
        let state = match drift {
            None => State::Missing,
            Some(d) if d.is_empty() => State::Present,
            Some(d) => State::Drifted(d.iter().map(ToString::to_string).collect()),
        };
        Resource { kind, name, state }
    }
}

/// What `down` did with a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    Deleted,
    AlreadyGone,
    /// Kept because it holds data and `--delete-data` was not given.
    KeptWithData,
    /// Kept because it bears one of the stack's names but not the stack's tag.
    NotOurs,
}

impl Removal {
    /// The word `down` prints.
    pub fn word(self) -> &'static str {
        match self {
            Removal::Deleted => "deleted",
            Removal::AlreadyGone => "already gone",
            Removal::KeptWithData | Removal::NotOurs => "kept",
        }
    }

    /// Why a resource was kept, for `down`'s line.
    pub fn why(self) -> Option<&'static str> {
        match self {
            Removal::KeptWithData => Some("holds data"),
            Removal::NotOurs => Some("not this stack's"),
            Removal::Deleted | Removal::AlreadyGone => None,
        }
    }
}

/// One resource `down` dealt with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    pub kind: Kind,
    pub name: String,
    pub removal: Removal,
}

impl Removed {
    pub fn new(kind: Kind, name: String, removal: Removal) -> Removed {
        Removed {
            kind,
            name,
            removal,
        }
    }
}
