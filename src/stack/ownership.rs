//! Which of the stack's names are taken by resources that are not the stack's. `up` adopts
//! nothing it did not create: a resource with one of the stack's names but without the stack's
//! tag stops `up` before anything is changed, and `down` leaves it alone and says so.
//!
//! The HTTP API is found by name and tag together (its id is not its name), so another API of the
//! same name is never the stack's to begin with; the Glue table lives in the stack's database.

use std::collections::BTreeSet;

use crate::plan::Kind;
use crate::stack::{STACK_TAG, Stack};

/// Resources (kind, name) that bear one of the stack's names and are not the stack's. Keyed by
/// kind too: the HTTP API, the workgroup and (for names without '-') the Glue database share the
/// stack's name, and someone else's workgroup says nothing of the stack's own database.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Foreign(pub BTreeSet<(Kind, String)>);

impl Foreign {
    /// Whether the resource of that kind and name is not the stack's (and must be left alone).
    pub fn contains(&self, kind: Kind, name: &str) -> bool {
        // The table (`db.table`) lives in the database: in someone else's, it is theirs too.
        if kind == Kind::GlueTable
            && let Some((database, _)) = name.split_once('.')
            && self.contains(Kind::GlueDatabase, database)
        {
            return true;
        }
        self.0.contains(&(kind, name.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `up`'s refusal: what is in the way, and what to do.
    pub fn refusal(&self, stack: &Stack) -> String {
        let names: Vec<String> = self.0.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!(
            "{} already exist{} without this stack's tag ({STACK_TAG}={}), so they are not this stack's and nothing was changed: choose another --name, or remove them",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" },
            stack.name
        )
    }
}

/// One of the stack's names as found: `None` when nothing bears it, else whether the stack's
/// tag is on it.
pub struct Claim {
    pub kind: Kind,
    pub name: String,
    pub owned: Option<bool>,
}

impl Claim {
    pub fn new(kind: Kind, name: String, owned: Option<bool>) -> Claim {
        Claim { kind, name, owned }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn someone_elses_workgroup_says_nothing_of_the_api_or_database_of_the_same_name() {
        let foreign = Foreign([(Kind::Workgroup, "tgpipe".to_owned())].into());
        assert!(foreign.contains(Kind::Workgroup, "tgpipe"));
        assert!(!foreign.contains(Kind::HttpApi, "tgpipe"));
        assert!(!foreign.contains(Kind::GlueDatabase, "tgpipe"));
        assert!(!foreign.contains(Kind::Workgroup, "other"));
    }

    #[test]
    fn a_table_in_someone_elses_database_is_theirs() {
        let foreign = Foreign([(Kind::GlueDatabase, "tgpipe".to_owned())].into());
        assert!(foreign.contains(Kind::GlueTable, "tgpipe.telegram"));
        assert!(!foreign.contains(Kind::GlueTable, "other.telegram"));
    }
}
