//! `resourceFieldRef` (env and downwardAPI files): a container's limits and
//! requests as the kubelet gives them. podinit sets no limits, so where a
//! container has none the value is this machine's, as the kubelet gives the
//! node's allocatable then; an unset request is the limit set in the manifest
//! (the API server's defaulting), else 0.

use super::*;

impl Reader<'_> {
    /// The value of `resourceFieldRef` `n` for `container` (when it names none).
    pub(super) fn resource_value(&mut self, n: &Node, path: &str, container: &str) -> Option<String> {
        let table = [("resource", Use), ("containerName", Use), ("divisor", Use)];
        let o = self.object(n, path, &table, None);
        let Some(r) = o.get("resource") else {
            self.error(n.at, path, "no 'resource'");
            return None;
        };
        let resource = self.string(r, &join(path, "resource"))?;
        let name = match o.get("containerName") {
            Some(v) => self.string(v, &join(path, "containerName"))?,
            None if container.is_empty() => {
                self.error(n.at, path, "a downwardAPI file needs containerName");
                return None;
            }
            None => container.to_string(),
        };
        let Some((_, limits, requests)) = self.resources.iter().find(|(c, ..)| *c == name) else {
            let at = o.get("containerName").map_or(n.at, |v| v.at);
            self.error(at, &join(path, "containerName"), format!("no container named '{name}'"));
            return None;
        };
        let (kind, what) = match resource.split_once('.') {
            Some((k @ ("limits" | "requests"), w @ ("cpu" | "memory" | "ephemeral-storage"))) => (k, w),
            _ => {
                let why = "is not limits or requests of cpu, memory or ephemeral-storage";
                self.error(r.at, &join(path, "resource"), format!("'{resource}' {why}"));
                return None;
            }
        };
        let set = |m: &[(String, String)]| m.iter().find(|(k, _)| k == what).map(|(_, v)| v.clone());
        let value = match kind {
            "limits" => set(limits).map_or_else(|| Some(allocatable(what)), |q| quantity(&q)),
            _ => set(requests).or_else(|| set(limits)).map_or(Some(0.0), |q| quantity(&q)),
        };
        let Some(value) = value else {
            self.error(r.at, &join(path, "resource"), format!("the container's {resource} is not a quantity"));
            return None;
        };
        let divisor = match o.get("divisor") {
            Some(d) => {
                let text = match &d.val {
                    Val::Int(i) => i.to_string(),
                    _ => self.string(d, &join(path, "divisor"))?,
                };
                match quantity(&text) {
                    Some(q) if q > 0.0 => q,
                    _ => {
                        self.error(d.at, &join(path, "divisor"), format!("'{text}' is not a positive quantity"));
                        return None;
                    }
                }
            }
            None => 1.0,
        };
        // The kubelet rounds up: 250m of CPU with divisor 1 is "1".
        Some(format!("{}", (value / divisor).ceil().max(0.0) as u64))
    }
}

/// What a container may use here when the manifest sets no limit: this machine's
/// CPUs (those podinit may run on), memory, and root filesystem size.
fn allocatable(what: &str) -> f64 {
    match what {
        "cpu" => std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
        "memory" => {
            let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
            let kb = meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            kb * 1024.0
        }
        _ => nix::sys::statvfs::statvfs("/").map_or(0.0, |s| s.blocks() as f64 * s.fragment_size() as f64),
    }
}

/// A Kubernetes quantity (`250m`, `1.5`, `128Mi`, `1G`, `1e3`) in base units.
pub(super) fn quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-'))).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse().ok()?),
        _ => return None,
    };
    Some(number * factor).filter(|v| v.is_finite() && *v >= 0.0)
}

/// (container name, limits, requests) of every container of `spec`, read without
/// errors (the containers' own reading reports those).
pub(super) fn container_resources(spec: &Node) -> Vec<(String, Vec<(String, String)>, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for key in ["initContainers", "containers"] {
        let Some(Val::Seq(items)) = spec.get(key).map(|n| &n.val) else { continue };
        for c in items {
            let Some(name) = c.get("name").and_then(Node::as_str) else { continue };
            let map = |k: &str| -> Vec<(String, String)> {
                match c.get("resources").and_then(|r| r.get(k)).map(|n| &n.val) {
                    Some(Val::Map(rows)) => rows
                        .iter()
                        .filter_map(|(k, v)| {
                            let text = match &v.val {
                                Val::Str(s) => s.clone(),
                                Val::Int(i) => i.to_string(),
                                Val::Float(f) => f.to_string(),
                                _ => return None,
                            };
                            Some((k.name.clone(), text))
                        })
                        .collect(),
                    _ => Vec::new(),
                }
            };
            out.push((name.to_string(), map("limits"), map("requests")));
        }
    }
    out
}
