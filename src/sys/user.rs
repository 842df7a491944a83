//! `user = "name"` / `"uid[:gid]"` resolved from /etc/passwd and /etc/group.
//!
//! A static musl binary has no NSS, so podinit reads the files itself, as runc
//! and Docker do for `USER` (see runc's libcontainer/user).

use std::fmt;
use std::path::Path;

/// The identity a child runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// Real and effective uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Supplementary groups (from /etc/group membership, plus the primary gid).
    pub groups: Vec<u32>,
}

/// A `user` value that cannot be resolved or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserError {
    /// A name that is not in /etc/passwd.
    UnknownUser(String),
    /// A group name that is not in /etc/group.
    UnknownGroup(String),
    /// podinit is not root and the requested identity is not its own.
    NotRoot(String),
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserError::UnknownUser(u) => {
                write!(f, "user '{u}' not found in /etc/passwd (use a name from it or uid[:gid])")
            }
            UserError::UnknownGroup(g) => write!(f, "group '{g}' not found in /etc/group"),
            UserError::NotRoot(u) => write!(
                f,
                "cannot switch to user '{u}': podinit runs as uid {} and only root may change user",
                nix::unistd::getuid()
            ),
        }
    }
}

impl std::error::Error for UserError {}

/// Resolves `spec` against the system files and checks podinit may switch to it.
pub(crate) fn resolve(spec: &str) -> Result<Credentials, UserError> {
    let passwd = std::fs::read_to_string(Path::new("/etc/passwd")).unwrap_or_default();
    let group = std::fs::read_to_string(Path::new("/etc/group")).unwrap_or_default();
    let creds = resolve_in(spec, &passwd, &group)?;
    let me = nix::unistd::geteuid().as_raw();
    if me != 0 && (creds.uid != me || creds.gid != nix::unistd::getegid().as_raw()) {
        return Err(UserError::NotRoot(spec.to_string()));
    }
    Ok(creds)
}

/// Pure part of `resolve`, for tests: `spec` against passwd and group file contents.
pub(crate) fn resolve_in(spec: &str, passwd: &str, group: &str) -> Result<Credentials, UserError> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let pw = passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 4);
    let entry = pw.clone().find(|f| f[0] == u);
    let (uid, name, mut gid) = match (u.parse::<u32>(), entry) {
        (_, Some(f)) => (
            f[2].parse().map_err(|_| UserError::UnknownUser(u.into()))?,
            Some(f[0]),
            f[3].parse().map_err(|_| UserError::UnknownUser(u.into()))?,
        ),
        (Ok(uid), None) => {
            // A numeric uid need not exist in passwd (Docker's USER 1000 works too);
            // its primary group then defaults to the same number... unless passwd knows it.
            match pw.clone().find(|f| f[2].parse::<u32>() == Ok(uid)) {
                Some(f) => (uid, Some(f[0]), f[3].parse().unwrap_or(uid)),
                None => (uid, None, uid),
            }
        }
        (Err(_), None) => return Err(UserError::UnknownUser(u.into())),
    };
    let grp = group.lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 3);
    if let Some(g) = g {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => grp
                .clone()
                .find(|f| f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| UserError::UnknownGroup(g.into()))?,
        };
    }
    let mut groups = vec![gid];
    if let Some(name) = name {
        for f in grp {
            let members = f.get(3).copied().unwrap_or("");
            if members.split(',').any(|m| m == name) {
                if let Ok(n) = f[2].parse::<u32>() {
                    if !groups.contains(&n) {
                        groups.push(n);
                    }
                }
            }
        }
    }
    Ok(Credentials { uid, gid, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www:/var/www:/usr/sbin/nologin\nbad line\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:\nadm:x:4:www-data,other\nstaff:x:50:\n";

    #[test]
    fn name_gets_primary_and_supplementary_groups() {
        let c = resolve_in("www-data", PASSWD, GROUP).unwrap();
        assert_eq!(c, Credentials { uid: 33, gid: 33, groups: vec![33, 4] });
    }

    #[test]
    fn numeric_forms() {
        assert_eq!(
            resolve_in("1000", PASSWD, GROUP).unwrap(),
            Credentials { uid: 1000, gid: 1000, groups: vec![1000] }
        );
        assert_eq!(resolve_in("33:50", PASSWD, GROUP).unwrap().gid, 50);
        assert_eq!(resolve_in("1000:staff", PASSWD, GROUP).unwrap().gid, 50);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(resolve_in("nobody2", PASSWD, GROUP), Err(UserError::UnknownUser("nobody2".into())));
        assert_eq!(resolve_in("root:nogroup2", PASSWD, GROUP), Err(UserError::UnknownGroup("nogroup2".into())));
    }
}
