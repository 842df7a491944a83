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
        let Some(Resources { limits, requests, .. }) = self.resources.iter().find(|r| r.container == name) else {
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
            _ => set(requests).or_else(|| set(limits)).map_or(Some(0), |q| quantity(&q)),
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
                    Some(q) if q > 0 => q,
                    _ => {
                        self.error(d.at, &join(path, "divisor"), format!("'{text}' is not a positive quantity"));
                        return None;
                    }
                }
            }
            None => NANO,
        };
        // The kubelet rounds up: 250m of CPU with divisor 1 is "1".
        Some(value.div_ceil(divisor).to_string())
    }
}

/// One unit in nano-units: quantities are whole numbers of 10^-9, the finest
/// suffix (`n`). Integers, not floats: float parsing would add ~20 KB to PID 1.
const NANO: u128 = 1_000_000_000;

/// What a container may use here when the manifest sets no limit, in nano-units:
/// this machine's online CPUs, memory, and root filesystem size.
fn allocatable(what: &str) -> u128 {
    match what {
        "cpu" => {
            // SAFETY: sysconf reads a system constant; no memory is passed.
            let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
            n.max(1) as u128 * NANO
        }
        "memory" => {
            let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
            let kb = meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u128>().ok())
                .unwrap_or(0);
            kb * 1024 * NANO
        }
        _ => nix::sys::statvfs::statvfs("/").map_or(0, |s| s.blocks() as u128 * s.fragment_size() as u128 * NANO),
    }
}

/// A Kubernetes quantity (`250m`, `1.5`, `128Mi`, `1G`, `1e3`) in nano-units.
pub(crate) fn quantity(s: &str) -> Option<u128> {
    let s = s.trim().strip_prefix('+').unwrap_or(s.trim());
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    // The number in nano-units: digits past the ninth decimal are dropped.
    let frac9: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut v = int.checked_mul(NANO)?.checked_add(frac9.parse().ok()?)?;
    let (ten, two): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        e if e.starts_with(['e', 'E']) => (e[1..].parse().ok()?, 0),
        _ => return None,
    };
    v = v.checked_mul(1u128.checked_shl(two)?)?;
    if ten >= 0 {
        v = v.checked_mul(10u128.checked_pow(ten as u32)?)?;
    } else {
        // Below a nano-unit rounds up, as Kubernetes rounds a quantity up to its scale.
        v = v.div_ceil(10u128.checked_pow(ten.unsigned_abs())?);
    }
    Some(v)
}

/// One container's `resources`: each quantity as written, by resource name.
pub(super) struct Resources {
    container: String,
    limits: Vec<(String, String)>,
    requests: Vec<(String, String)>,
}

/// The resources of every container of `spec`, read without errors (the
/// containers' own reading reports those).
pub(super) fn container_resources(spec: &Node) -> Vec<Resources> {
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
            out.push(Resources { container: name.to_string(), limits: map("limits"), requests: map("requests") });
        }
    }
    out
}
