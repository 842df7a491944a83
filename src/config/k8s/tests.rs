//! Manifests in (mapping, defaults, every error) and out (export → read and
//! import → pod file give the same pod).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::config::{self, Entry, Kind, Pod, Probe, ProbeAction, RestartPolicy, WaitFor, WaitTarget};

fn pod(text: &str) -> Pod {
    match parse(Path::new("pod.yaml"), text) {
        Ok(p) => p,
        Err(errors) => panic!("unexpected errors: {errors:#?}\n{text}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse(Path::new("pod.yaml"), text) {
        Ok(p) => panic!("parsed, expected errors: {p:#?}\n{text}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// `p` without the HOSTNAME every manifest's entry gets (a pod file's do not) and without
/// the emptyDir volumes export writes for env files' directories (a pod file has none), to
/// compare a pod read from a manifest with the pod file it came from.
pub(crate) fn no_hostname(mut p: Pod) -> Pod {
    p.volumes.retain(|v| v.content != crate::config::VolumeContent::Dir);
    for e in p.init.iter_mut().chain(p.apps.iter_mut()) {
        e.base_env.retain(|kv| *kv != ("HOSTNAME".to_string(), "$(POD_NAME)".to_string()));
    }
    p
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const EVERY_FIELD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: demo
  uid: 1234-abcd
  labels:
    app: web
  annotations:
    team: a$(b)
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 12
  activeDeadlineSeconds: 3600
  nodeName: node-1
  serviceAccountName: robot
  securityContext:
    runAsUser: 1000
    runAsGroup: 2000
  volumes:
  - name: data
    emptyDir: {}
  initContainers:
  - name: setup
    image: busybox
    command: [sh, -c]
    args: ["echo $(GREETING)"]
    env:
    - name: GREETING
      value: hello
    - name: EMPTY
    workingDir: /tmp
    securityContext:
      runAsUser: 0
  - name: shipper
    image: busybox
    restartPolicy: Always
    command: [sleep, "3600"]
    startupProbe:
      tcpSocket:
        port: 9000
  containers:
  - name: app
    image: nginx:1.27
    command: ["nginx"]
    ports:
    - name: http
      containerPort: 8080
    env:
    - name: MY_POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: MY_NS
      valueFrom: {fieldRef: {fieldPath: metadata.namespace, apiVersion: v1}}
    - name: UID
      valueFrom: {fieldRef: {fieldPath: metadata.uid}}
    - name: APP
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
    - name: TEAM
      valueFrom: {fieldRef: {fieldPath: "metadata.annotations['team']"}}
    - name: MISSING
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['nope']"}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: SA
      valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}
    - name: IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    securityContext:
      runAsGroup: 3000
      readOnlyRootFilesystem: true
    readinessProbe:
      httpGet:
        path: healthz
        port: http
        scheme: HTTP
      initialDelaySeconds: 2
      periodSeconds: 5
      timeoutSeconds: 3
      successThreshold: 2
      failureThreshold: 4
    livenessProbe:
      exec:
        command: [test, -f, /tmp/ok]
    lifecycle:
      postStart:
        httpGet:
          host: "::1"
          port: 80
          path: /started
      preStop:
        sleep:
          seconds: 5
      stopSignal: SIGQUIT
"#;

#[test]
fn every_supported_field_maps_to_the_pod() {
    let p = pod(EVERY_FIELD);
    let setup = Entry {
        name: "setup".into(),
        command: strings(&["sh", "-c", "echo $(GREETING)"]),
        env: vec![("GREETING".into(), "hello".into()), ("EMPTY".into(), String::new())],
        working_dir: Some("/tmp".into()),
        // Container level wins, field by field: runAsUser 0 with the pod's runAsGroup.
        user: Some("0:2000".into()),
        ..Entry::defaults(Kind::Init)
    };
    let shipper = Entry {
        name: "shipper".into(),
        command: strings(&["sleep", "3600"]),
        user: Some("1000:2000".into()),
        startup_probe: Some(Probe::new(ProbeAction::Tcp("127.0.0.1:9000".into()))),
        ..Entry::defaults(Kind::Sidecar)
    };
    let app = Entry {
        name: "app".into(),
        command: strings(&["nginx"]),
        env: [
            ("MY_POD", "$(POD_NAME)"),
            ("MY_NS", "$(POD_NAMESPACE)"),
            ("UID", "1234-abcd"),
            ("APP", "web"),
            // Kubernetes does not expand what the downward API gives: escaped.
            ("TEAM", "a$$(b)"),
            ("MISSING", ""),
            ("NODE", "node-1"),
            ("SA", "robot"),
            // Only the running pod knows its IP: a reference, resolved when it starts.
            ("IP", "$(status.podIP)"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        user: Some("1000:3000".into()),
        stop_signal: libc::SIGQUIT,
        readiness_probe: Some(Probe {
            initial_delay: Duration::from_secs(2),
            period: Duration::from_secs(5),
            timeout: Duration::from_secs(3),
            success_threshold: 2,
            failure_threshold: 4,
            ..Probe::new(ProbeAction::Http("http://127.0.0.1:8080/healthz".into()))
        }),
        liveness_probe: Some(Probe::new(ProbeAction::Exec(strings(&["test", "-f", "/tmp/ok"])))),
        post_start: Some(strings(&[HOOK_EXE, HOOK_HTTP_GET, "http://[::1]:80/started"])),
        pre_stop: Some(strings(&[HOOK_EXE, HOOK_SLEEP, "5"])),
        ..Entry::defaults(Kind::App)
    };
    let expected = Pod {
        path: "pod.yaml".into(),
        name: "web".into(),
        namespace: "demo".into(),
        restart_policy: RestartPolicy::OnFailure,
        termination_grace_period: Duration::from_secs(12),
        active_deadline: Some(Duration::from_secs(3600)),
        marker_dir: "/var/lib/podinit".into(),
        state_dir: "/run/podinit".into(),
        log_prefix: false,
        logs: Default::default(),
        env: vec![],
        env_files: vec![],
        backoff: crate::config::Backoff::default(),
        init: vec![setup, shipper],
        apps: vec![app],
        volumes: Vec::new(),
        source: Default::default(),
    };
    // The kubelet's HOSTNAME, under everything else.
    assert!(p.apps[0].base_env == [("HOSTNAME".to_string(), "$(POD_NAME)".to_string())], "{:?}", p.apps[0].base_env);
    assert_eq!(no_hostname(p), expected);
}

#[test]
fn kubernetes_defaults() {
    let p = pod(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: a\n    command: [a]\n    \
                 readinessProbe:\n      tcpSocket: {port: 1}\n",
    );
    assert_eq!(p.namespace, crate::config::model::env_or("POD_NAMESPACE", "default"));
    assert_eq!(p.restart_policy, RestartPolicy::Always);
    assert_eq!(p.termination_grace_period, Duration::from_secs(30));
    assert_eq!(p.active_deadline, None);
    assert_eq!(p.apps[0].readiness_probe, Some(Probe::new(ProbeAction::Tcp("127.0.0.1:1".into()))));
    assert_eq!(p.apps[0].user, None);
    assert!(p.init.is_empty());
}

fn app_of(kind: &str, api: &str, wrap: &str) -> String {
    let template =
        "metadata:\n  labels: {app: w}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: a\n    command: [a]\n";
    let indented: String = template.lines().map(|l| format!("{wrap}{l}\n")).collect();
    format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: wl\n  namespace: ns\nspec:\n  replicas: 3\n{indented}")
}

#[test]
fn workloads_give_their_pod_template() {
    for (kind, api) in
        [("Deployment", "apps/v1"), ("StatefulSet", "apps/v1"), ("DaemonSet", "apps/v1"), ("Job", "batch/v1")]
    {
        let text = app_of(kind, api, "    ").replace("  replicas: 3\n", "  replicas: 3\n  template:\n");
        let p = pod(&text);
        assert_eq!((p.name.as_str(), p.namespace.as_str()), ("wl", "ns"), "{kind}");
        assert_eq!(p.restart_policy, RestartPolicy::Never, "{kind}");
        assert_eq!(p.apps[0].command, ["a"], "{kind}");
    }
    let cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: \"0 3 * * *\"\n  \
                jobTemplate:\n    spec:\n      backoffLimit: 2\n      template:\n        metadata:\n          name: tmpl\n        \
                spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: job\n            command: [date]\n";
    let p = pod(cron);
    assert_eq!(p.name, "tmpl", "the template's own name wins");
    assert_eq!(p.apps[0].name, "job");
    assert_eq!(p.restart_policy, RestartPolicy::OnFailure);
}

#[test]
fn multi_document_files_list_kinds_and_json() {
    let multi = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n---\n\
                 apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n---\n\
                 apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    command: [a]\n---\n";
    assert_eq!(pod(multi).name, "p");
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: listed\n  spec:\n    \
                containers:\n    - name: a\n      command: [a]\n";
    assert_eq!(pod(list).name, "listed");
    let json = r#"{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "j", "annotations": {"podinit.dev/once.i": "false"}},
  "spec": {
    "initContainers": [{"name": "i", "command": ["true"]}],
    "containers": [{"name": "a", "command": ["sleep", "1"], "livenessProbe": {"tcpSocket": {"port": 80}}}]
  }
}"#;
    let p = pod(json);
    assert_eq!((p.name.as_str(), p.init[0].once), ("j", false));
    // JSON errors have positions too: the YAML reader reads JSON.
    let bad = json.replace("\"port\": 80", "\"port\": \"80\"");
    let e = parse(Path::new("pod.json"), &bad).unwrap_err();
    assert_eq!((e[0].line, e[0].col), (Some(7), Some(101)), "{e:?}");
    assert!(e[0].message.starts_with("spec.containers[0].livenessProbe.tcpSocket.port: no port named '80'"), "{e:?}");
}

#[test]
fn podinit_annotations_carry_what_kubernetes_cannot_say() {
    let text = r#"apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    podinit.dev/marker-dir: /m
    podinit.dev/state-dir: /s
    podinit.dev/log-prefix: "true"
    podinit.dev/pod-env: LANG
    podinit.dev/termination-grace-period: 1500ms
    podinit.dev/active-deadline: 90s
    podinit.dev/once.seed: "false"
    podinit.dev/timeout.seed: 1m30s
    podinit.dev/stop-signal.seed: SIGINT
    podinit.dev/wait-for.wait-db: '{"tcp": "db:5432", "timeout": "2m", "period": "250ms"}'
    podinit.dev/essential.app: "true"
    podinit.dev/user.app: www-data
    podinit.dev/readiness-probe.app: '{"period": "500ms", "http": "http://localhost/ready"}'
spec:
  terminationGracePeriodSeconds: 2
  activeDeadlineSeconds: 90
  initContainers:
  - name: seed
    command: [seed]
    env: [{name: LANG, value: C.UTF-8}, {name: X, value: "1"}]
  - name: wait-db
    command: [sh, -c, "until nc -z db 5432; do sleep 1; done"]
    env: [{name: LANG, value: C.UTF-8}]
  containers:
  - name: app
    command: [app]
    env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}, {name: LANG, value: C.UTF-8}, {name: CONTAINER_NAME, value: app}]
    readinessProbe:
      httpGet: {port: 80, path: /ready}
      periodSeconds: 1
"#;
    let p = pod(text);
    assert_eq!((p.marker_dir, p.state_dir, p.log_prefix), (PathBuf::from("/m"), PathBuf::from("/s"), true));
    assert_eq!(p.env, vec![("LANG".to_string(), "C.UTF-8".to_string())]);
    assert_eq!(p.termination_grace_period, Duration::from_millis(1500));
    assert_eq!(p.active_deadline, Some(Duration::from_secs(90)));
    let seed = &p.init[0];
    assert_eq!((seed.once, seed.timeout, seed.stop_signal), (false, Some(Duration::from_secs(90)), libc::SIGINT));
    assert_eq!(seed.env, vec![("X".to_string(), "1".to_string())]);
    let wait = &p.init[1];
    assert!(wait.command.is_empty(), "a waiter runs no command: {:?}", wait.command);
    assert_eq!(
        wait.wait_for,
        Some(WaitFor {
            target: WaitTarget::Tcp("db:5432".into()),
            timeout: Some(Duration::from_secs(120)),
            period: Duration::from_millis(250)
        })
    );
    let app = &p.apps[0];
    assert!(app.env.is_empty(), "POD_NAME, CONTAINER_NAME and the pod env are not the app's own: {:?}", app.env);
    assert_eq!((app.essential, app.user.as_deref()), (true, Some("www-data")));
    let r = app.readiness_probe.as_ref().unwrap();
    assert_eq!(
        (r.period, &r.action),
        (Duration::from_millis(500), &ProbeAction::Http("http://localhost/ready".into()))
    );
}

/// (manifest, "LINE:COL", a phrase of the message at that position)
#[rustfmt::skip]
const BAD: &[(&str, &str, &str)] = &[
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n", "1:1", "no pod spec: podinit runs a Pod, Deployment,"),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n", "1:1", "found Service 's' (line 1)"),
    (TWO_PODS, "9:1", "2 documents have a pod spec (Pod 'a' (line 1), Deployment 'b' (line 9)): podinit runs one pod"),
    ("apiVersion: apps/v1\nkind: Pod\nspec:\n  containers: [{name: a, command: [a]}]\n", "1:13", "apiVersion: a Pod is v1, found 'apps/v1'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    args: [x]\n", "5:5", "spec.containers[0]: args without command and no image"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n", "5:5", "spec.containers[0]: no command and no image"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    envFrom:\n    - configMapRef: {name: c}\n", "8:21", "spec.containers[0].envFrom[0].configMapRef: ConfigMap 'c' not found: add it to the manifest file"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    livenessProbe:\n      grpc: {port: 0}\n", "8:20", "spec.containers[0].livenessProbe.grpc.port: must be from 1 to 65535"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    livenessProbe:\n      periodSeconds: 3\n", "8:7", "spec.containers[0].livenessProbe: needs one of exec, httpGet, tcpSocket or grpc"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    livenessProbe:\n      udp: {port: 1}\n", "8:7", "spec.containers[0].livenessProbe.udp: unknown field"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    comand: [a]\n", "6:5", "spec.containers[0].comand: unknown field, did you mean 'command'?"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: a b\n", "6:14", "spec.containers[0].command: must be a list, found a string"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [sleep, 5]\n", "6:22", "spec.containers[0].command[1]: must be a string, found an integer (5) (quote it)"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    env:\n    - name: X\n      value: yes\n", "9:14", "spec.containers[0].env[0].value: must be a string, found a boolean (true) (quote it)"),
    ("kind: Pod\napiVersion: v1\nspec:\n  terminationGracePeriodSeconds: \"30\"\n  containers:\n  - name: a\n    command: [a]\n", "4:34", "spec.terminationGracePeriodSeconds: must be a whole number, found a string"),
    ("kind: Pod\napiVersion: v1\nspec:\n  initContainers:\n  - name: a\n    command: [a]\n  containers:\n  - name: a\n    command: [b]\n", "8:5", "spec.containers[0].name: duplicate container name 'a' (first at spec.initContainers[0], line 5)"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    lifecycle:\n      stopSignal: SIGFOO\n", "8:19", "spec.containers[0].lifecycle.stopSignal: unknown signal 'SIGFOO'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  restartPolicy: always\n  containers:\n  - name: a\n    command: [a]\n", "4:18", "spec.restartPolicy: 'always' is not Always, OnFailure or Never"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    readinessProbe:\n      httpGet: {port: 80, scheme: HTTPS}\n", "8:35", "scheme: HTTPS is not supported"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    readinessProbe:\n      httpGet: {port: 80, httpHeaders: [{name: a b, value: x}]}\n", "8:48", "httpGet.httpHeaders[0].name: 'a b' is not an HTTP header name"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    readinessProbe:\n      httpGet: {port: 80, httpHeaders: [{name: X}]}\n", "8:41", "httpGet.httpHeaders[0]: needs 'name' and 'value'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    readinessProbe:\n      grpc: {port: http}\n", "8:20", "grpc.port: "),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    lifecycle:\n      postStart:\n        httpGet: {port: 80, httpHeaders: [{name: X, value: z}]}\n", "9:18", "httpHeaders: not supported in a hook"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    env:\n    - name: S\n      valueFrom:\n        secretKeyRef: {name: s, key: k}\n", "10:23", "env[0].valueFrom.secretKeyRef: Secret 's' not found"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    env:\n    - name: S\n      valueFrom:\n        fieldRef: {fieldPath: status.phase}\n", "10:31", "'status.phase' is not supported (podinit knows metadata.name"),
    ("kind: Pod\napiVersion: v1\nspec:\n  initContainers:\n  - name: i\n    command: [a]\n    readinessProbe:\n      exec: {command: [x]}\n  containers:\n  - name: a\n    command: [a]\n", "7:5", "spec.initContainers[0].readinessProbe: init containers have no probes"),
    ("kind: Pod\napiVersion: v1\nspec:\n  initContainers:\n  - name: i\n    command: [a]\n    restartPolicy: onFailure\n  containers:\n  - name: a\n    command: [a]\n", "7:20", "'onFailure' is not Always, OnFailure or Never"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    restartPolicyRules: [{action: Restart, exitCodes: {operator: In, values: [1]}}]\n", "7:5", "restartPolicyRules: needs the container's own restartPolicy"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    restartPolicy: Never\n    restartPolicyRules: [{action: Complete, exitCodes: {operator: In, values: [1]}}]\n", "8:35", "restartPolicyRules[0].action: 'Complete' is not supported"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    restartPolicy: Never\n    restartPolicyRules: [{action: Restart, exitCodes: {operator: Is, values: [1]}}]\n", "8:66", "exitCodes.operator: 'Is' is not In or NotIn"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    restartPolicy: Never\n    restartPolicyRules: [{action: Restart, exitCodes: {operator: In, values: [256]}}]\n", "8:79", "values[0]: must be from 0 to 255, found 256"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    env:\n    - name: C\n      valueFrom:\n        fileKeyRef: {volumeName: v, path: a.env, key: C}\n", "10:34", "fileKeyRef.volumeName: this container mounts no volume 'v'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    volumeMounts: [{name: v, mountPath: /v}]\n    env:\n    - name: C\n      valueFrom:\n        fileKeyRef: {volumeName: v, path: ../a.env, key: C}\n  volumes: [{name: v, emptyDir: {}}]\n", "11:43", "fileKeyRef.path: must be relative to the volume"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, annotations: {podinit.dev/backoff: \"{\\\"initial\\\": \\\"1m\\\", \\\"max\\\": \\\"1s\\\"}\"}}\nspec:\n  containers:\n  - name: a\n    command: [a]\n", "3:56", "max (1s) is shorter than initial (60s)"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, annotations: {podinit.dev/notify.i: \"true\"}}\nspec:\n  initContainers:\n  - name: i\n    command: [a]\n  containers:\n  - name: a\n    command: [a]\n", "3:57", "'i' is an init step, and notify does not apply to it"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    livenessProbe:\n      exec: {command: [x]}\n      successThreshold: 2\n", "9:25", "must be 1 for a livenessProbe"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    readinessProbe:\n      tcpSocket: {port: 70000}\n", "8:25", "port: must be from 1 to 65535, found 70000"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    lifecycle:\n      preStop:\n        tcpSocket: {port: 1}\n", "9:9", "preStop.tcpSocket: not supported"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    securityContext:\n      runAsGroup: 5\n", "8:19", "runAsGroup without runAsUser"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: web/1\n    command: [a]\n", "5:11", "spec.containers[0].name: bad name 'web/1'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  ephemeralContainers: []\n  containers:\n  - name: a\n    command: [a]\n", "4:3", "spec.ephemeralContainers: not supported"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers: []\n", "4:15", "spec.containers: empty: a pod needs at least one container"),
    ("kind: Pod\napiVersion: v1\nmetadata:\n  name: p\n", "1:1", "missing: a Pod needs a spec"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, annotations: {podinit.dev/onse.a: \"false\"}}\nspec:\n  containers:\n  - name: a\n    command: [a]\n", "3:35", "unknown podinit annotation, did you mean 'podinit.dev/once'?"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, annotations: {podinit.dev/once.a: \"false\"}}\nspec:\n  containers:\n  - name: a\n    command: [a]\n", "3:55", "'a' is an app, and once does not apply to it"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, annotations: {podinit.dev/once.b: \"no\"}}\nspec:\n  containers:\n  - name: a\n    command: [a]\n", "3:55", "no container named 'b'"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, annotations: {podinit.dev/timeout.i: \"10x\"}}\nspec:\n  initContainers:\n  - name: i\n    command: [a]\n  containers:\n  - name: a\n    command: [a]\n", "3:58", "bad duration '10x'"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, annotations: {podinit.dev/wait-for.i: \"{\\\"dns\\\": 1}\"}}\nspec:\n  initContainers:\n  - name: i\n  containers:\n  - name: a\n    command: [a]\n", "3:59", "unknown key 'dns'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n  - name: b\n    command: [b]\n    image: x\n    image: y\n", "10:5", "invalid YAML: duplicate key 'image' (first on line 9)"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n   command: [a]\n", "6:4", "invalid YAML: while parsing a block mapping, did not find expected key"),
    ("{\"kind\": \"Pod\", \"apiVersion\": \"v1\",\n \"spec\": {\"containers\": [}\n", "2:26", "invalid JSON: while parsing a node"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    readinessProbe:\n      httpGet: {port: http}\n", "8:23", "no port named 'http' in this container's ports"),
    ("kind: Pod\napiVersion: v1\nspec:\n  os: {name: windows}\n  containers:\n  - name: a\n    command: [a]\n", "4:14", "podinit runs on Linux, found 'windows'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  activeDeadlineSeconds: 0\n  containers:\n  - name: a\n    command: [a]\n", "4:26", "must be from 1 to"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 2\n", "6:3", "spec.template: missing: a Deployment needs its pod template here"),
    ("- a\n- b\n", "1:1", "must be a Kubernetes object"),
    // The model's rules (validate.rs), each at the field it faults. Before validate(), the
    // manifest reader caught these only by printing the pod as TOML and reading that back.
    ("kind: Pod\napiVersion: v1\nmetadata: {name: My Pod}\nspec:\n  containers:\n  - name: a\n    command: [a]\n", "3:18", "metadata.name: bad name 'My Pod': use lowercase letters"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, namespace: a.b}\nspec:\n  containers:\n  - name: a\n    command: [a]\n", "3:32", "metadata.namespace: bad namespace 'a.b'"),
    ("kind: Pod\napiVersion: v1\nmetadata: {name: p, annotations: {podinit.dev/wait-for.i: \"{\\\"tcp\\\": \\\"db\\\"}\"}}\nspec:\n  initContainers:\n  - name: i\n  containers:\n  - name: a\n    command: [a]\n", "3:59", "metadata.annotations['podinit.dev/wait-for.i']: bad tcp address 'db'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  initContainers:\n  - name: s\n    command: [a]\n    restartPolicy: Always\n    restartPolicyRules: [{action: Restart, exitCodes: {operator: In, values: [1]}}]\n  containers:\n  - name: a\n    command: [a]\n", "8:5", "spec.initContainers[0].restartPolicyRules: restart rules are not valid on sidecar 's'"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    readinessProbe:\n      exec: {command: [x]}\n      failureThreshold: 0\n", "9:25", "readinessProbe.failureThreshold: 'failureThreshold' must be at least 1, found 0"),
    ("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    startupProbe:\n      exec: {command: [x]}\n      periodSeconds: 0\n", "9:22", "startupProbe.periodSeconds: 'periodSeconds' must be at least 1, found 0"),
    ("kind: Pod\napiVersion: v1\nspec:\n  securityContext: {runAsUser: 0, runAsNonRoot: true}\n  containers:\n  - name: a\n    command: [a]\n", "4:49", "runAsNonRoot: true, but runAsUser is 0"),
];

const TWO_PODS: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - {name: a, command: [a]}\n---\n\
                        apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\nspec:\n  template:\n    spec:\n      \
                        containers:\n      - {name: a, command: [a]}\n";

#[test]
fn bad_manifests_name_line_column_field_and_problem() {
    let mut misses = Vec::new();
    for (text, at, phrase) in BAD {
        let errors = errors(text);
        let prefix = format!("pod.yaml:{at}: ");
        if !errors.iter().any(|e| e.starts_with(&prefix) && e.contains(phrase)) {
            misses.push(format!("want {prefix}…{phrase}… for\n{text}got {errors:#?}"));
        }
        // One problem, one error: no cascade of follow-up complaints.
        if errors.len() != 1 {
            misses.push(format!("want one error for\n{text}got {errors:#?}"));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n\n"));
}

#[test]
fn format_is_detected_by_content() {
    let p = Path::new("pod");
    for yes in [
        "apiVersion: v1\n",
        "# c\n\n  kind: Pod\n",
        "{\"kind\": \"Pod\"}",
        "---\n",
        "%YAML 1.2\n---\n",
        "\u{feff}kind: Pod",
        "\"kind\": x",
    ] {
        assert!(is_manifest(p, yes), "{yes:?}");
    }
    for no in [
        "",
        "name = \"x\"\n",
        "# apiVersion: v1\nname = \"a:b\"\n",
        "[[app]]\n",
        "\"a:b\" = 1\n",
        "-k = 1\n",
        "x.y = \"kind: Pod\"",
    ] {
        assert!(!is_manifest(p, no), "{no:?}");
    }
    assert!(is_manifest(Path::new("x.yaml"), "name = \"x\""));
    assert!(is_manifest(Path::new("x.json"), ""));
    assert!(!is_manifest(Path::new("x.toml"), ""));
}

/// The pod files of examples/ and tests/pods/good, each with its path.
fn pod_files() -> Vec<(PathBuf, Pod)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["examples/web", "examples/env-once", "examples/wait-services", "examples/docker", "tests/pods/good"] {
        for f in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = f.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let pod = config::load(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
                files.push((path, pod));
            }
        }
    }
    assert!(files.len() >= 6, "{files:?}");
    files
}

#[test]
fn export_then_read_gives_the_same_pod_on_every_example() {
    for (path, original) in pod_files() {
        for json in [false, true] {
            let text = export(&original, "busybox", json).unwrap();
            let back = parse(&path, &text).unwrap_or_else(|e| panic!("{}: {e:#?}\n{text}", path.display()));
            assert_eq!(no_hostname(back), original, "{} (json: {json})\n{text}", path.display());
        }
    }
}

#[test]
fn import_then_read_gives_the_same_pod_and_is_stable() {
    for (path, original) in pod_files() {
        let manifest = export(&original, "busybox", false).unwrap();
        let toml = toml_out::emit(&parse(&path, &manifest).unwrap());
        let back = config::parse(&path, &toml).unwrap_or_else(|e| panic!("{}: {e:#?}\n{toml}", path.display()));
        assert_eq!(back, original, "{}\n{toml}", path.display());
        // The pod file it writes is a fixed point: TOML → manifest → TOML is the identity on it.
        let again = toml_out::emit(&parse(&path, &export(&back, "busybox", false).unwrap()).unwrap());
        assert_eq!(again, toml, "{}", path.display());
    }
}

#[test]
fn exact_values_kubernetes_cannot_hold_survive_the_round_trip() {
    let text = r##"
name = "exact"
termination_grace_period = "1500ms"
active_deadline = "90500ms"
[env]
"A.B" = "x"
[[init]]
name = "w"
wait_for = { http = "http://localhost/ready?x=1", period = "100ms" }
[[init]]
name = "side"
restart = "Always"
command = ["sleep", "1"]
stop_signal = "SIGUSR1"
startup_probe = { tcp = "[::1]:80", initial_delay = "250ms", period = "1500ms", timeout = "100ms" }
post_start = ["/proc/self/exe", "--hook-http-get", "http://h/x"]
pre_stop = ["/proc/self/exe", "--hook-sleep", "007"]
[[app]]
name = "app"
command = ["x", "multi\nline\n\n", "  lead", "q\"'", "yes", "0755", "~", "", "#c", "- d", "tab\there"]
user = "nobody-here:nogroup"
readiness_probe = { http = "http://127.0.0.1", success_threshold = 3 }
liveness_probe = { exec = ["true"], failure_threshold = 1 }
post_start = ["/proc/self/exe", "--hook-http-get", "http://127.0.0.1:8080/started"]
pre_stop = ["/proc/self/exe", "--hook-sleep", "3"]
"##;
    let original = config::parse(Path::new("p.toml"), text).unwrap();
    for json in [false, true] {
        let manifest = export(&original, "img", json).unwrap();
        let back = parse(Path::new("p.toml"), &manifest).unwrap_or_else(|e| panic!("{e:#?}\n{manifest}"));
        assert_eq!(no_hostname(back), original, "{manifest}");
        if !json {
            // podinit's own hook runners go back to Kubernetes' handlers when they can.
            assert!(manifest.contains("sleep:\n          seconds: 3\n"), "{manifest}");
            // The pod's own address is no host on a cluster, where the kubelet probes from the node.
            assert!(manifest.contains("httpGet:\n          port: 8080\n"), "{manifest}");
            assert!(!manifest.contains("127.0.0.1") || manifest.matches("127.0.0.1").count() == 1, "{manifest}");
            assert!(manifest.contains("tcpSocket:\n        host: \"::1\"\n"), "{manifest}");
            assert!(
                manifest.contains("    podinit.dev/readiness-probe.app: '{\"http\":\"http://127.0.0.1\"}'\n"),
                "{manifest}"
            );
        }
    }
}

#[test]
fn export_refuses_what_a_pod_cannot_be() {
    let no_app = config::parse(Path::new("p.toml"), "[[init]]\nname = \"i\"\ncommand = [\"x\"]\n").unwrap();
    assert!(export(&no_app, "img", false).unwrap_err().contains("at least one container"));
    let long = format!(
        "[[init]]\nname = \"{}\"\ncommand = [\"x\"]\nonce = false\n[[app]]\nname = \"a\"\ncommand = [\"x\"]\n",
        "n".repeat(60)
    );
    let long = config::parse(Path::new("p.toml"), &long).unwrap();
    assert!(export(&long, "img", false).unwrap_err().contains("shorten the entry's name"));
}

/// The sample bad manifests under tests/manifests/bad, which the shell suite also
/// runs, each fail with exactly the one error their first line (or FILE.expect) names.
#[test]
fn sample_bad_manifests_fail_as_they_expect() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/bad");
    let mut seen = 0;
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        if !path.extension().is_some_and(|e| e == "yaml" || e == "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = match std::fs::read_to_string(format!("{}.expect", path.display())) {
            Ok(e) => e.trim().to_string(),
            Err(_) => text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).unwrap().to_string(),
        };
        let errors: Vec<String> = config::load(&path).unwrap_err().iter().map(ToString::to_string).collect();
        let want = format!("{}:{expect}", path.display());
        assert!(errors.len() == 1 && errors[0].starts_with(&want), "want {want:?}, got {errors:#?}");
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} sample files");
}

/// A small deterministic fuzz: no prefix or single-character mutation of a full
/// manifest may panic, and every failure carries at least one error.
#[test]
fn never_panics_on_mangled_input() {
    let text = EVERY_FIELD;
    let check = |t: &str| {
        if let Err(errors) = parse(Path::new("f.yaml"), t) {
            assert!(!errors.is_empty(), "{t}");
        }
    };
    for (i, _) in text.char_indices().step_by(3) {
        check(&text[..i]);
        for c in ['"', '[', '{', ':', '\n', '-', '1', 'é', '&', '*'] {
            let mut t = text.to_string();
            t.replace_range(i..i + text[i..].chars().next().map_or(0, char::len_utf8), &c.to_string());
            check(&t);
        }
    }
}

/// `text` read with an images file holding `images` (podinit's map form).
fn with_images(images: &str, text: &str) -> Result<Pod, Vec<String>> {
    let dir = std::env::temp_dir().join(format!(
        "podinit-k8s-images-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("images.json");
    std::fs::write(&file, images).unwrap();
    let inputs = Inputs { images: vec![file.display().to_string()], ..Inputs::default() };
    let got = read::read(Path::new("pod.yaml"), text, &inputs).map_err(|e| e.iter().map(ToString::to_string).collect());
    let _ = std::fs::remove_dir_all(&dir);
    got
}

const IMAGES: &str = r#"{
  "web:1": {"Entrypoint": ["/entry", "$(NOT)"], "Cmd": ["serve", "--port=80"], "Env": ["PATH=/bin", "IMG=$HOME"],
            "WorkingDir": "/srv", "User": "www"},
  "registry.local:5000/tools/only-cmd": {"config": {"Cmd": ["run-me"], "Entrypoint": [""]}},
  "empty": {}
}"#;

#[test]
fn the_image_runs_by_kubernetes_rules() {
    let container =
        |extra: &str| format!("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    image: {extra}\n");
    let app = |text: &str| with_images(IMAGES, text).unwrap().apps.remove(0);
    // Neither command nor args: Entrypoint + Cmd, neither $(VAR)-expanded (their $ escaped).
    let a = app(&container("docker.io/library/web:1"));
    assert_eq!(a.command, strings(&["/entry", "$$(NOT)", "serve", "--port=80"]));
    // args replace Cmd only; command replaces both (Cmd is dropped even without args).
    assert_eq!(app(&container("web:1\n    args: [\"$(X)\"]")).command, strings(&["/entry", "$$(NOT)", "$(X)"]));
    assert_eq!(app(&container("web:1\n    command: [sh]")).command, strings(&["sh"]));
    assert_eq!(app(&container("web:1\n    command: [sh]\n    args: [-c, x]")).command, strings(&["sh", "-c", "x"]));
    // An empty command is no command (Kubernetes); an Entrypoint of [""] is none.
    assert_eq!(app(&container("web:1\n    command: []")).command[0], "/entry");
    assert_eq!(app(&container("registry.local:5000/tools/only-cmd:latest")).command, strings(&["run-me"]));
    // Env under the container's, literal; WorkingDir and User as defaults.
    assert_eq!(
        a.base_env,
        [("HOSTNAME", "$(POD_NAME)"), ("PATH", "/bin"), ("IMG", "$$HOME")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!((a.working_dir.as_deref(), a.user.as_deref()), (Some(Path::new("/srv")), Some("www")));
    // import writes what runs: the image's command and Env (not the default HOSTNAME).
    let toml = toml_out::emit(&with_images(IMAGES, &container("web:1\n    env: [{name: PATH, value: /x}]")).unwrap());
    assert!(toml.contains("command = [\"/entry\", \"$$(NOT)\", \"serve\", \"--port=80\"]"), "{toml}");
    assert!(toml.contains("env = { IMG = \"$$HOME\", PATH = \"/x\" }") && !toml.contains("HOSTNAME"), "{toml}");
    let from = a.from_image.as_ref().unwrap();
    assert!(from.entrypoint && from.cmd && from.working_dir && from.user);
    let own = app(&container("web:1\n    workingDir: /x\n    securityContext: {runAsGroup: 7}"));
    assert_eq!((own.working_dir.as_deref(), own.user.as_deref()), (Some(Path::new("/x")), Some("www:7")));
    let runs_as = app(&container("web:1\n    securityContext: {runAsUser: 5}"));
    assert_eq!(runs_as.user.as_deref(), Some("5"));
    // Nothing to run: a positioned error naming the image.
    let e = with_images(IMAGES, &container("empty")).unwrap_err();
    assert!(
        e.len() == 1
            && e[0].starts_with("pod.yaml:5:5: spec.containers[0]: no command, and image 'empty' has no Entrypoint"),
        "{e:?}"
    );
    // No configuration: the error says how to give it.
    let e = with_images(IMAGES, &container("web:2")).unwrap_err();
    assert!(
        e.len() == 1
            && e[0].contains("image 'web:2' (docker.io/library/web:2)")
            && e[0].contains("(not in the 1 image file(s) given)")
            && e[0].contains("--images FILE"),
        "{e:?}"
    );
    let e = with_images("[1]", &container("web:1\n    command: [x]")).unwrap_err();
    assert!(e[0].contains("--images ") && e[0].contains("no 'Config'"), "{e:?}");
}

const SOURCES: &str = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {mode: fast, "bad=key": x, "dollar": "$(HOME)"}
binaryData: {bin: aGk=}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {password: cGFzcw==, user: bm8=}
stringData: {user: yes-string}
---
"#;

#[test]
fn configmaps_and_secrets_feed_env() {
    let p = pod(&format!(
        "{SOURCES}kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    envFrom:\n    \
         - configMapRef: {{name: cfg}}\n      prefix: C_\n    - secretRef: {{name: none, optional: true}}\n    env:\n    \
         - {{name: P, valueFrom: {{secretKeyRef: {{name: sec, key: password}}}}}}\n    \
         - {{name: U, valueFrom: {{secretKeyRef: {{name: sec, key: user}}}}}}\n    \
         - {{name: O, valueFrom: {{configMapKeyRef: {{name: cfg, key: nokey, optional: true}}}}}}\n    \
         - {{name: C_mode, value: overridden}}\n"
    ));
    let env: Vec<(&str, &str)> = p.apps[0].env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // envFrom first (keys that are no variable name skipped), env after it; values literal; O not set.
    assert_eq!(
        env,
        [("C_bin", "hi"), ("C_dollar", "$$(HOME)"), ("P", "pass"), ("U", "yes-string"), ("C_mode", "overridden")]
    );
    let e = errors(&format!(
        "{SOURCES}kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    env:\n    \
         - {{name: P, valueFrom: {{secretKeyRef: {{name: sec, key: nope}}}}}}\n"
    ));
    assert!(
        e.len() == 1 && e[0].contains("env[0].valueFrom.secretKeyRef.key: Secret 'sec' has no key 'nope'"),
        "{e:?}"
    );
    let e = errors("kind: Secret\napiVersion: v1\nmetadata: {name: s}\ndata: {k: \"not base64!\"}\n---\nkind: Pod\napiVersion: v1\nspec:\n  containers: [{name: a, command: [a]}]\n");
    assert!(e.len() == 1 && e[0].starts_with("pod.yaml:4:11: document 1.data['k']: not valid base64"), "{e:?}");
}

#[test]
fn base64_is_strict() {
    use read::decode_base64_for_tests as d;
    assert_eq!(d("aGVsbG8="), Some(b"hello".to_vec()));
    assert_eq!(d("aGVsbG8h"), Some(b"hello!".to_vec()));
    assert_eq!(d("aGk=\n"), Some(b"hi".to_vec()));
    assert_eq!(d(""), Some(vec![]));
    assert_eq!(d("+/+/"), Some(vec![0xfb, 0xff, 0xbf]));
    for bad in ["aGk", "aG=k", "a===", "aGk=aGk=", "@@@@"] {
        assert_eq!(d(bad), None, "{bad}");
    }
}

#[test]
fn volumes_map_to_what_the_runtime_writes() {
    use crate::config::VolumeContent;
    let p = pod(&format!(
        "{SOURCES}apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db}}\nspec:\n  volumeClaimTemplates:\n  \
         - metadata: {{name: data}}\n  template:\n    metadata: {{labels: {{app: db, tier: \"x\\\"y\"}}}}\n    spec:\n      \
         containers:\n      - name: a\n        command: [a]\n        volumeMounts:\n        \
         - {{name: data, mountPath: /var/data}}\n        - {{name: cfg, mountPath: /etc/cfg}}\n        \
         - {{name: info, mountPath: /etc/info}}\n        - {{name: all, mountPath: /etc/all, subPath: s}}\n        \
         - {{name: disk, mountPath: /mnt/disk}}\n        - {{name: bare, mountPath: /bare}}\n      volumes:\n      \
         - {{name: cfg, configMap: {{name: cfg, defaultMode: 0400, items: [{{key: mode, path: m/mode, mode: 0600}}]}}}}\n      \
         - {{name: info, downwardAPI: {{items: [{{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}, {{path: name, fieldRef: {{fieldPath: metadata.name}}}}]}}}}\n      \
         - {{name: all, projected: {{defaultMode: 0440, sources: [{{secret: {{name: sec}}}}, {{serviceAccountToken: {{path: token}}}}]}}}}\n      \
         - {{name: disk, csi: {{driver: x}}}}\n      - {{name: unused, emptyDir: {{}}}}\n      - {{name: bare}}\n"
    ));
    let names: Vec<&str> = p.volumes.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["cfg", "info", "all", "disk", "bare", "data"], "mounted volumes only, claims last");
    // A volume with no source is an emptyDir, as the API server defaults it.
    assert_eq!(p.volumes[4].content, VolumeContent::Dir);
    let files = |i: usize| match &p.volumes[i].content {
        VolumeContent::Files(f) => f
            .iter()
            .map(|f| (f.path.display().to_string(), String::from_utf8_lossy(&f.data).into_owned(), f.mode))
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(files(0), [("m/mode".to_string(), "fast".to_string(), 0o600)]);
    assert_eq!(
        files(1),
        [
            ("labels".to_string(), "app=\"db\"\ntier=\"x\\\"y\"".to_string(), 0o644),
            ("name".to_string(), "db".to_string(), 0o644)
        ]
    );
    assert_eq!(
        files(2).iter().map(|f| (f.0.as_str(), f.2)).collect::<Vec<_>>(),
        [("password", 0o440), ("user", 0o440)]
    );
    assert_eq!(p.volumes[3].content, VolumeContent::Provided { kind: "csi".into() });
    assert_eq!(p.volumes[5].content, VolumeContent::Dir);
    let m = &p.volumes[2].mounts[0];
    assert_eq!(
        (m.container.as_str(), m.path.as_path(), m.sub_path.as_deref()),
        ("a", Path::new("/etc/all"), Some(Path::new("s")))
    );
    assert!(
        m.origin.starts_with("pod.yaml:") && m.origin.ends_with("spec.template.spec.containers[0].volumeMounts[3]"),
        "{}",
        m.origin
    );
}

#[test]
fn volumes_that_cannot_be_honoured_and_sub_path_exprs() {
    // What cannot be honoured: one positioned error each.
    let base = "kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    command: [a]\n    volumeMounts: [{name: v, mountPath: /v}]\n  volumes:\n";
    for (vol, want) in [
        (
            "  - {name: w, emptyDir: {}}\n",
            "pod.yaml:7:20: spec.containers[0].volumeMounts: no volume named 'v' in spec.volumes",
        ),
        (
            "  - {name: v, configMap: {name: nope}}\n",
            "pod.yaml:9:26: spec.volumes[0].configMap: ConfigMap 'nope' not found",
        ),
        (
            "  - {name: v, image: {reference: x}}\n",
            "pod.yaml:9:15: spec.volumes[0].image: not supported: podinit runs no images",
        ),
        (
            "  - {name: v, hostPath: {path: rel}}\n",
            "pod.yaml:9:32: spec.volumes[0].hostPath.path: must be an absolute path",
        ),
        (
            "  - {name: v, emptyDir: {}, secret: {secretName: s}}\n",
            "pod.yaml:9:5: spec.volumes[0]: more than one volume source",
        ),
        (
            "  - {name: v, emtpyDir: {}}\n",
            "pod.yaml:9:15: spec.volumes[0].emtpyDir: unknown field, did you mean 'emptyDir'?",
        ),
    ] {
        let e = errors(&format!("{base}{vol}"));
        assert!(e.len() == 1 && e[0].starts_with(want), "{vol}: {e:?}");
    }
    // subPathExpr: the container's env, as the kubelet expands it.
    let expr = |e: &str| {
        format!("kind: Pod\napiVersion: v1\nmetadata: {{name: web}}\nspec:\n  containers:\n  - name: a\n    command: [a]\n    env: [{{name: MY_POD, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}, {{name: D, value: logs}}, {{name: A, value: /abs}}]\n    volumeMounts: [{{name: v, mountPath: /v, subPathExpr: \"{e}\"}}]\n  volumes: [{{name: v, emptyDir: {{}}}}]\n")
    };
    assert_eq!(pod(&expr("$(D)/$(MY_POD)")).volumes[0].mounts[0].sub_path.as_deref(), Some(Path::new("logs/web")));
    let e = errors(&expr("$(A)"));
    assert!(e.len() == 1 && e[0].contains("subPathExpr: '$(A)' gives '/abs', which must be a relative path"), "{e:?}");
}

#[test]
fn the_kubelet_sets_hostname_and_an_indexed_jobs_index() {
    let p = pod("kind: Pod\napiVersion: v1\nspec:\n  hostname: my-host\n  containers: [{name: a, command: [a]}]\n");
    assert_eq!(p.apps[0].base_env, [("HOSTNAME".to_string(), "my-host".to_string())]);
    // The Job controller's hostname wins over the template's; its annotation is there for fieldRefs.
    let job = pod("apiVersion: batch/v1\nkind: Job\nmetadata: {name: work}\nspec:\n  completionMode: Indexed\n  template:\n    spec:\n      hostname: mine\n      restartPolicy: Never\n      containers:\n      - name: a\n        command: [a]\n        env: [{name: I, valueFrom: {fieldRef: {fieldPath: \"metadata.annotations['batch.kubernetes.io/job-completion-index']\"}}}]\n");
    assert_eq!(job.apps[0].env, [("I".to_string(), "0".to_string())]);
    let want = [("HOSTNAME", "work-0"), ("JOB_COMPLETION_INDEX", "0")].map(|(k, v)| (k.to_string(), v.to_string()));
    assert_eq!(job.apps[0].base_env, want);
    let plain = pod("apiVersion: batch/v1\nkind: Job\nmetadata: {name: work}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: a, command: [a]}]\n");
    assert_eq!(plain.apps[0].base_env, [("HOSTNAME".to_string(), "$(POD_NAME)".to_string())]);
}

#[test]
fn resource_field_refs_give_limits_requests_or_this_machine() {
    let text = "kind: Pod\napiVersion: v1\nmetadata: {name: r}\nspec:\n  containers:\n  - name: a\n    command: [a]\n    \
                resources: {limits: {memory: 128Mi, cpu: 500m}}\n    env:\n    \
                - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}\n    \
                - {name: CPU, valueFrom: {resourceFieldRef: {resource: requests.cpu}}}\n    \
                - {name: MCPU, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}\n    \
                - {name: B, valueFrom: {resourceFieldRef: {resource: limits.cpu, containerName: b}}}\n    \
                - {name: BMEM, valueFrom: {resourceFieldRef: {resource: requests.memory, containerName: b}}}\n    \
                volumeMounts: [{name: info, mountPath: /info}]\n  \
                - name: b\n    command: [b]\n  volumes:\n  \
                - {name: info, downwardAPI: {items: [{path: mem, resourceFieldRef: {containerName: a, resource: limits.memory}}]}}\n";
    let p = pod(text);
    let env: Vec<(&str, &str)> = p.apps[0].env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // SAFETY: sysconf reads a system constant.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.to_string();
    assert_eq!(env, [("MEM", "128"), ("CPU", "1"), ("MCPU", "500"), ("B", cpus.as_str()), ("BMEM", "0")]);
    match &p.volumes[0].content {
        crate::config::VolumeContent::Files(f) => assert_eq!(f[0].data, b"134217728"),
        other => panic!("{other:?}"),
    }
    let e = errors(&text.replace("containerName: a, ", ""));
    assert!(e.len() == 1 && e[0].contains("a downwardAPI file needs containerName"), "{e:?}");
    let e = errors(&text.replace("limits.memory, divisor: 1Mi", "limits.gpu"));
    assert!(e.len() == 1 && e[0].contains("'limits.gpu' is not limits or requests of cpu"), "{e:?}");
}

#[test]
fn quantities_are_exact() {
    use read::quantity_for_tests as q;
    let nano = 1_000_000_000u128;
    assert_eq!(q("250m"), Some(250_000_000));
    assert_eq!(q("1.5"), Some(1_500_000_000));
    assert_eq!(q(".5"), Some(500_000_000));
    assert_eq!(q("128Mi"), Some(128 * 1024 * 1024 * nano));
    assert_eq!(q("1G"), Some(1_000_000_000 * nano));
    assert_eq!(q("1e3"), Some(1000 * nano));
    assert_eq!(q("1n"), Some(1));
    assert_eq!(q("1Ei"), Some((1u128 << 60) * nano));
    for bad in ["", "x", "1Q", "1.2.3", "-1", "."] {
        assert_eq!(q(bad), None, "{bad}");
    }
}

/// The two YAML constructs kubectl (go-yaml) reads that saphyr-parser 0.3.4 refused
/// (third_party/saphyr-parser/PATCHES.md), as the Kubernetes docs' examples write them.
#[test]
fn yaml_kubectl_leniencies() {
    // service/pod-with-graceful-termination.yaml: `]` at its key's indentation.
    let graceful = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: nginx\n    \
                    command: [\n      \"/bin/sh\", \"-c\", \"sleep 180\"\n    ]\n";
    assert_eq!(pod(graceful).apps[0].command, strings(&["/bin/sh", "-c", "sleep 180"]));
    let flow_map = super::yaml::parse("a:\n  b: {\n    c: d\n  }\n").unwrap();
    assert_eq!(
        flow_map[0].get("a").and_then(|a| a.get("b")).and_then(|b| b.get("c")).and_then(|c| c.as_str()),
        Some("d")
    );
    // pods/inject/envars-file-container.yaml: `\'` in a double-quoted scalar.
    let quote = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    \
                 command: [\"sh\", \"-c\", \"echo \\'a\\'\"]\n";
    assert_eq!(pod(quote).apps[0].command, strings(&["sh", "-c", "echo 'a'"]));
    // Content still has to be indented, and a closing bracket left of the block is still wrong.
    for bad in ["k:\n  - [\n  a]\n", "a:\n  b: [\n x\n  ]\n", "a:\n  b: [\n    x\n ]\n"] {
        assert!(super::yaml::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn lifecycle_fields_of_kubernetes_1_35_map_to_the_pod() {
    use crate::config::{Backoff, ExitCodeOperator, FileEnv, RestartRule};
    let p = pod(r#"
apiVersion: v1
kind: Pod
metadata:
  name: rules
  annotations:
    podinit.dev/backoff: '{"initial": "1s", "max": "1m"}'
    podinit.dev/notify.db: "true"
    podinit.dev/env-file.web: /etc/web.env
spec:
  restartPolicy: Never
  initContainers:
  - name: migrate
    command: [migrate]
    restartPolicy: Never
    restartPolicyRules:
    - action: Restart
      exitCodes: {operator: In, values: [75]}
  - name: db
    command: [postgres]
    restartPolicy: Always
  containers:
  - name: web
    command: [web]
    restartPolicy: OnFailure
    restartPolicyRules:
    - {action: Restart, exitCodes: {operator: NotIn, values: [0, 143]}}
    volumeMounts:
    - {name: shared, mountPath: /shared, readOnly: true}
    env:
    - name: CONFIG
      valueFrom:
        fileKeyRef: {volumeName: shared, path: conf/app.env, key: CONFIG_URL}
    - name: OPT
      valueFrom:
        fileKeyRef: {volumeName: shared, path: x.env, key: X, optional: true}
  volumes:
  - {name: shared, emptyDir: {}}
"#);
    assert_eq!(p.backoff, Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60) });
    let (migrate, db, web) = (&p.init[0], &p.init[1], &p.apps[0]);
    assert_eq!((migrate.kind, migrate.restart_policy), (Kind::Init, Some(RestartPolicy::Never)));
    assert_eq!(migrate.restart_rules, [RestartRule { operator: ExitCodeOperator::In, values: vec![75] }]);
    assert_eq!((db.kind, db.restart_policy, db.notify), (Kind::Sidecar, None, true));
    assert_eq!(web.restart_policy, Some(RestartPolicy::OnFailure));
    assert_eq!(web.restart_rules, [RestartRule { operator: ExitCodeOperator::NotIn, values: vec![0, 143] }]);
    assert_eq!(web.env_files, [PathBuf::from("/etc/web.env")]);
    assert_eq!(
        web.file_env,
        [
            FileEnv {
                name: "CONFIG".into(),
                path: "/shared/conf/app.env".into(),
                key: "CONFIG_URL".into(),
                optional: false
            },
            FileEnv { name: "OPT".into(), path: "/shared/x.env".into(), key: "X".into(), optional: true },
        ]
    );
    assert!(web.env.is_empty(), "file-read variables are not plain env: {:?}", web.env);
}

/// A cluster volume podinit takes as mounted still has its fields checked as the API
/// server checks them: a misspelt field or a placeholder where a number belongs is refused.
#[test]
fn cluster_volume_sources_are_checked_field_by_field() {
    let base =
        "kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    command: [a]\n    \
                volumeMounts: [{name: v, mountPath: /v}]\n  volumes:\n";
    let ok = format!("{base}  - {{name: v, fc: {{targetWWNs: [a], lun: 0, readOnly: true, fsType: ext4}}}}\n");
    assert_eq!(pod(&ok).volumes[0].content, crate::config::VolumeContent::Provided { kind: "fc".into() });
    for (vol, want) in [
        (
            "  - {name: v, fc: {lun: '<ADD LUN ID Here>'}}\n",
            "pod.yaml:10:25: spec.volumes[0].fc.lun: must be a whole number",
        ),
        (
            "  - {name: v, scaleIO: {protectionDoamin: x}}\n",
            "pod.yaml:10:25: spec.volumes[0].scaleIO.protectionDoamin: unknown field, did you mean 'protectionDomain'?",
        ),
        ("  - {name: v, nfs: {server: s, path: /, readOnly: 'yes'}}\n", "spec.volumes[0].nfs.readOnly: must be"),
    ] {
        let errs = errors(&format!("{base}{vol}"));
        assert!(errs.len() == 1 && errs[0].contains(want), "{errs:?}\nwant {want}");
    }
}

/// A downwardAPI file of what only the running pod knows holds the reference, resolved
/// when the pod starts with the env var's value; the others hold their value.
#[test]
fn downward_volume_files_of_running_pod_fields_are_references() {
    let p = pod("kind: Pod\napiVersion: v1\nmetadata: {name: p, labels: {l: $(status.podIP)}}\nspec:\n  containers:\n  \
                 - name: a\n    command: [a]\n    volumeMounts: [{name: v, mountPath: /v}]\n  volumes:\n  \
                 - name: v\n    downwardAPI:\n      items:\n      - {path: ip, fieldRef: {fieldPath: status.hostIP}}\n      \
                 - {path: uid, fieldRef: {fieldPath: metadata.uid}}\n      \
                 - {path: l, fieldRef: {fieldPath: \"metadata.labels['l']\"}}\n");
    let crate::config::VolumeContent::Files(files) = &p.volumes[0].content else { panic!("{:?}", p.volumes) };
    let got: Vec<(String, bool)> =
        files.iter().map(|f| (String::from_utf8_lossy(&f.data).into_owned(), f.downward)).collect();
    assert_eq!(
        got,
        [("$(status.hostIP)".into(), true), ("$(metadata.uid)".into(), true), ("$(status.podIP)".into(), false)]
    );
}

/// The pod as its pod file reads back: volumes left out (a pod file has none), the
/// runtime's part of the env folded into the entry's (toml_out.rs).
fn as_pod_file(pod: &Pod) -> Pod {
    let mut p = pod.clone();
    p.volumes.clear();
    p.source = Default::default();
    let pod_env = p.env.clone();
    for e in p.init.iter_mut().chain(p.apps.iter_mut()) {
        e.from_image = None;
        e.env = toml_out::pod_file_env(e, &pod_env);
        e.base_env.clear();
    }
    p
}

/// `podinit import`'s promise: the pod file it writes for a manifest reads back as the
/// pod the manifest gave. (The manifest reader used to check this on every read, by
/// printing and re-reading the TOML; `validate` checks the rules now, and this is a test.)
#[test]
fn a_manifest_imported_to_toml_reads_back_as_the_same_pod() {
    let mut cases: Vec<(String, Pod)> = vec![
        ("EVERY_FIELD".to_string(), pod(EVERY_FIELD)),
        (
            "images".to_string(),
            with_images(IMAGES, "kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    image: web:1\n    env: [{name: PATH, value: /x}]\n").unwrap(),
        ),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/good");
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        // The samples hold placeholders the shell suite fills: @D@ a directory, @…PORT@ a port.
        let text = std::fs::read_to_string(&path).unwrap().replace("@D@", "/tmp/d");
        let parts: Vec<&str> = text.split('@').collect();
        let text: String = parts
            .iter()
            .enumerate()
            .map(|(i, part)| if i % 2 == 1 && part.ends_with("PORT") { "8080" } else { part })
            .collect();
        match parse(&path, &text) {
            Ok(p) => cases.push((path.display().to_string(), p)),
            Err(e) => panic!("{}: {e:#?}", path.display()),
        }
    }
    assert!(cases.len() >= 5, "{}", cases.len());
    for (name, pod) in cases {
        let toml = toml_out::emit(&pod);
        let back = config::parse(Path::new("import.toml"), &toml).unwrap_or_else(|e| panic!("{name}: {e:#?}\n{toml}"));
        assert_eq!(back, as_pod_file(&Pod { path: "import.toml".into(), ..pod }), "{name}\n{toml}");
    }
}
