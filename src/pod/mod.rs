//! The pod lifecycle.
//!
//! Pure (no syscalls, no clock): the state machine [`machine`] with its units
//! (the runtime records of the pod file's entries, [`unit`](mod@unit)), probe
//! bookkeeping [`probe`], control requests [`requests`] and the status view
//! [`view`], and the data they speak: [`status`] (the pod's status
//! and the health verdict) and [`protocol`] (the control socket's requests and
//! replies). The rules of Kubernetes live here and are unit-tested as tables
//! (`machine_tests.rs`); `tests/purity.rs` checks these files stay pure.
//!
//! Effects: [`runtime`] performs what the machine asks, with [`attempts`] (probe
//! attempts), [`marker`] (run-once markers), [`status_file`] (status.json),
//! [`control`] (the control socket) and [`logs`] (entries' output).

pub(crate) mod attempts;
pub(crate) mod control;
pub(crate) mod event;
pub(crate) mod events;
pub(crate) mod grpc;
pub(crate) mod init_steps;
pub(crate) mod k8s_status;
pub(crate) mod lifecycle;
pub(crate) mod logs;
pub(crate) mod machine;
pub(crate) mod marker;
pub(crate) mod probe;
pub(crate) mod protocol;
pub(crate) mod requests;
pub(crate) mod runtime;
pub(crate) mod status;
pub(crate) mod status_file;
pub(crate) mod stop;
pub(crate) mod timer;
pub(crate) mod unit;
pub(crate) mod view;
pub(crate) mod volumes;

#[cfg(test)]
mod machine_props;
#[cfg(test)]
mod machine_tests;
