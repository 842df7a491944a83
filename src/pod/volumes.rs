//! The volumes of a manifest's pod, made real in this one filesystem when the
//! pod starts, before any entry runs (docs/kubernetes.md, "Volumes"):
//!
//! - an emptyDir or persistentVolumeClaim is one directory: the first of its mount
//!   paths that already is a directory (else the first, created 0777 as the kubelet
//!   makes an emptyDir); every other mount path becomes a symlink to it;
//! - a hostPath is its path; a mount path elsewhere becomes a symlink to it;
//! - storage only a cluster attaches (csi, nfs, a cloud disk, …) must already be
//!   mounted at its mount paths (docker run -v): podinit checks that they exist;
//! - configMap, secret, downwardAPI and projected volumes are their files, written
//!   at every mount path (with their mode);
//! - `subPath` shows one part of the volume at the mount path.
//!
//! A mount path that exists and cannot become what the volume needs (a non-empty
//! directory where a symlink must go, a file where a directory must be) is an error
//! naming the manifest's line, and the pod does not start. Files already in a
//! directory stay: podinit writes into it, it cannot hide what is there as a mount would.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::config::{Mount, Volume, VolumeContent, VolumeFile};

/// One thing to do at one path.
enum Op<'a> {
    /// Make `path` a directory (0777 when created: anyone in the pod may write an emptyDir).
    Dir(PathBuf),
    /// Make `path` a symlink to `target`.
    Link { path: PathBuf, target: PathBuf },
    /// Write `files` (relative path, file) under `dir` (or, with `single`, the one file at `dir` itself).
    Files { dir: PathBuf, files: Vec<(PathBuf, &'a VolumeFile)>, single: bool },
    /// Check a hostPath of a type that must exist.
    Exists { path: PathBuf, kind: &'a str },
    /// Check that storage podinit cannot attach (`kind`: csi, nfs, …) was mounted at `path`.
    Provided { path: PathBuf, kind: &'a str },
}

/// Makes every volume of the pod real; `private` is where a volume no mount path can
/// hold lives (an emptyDir mounted only with subPath). Each error is one line.
pub(crate) fn materialize(volumes: &[Volume], private: &Path) -> Result<(), Vec<String>> {
    let mut ops: Vec<(usize, &Mount, Op)> = Vec::new();
    for v in volumes {
        plan(v, private, &mut ops);
    }
    // Parents before children, as a runtime orders mounts (a configMap inside an emptyDir);
    // in plan order within a depth. A pass per depth, not a sort: less code in PID 1.
    let deepest = ops.iter().map(|(d, ..)| *d).max().unwrap_or(0);
    let mut errors = Vec::new();
    for depth in 0..=deepest {
        for (_, mount, op) in ops.iter().filter(|(d, ..)| *d == depth) {
            if let Err(e) = perform(op) {
                errors.push(format!("{}: volume at {}: {e}", mount.origin, mount.path.display()));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn depth(p: &Path) -> usize {
    p.components().filter(|c| matches!(c, Component::Normal(_))).count()
}

fn plan<'a>(v: &'a Volume, private: &Path, ops: &mut Vec<(usize, &'a Mount, Op<'a>)>) {
    let Some(first) = v.mounts.first() else { return };
    match &v.content {
        VolumeContent::Provided { kind } => {
            for m in &v.mounts {
                ops.push((depth(&m.path), m, Op::Provided { path: m.path.clone(), kind }));
            }
        }
        VolumeContent::Dir | VolumeContent::Host { .. } => {
            let home = match &v.content {
                VolumeContent::Host { path, kind } => {
                    match kind.as_str() {
                        "DirectoryOrCreate" => ops.push((0, first, Op::Dir(path.clone()))),
                        "FileOrCreate" => {
                            ops.push((0, first, Op::Files { dir: path.clone(), files: vec![], single: true }))
                        }
                        "" => {}
                        k => ops.push((0, first, Op::Exists { path: path.clone(), kind: k })),
                    }
                    path.clone()
                }
                _ => {
                    // The directory: a mount path that is one already (an image's own directory,
                    // whose files the pod expects), else the first mount path, else a private one.
                    let whole: Vec<&Mount> = v.mounts.iter().filter(|m| m.sub_path.is_none()).collect();
                    let home = whole
                        .iter()
                        .find(|m| fs::symlink_metadata(&m.path).is_ok_and(|md| md.is_dir()))
                        .or(whole.first())
                        .map(|m| m.path.clone())
                        .unwrap_or_else(|| private.join("volumes").join(&v.name));
                    ops.push((depth(&home), first, Op::Dir(home.clone())));
                    home
                }
            };
            for m in &v.mounts {
                let target = match &m.sub_path {
                    Some(sub) => {
                        let t = home.join(sub);
                        ops.push((depth(&home) + depth(sub), m, Op::Dir(t.clone())));
                        t
                    }
                    None => home.clone(),
                };
                if m.path != target {
                    ops.push((depth(&m.path), m, Op::Link { path: m.path.clone(), target }));
                }
            }
        }
        VolumeContent::Files(files) => {
            for m in &v.mounts {
                let d = depth(&m.path);
                match &m.sub_path {
                    None => {
                        let all = files.iter().map(|f| (f.path.clone(), f)).collect();
                        ops.push((d, m, Op::Files { dir: m.path.clone(), files: all, single: false }))
                    }
                    Some(sub) => {
                        if let Some(f) = files.iter().find(|f| f.path == *sub) {
                            ops.push((
                                d,
                                m,
                                Op::Files { dir: m.path.clone(), files: vec![(f.path.clone(), f)], single: true },
                            ));
                        } else {
                            // A directory of the volume: the files under it, relative to it.
                            let under = files
                                .iter()
                                .filter_map(|f| f.path.strip_prefix(sub).ok().map(|rel| (rel.to_path_buf(), f)))
                                .collect();
                            ops.push((d, m, Op::Files { dir: m.path.clone(), files: under, single: false }));
                        }
                    }
                }
            }
        }
    }
}

fn perform(op: &Op) -> Result<(), String> {
    match op {
        Op::Dir(path) => make_dir(path),
        Op::Link { path, target } => link(path, target),
        Op::Provided { path, kind } => match fs::metadata(path) {
            Ok(_) => Ok(()),
            Err(e) => Err(format!(
                "{}: {}; podinit cannot attach a {kind} volume: mount the storage there before podinit starts \
                 (docker run -v, say)",
                path.display(),
                reason(&e)
            )),
        },
        Op::Exists { path, kind } => {
            let md = fs::metadata(path).map_err(|e| format!("hostPath {} ({kind}): {}", path.display(), reason(&e)))?;
            let ft = md.file_type();
            let ok = match *kind {
                "Directory" => ft.is_dir(),
                "File" => ft.is_file(),
                "Socket" => ft.is_socket(),
                "CharDevice" => ft.is_char_device(),
                "BlockDevice" => ft.is_block_device(),
                _ => true,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("hostPath {} is not a {kind}", path.display()))
            }
        }
        Op::Files { dir, files, single: true } => match files.first() {
            Some((_, f)) => write_file(dir, f),
            // FileOrCreate: an empty file unless one is there.
            None if dir.exists() => Ok(()),
            None => {
                if let Some(parent) = dir.parent() {
                    fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {}", parent.display(), reason(&e)))?;
                }
                fs::write(dir, b"").map_err(|e| format!("cannot create {}: {}", dir.display(), reason(&e)))
            }
        },
        Op::Files { dir, files, single: false } => {
            make_dir(dir)?;
            for (rel, f) in files {
                write_file(&dir.join(rel), f)?;
            }
            Ok(())
        }
    }
}

/// `path` as a directory: created (0777) when missing, kept when it is one.
fn make_dir(path: &Path) -> Result<(), String> {
    match fs::metadata(path) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) => Err(format!("{} exists and is not a directory", path.display())),
        Err(_) => {
            fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {}", path.display(), reason(&e)))?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o777))
                .map_err(|e| format!("cannot chmod {}: {}", path.display(), reason(&e)))
        }
    }
}

/// `path` → `target`: a new symlink, or one replacing a symlink or an empty directory.
fn link(path: &Path, target: &Path) -> Result<(), String> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot stat {}: {}", path.display(), reason(&e))),
        Ok(md) if md.file_type().is_symlink() => {
            if fs::read_link(path).is_ok_and(|t| t == target) {
                return Ok(());
            }
            fs::remove_file(path).map_err(|e| format!("cannot replace {}: {}", path.display(), reason(&e)))?;
        }
        Ok(md) if md.is_dir() => {
            if fs::remove_dir(path).is_err() {
                return Err(format!(
                    "{} is a directory that is not empty, and it must be the same directory as {}: \
                     empty it, or mount the volume at paths that do not exist yet",
                    path.display(),
                    target.display()
                ));
            }
        }
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a directory, so it cannot be {}",
                path.display(),
                target.display()
            ))
        }
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {}", parent.display(), reason(&e)))?;
    }
    std::os::unix::fs::symlink(target, path).map_err(|e| format!("cannot link {}: {}", path.display(), reason(&e)))
}

/// Writes `f` at `path` whole (a temporary file renamed over it), with its mode.
fn write_file(path: &Path, f: &VolumeFile) -> Result<(), String> {
    if fs::symlink_metadata(path).is_ok_and(|md| md.is_dir()) {
        return Err(format!("{} is a directory, where the file {} goes", path.display(), f.path.display()));
    }
    let parent = path.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {}", parent.display(), reason(&e)))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".{name}.podinit-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        fs::write(&tmp, &f.data)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(f.mode))?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write {}: {}", path.display(), reason(&e))
    })
}

/// An io error without Rust's " (os error N)".
fn reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(container: &str, path: &Path, sub: Option<&str>) -> Mount {
        Mount {
            container: container.into(),
            path: path.to_path_buf(),
            sub_path: sub.map(PathBuf::from),
            origin: "pod.yaml:1:1: x".into(),
        }
    }

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("podinit-volumes-{}-{}", std::process::id(), rand()));
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn rand() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(0);
        h.finish()
    }

    #[test]
    fn an_empty_dir_is_one_directory_for_every_mount_path() {
        let t = tmp();
        let (work, html) = (t.join("work-dir"), t.join("usr/share/nginx/html"));
        let v = Volume {
            name: "workdir".into(),
            content: VolumeContent::Dir,
            mounts: vec![
                mount("install", &work, None),
                mount("nginx", &html, None),
                mount("x", &t.join("sub"), Some("a/b")),
            ],
        };
        materialize(std::slice::from_ref(&v), &t).unwrap();
        fs::write(work.join("index.html"), "hi").unwrap();
        assert_eq!(fs::read_to_string(html.join("index.html")).unwrap(), "hi");
        assert!(work.join("a/b").is_dir() && fs::read_link(t.join("sub")).unwrap() == work.join("a/b"));
        assert_eq!(fs::metadata(&work).unwrap().permissions().mode() & 0o777, 0o777);
        // Again (a restart of podinit): nothing to change, no error.
        materialize(std::slice::from_ref(&v), &t).unwrap();
        // A mount path that already is a directory with files becomes the volume's home.
        let t2 = tmp();
        let (a, b) = (t2.join("a"), t2.join("b"));
        fs::create_dir_all(&b).unwrap();
        fs::write(b.join("keep"), "x").unwrap();
        let v2 = Volume {
            name: "v".into(),
            content: VolumeContent::Dir,
            mounts: vec![mount("1", &a, None), mount("2", &b, None)],
        };
        materialize(&[v2], &t2).unwrap();
        assert_eq!(fs::read_link(&a).unwrap(), b);
        // Two such directories cannot be one: a clear error naming the path.
        fs::remove_file(&a).unwrap();
        fs::create_dir_all(&a).unwrap();
        fs::write(a.join("other"), "y").unwrap();
        let v3 = Volume {
            name: "v".into(),
            content: VolumeContent::Dir,
            mounts: vec![mount("1", &a, None), mount("2", &b, None)],
        };
        let e = materialize(&[v3], &t2).unwrap_err();
        assert!(e.len() == 1 && e[0].contains("is a directory that is not empty"), "{e:?}");
        let _ = fs::remove_dir_all(&t);
        let _ = fs::remove_dir_all(&t2);
    }

    #[test]
    fn files_are_written_with_their_mode_and_sub_path() {
        let t = tmp();
        let files = vec![
            VolumeFile { path: "game.properties".into(), data: b"lives=3".to_vec(), mode: 0o644, downward: false },
            VolumeFile { path: "keys/secret".into(), data: b"s3cr3t".to_vec(), mode: 0o400, downward: false },
        ];
        let v = Volume {
            name: "cfg".into(),
            content: VolumeContent::Files(files),
            mounts: vec![
                mount("a", &t.join("etc/config"), None),
                mount("b", &t.join("etc/one.properties"), Some("game.properties")),
                mount("c", &t.join("keys"), Some("keys")),
            ],
        };
        materialize(&[v], &t).unwrap();
        assert_eq!(fs::read_to_string(t.join("etc/config/game.properties")).unwrap(), "lives=3");
        let md = fs::metadata(t.join("etc/config/keys/secret")).unwrap();
        assert_eq!(md.permissions().mode() & 0o777, 0o400);
        assert_eq!(fs::read_to_string(t.join("etc/one.properties")).unwrap(), "lives=3");
        assert_eq!(fs::read_to_string(t.join("keys/secret")).unwrap(), "s3cr3t");
        let _ = fs::remove_dir_all(&t);
    }
}
