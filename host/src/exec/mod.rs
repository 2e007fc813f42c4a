//! Running commands on nodes: the SSH and local transports, output capture
//! with caps, concurrency limits, the status probe, and the [`Executor`] that
//! puts them together behind one `run`.

pub mod limits;
pub mod local;
pub mod output;
mod output_pump;
pub mod result;
pub mod ssh;
pub mod ssh_args;
pub mod ssh_control;
pub mod ssh_mux;
pub mod ssh_quote;
pub mod status;
pub mod transport;

pub use result::{ExecError, OutputChunk, RunOptions, RunResult, Stream};
pub use status::NodeStatus;
pub use transport::Executor;
pub mod pipeline;
pub mod request;

pub use pipeline::{Explanation, ParallelOptions, ParallelReport, Pipeline};
pub use request::{Answer, Confirmation, Confirmer, Hooks, Report, Request, Status};
