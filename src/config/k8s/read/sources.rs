//! ConfigMaps and Secrets: from the manifest's own documents and from
//! directories laid out as the kubelet projects them (`DIR/NAME/KEY`), and
//! what reads them: `env[].valueFrom.configMapKeyRef` / `secretKeyRef` and
//! `envFrom`.

use super::*;

/// ConfigMap or Secret.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Source {
    ConfigMap,
    Secret,
}

impl Source {
    pub(super) fn kind(self) -> &'static str {
        match self {
            Source::ConfigMap => "ConfigMap",
            Source::Secret => "Secret",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Source::ConfigMap => "--configmaps",
            Source::Secret => "--secrets",
        }
    }
}

/// Every ConfigMap and Secret the pod can read.
#[derive(Default)]
pub(super) struct Store {
    /// From the manifest's documents: (kind, name, [(key, value)]).
    docs: Vec<(Source, String, Data)>,
    configmap_dirs: Vec<PathBuf>,
    secret_dirs: Vec<PathBuf>,
}

/// The keys and values of one ConfigMap or Secret.
pub(super) type Data = Vec<(String, Vec<u8>)>;

impl Store {
    pub(super) fn new(inputs: &super::super::Inputs) -> Store {
        Store { docs: Vec::new(), configmap_dirs: inputs.configmaps.clone(), secret_dirs: inputs.secrets.clone() }
    }

    /// Adds `DIR`s given by an annotation.
    pub(super) fn add_dir(&mut self, source: Source, dir: PathBuf) {
        match source {
            Source::ConfigMap => self.configmap_dirs.push(dir),
            Source::Secret => self.secret_dirs.push(dir),
        }
    }

    /// The data of ConfigMap or Secret `name`: a document of the manifest first,
    /// then the first `DIR/NAME` directory; Err is why a directory could not be read.
    pub(super) fn get(&self, source: Source, name: &str) -> Result<Option<Data>, String> {
        if let Some((.., data)) = self.docs.iter().find(|(s, n, _)| *s == source && n == name) {
            return Ok(Some(data.clone()));
        }
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Ok(None);
        }
        let dirs = match source {
            Source::ConfigMap => &self.configmap_dirs,
            Source::Secret => &self.secret_dirs,
        };
        for dir in dirs {
            let d = dir.join(name);
            if !d.is_dir() {
                continue;
            }
            let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            let mut data = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", d.display()))?;
                let Some(key) = entry.file_name().to_str().map(str::to_string) else { continue };
                // The kubelet's own bookkeeping in a projected volume (..data, ..2024_…).
                if key.starts_with("..") {
                    continue;
                }
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                put_sorted(&mut data, key, bytes);
            }
            return Ok(Some(data));
        }
        Ok(None)
    }

    /// How to give a missing `name`, for the error.
    pub(super) fn hint(source: Source, name: &str) -> String {
        let kind = source.kind();
        format!(
            "{kind} '{name}' not found: add it to the manifest file (a {kind} document) or give {} DIR holding {name}/KEY files",
            source.flag()
        )
    }
}

impl Reader<'_> {
    /// A ConfigMap or Secret document: its name and data go into the store.
    pub(super) fn source_document(&mut self, obj: &Node, label: &str, source: Source) {
        let table = [
            ("apiVersion", Use),
            ("kind", Use),
            ("metadata", Use),
            ("data", Use),
            ("stringData", Use),
            ("binaryData", Use),
        ];
        let o = self.object(obj, label, &table, Some(Ignore(BOOKKEEPING)));
        let Some(name) =
            o.get("metadata").and_then(|m| m.get("name")).and_then(|n| self.nonempty(n, &join(label, "metadata.name")))
        else {
            return;
        };
        let mut data: Data = Vec::new();
        // Secret data and ConfigMap binaryData are base64; stringData wins over data (as the API server does).
        let fields: &[(&str, bool)] = match source {
            Source::ConfigMap => &[("data", false), ("binaryData", true)],
            Source::Secret => &[("data", true), ("stringData", false)],
        };
        for &(field, base64) in fields {
            let Some(map) = o.get(field) else { continue };
            let fpath = join(label, field);
            for (k, v) in self.string_map(map, &fpath) {
                let vpath = format!("{fpath}['{}']", k.name);
                let bytes = if base64 {
                    match decode_base64(&v) {
                        Some(b) => b,
                        None => {
                            let at = map.get(&k.name).map_or(k.at, |n| n.at);
                            self.error(at, &vpath, "not valid base64");
                            continue;
                        }
                    }
                } else {
                    v.into_bytes()
                };
                put_sorted(&mut data, k.name, bytes);
            }
        }
        self.store.docs.retain(|(s, n, _)| !(*s == source && *n == name));
        self.store.docs.push((source, name, data));
    }

    /// The data of `name`, or None (an error recorded unless `optional`).
    pub(super) fn source_data(
        &mut self,
        source: Source,
        name: &str,
        optional: bool,
        at: Pos,
        path: &str,
    ) -> Option<Data> {
        match self.store.get(source, name) {
            Ok(Some(d)) => Some(d),
            Ok(None) if optional || self.lenient => None,
            Ok(None) => {
                self.error(at, path, Store::hint(source, name));
                None
            }
            Err(e) => {
                self.error(at, path, format!("cannot read {} '{name}': {e}", source.kind()));
                None
            }
        }
    }

    /// `configMapKeyRef` / `secretKeyRef`: Some(Some(value)), Some(None) when optional and
    /// absent (the variable is then not set), None on error.
    pub(super) fn key_ref(&mut self, n: &Node, path: &str, source: Source) -> Option<Option<String>> {
        let o = self.object(n, path, &[("name", Use), ("key", Use), ("optional", Use)], None);
        let name = match o.get("name") {
            Some(v) => self.string(v, &join(path, "name"))?,
            None => String::new(),
        };
        let Some(key_node) = o.get("key") else {
            self.error(n.at, path, "no 'key'");
            return None;
        };
        let key = self.string(key_node, &join(path, "key"))?;
        let optional = match o.get("optional") {
            Some(v) => self.boolean(v, &join(path, "optional"))?,
            None => false,
        };
        let Some(data) = self.source_data(source, &name, optional, n.at, path) else {
            return if optional { Some(None) } else { None };
        };
        match data.into_iter().find(|(k, _)| *k == key) {
            Some((_, v)) => self.env_value(v, key_node.at, path).map(Some),
            None if optional => Some(None),
            None => {
                self.error(key_node.at, &join(path, "key"), format!("{} '{name}' has no key '{key}'", source.kind()));
                None
            }
        }
    }

    /// A value for an env var: UTF-8 without NUL, with `$` escaped (the kubelet does not expand it).
    fn env_value(&mut self, v: Vec<u8>, at: Pos, path: &str) -> Option<String> {
        match String::from_utf8(v) {
            Ok(s) if s.contains('\0') => {
                self.error(at, path, "the value contains a NUL character, which an environment cannot hold");
                None
            }
            Ok(s) => Some(s.replace('$', "$$")),
            Err(_) => {
                self.error(at, path, "the value is not UTF-8 text, which podinit cannot put in an environment");
                None
            }
        }
    }

    /// `envFrom[]`: every key of a ConfigMap or Secret (with `prefix`) as a variable.
    pub(super) fn env_from(&mut self, n: &Node, path: &str) -> Vec<(String, String, Pos)> {
        let mut out: Vec<(String, String, Pos)> = Vec::new();
        for (i, item) in self.list(n, path).iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let table = [("configMapRef", Use), ("secretRef", Use), ("prefix", Use)];
            let o = self.object(item, &ipath, &table, None);
            let prefix = o.get("prefix").and_then(|v| self.string(v, &join(&ipath, "prefix"))).unwrap_or_default();
            let (source, r, field) = match (o.get("configMapRef"), o.get("secretRef")) {
                (Some(r), None) => (Source::ConfigMap, r, "configMapRef"),
                (None, Some(r)) => (Source::Secret, r, "secretRef"),
                (Some(_), Some(_)) => {
                    self.error(item.at, &ipath, "has both configMapRef and secretRef");
                    continue;
                }
                (None, None) => {
                    self.error(item.at, &ipath, "needs configMapRef or secretRef");
                    continue;
                }
            };
            let rpath = join(&ipath, field);
            let ro = self.object(r, &rpath, &[("name", Use), ("optional", Use)], None);
            let name = ro.get("name").and_then(|v| self.string(v, &join(&rpath, "name"))).unwrap_or_default();
            let optional = ro.get("optional").and_then(|v| self.boolean(v, &join(&rpath, "optional"))).unwrap_or(false);
            let Some(data) = self.source_data(source, &name, optional, r.at, &rpath) else { continue };
            let mut skipped = Vec::new();
            for (k, v) in data {
                let var = format!("{prefix}{k}");
                // The kubelet skips (with an event) keys that are no variable name.
                if var.is_empty() || var.contains('=') || var.chars().any(|c| c.is_control()) {
                    skipped.push(var);
                    continue;
                }
                if let Some(value) = self.env_value(v, r.at, &rpath) {
                    // A later source wins over an earlier one with the same name.
                    out.retain(|(k, ..)| *k != var);
                    out.push((var, value, item.at));
                }
            }
            if !skipped.is_empty() {
                let what = format!("{} '{name}'", source.kind());
                self.infos.push((
                    item.at,
                    format!("{ipath}: keys of {what} skipped, not variable names: {}", skipped.join(", ")),
                ));
            }
        }
        out
    }
}

/// Sets `key` in `data`, which stays sorted by key, as the kubelet projects keys
/// (a binary search, not a sort: a sort's code costs PID 1 kilobytes).
fn put_sorted(data: &mut Data, key: String, value: Vec<u8>) {
    match data.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
        Ok(i) => data[i].1 = value,
        Err(i) => data.insert(i, (key, value)),
    }
}

/// Standard base64 (RFC 4648, padded), as the API server stores Secret data;
/// whitespace is skipped. Hand-written: ~20 lines against a crate's size in PID 1.
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 4 != 0 {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(digits.len() / 4 * 3);
    for (i, chunk) in digits.chunks(4).enumerate() {
        let last = i + 1 == digits.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}
