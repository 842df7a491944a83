//! `--images FILE`, `--configmaps DIR`, `--secrets DIR`: what a Kubernetes
//! manifest does not hold but its pod needs (config::k8s::Inputs). Every
//! subcommand that reads a pod file or manifest takes them, anywhere after the
//! subcommand and before `--`; they are taken out before the subcommand's own
//! flags are parsed, so each subcommand's parser stays as it is.

use std::ffi::OsString;

use super::CliError;
use crate::config::k8s::Inputs;

/// The subcommands that read a pod file or manifest.
const READERS: &[&str] =
    &["run", "check", "status", "health", "wait", "reset", "export", "import", "restart", "stop", "start", "kill"];

/// `args` (without `argv[0]`) without the input flags, and the inputs they gave.
pub(crate) fn extract(args: Vec<OsString>) -> Result<(Vec<OsString>, Inputs), CliError> {
    let mut inputs = Inputs::default();
    if !args.first().and_then(|a| a.to_str()).is_some_and(|a| READERS.contains(&a)) {
        return Ok((args, inputs));
    }
    // These only find the running pod's state directory: what it runs does not matter.
    inputs.lenient = args
        .first()
        .and_then(|a| a.to_str())
        .is_some_and(|a| matches!(a, "status" | "health" | "wait" | "reset" | "restart" | "stop" | "start" | "kill"));
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if s == "--" {
            out.push(arg);
            out.extend(it);
            break;
        }
        let (flag, inline) = match s.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (s, None),
        };
        if !matches!(flag, "--images" | "--configmaps" | "--secrets") {
            out.push(arg);
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .and_then(|v| v.into_string().ok())
                .ok_or_else(|| CliError::new(format!("{flag} needs a value (a UTF-8 path)")))?,
        };
        if value.is_empty() {
            return Err(CliError::new(format!("{flag}: empty path")));
        }
        match flag {
            "--images" => inputs.images.push(value),
            "--configmaps" => inputs.configmaps.push(value.into()),
            _ => inputs.secrets.push(value.into()),
        }
    }
    Ok((out, inputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn input_flags_are_taken_anywhere_after_a_reading_subcommand() {
        let (rest, inputs) =
            extract(os(&["run", "--images", "a.json", "-c", "p.yaml", "--images=nginx=b.json", "--secrets", "s"]))
                .unwrap();
        assert_eq!(rest, os(&["run", "-c", "p.yaml"]));
        assert_eq!(inputs.images, ["a.json", "nginx=b.json"]);
        assert_eq!(inputs.secrets, [std::path::PathBuf::from("s")]);
        // Init mode's command is never touched, nor what follows `--`.
        let (rest, inputs) = extract(os(&["--", "prog", "--images", "x"])).unwrap();
        assert_eq!((rest.len(), inputs.images.len()), (4, 0));
        let (rest, _) = extract(os(&["check", "--", "--images", "x"])).unwrap();
        assert_eq!(rest.len(), 4);
        assert!(extract(os(&["check", "--configmaps"])).unwrap_err().message.contains("--configmaps needs a value"));
        assert!(extract(os(&["status"])).unwrap().1.lenient && !extract(os(&["run"])).unwrap().1.lenient);
    }
}
