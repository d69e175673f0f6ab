//! The stack: its names (derived from the stack name, the account and the region, so that no
//! state file is needed) and one module per kind of resource, each with the whole lifecycle of
//! its resources: read, apply, remove (see [`Part`]).

mod components;
mod names;
mod part;

pub mod alarms;
pub mod apigw;
pub mod athena;
pub mod events;
pub mod iam;
pub mod lambda;
pub mod logs;
pub mod ownership;
pub mod permission;
pub mod s3;
pub mod topic;

pub use components::{
    ALL, Alerts, Applied, Clients, Component, Desired, Events, Note, Outputs, Part, StackRead,
    apply_all, read, remove_all,
};
pub use names::*;
