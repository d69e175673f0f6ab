//! Which of the stack's names are taken by resources that are not the stack's. `up` adopts
//! nothing it did not create: a resource with one of the stack's names but without the stack's
//! tag stops `up` before anything is changed, and `down` leaves it alone and says so.
//!
//! The HTTP API is found by name and tag together (its id is not its name), so another API of the
//! same name is never the stack's to begin with; the Glue table lives in the stack's database.

use std::collections::BTreeSet;

use crate::stack::{Clients, Component, STACK_TAG, Stack};

/// What `down` says of a resource it leaves because it is not the stack's.
pub const KEPT: &str = "kept: not this stack's";

/// Resources (kind, name) that bear one of the stack's names and are not the stack's.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Foreign(pub BTreeSet<(&'static str, String)>);

impl Foreign {
    /// Whether the resource of that name is not the stack's (and must be left alone).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(_, n)| n == name)
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
    pub kind: &'static str,
    pub name: String,
    pub owned: Option<bool>,
}

impl Claim {
    pub fn new(kind: &'static str, name: String, owned: Option<bool>) -> Claim {
        Claim { kind, name, owned }
    }
}

/// Reads, for every name of the stack that is taken, whether the stack's tag is on it.
pub async fn foreign(c: &Clients, stack: &Stack) -> anyhow::Result<Foreign> {
    Ok(survey(c, stack).await?.0)
}

/// [`foreign`], and the components none of whose names is taken: nothing of them exists, so
/// `up` creates them without reading them again.
pub async fn survey(c: &Clients, stack: &Stack) -> anyhow::Result<(Foreign, Vec<Component>)> {
    let claims =
        futures::future::try_join_all(Component::ALL.map(|component| component.claims(c, stack)))
            .await?;
    let absent = Component::ALL
        .iter()
        .zip(&claims)
        .filter(|(_, claims)| !claims.is_empty() && claims.iter().all(|c| c.owned.is_none()))
        .map(|(component, _)| *component)
        .collect();
    let foreign = claims
        .into_iter()
        .flatten()
        .filter(|claim| claim.owned == Some(false))
        .map(|claim| (claim.kind, claim.name))
        .collect::<BTreeSet<_>>();
    Ok((Foreign(foreign), absent))
}
