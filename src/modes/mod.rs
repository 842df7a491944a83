//! The three supervising modes, each a way to build the one pod state machine:
//! init mode is a pod with one app, pause mode a pod with none, run mode the
//! pod file's pod.

pub(crate) mod init;
pub(crate) mod pause;
pub(crate) mod run;
