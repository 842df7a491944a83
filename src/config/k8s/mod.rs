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
pub(crate) mod images;
#[cfg(feature = "manifests")]
mod read;
#[cfg(feature = "manifests")]
pub(crate) mod toml_out;
#[cfg(feature = "manifests")]
mod write;
#[cfg(feature = "manifests")]
pub(crate) mod yaml;

use std::path::{Path, PathBuf};

use crate::config::{ConfigError, Pod};

/// Why a podinit built without the `manifests` feature cannot do what was asked.
#[cfg(not(feature = "manifests"))]
const NOT_BUILT: &str = "this podinit was built without Kubernetes manifest support (cargo feature 'manifests')";

/// What a manifest does not hold but its pod needs, given on the command line
/// (`--images`, `--configmaps`, `--secrets`) for every manifest podinit reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Inputs {
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
pub(crate) fn set_inputs(inputs: Inputs) {
    let _ = INPUTS.set(inputs);
}

/// The inputs set by [`set_inputs`], or none.
pub(crate) fn inputs() -> Inputs {
    INPUTS.get().cloned().unwrap_or_default()
}

/// The manifest a pod was read from, if it was: `podinit export` gives back
/// the very manifest (every field podinit ignores included) as long as the pod
/// is still the one it describes.
#[derive(Clone, Default)]
pub struct Source(Option<std::sync::Arc<Manifest>>);

/// A manifest's documents as parsed, and the pod as read from them.
struct Manifest {
    #[cfg(feature = "manifests")]
    docs: Vec<yaml::Node>,
    #[cfg(feature = "manifests")]
    read: Pod,
}

impl Source {
    /// Whether the pod was read from a Kubernetes manifest (rather than a pod file).
    pub fn is_manifest(&self) -> bool {
        self.0.is_some()
    }
}

/// Where a pod came from does not make it another pod: a manifest and the pod
/// file `import` makes of it compare equal.
impl PartialEq for Source {
    fn eq(&self, _: &Source) -> bool {
        true
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_manifest() { "Source(manifest)" } else { "Source(pod file)" })
    }
}

/// Prefix of podinit's own annotations.
pub(crate) const ANN: &str = "podinit.dev/";

/// argv[0] of the hooks podinit runs itself (httpGet, sleep): in the forked
/// child, before exec, this is podinit's own binary wherever it is installed.
pub(crate) const HOOK_EXE: &str = "/proc/self/exe";
/// `podinit --hook-http-get URL`: GET URL, exit 0 on a 200-399 answer.
pub(crate) const HOOK_HTTP_GET: &str = "--hook-http-get";
/// `podinit --hook-sleep SECONDS`: sleep, exit 0.
pub(crate) const HOOK_SLEEP: &str = "--hook-sleep";

/// Whether `text` (read from `path`) is a manifest rather than a pod file: a
/// `.yaml`, `.yml` or `.json` name, or content whose first line that is not
/// blank or a comment opens a JSON object, a YAML document (`---`, `%YAML`),
/// a YAML sequence or a `key:` line. A pod file's first line is a `key =`
/// line or a `[table]`, which none of these can be.
pub(crate) fn is_manifest(path: &Path, text: &str) -> bool {
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
pub(crate) fn parse(path: &Path, text: &str) -> Result<Pod, Vec<ConfigError>> {
    #[cfg(feature = "manifests")]
    return read::read(path, text, &inputs());
    #[cfg(not(feature = "manifests"))]
    {
        let _ = text;
        let message = format!("a Kubernetes manifest, but {NOT_BUILT}");
        Err(vec![ConfigError { path: path.to_path_buf(), line: None, col: None, message }])
    }
}

/// The manifest for `pod` (`podinit export`); JSON when `json`. A pod read from
/// a manifest gives that manifest back; a pod file becomes a Pod whose
/// containers run `image`.
pub(crate) fn export(pod: &Pod, image: &str, json: bool) -> Result<String, String> {
    #[cfg(feature = "manifests")]
    return write::export(pod, image, json);
    #[cfg(not(feature = "manifests"))]
    {
        let _ = (pod, image, json);
        Err(NOT_BUILT.to_string())
    }
}

/// The pod file for `pod` (`podinit import`).
pub(crate) fn to_toml(pod: &Pod) -> Result<String, String> {
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
