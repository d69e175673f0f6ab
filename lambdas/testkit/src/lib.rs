//! Test support shared by the crates' integration tests, one module per stand-in: [`moto`] (the
//! AWS emulator in server mode), [`bot_api`] (the Telegram Bot API), [`runtime_api`] (the Lambda
//! Runtime API, driving a real `bootstrap`), [`athena_shim`] (what moto's Athena lacks), [`fault_proxy`] (latency and AWS's transient
//! failures between tgpipe and moto), [`files`]
//! (lakes of the project's sample updates), all on [`http`] (hyper). Everything listens on
//! 127.0.0.1 only.

pub mod athena_shim;
pub mod bot_api;
pub mod fault_proxy;
pub mod files;
pub mod http;
pub mod moto;
pub mod runtime_api;

pub use athena_shim::{AthenaShim, AthenaShimConfig, ResultPage};
pub use bot_api::{BotCall, TelegramStandIn};
pub use fault_proxy::{FaultConfig, FaultProxy};
pub use files::{files, gen_lake, sample_updates, workspace_root, write_lake};
pub use http::http;
pub use moto::{Moto, Recorded};
pub use runtime_api::{Invocation, invoke_bootstrap, invoke_bootstrap_logged, metric_lines};
