//! What each image of a manifest would run (issue 24): its Entrypoint, Cmd,
//! Env, WorkingDir and User, read from the files users already have:
//!
//! - `docker image inspect IMAGE…` output: a JSON array; each object's
//!   `RepoTags` and `RepoDigests` name it, its `Config` is the configuration;
//! - an OCI image config (`crane config IMAGE`, `skopeo inspect --config`):
//!   a JSON object with `config`; it names no image, so it is given as
//!   `REF=FILE`;
//! - podinit's own map `{"REF": CONFIG, …}` where CONFIG is an OCI image
//!   config or just its `config` part (what a script writes most easily).
//!
//! References are compared the way Docker normalises them: `nginx` is
//! `docker.io/library/nginx:latest`, a digest names the image whatever its tag.

use std::path::Path;

use super::yaml::{self, Node, Val};

/// The parts of an image's configuration a container runtime applies.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ImageConfig {
    /// `Entrypoint`; `None` when unset or null.
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`.
    pub cmd: Option<Vec<String>>,
    /// `Env`, `NAME=value` split at the first `=`.
    pub env: Vec<(String, String)>,
    /// `WorkingDir`, when not empty.
    pub working_dir: Option<String>,
    /// `User`, when not empty.
    pub user: Option<String>,
}

/// Image configurations by normalised reference.
#[derive(Debug, Clone, Default)]
pub(crate) struct Images {
    by_ref: Vec<(String, ImageConfig)>,
    /// The files read, for the "give it with" hint.
    pub files: usize,
}

impl Images {
    /// Reads `spec` (`FILE` or `REF=FILE`, FILE relative to `base`) into these images;
    /// the error is one line naming the file.
    pub(crate) fn load(&mut self, spec: &str, base: &Path) -> Result<(), String> {
        // `REF=FILE` only when what precedes '=' reads as a reference and the whole is no file.
        let (name, file) = match spec.split_once('=') {
            Some((r, f)) if !r.is_empty() && !base.join(spec).exists() => (Some(r), f),
            _ => (None, spec),
        };
        let path = base.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        self.add(name, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        self.files += 1;
        Ok(())
    }

    /// Adds the configurations of one file's `text`; `name` names an OCI config.
    /// JSON is read by the manifests' own parser (a YAML 1.2 superset of JSON), which
    /// costs the binary nothing more.
    pub(crate) fn add(&mut self, name: Option<&str>, text: &str) -> Result<(), String> {
        let docs = yaml::parse(text)
            .map_err(|e| format!("invalid JSON at line {}, column {}: {}", e.at.line, e.at.col, e.message))?;
        let v = match docs.as_slice() {
            [one] => one,
            _ => return Err("expected one JSON value".into()),
        };
        match (&v.val, name) {
            // docker image inspect: an array of images, each naming itself.
            (Val::Seq(items), None) => {
                for (i, item) in items.iter().enumerate() {
                    let config =
                        item.get("Config").ok_or(format!("[{i}]: no 'Config' (not docker image inspect output?)"))?;
                    let config = parse_config(config).map_err(|e| format!("[{i}].Config: {e}"))?;
                    let mut names = Vec::new();
                    for key in ["RepoTags", "RepoDigests"] {
                        if let Some(Val::Seq(refs)) = item.get(key).map(|n| &n.val) {
                            names.extend(refs.iter().filter_map(Node::as_str));
                        }
                    }
                    if names.is_empty() {
                        return Err(format!("[{i}]: no RepoTags or RepoDigests: the image has no name to match"));
                    }
                    for n in names {
                        self.insert(n, &config);
                    }
                }
                Ok(())
            }
            (Val::Map(_), Some(name)) => {
                let config = v.get("config").or(v.get("Config")).unwrap_or(v);
                self.insert(name, &parse_config(config)?);
                Ok(())
            }
            (Val::Map(_), None) if is_oci_config(v) => {
                Err("an OCI image config names no image: give it as --images REF=FILE".into())
            }
            (Val::Map(rows), None) => {
                for (name, config) in rows {
                    let config = config.get("config").or(config.get("Config")).unwrap_or(config);
                    let config = parse_config(config).map_err(|e| format!("'{}': {e}", name.name))?;
                    self.insert(&name.name, &config);
                }
                Ok(())
            }
            _ => Err(
                "expected docker image inspect output (an array), an OCI image config or an object of them by image"
                    .into(),
            ),
        }
    }

    fn insert(&mut self, reference: &str, config: &ImageConfig) {
        let key = key(reference);
        self.by_ref.retain(|(k, _)| *k != key);
        self.by_ref.push((key, config.clone()));
    }

    /// The configuration of `reference`, if one was given.
    pub(crate) fn get(&self, reference: &str) -> Option<&ImageConfig> {
        let key = key(reference);
        if let Some((_, c)) = self.by_ref.iter().find(|(k, _)| *k == key) {
            return Some(c);
        }
        // `name:tag@digest` is pulled by its digest (the tag is then only a comment).
        let (name, digest) = key.split_once('@')?;
        let plain = format!("{}@{digest}", strip_tag(name));
        self.by_ref.iter().find(|(k, _)| *k == plain).map(|(_, c)| c)
    }
}

/// How a reference is looked up: normalised; one Docker cannot parse (a template's
/// `<REGISTRY>/app:1`, `$IMAGE`) as written, so a file can still name it.
fn key(reference: &str) -> String {
    normalize(reference).unwrap_or_else(|_| format!("as-written:{}", reference.trim()))
}

/// Whether `v` is an OCI image config (rather than a map of them by image).
fn is_oci_config(v: &Node) -> bool {
    ["config", "Config", "architecture", "os", "rootfs"].iter().any(|k| v.get(k).is_some())
}

fn strings(v: Option<&Node>, field: &str) -> Result<Option<Vec<String>>, String> {
    match v.map(|n| &n.val) {
        None | Some(Val::Null) => Ok(None),
        Some(Val::Seq(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_string).ok_or(format!("{field}: not a list of strings")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("{field}: not a list of strings")),
    }
}

fn text(v: Option<&Node>, field: &str) -> Result<Option<String>, String> {
    match v.map(|n| &n.val) {
        None | Some(Val::Null) => Ok(None),
        Some(Val::Str(s)) if s.is_empty() => Ok(None),
        Some(Val::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{field}: not a string")),
    }
}

/// The `config` (OCI) or `Config` (docker inspect) object; both spell the fields the same.
fn parse_config(v: &Node) -> Result<ImageConfig, String> {
    if !matches!(v.val, Val::Map(_) | Val::Null) {
        return Err("not an image configuration (an object with Entrypoint, Cmd, Env, …)".into());
    }
    let env = strings(v.get("Env"), "Env")?
        .unwrap_or_default()
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv, String::new()),
        })
        .collect();
    Ok(ImageConfig {
        entrypoint: strings(v.get("Entrypoint"), "Entrypoint")?,
        cmd: strings(v.get("Cmd"), "Cmd")?,
        env,
        working_dir: text(v.get("WorkingDir"), "WorkingDir")?,
        user: text(v.get("User"), "User")?,
    })
}

/// `name` without its `:tag` (a ':' after the last '/').
fn strip_tag(name: &str) -> &str {
    let last = name.rfind('/').map_or(0, |i| i + 1);
    match name[last..].rfind(':') {
        Some(i) => &name[..last + i],
        None => name,
    }
}

/// The fully qualified form of an image reference, as Docker's
/// `reference.ParseNormalizedNamed` + `TagNameOnly` give it:
/// `nginx` → `docker.io/library/nginx:latest`, `me/app:1` →
/// `docker.io/me/app:1`, `localhost:5000/app` → `localhost:5000/app:latest`,
/// `nginx@sha256:…` keeps its digest and gets no tag.
pub(crate) fn normalize(reference: &str) -> Result<String, String> {
    let r = reference.trim();
    if r.is_empty() {
        return Err("empty image reference".into());
    }
    let (rest, digest) = match r.split_once('@') {
        Some((n, d)) => {
            let (alg, hex) = d.split_once(':').ok_or("a digest is ALGORITHM:HEX")?;
            if alg.is_empty() || hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("bad digest '{d}'"));
            }
            (n, Some(d))
        }
        None => (r, None),
    };
    let name = strip_tag(rest);
    let tag = rest.get(name.len() + 1..).filter(|_| name.len() < rest.len());
    if let Some(t) = tag {
        if t.is_empty()
            || t.len() > 128
            || !t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(format!("bad tag '{t}'"));
        }
    }
    // The first component is a registry when it has a '.' or a ':' (a port), is localhost,
    // or has capitals (which a repository path may not); else the image is on Docker Hub.
    let (domain, path) = match name.split_once('/') {
        Some((d, p)) if d.contains(['.', ':']) || d == "localhost" || d.chars().any(|c| c.is_ascii_uppercase()) => {
            (d, p.to_string())
        }
        _ => ("docker.io", name.to_string()),
    };
    let domain = if domain == "index.docker.io" { "docker.io" } else { domain };
    let path = if domain == "docker.io" && !path.contains('/') { format!("library/{path}") } else { path };
    if path.is_empty()
        || path.split('/').any(|c| c.is_empty())
        || !path.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/'))
    {
        return Err("not a valid image name (lowercase letters, digits, '.', '_', '-', '/')".into());
    }
    Ok(match (tag, digest) {
        (_, Some(d)) if tag.is_none() => format!("{domain}/{path}@{d}"),
        (Some(t), Some(d)) => format!("{domain}/{path}:{t}@{d}"),
        (Some(t), None) => format!("{domain}/{path}:{t}"),
        _ => format!("{domain}/{path}:latest"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_as_docker_does() {
        let n = |r: &str| normalize(r).unwrap();
        assert_eq!(n("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(n("nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(n("docker.io/library/nginx"), "docker.io/library/nginx:latest");
        assert_eq!(n("index.docker.io/nginx"), "docker.io/library/nginx:latest");
        assert_eq!(n("me/app:v1"), "docker.io/me/app:v1");
        assert_eq!(n("localhost/app"), "localhost/app:latest");
        assert_eq!(n("localhost:5000/team/app"), "localhost:5000/team/app:latest");
        assert_eq!(n("registry.k8s.io/pause:3.9"), "registry.k8s.io/pause:3.9");
        assert_eq!(n("gcr.io/google-samples/hello-app:1.0"), "gcr.io/google-samples/hello-app:1.0");
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(n(&format!("nginx@{d}")), format!("docker.io/library/nginx@{d}"));
        assert_eq!(n(&format!("nginx:1@{d}")), format!("docker.io/library/nginx:1@{d}"));
        assert!(normalize("Nginx").is_err());
        assert!(normalize("nginx:").is_err());
        assert!(normalize("nginx@sha256:xyz").is_err());
        assert!(normalize("").is_err());
    }

    #[test]
    fn docker_inspect_output_is_matched_by_tag_and_digest() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let json = format!(
            r#"[{{"Id":"sha256:aa","RepoTags":["nginx:latest","nginx:1.25"],"RepoDigests":["nginx@{d}"],
               "Config":{{"Entrypoint":["/docker-entrypoint.sh"],"Cmd":["nginx","-g","daemon off;"],
               "Env":["PATH=/usr/bin","NGINX_VERSION=1.25","EMPTY"],"WorkingDir":"","User":""}}}}]"#
        );
        let mut images = Images::default();
        images.add(None, &json).unwrap();
        let c = images.get("docker.io/library/nginx").expect("by normalised name");
        assert_eq!(c.entrypoint.as_deref(), Some(&["/docker-entrypoint.sh".to_string()][..]));
        assert_eq!(c.cmd.as_ref().map(Vec::len), Some(3));
        assert_eq!(c.env[1], ("NGINX_VERSION".into(), "1.25".into()));
        assert_eq!(c.env[2], ("EMPTY".into(), String::new()));
        assert_eq!(c.working_dir, None);
        assert!(images.get("nginx:1.25").is_some());
        assert!(images.get(&format!("nginx@{d}")).is_some());
        assert!(images.get(&format!("nginx:whatever@{d}")).is_some(), "a digest wins over the tag");
        assert!(images.get("nginx:1.26").is_none());
        assert!(images.get("other/nginx").is_none());
    }

    #[test]
    fn oci_configs_and_maps() {
        let oci = r#"{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"],"WorkingDir":"/app","User":"1000"},"rootfs":{}}"#;
        let mut images = Images::default();
        assert!(images.add(None, oci).unwrap_err().contains("REF=FILE"));
        images.add(Some("busybox"), oci).unwrap();
        let c = images.get("busybox:latest").unwrap();
        assert_eq!((c.working_dir.as_deref(), c.user.as_deref()), (Some("/app"), Some("1000")));
        images.add(None, r#"{"redis:7": {"Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["redis-server"]}}"#).unwrap();
        assert_eq!(images.get("docker.io/library/redis:7").unwrap().cmd, Some(vec!["redis-server".to_string()]));
        assert!(images.add(None, "[1]").is_err());
        assert!(images.add(None, r#"{"x": {"Cmd": "sh"}}"#).unwrap_err().contains("Cmd"));
        // A reference Docker cannot parse (a template's placeholder) matches as written.
        images.add(None, r#"{"<REPO>/app:1": {"Cmd": ["app"]}}"#).unwrap();
        assert!(images.get("<REPO>/app:1").is_some() && images.get("<REPO>/app").is_none());
    }
}
