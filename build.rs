//! Embeds the short git commit in the version line (`podinit version X.Y.Z - git.HASH`),
//! the form `docker info` parses for its init binary.
use std::process::Command;

fn main() {
    let hash = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PODINIT_GIT_HASH={hash}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    // make static links with this lld ordering file: a new one must relink.
    println!("cargo:rerun-if-changed=scripts/podinit.order");
}
