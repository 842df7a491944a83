//! Kubernetes manifests in and out (issue 12, SPEC §8).
//!
//! In: `podinit run|check -c FILE` also takes a Pod manifest, or the pod
//! template of a Deployment, StatefulSet, DaemonSet, ReplicaSet,
//! ReplicationController, Job or CronJob, in YAML or JSON. [`read`] maps it to
//! the same validated [`Pod`] the TOML reader gives, so nothing downstream
//! knows which format the pod came from.
//!
//! Out: `podinit export` writes a pod as a Pod manifest ([`write`]) and
//! `podinit import` writes any pod as a pod file ([`toml_out`]). What has no
//! Kubernetes field (run-once markers, waiters, marker_dir, …) travels in
//! `podinit.dev/` annotations, so TOML → manifest → TOML gives the same pod.
//! docs/kubernetes.md has the field-by-field table.

// Without the `manifests` feature (default on) only the detection is built, so
// a podinit built for size still names a manifest instead of misreading it as TOML.
#[cfg(feature = "manifests")]
pub mod images;
#[cfg(feature = "manifests")]
mod read;
#[cfg(feature = "manifests")]
pub mod toml_out;
#[cfg(feature = "manifests")]
mod write;
#[cfg(feature = "manifests")]
pub mod yaml;

use std::path::{Path, PathBuf};

use crate::config::{ConfigError, Pod};

/// Why a podinit built without the `manifests` feature cannot do what was asked.
#[cfg(not(feature = "manifests"))]
const NOT_BUILT: &str = "this podinit was built without Kubernetes manifest support (cargo feature 'manifests')";

/// What a manifest does not hold but its pod needs, given on the command line
/// (`--images`, `--configmaps`, `--secrets`) for every manifest podinit reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// `--images FILE` or `--images REF=FILE`: image configurations (see [`images`]).
    pub images: Vec<String>,
    /// `--configmaps DIR`: ConfigMaps laid out as the kubelet projects them, `DIR/NAME/KEY`.
    pub configmaps: Vec<PathBuf>,
    /// `--secrets DIR`: Secrets, `DIR/NAME/KEY` (the files hold the decoded values).
    pub secrets: Vec<PathBuf>,
    /// For the subcommands that only find the running pod (status, health, reset,
    /// control): what the pod runs does not matter, so a missing image configuration,
    /// ConfigMap or Secret is no error.
    pub lenient: bool,
}

/// The process's [`Inputs`], set once by the command line before any manifest is read.
static INPUTS: std::sync::OnceLock<Inputs> = std::sync::OnceLock::new();

/// Sets the inputs every manifest read in this process gets (the first call wins).
pub fn set_inputs(inputs: Inputs) {
    let _ = INPUTS.set(inputs);
}

/// The inputs set by [`set_inputs`], or none.
pub fn inputs() -> Inputs {
    INPUTS.get().cloned().unwrap_or_default()
}

/// Prefix of podinit's own annotations.
pub const ANN: &str = "podinit.dev/";

/// argv[0] of the hooks podinit runs itself (httpGet, sleep): in the forked
/// child, before exec, this is podinit's own binary wherever it is installed.
pub const HOOK_EXE: &str = "/proc/self/exe";
/// `podinit --hook-http-get URL`: GET URL, exit 0 on a 200-399 answer.
pub const HOOK_HTTP_GET: &str = "--hook-http-get";
/// `podinit --hook-sleep SECONDS`: sleep, exit 0.
pub const HOOK_SLEEP: &str = "--hook-sleep";

/// Whether `text` (read from `path`) is a manifest rather than a pod file: a
/// `.yaml`, `.yml` or `.json` name, or content whose first line that is not
/// blank or a comment opens a JSON object, a YAML document (`---`, `%YAML`),
/// a YAML sequence or a `key:` line. A pod file's first line is a `key =`
/// line or a `[table]`, which none of these can be.
pub fn is_manifest(path: &Path, text: &str) -> bool {
    if path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json")) {
        return true;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(line) = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')) else {
        return false;
    };
    if line.starts_with(['{', '%']) || line.starts_with("- ") || line.starts_with("---") || line == "-" {
        return true;
    }
    // The first ':' or '=' outside a leading quoted key decides: `key: v` is YAML, `key = v` TOML.
    let rest = match line.as_bytes()[0] {
        q @ (b'"' | b'\'') => line[1..].find(q as char).map_or("", |end| &line[end + 2..]),
        _ => line,
    };
    rest.find([':', '=']).is_some_and(|i| rest.as_bytes()[i] == b':')
}

/// Reads the manifest `text` of `path` into a validated pod; every error has the
/// file, line, column and field path. INFO lines name the fields that are ignored.
pub fn parse(path: &Path, text: &str) -> Result<Pod, Vec<ConfigError>> {
    #[cfg(feature = "manifests")]
    return read::read(path, text, &inputs());
    #[cfg(not(feature = "manifests"))]
    {
        let _ = text;
        let message = format!("a Kubernetes manifest, but {NOT_BUILT}");
        Err(vec![ConfigError { path: path.to_path_buf(), line: None, col: None, message }])
    }
}

/// The Pod manifest for `pod` (`podinit export`), every container running `image`; JSON when `json`.
pub fn export(pod: &Pod, image: &str, json: bool) -> Result<String, String> {
    #[cfg(feature = "manifests")]
    return write::export(pod, image, json);
    #[cfg(not(feature = "manifests"))]
    {
        let _ = (pod, image, json);
        Err(NOT_BUILT.to_string())
    }
}

/// The pod file for `pod` (`podinit import`).
pub fn to_toml(pod: &Pod) -> Result<String, String> {
    #[cfg(feature = "manifests")]
    return Ok(toml_out::emit(pod));
    #[cfg(not(feature = "manifests"))]
    {
        let _ = pod;
        Err(NOT_BUILT.to_string())
    }
}

#[cfg(all(test, feature = "manifests"))]
mod tests;
