//! The `tgpipe` CLI's library: the stack's names, and one module per AWS service with the whole
//! lifecycle of its resources (inspect, ensure, destroy).

pub mod apigw;
pub mod athena;
pub mod aws;
pub mod cli;
pub mod demo;
pub mod events;
pub mod health;
pub mod iam;
pub mod lambda;
pub mod local;
pub mod ownership;
pub mod plan;
pub mod query;
pub mod s3;
pub mod stack;
pub mod telegram;
pub mod webhook;
