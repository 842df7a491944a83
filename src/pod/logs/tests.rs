use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};

use super::*;

/// The default `log_buffer` (config::LogSettings).
const BUFFER: usize = 64 * 1024;

/// A Logs of entries `names` whose pass-through goes to a pipe we read back.
struct Harness {
    logs: Logs,
    out: OwnedFd,
    _out_w: OwnedFd,
}

impl Harness {
    fn new(cfg: Config, names: &[&str]) -> Harness {
        let mut logs = Logs::new(cfg, names.iter().map(|n| n.to_string()));
        let (out, out_w) = nix::unistd::pipe2(OFlag::O_NONBLOCK).unwrap();
        logs.pass_through_to(out_w.as_raw_fd(), out_w.as_raw_fd());
        Harness { logs, out, _out_w: out_w }
    }

    /// Reads every pipe that has data, as the event loop would.
    fn pump(&mut self) {
        let mut fds = Vec::new();
        self.logs.fds(&mut fds);
        for p in fds {
            let mut q = libc::pollfd { fd: p.fd, events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd, zero timeout.
            if unsafe { libc::poll(&mut q, 1, 0) } > 0 {
                self.logs.ready(p.fd, None);
            }
        }
    }

    fn passed(&mut self) -> String {
        let mut s = Vec::new();
        let _ = std::fs::File::from(self.out.try_clone().unwrap()).read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    }

    fn query(&mut self, q: Query) -> Result<String, String> {
        self.logs.query(&q, time::wall_nanos()).map(|(b, _)| String::from_utf8_lossy(&b).into_owned())
    }
}

fn cfg(buffer: usize) -> Config {
    Config { buffer, pod: "web".into(), ..Config::default() }
}

fn named(n: &str) -> Query {
    Query { name: Some(n.into()), ..Query::default() }
}

#[test]
fn output_is_kept_and_passed_through_unchanged() {
    let mut h = Harness::new(cfg(BUFFER), &["app"]);
    let (o, e) = h.logs.start_run(UnitId::new(0)).unwrap();
    nix::unistd::write(&o, b"one\ntw").unwrap();
    nix::unistd::write(&e, b"oops\r\n").unwrap();
    h.pump();
    nix::unistd::write(&o, b"o\nno newline").unwrap();
    drop((o, e));
    h.pump();
    h.pump();
    let passed = h.passed();
    assert!(passed.starts_with("one\n"), "{passed:?}");
    assert!(passed.contains("oops\r\n") && passed.contains("two\nno newline"), "{passed:?}");
    // Kept: \r of \r\n dropped (containerd), the unterminated tail a partial record.
    let mut got: Vec<String> = h.logs.entries[UnitId::new(0)]
        .current
        .records()
        .map(|r| format!("{}{}", String::from_utf8_lossy(r.text), if r.partial { "|P" } else { "" }))
        .collect();
    got.sort();
    assert_eq!(got, ["no newline|P", "one", "oops", "two"]);
    let text = h.query(named("app")).unwrap();
    assert!(text.contains("two\n") && text.ends_with("no newline"), "{text:?}");
}

#[test]
fn prefix_and_timestamps_on_the_pass_through() {
    let mut h = Harness::new(Config { prefix: true, timestamps: true, ..cfg(0) }, &["app"]);
    let (o, _e) = h.logs.start_run(UnitId::new(0)).unwrap();
    nix::unistd::write(&o, b"hello\n").unwrap();
    h.pump();
    let s = h.passed();
    assert!(s.starts_with("[app] 20") && s.ends_with("Z hello\n"), "{s:?}");
    assert!(time::parse_rfc3339(&s.as_bytes()[6..s.len() - 7]).is_some(), "{s:?}");
    // Nothing kept with log_buffer = 0, and the query says why.
    assert!(h.query(named("app")).unwrap_err().contains("log_buffer = 0"));
}

#[test]
fn long_lines_are_cut_as_containerd_cuts_them() {
    let mut h = Harness::new(cfg(BUFFER), &["app"]);
    let (o, _e) = h.logs.start_run(UnitId::new(0)).unwrap();
    let mut long = vec![b'x'; 2 * MAX_LINE + 10];
    long.push(b'\n');
    nix::unistd::write(&o, &long).unwrap();
    h.pump();
    let recs: Vec<(usize, bool)> =
        h.logs.entries[UnitId::new(0)].current.records().map(|r| (r.text.len(), r.partial)).collect();
    assert_eq!(recs, [(MAX_LINE, true), (MAX_LINE, true), (10, false)]);
    // The pass-through and the query give the line back whole.
    assert_eq!(h.passed().len(), long.len());
    assert_eq!(h.query(named("app")).unwrap().as_bytes(), &long[..]);
}

#[test]
fn previous_run_tail_since_and_prefix() {
    let mut h = Harness::new(cfg(BUFFER), &["init", "app"]);
    assert!(h
        .query(Query { previous: true, ..named("app") })
        .unwrap_err()
        .contains("previous terminated container \"app\" in pod \"web\" not found"));
    assert!(h.query(named("nope")).unwrap_err().contains("not valid for pod web"));
    let (o, e) = h.logs.start_run(UnitId::new(1)).unwrap();
    nix::unistd::write(&o, b"first run 1\nfirst run 2\n").unwrap();
    drop((o, e));
    h.pump();
    h.pump();
    let (o, _e) = h.logs.start_run(UnitId::new(1)).unwrap();
    nix::unistd::write(&o, b"second run\n").unwrap();
    h.pump();
    assert_eq!(h.query(named("app")).unwrap(), "second run\n");
    assert_eq!(h.query(Query { previous: true, ..named("app") }).unwrap(), "first run 1\nfirst run 2\n");
    assert_eq!(h.query(Query { previous: true, tail: Some(1), ..named("app") }).unwrap(), "first run 2\n");
    assert_eq!(h.query(Query { tail: Some(0), ..named("app") }).unwrap(), "");
    assert_eq!(h.query(Query { prefix: true, all: true, ..Query::default() }).unwrap(), "[pod/web/app] second run\n");
    // --since: a record older than the window is left out.
    let now = time::wall_nanos();
    let (b, follow) = h.logs.query(&Query { since_ms: Some(60_000), ..named("app") }, now + 61_000_000_000).unwrap();
    assert!(b.is_empty());
    assert!(!follow);
    let ts = h.query(Query { timestamps: true, ..named("app") }).unwrap();
    assert!(ts.ends_with("Z second run\n") && time::parse_rfc3339(&ts.as_bytes()[..30]).is_some(), "{ts:?}");
    // -f on a live run keeps the connection; on an ended one it does not.
    assert!(h.logs.query(&Query { follow: true, ..named("app") }, now).unwrap().1);
}

#[test]
fn the_buffer_is_bounded() {
    let mut h = Harness::new(cfg(4096), &["app"]);
    let (o, _e) = h.logs.start_run(UnitId::new(0)).unwrap();
    for i in 0..1000 {
        nix::unistd::write(&o, format!("line {i}\n").as_bytes()).unwrap();
        if i % 100 == 0 {
            h.pump();
            h.passed();
        }
    }
    h.pump();
    assert!(h.logs.entries[UnitId::new(0)].current.len() <= 4096);
    let text = h.query(named("app")).unwrap();
    assert!(text.ends_with("line 999\n") && !text.contains("line 1\n"), "{text:?}");
}

#[test]
fn log_dir_gets_cri_lines_per_run() {
    let tmp = crate::testutil::TempDir::new("logs-dir");
    let d = dir::LogDir { root: tmp.0.join("default_web_u1"), max_size: 10 << 20, max_files: 5 };
    let mut h = Harness::new(Config { dir: Some(d.clone()), ..cfg(BUFFER) }, &["app"]);
    let (o, e) = h.logs.start_run(UnitId::new(0)).unwrap();
    nix::unistd::write(&o, b"to stdout\n").unwrap();
    nix::unistd::write(&e, b"to stderr").unwrap();
    drop((o, e));
    h.pump();
    h.pump();
    let text = std::fs::read_to_string(dir::run_path(&d.root, "app", 0)).unwrap();
    let lines: Vec<_> = text.lines().map(|l| dir::parse_cri(l.as_bytes()).unwrap()).collect();
    let mut got: Vec<(Stream, bool, &[u8])> = lines.iter().map(|l| (l.stream, l.partial, l.text)).collect();
    got.sort_by_key(|g| g.0 == Stream::Stderr);
    assert_eq!(got, [(Stream::Stdout, false, &b"to stdout"[..]), (Stream::Stderr, true, &b"to stderr"[..])]);
    let _ = h.logs.start_run(UnitId::new(0)).unwrap();
    assert!(dir::run_path(&d.root, "app", 1).exists());
}
