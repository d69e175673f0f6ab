//! One trait for every kind of resource ([`Part`]), and the same with its found state erased
//! ([`Component`]) so that [`ALL`](super::ALL) can list every kind.

use std::any::Any;

use futures::future::BoxFuture;

use super::components::{Clients, Desired, Note, Outputs};
use crate::plan::{Removed, Resource};
use crate::stack::Stack;
use crate::stack::ownership::{Claim, Foreign};

/// One kind of the stack's resources, its whole lifecycle (terraform's read, plan, apply,
/// delete). `read` is the one call to AWS before a change; everything else `up`, `status` and
/// `down` say of the resources is worked out from what it found.
pub trait Part: Sync {
    /// What one read finds: enough to decide and carry out every change without reading again.
    type Found: Send + Sync + 'static;
    /// What `up`'s progress calls it.
    const LABEL: &'static str;
    /// `up`'s stage: a component needs only those of lower stages to exist.
    const STAGE: usize;

    fn read(
        &self,
        c: &Clients,
        stack: &Stack,
    ) -> impl Future<Output = anyhow::Result<Self::Found>> + Send;

    /// Who holds each of its names: the stack, someone else, or nobody.
    fn claims(&self, found: &Self::Found, stack: &Stack) -> Vec<Claim>;

    /// Each resource's state: with `desired` (`up`), against what `up` would deploy; without
    /// (`status`), against what the stack itself deployed.
    fn states(
        &self,
        found: &Self::Found,
        stack: &Stack,
        desired: Option<&Desired>,
    ) -> Vec<Resource>;

    /// What it hands on as found (the API's URL).
    fn outputs(&self, _found: &Self::Found) -> Outputs {
        Outputs::default()
    }

    /// Creates what is missing and repairs what differs from `desired`, acting on `found`;
    /// `earlier`: what the components of earlier stages handed on (the API's id).
    fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        desired: &Desired,
        found: &Self::Found,
        earlier: &Outputs,
        note: Note<'_>,
    ) -> impl Future<Output = anyhow::Result<Outputs>> + Send;

    /// Removes its resources, leaving alone what is not the stack's; data buckets that hold
    /// objects stay unless `delete_data`.
    fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        foreign: &Foreign,
        delete_data: bool,
    ) -> impl Future<Output = anyhow::Result<Vec<Removed>>> + Send;
}

/// What one component's read found, as [`ALL`] holds them side by side.
pub struct Found(Box<dyn Any + Send + Sync>);

impl Found {
    /// What it holds, if it is what one kind of [`Part`] finds.
    pub(super) fn of<T: 'static>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

/// A [`Part`] with its found state erased, so that [`ALL`] can list every kind.
pub trait Component: Sync {
    fn label(&self) -> &'static str;
    fn stage(&self) -> usize;
    fn read<'a>(&'a self, c: &'a Clients, stack: &'a Stack)
    -> BoxFuture<'a, anyhow::Result<Found>>;
    fn claims(&self, found: &Found, stack: &Stack) -> Vec<Claim>;
    fn states(&self, found: &Found, stack: &Stack, desired: Option<&Desired>) -> Vec<Resource>;
    fn outputs(&self, found: &Found) -> Outputs;
    fn apply<'a>(
        &'a self,
        c: &'a Clients,
        stack: &'a Stack,
        desired: &'a Desired,
        found: &'a Found,
        earlier: &'a Outputs,
        note: Note<'a>,
    ) -> BoxFuture<'a, anyhow::Result<Outputs>>;
    fn remove<'a>(
        &'a self,
        c: &'a Clients,
        stack: &'a Stack,
        foreign: &'a Foreign,
        delete_data: bool,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Removed>>>;
}

/// A component's own found state; [`StackRead`](super::StackRead) pairs each with the component that read it.
fn own<P: Part>(found: &Found) -> &P::Found {
    found
        .0
        .downcast_ref::<P::Found>()
        .expect("a component is handed only what it read")
}

impl<P: Part> Component for P {
    fn label(&self) -> &'static str {
        P::LABEL
    }

    fn stage(&self) -> usize {
        P::STAGE
    }

    fn read<'a>(
        &'a self,
        c: &'a Clients,
        stack: &'a Stack,
    ) -> BoxFuture<'a, anyhow::Result<Found>> {
        Box::pin(async move { Ok(Found(Box::new(Part::read(self, c, stack).await?))) })
    }

    fn claims(&self, found: &Found, stack: &Stack) -> Vec<Claim> {
        Part::claims(self, own::<P>(found), stack)
    }

    fn states(&self, found: &Found, stack: &Stack, desired: Option<&Desired>) -> Vec<Resource> {
        Part::states(self, own::<P>(found), stack, desired)
    }

    fn outputs(&self, found: &Found) -> Outputs {
        Part::outputs(self, own::<P>(found))
    }

    fn apply<'a>(
        &'a self,
        c: &'a Clients,
        stack: &'a Stack,
        desired: &'a Desired,
        found: &'a Found,
        earlier: &'a Outputs,
        note: Note<'a>,
    ) -> BoxFuture<'a, anyhow::Result<Outputs>> {
        Box::pin(Part::apply(
            self,
            c,
            stack,
            desired,
            own::<P>(found),
            earlier,
            note,
        ))
    }

    fn remove<'a>(
        &'a self,
        c: &'a Clients,
        stack: &'a Stack,
        foreign: &'a Foreign,
        delete_data: bool,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Removed>>> {
        Box::pin(Part::remove(self, c, stack, foreign, delete_data))
    }
}
