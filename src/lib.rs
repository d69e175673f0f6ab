//! The `tgpipe` CLI's library: the stack and (to come) one module per AWS service.

pub mod stack;
