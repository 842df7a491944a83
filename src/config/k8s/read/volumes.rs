//! `spec.volumes` and `volumeMounts`: what podinit can make real in one
//! filesystem (src/pod/volumes.rs writes it when the pod starts).
//!
//! - emptyDir, persistentVolumeClaim, ephemeral (and a StatefulSet's volumeClaimTemplates):
//!   one directory for every mount path;
//! - hostPath: the host's path itself (a symlink where it is mounted elsewhere);
//! - configMap, secret, downwardAPI, projected: their files, written at each mount path;
//! - anything that needs a cluster (csi, nfs, a cloud disk, …): taken as mounted already
//!   by whoever starts podinit, its fields checked as the API server checks them.

use super::sources::Source;
use super::*;
use crate::config::{Mount, Volume, VolumeContent, VolumeFile};

/// What `volumes[]` are, and `volumeMounts[]` fields.
const VOLUME: &[(&str, Act)] = &[
    ("name", Use),
    ("emptyDir", Use),
    ("persistentVolumeClaim", Use),
    ("hostPath", Use),
    ("configMap", Use),
    ("secret", Use),
    ("downwardAPI", Use),
    ("projected", Use),
    ("csi", Use),
    ("ephemeral", Use),
    ("image", Refuse("podinit runs no images, so it cannot mount one")),
    ("gitRepo", Refuse("deprecated; clone the repository in an init container")),
    ("nfs", Use),
    ("iscsi", Use),
    ("fc", Use),
    ("rbd", Use),
    ("cephfs", Use),
    ("glusterfs", Use),
    ("cinder", Use),
    ("flocker", Use),
    ("flexVolume", Use),
    ("azureFile", Use),
    ("azureDisk", Use),
    ("vsphereVolume", Use),
    ("quobyte", Use),
    ("photonPersistentDisk", Use),
    ("portworxVolume", Use),
    ("scaleIO", Use),
    ("storageos", Use),
    ("gcePersistentDisk", Use),
    ("awsElasticBlockStore", Use),
];
const CLUSTER: &str = "a volume of a cluster's storage or a driver, which podinit cannot attach";
/// Storage podinit cannot attach but whoever starts it can (`docker run -v`): taken as there.
const PROVIDED: &[&str] = &[
    "csi",
    "nfs",
    "iscsi",
    "fc",
    "rbd",
    "cephfs",
    "glusterfs",
    "cinder",
    "flocker",
    "flexVolume",
    "azureFile",
    "azureDisk",
    "vsphereVolume",
    "quobyte",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "gcePersistentDisk",
    "awsElasticBlockStore",
];
/// The fields of each [`PROVIDED`] volume source (core/v1, as kubernetes-validate's
/// schemas list them; `:i` an integer, `:b` a boolean). podinit uses none of them, but
/// a misspelt or mistyped one is refused, as the API server refuses it.
const PROVIDED_FIELDS: &[(&str, &str)] = &[
    ("csi", "driver fsType nodePublishSecretRef readOnly:b volumeAttributes"),
    ("nfs", "path readOnly:b server"),
    (
        "iscsi",
        "chapAuthDiscovery:b chapAuthSession:b fsType initiatorName iqn iscsiInterface lun:i portals readOnly:b \
         secretRef targetPortal",
    ),
    ("fc", "fsType lun:i readOnly:b targetWWNs wwids"),
    ("rbd", "fsType image keyring monitors pool readOnly:b secretRef user"),
    ("cephfs", "monitors path readOnly:b secretFile secretRef user"),
    ("glusterfs", "endpoints path readOnly:b"),
    ("cinder", "fsType readOnly:b secretRef volumeID"),
    ("flocker", "datasetName datasetUUID"),
    ("flexVolume", "driver fsType options readOnly:b secretRef"),
    ("azureFile", "readOnly:b secretName shareName"),
    ("azureDisk", "cachingMode diskName diskURI fsType kind readOnly:b"),
    ("vsphereVolume", "fsType storagePolicyID storagePolicyName volumePath"),
    ("quobyte", "group readOnly:b registry tenant user volume"),
    ("photonPersistentDisk", "fsType pdID"),
    ("portworxVolume", "fsType readOnly:b volumeID"),
    (
        "scaleIO",
        "fsType gateway protectionDomain readOnly:b secretRef sslEnabled:b storageMode storagePool system volumeName",
    ),
    ("storageos", "fsType readOnly:b secretRef volumeName volumeNamespace"),
    ("gcePersistentDisk", "fsType partition:i pdName readOnly:b"),
    ("awsElasticBlockStore", "fsType partition:i readOnly:b volumeID"),
];
const MOUNT: &[(&str, Act)] = &[
    ("name", Use),
    ("mountPath", Use),
    ("subPath", Use),
    ("readOnly", Ignore("podinit writes the volume's files but cannot make a path read-only")),
    ("mountPropagation", Ignore(NAMESPACES)),
    ("recursiveReadOnly", Ignore("podinit writes the volume's files but cannot make a path read-only")),
    ("subPathExpr", Use),
];
const DEFAULT_MODE: u32 = 0o644;

/// A volume read from `spec.volumes`, before its mounts are known.
pub(super) struct Declared {
    /// The volume, its mounts still empty.
    pub(super) volume: Volume,
    /// False when reading it failed (an error is recorded).
    pub(super) ok: bool,
}

impl Reader<'_> {
    /// `spec.volumes`: every entry is declared, even one that could not be read,
    /// so that its mounts are not reported as naming no volume.
    pub(super) fn volumes(&mut self, n: &Node, path: &str, d: &Downward) -> Vec<Declared> {
        let mut out: Vec<Declared> = Vec::new();
        for (i, item) in self.list(n, path).iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let o = self.object(item, &ipath, VOLUME, None);
            let Some(name) = o.get("name").and_then(|v| self.nonempty(v, &join(&ipath, "name"))) else {
                if o.get("name").is_none() {
                    self.error(item.at, &ipath, "no 'name'");
                }
                continue;
            };
            if out.iter().any(|v| v.volume.name == name) {
                self.error(item.at, &join(&ipath, "name"), format!("duplicate volume name '{name}'"));
                continue;
            }
            let kinds: Vec<&str> = o.rows.iter().map(|(k, _)| k.name.as_str()).filter(|k| *k != "name").collect();
            let content = match kinds.as_slice() {
                // A volume of a refused kind was reported already.
                [] if self.errors.iter().any(|e| e.message.starts_with(&format!("{ipath}."))) => {
                    out.push(Declared {
                        volume: Volume { name, content: VolumeContent::Dir, mounts: Vec::new() },
                        ok: false,
                    });
                    continue;
                }
                // No source at all: the API server defaults it to an emptyDir (SetDefaults_Volume).
                [] => "emptyDir",
                [k] => *k,
                _ => {
                    self.error(item.at, &ipath, format!("more than one volume source: {}", kinds.join(", ")));
                    out.push(Declared {
                        volume: Volume { name, content: VolumeContent::Dir, mounts: Vec::new() },
                        ok: false,
                    });
                    continue;
                }
            };
            let empty = Node { at: item.at, val: Val::Map(Vec::new()) };
            let v = o.get(content).unwrap_or(&empty);
            let vpath = join(&ipath, content);
            let content = match content {
                "emptyDir" => {
                    self.object(v, &vpath, &[], Some(Ignore(RESOURCES)));
                    Some(VolumeContent::Dir)
                }
                "persistentVolumeClaim" => {
                    self.object(v, &vpath, &[], Some(Ignore("a claim is a directory that outlives the pod here")));
                    Some(VolumeContent::Dir)
                }
                // A generic ephemeral volume is a claim that lives as long as the pod: an emptyDir here.
                "ephemeral" => {
                    self.object(v, &vpath, &[], Some(Ignore("its claim is a directory that lives with the pod here")));
                    Some(VolumeContent::Dir)
                }
                "hostPath" => self.host_path(v, &vpath),
                // Storage only a cluster attaches: podinit takes it as already mounted at the
                // mount paths (by docker run -v, say) and checks they exist when the pod starts.
                k if PROVIDED.contains(&k) => {
                    self.provided_fields(v, &vpath, k);
                    let why = "podinit cannot attach this storage: it must be mounted at the mount paths before the pod starts";
                    self.infos.push((item.at, format!("{vpath}: {why}")));
                    Some(VolumeContent::Provided { kind: k.to_string() })
                }
                "configMap" | "secret" => self.source_volume(v, &vpath, content).map(VolumeContent::Files),
                "downwardAPI" => self.downward_volume(v, &vpath, d).map(VolumeContent::Files),
                _ => self.projected(v, &vpath, d).map(VolumeContent::Files),
            };
            // A volume that could not be read is still declared: its mounts are not errors too.
            let ok = content.is_some();
            let content = content.unwrap_or(VolumeContent::Dir);
            out.push(Declared { volume: Volume { name, content, mounts: Vec::new() }, ok });
        }
        out
    }

    fn host_path(&mut self, n: &Node, path: &str) -> Option<VolumeContent> {
        let o = self.object(n, path, &[("path", Use), ("type", Use)], None);
        let p = o.get("path").and_then(|v| self.nonempty(v, &join(path, "path")));
        let kind = o.get("type").and_then(|v| self.string(v, &join(path, "type"))).unwrap_or_default();
        let known =
            ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];
        if !known.contains(&kind.as_str()) {
            let at = o.get("type").map_or(n.at, |v| v.at);
            self.error(at, &join(path, "type"), format!("'{kind}' is not a hostPath type ({})", known[1..].join(", ")));
            return None;
        }
        let Some(p) = p else {
            if o.get("path").is_none() {
                self.error(n.at, path, "no 'path'");
            }
            return None;
        };
        if !p.starts_with('/') {
            self.error(o.get("path").map_or(n.at, |v| v.at), &join(path, "path"), "must be an absolute path");
            return None;
        }
        Some(VolumeContent::Host { path: PathBuf::from(p), kind })
    }

    fn mode(&mut self, n: Option<&Node>, path: &str, default: u32) -> u32 {
        n.and_then(|v| self.int(v, path, 0, 0o777)).map_or(default, |m| m as u32)
    }

    /// `items[]` of a configMap, secret or downwardAPI: (key or fieldRef node, path, mode).
    fn item_path(&mut self, n: &Node, path: &str) -> Option<PathBuf> {
        let p = self.nonempty(n, path)?;
        let rel = Path::new(&p);
        if rel.is_absolute()
            || rel.components().any(|c| matches!(c, std::path::Component::ParentDir))
            || p.starts_with("..")
        {
            self.error(n.at, path, format!("'{p}' must be a relative path without '..'"));
            return None;
        }
        Some(rel.to_path_buf())
    }

    /// The files of a configMap or secret volume (or projection).
    fn source_volume(&mut self, n: &Node, path: &str, field: &str) -> Option<Vec<VolumeFile>> {
        self.source_files(n, path, field, None)
    }

    fn source_files(&mut self, n: &Node, path: &str, field: &str, default: Option<u32>) -> Option<Vec<VolumeFile>> {
        let source = if field == "secret" { Source::Secret } else { Source::ConfigMap };
        let name_key = if field == "secret" && default.is_none() { "secretName" } else { "name" };
        let table = [(name_key, Use), ("items", Use), ("defaultMode", Use), ("optional", Use)];
        let o = self.object(n, path, &table, None);
        let name = o.get(name_key).and_then(|v| self.string(v, &join(path, name_key))).unwrap_or_default();
        let optional = o.get("optional").and_then(|v| self.boolean(v, &join(path, "optional"))).unwrap_or(false);
        let dm = o.get("defaultMode").filter(|_| default.is_none());
        if default.is_some() && o.get("defaultMode").is_some() {
            self.error(o.key_at("defaultMode"), &join(path, "defaultMode"), "not valid in a projection");
        }
        let mode = self.mode(dm, &join(path, "defaultMode"), default.unwrap_or(DEFAULT_MODE));
        // A missing optional source is an empty volume.
        let data = match self.source_data(source, &name, optional, n.at, path) {
            Some(d) => d,
            None if optional => return Some(Vec::new()),
            None => return None,
        };
        let Some(items) = o.get("items") else {
            return Some(
                data.into_iter()
                    .map(|(k, v)| VolumeFile { path: PathBuf::from(k), data: v, mode, downward: false })
                    .collect(),
            );
        };
        let mut files = Vec::new();
        for (i, item) in self.list(items, &join(path, "items")).iter().enumerate() {
            let ipath = format!("{path}.items[{i}]");
            let io = self.object(item, &ipath, &[("key", Use), ("path", Use), ("mode", Use)], None);
            let key = io.get("key").and_then(|v| self.string(v, &join(&ipath, "key")));
            let rel = io.get("path").and_then(|v| self.item_path(v, &join(&ipath, "path")));
            let fmode = self.mode(io.get("mode"), &join(&ipath, "mode"), mode);
            let (Some(key), Some(rel)) = (key, rel) else {
                if io.get("key").is_none() || io.get("path").is_none() {
                    self.error(item.at, &ipath, "needs key and path");
                }
                continue;
            };
            match data.iter().find(|(k, _)| *k == key) {
                Some((_, v)) => files.push(VolumeFile { path: rel, data: v.clone(), mode: fmode, downward: false }),
                None if optional => {}
                None => {
                    let at = io.get("key").map_or(item.at, |v| v.at);
                    self.error(at, &join(&ipath, "key"), format!("{} '{name}' has no key '{key}'", source.kind()));
                }
            }
        }
        Some(files)
    }

    /// Checks the fields of cluster volume source `kind` (PROVIDED_FIELDS): names and
    /// the integers and booleans; what they say is the cluster's business.
    fn provided_fields(&mut self, n: &Node, path: &str, kind: &str) {
        let fields = PROVIDED_FIELDS.iter().find(|(k, _)| *k == kind).map_or("", |(_, f)| *f);
        let table: Vec<(&str, Act)> =
            fields.split_whitespace().map(|f| (f.split(':').next().unwrap_or(f), Use)).collect();
        let o = self.object(n, path, &table, None);
        for f in fields.split_whitespace() {
            let (name, ty) = f.split_once(':').unwrap_or((f, ""));
            let Some(v) = o.get(name) else { continue };
            match ty {
                "i" => {
                    self.int(v, &join(path, name), i64::from(i32::MIN), i64::from(i32::MAX));
                }
                "b" => {
                    self.boolean(v, &join(path, name));
                }
                _ => {}
            }
        }
    }

    fn downward_volume(&mut self, n: &Node, path: &str, d: &Downward) -> Option<Vec<VolumeFile>> {
        self.downward_files(n, path, d, None)
    }

    fn downward_files(&mut self, n: &Node, path: &str, d: &Downward, default: Option<u32>) -> Option<Vec<VolumeFile>> {
        let o = self.object(n, path, &[("items", Use), ("defaultMode", Use)], None);
        if default.is_some() && o.get("defaultMode").is_some() {
            self.error(o.key_at("defaultMode"), &join(path, "defaultMode"), "not valid in a projection");
        }
        let mode = self.mode(o.get("defaultMode"), &join(path, "defaultMode"), default.unwrap_or(DEFAULT_MODE));
        let mut files = Vec::new();
        let Some(items) = o.get("items") else { return Some(files) };
        for (i, item) in self.list(items, &join(path, "items")).iter().enumerate() {
            let ipath = format!("{path}.items[{i}]");
            let table = [("path", Use), ("fieldRef", Use), ("mode", Use), ("resourceFieldRef", Use)];
            let io = self.object(item, &ipath, &table, None);
            let rel = io.get("path").and_then(|v| self.item_path(v, &join(&ipath, "path")));
            let fmode = self.mode(io.get("mode"), &join(&ipath, "mode"), mode);
            let value = match (io.get("fieldRef"), io.get("resourceFieldRef")) {
                (Some(f), None) => self.downward_file(f, &join(&ipath, "fieldRef"), d),
                (None, Some(r)) => self.resource_value(r, &join(&ipath, "resourceFieldRef"), "").map(|v| (v, false)),
                (Some(_), Some(_)) => {
                    self.error(item.at, &ipath, "has both fieldRef and resourceFieldRef");
                    None
                }
                (None, None) => {
                    if self.errors.iter().all(|e| !e.message.starts_with(&ipath)) {
                        self.error(item.at, &ipath, "needs fieldRef or resourceFieldRef");
                    }
                    None
                }
            };
            let Some((value, downward)) = value else { continue };
            if let Some(rel) = rel {
                files.push(VolumeFile { path: rel, data: value.into_bytes(), mode: fmode, downward });
            } else if io.get("path").is_none() {
                self.error(item.at, &ipath, "no 'path'");
            }
        }
        Some(files)
    }

    /// What a downwardAPI file holds: as the env var would, plus the whole label and
    /// annotation maps (`key="value"` lines, sorted), which only files can give.
    /// True with a value that is a reference resolved at start (VolumeFile::downward).
    fn downward_file(&mut self, f: &Node, fpath: &str, d: &Downward) -> Option<(String, bool)> {
        let r = self.object(f, fpath, &[("fieldPath", Use), ("apiVersion", Use)], None);
        let Some(fp) = r.get("fieldPath") else {
            self.error(f.at, fpath, "no 'fieldPath'");
            return None;
        };
        let field = self.string(fp, &join(fpath, "fieldPath"))?;
        let lines = |map: &[(String, String)]| {
            let mut sorted: Vec<String> = map.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
            sorted.sort();
            sorted.join("\n")
        };
        Some(match field.as_str() {
            "metadata.labels" => (lines(&d.labels), false),
            "metadata.annotations" => (lines(&d.annotations), false),
            "metadata.name" => (d.name.clone(), false),
            "metadata.namespace" => (d.namespace.clone(), false),
            _ => {
                let v = self.downward_value(fp, &join(fpath, "fieldPath"), &field, d)?;
                // What only the running pod knows (`$(status.podIP)`, …) is resolved at
                // start, as the env var is; else the env var form with its $-escaping
                // undone (a file is not expanded).
                if crate::config::expand::downward(&v, |_| String::new()) != v {
                    (v, true)
                } else {
                    (v.replace("$$", "$"), false)
                }
            }
        })
    }

    fn projected(&mut self, n: &Node, path: &str, d: &Downward) -> Option<Vec<VolumeFile>> {
        let o = self.object(n, path, &[("sources", Use), ("defaultMode", Use)], None);
        let mode = self.mode(o.get("defaultMode"), &join(path, "defaultMode"), DEFAULT_MODE);
        let mut files = Vec::new();
        let Some(sources) = o.get("sources") else { return Some(files) };
        for (i, s) in self.list(sources, &join(path, "sources")).iter().enumerate() {
            let spath = format!("{path}.sources[{i}]");
            let table = [
                ("configMap", Use),
                ("secret", Use),
                ("downwardAPI", Use),
                ("serviceAccountToken", Ignore(ACCOUNT)),
                ("clusterTrustBundle", Refuse(CLUSTER)),
                ("podCertificate", Refuse(CLUSTER)),
            ];
            let so = self.object(s, &spath, &table, None);
            for (k, v) in &so.rows {
                let got = match k.name.as_str() {
                    "configMap" | "secret" => self.source_files(v, &join(&spath, &k.name), &k.name, Some(mode)),
                    _ => self.downward_files(v, &join(&spath, &k.name), d, Some(mode)),
                };
                files.extend(got.unwrap_or_default());
            }
        }
        Some(files)
    }

    /// `volumeMounts[]` of one container.
    pub(super) fn mounts(&mut self, n: &Node, path: &str, container: &str) -> Vec<MountRead> {
        let mut out = Vec::new();
        for (i, item) in self.list(n, path).iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let o = self.object(item, &ipath, MOUNT, None);
            let name = o.get("name").and_then(|v| self.nonempty(v, &join(&ipath, "name")));
            let mount_path = o.get("mountPath").and_then(|v| self.nonempty(v, &join(&ipath, "mountPath")));
            // subPathExpr: $(VAR) of the container's env, expanded by the caller (`expand_sub_paths`).
            let sub_path = match o.get("subPath").or(o.get("subPathExpr")) {
                Some(v) if v.as_str() == Some("") => None,
                Some(v) => match self
                    .item_path(v, &join(&ipath, if o.get("subPath").is_some() { "subPath" } else { "subPathExpr" }))
                {
                    Some(p) => Some(p),
                    None => continue,
                },
                None => None,
            };
            if o.get("subPath").is_some() && o.get("subPathExpr").is_some() {
                self.error(item.at, &ipath, "has both subPath and subPathExpr");
                continue;
            }
            let (Some(name), Some(mount_path)) = (name, mount_path) else {
                if o.get("name").is_none() || o.get("mountPath").is_none() {
                    self.error(item.at, &ipath, "needs name and mountPath");
                }
                continue;
            };
            if !mount_path.starts_with('/') {
                let at = o.get("mountPath").map_or(item.at, |v| v.at);
                self.error(at, &join(&ipath, "mountPath"), "must be an absolute path");
                continue;
            }
            let origin = format!("{}:{}:{}: {ipath}", self.file.display(), item.at.line, item.at.col);
            let mount = Mount { container: container.to_string(), path: PathBuf::from(mount_path), sub_path, origin };
            let expr = o.get("subPathExpr").map(|v| (v.at, join(&ipath, "subPathExpr")));
            out.push((name, mount, item.at, expr));
        }
        out
    }

    /// `subPathExpr`: expanded as the kubelet does, with the container's env (`env`, and the
    /// pod's name and namespace, which `$(POD_NAME)` values stand for here).
    pub(super) fn expand_sub_paths(&mut self, mounts: &mut [MountRead], env: &[(String, String, Pos)], d: &Downward) {
        for (_, mount, _, expr) in mounts.iter_mut() {
            let Some((at, path)) = expr.take() else { continue };
            let Some(raw) = mount.sub_path.take() else { continue };
            let raw = raw.display().to_string();
            let lookup = |n: &str| env.iter().rev().find(|(k, ..)| k == n).map(|(_, v, _)| v.as_str());
            let once = crate::config::expand::expand(&raw, lookup);
            let names = [("POD_NAME", d.name.as_str()), ("POD_NAMESPACE", d.namespace.as_str())];
            let value = crate::config::expand::expand(&once, |n| names.iter().find(|(k, _)| *k == n).map(|(_, v)| *v));
            let rel = Path::new(&value);
            if value.is_empty()
                || rel.is_absolute()
                || rel.components().any(|c| matches!(c, std::path::Component::ParentDir))
            {
                self.error(at, &path, format!("'{raw}' gives '{value}', which must be a relative path without '..'"));
                continue;
            }
            mount.sub_path = Some(rel.to_path_buf());
        }
    }

    /// Puts each container's mounts on their volumes; a mount of no volume is an error.
    pub(super) fn attach_mounts(
        &mut self,
        declared: Vec<Declared>,
        containers: &[Container],
    ) -> Vec<crate::config::Volume> {
        let broken: Vec<String> = declared.iter().filter(|d| !d.ok).map(|d| d.volume.name.clone()).collect();
        let mut volumes: Vec<Volume> = declared.into_iter().filter(|d| d.ok).map(|d| d.volume).collect();
        for c in containers {
            for (name, mount, at, _) in &c.mounts {
                match volumes.iter_mut().find(|v| v.name == *name) {
                    Some(v) => v.mounts.push(mount.clone()),
                    None if broken.contains(name) => {}
                    None => {
                        let path = c.origin.path.clone() + ".volumeMounts";
                        self.error(*at, &path, format!("no volume named '{name}' in spec.volumes"))
                    }
                }
            }
        }
        volumes.retain(|v| !v.mounts.is_empty());
        volumes
    }
}

/// A `volumeMounts[]` entry read: (volume name, mount, where, `subPathExpr` still to expand).
pub(super) type MountRead = (String, Mount, Pos, Option<(Pos, String)>);

/// A Go `%q`-quoted string, as the kubelet writes label and annotation values.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
