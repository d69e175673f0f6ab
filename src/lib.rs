//! The `tgpipe` CLI's library: the grammar (`cli`), one module per command (`commands`), the
//! stack and its components with the whole lifecycle of their resources (`stack`), and local
//! mode, queries, the webhook and the data's health.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod health;
pub mod import;
pub mod local;
pub mod plan;
pub mod query;
pub mod report;
pub mod stack;
pub mod telegram;
pub mod webhook;
