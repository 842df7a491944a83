//! RFC 3339 times of log records: [`crate::sys::rfc3339`], named here where the logs use them.

pub(crate) use crate::sys::rfc3339::*;
