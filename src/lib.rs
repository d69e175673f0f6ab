//! The `tgpipe` CLI's library: the grammar (`cli`), one module per command (`commands`), the
//! stack and its components with the whole lifecycle of their resources (`stack`), and local
//! mode, queries, the webhook and the data's health. Nothing prints but `ui`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod aws;
pub mod cli;
pub mod commands;
pub mod connection;
pub mod demo;
pub mod health;
pub mod import;
pub mod lakes;
pub mod local;
pub mod plan;
pub mod query;
pub mod report;
pub mod stack;
pub mod telegram;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod ui;
pub mod webhook;
pub mod withheld;
