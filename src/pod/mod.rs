//! The pod lifecycle.
//!
//! Pure (no syscalls, no clock): the state machine [`machine`] with its entries
//! [`unit`](mod@unit), probe bookkeeping [`probe`], control requests [`requests`] and the
//! status view [`view`]. The rules of Kubernetes live here and are unit-tested
//! as tables (`machine_tests.rs`).
//!
//! Effects: [`runtime`] performs what the machine asks, with [`checks`] (probe
//! attempts), [`marker`] (run-once markers), [`status`] (status.json),
//! [`control`] (the control socket) and [`logs`] (entries' output).

pub mod attempts;
pub mod control;
pub mod event;
pub mod events;
pub mod grpc;
pub mod init_steps;
pub mod k8s_status;
pub mod lifecycle;
pub mod logs;
pub mod machine;
pub mod marker;
pub mod probe;
pub mod requests;
pub mod runtime;
pub mod status;
pub mod stop;
pub mod timer;
pub mod unit;
pub mod view;
pub mod volumes;

#[cfg(test)]
mod machine_props;
#[cfg(test)]
mod machine_tests;
