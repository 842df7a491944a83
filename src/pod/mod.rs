//! The pod lifecycle: the state machine ([`supervisor`]) and what it drives:
//! run-once init steps and their markers, probes and waiters, the status file,
//! the control socket, prefixed log pipes.

pub mod control;
pub mod init_steps;
pub mod log_prefix;
pub mod marker;
pub mod probe;
pub mod status;
pub mod supervisor;
