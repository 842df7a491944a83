//! What the reader does with each field of each object: use it, ignore it
//! with an INFO line (and why), or refuse it (and why).

use super::*;

/// What the reader does with a field.
#[derive(Clone, Copy)]
pub(super) enum Act {
    /// Read it.
    Use,
    /// Accept it with an INFO line saying why it has no effect here.
    Ignore(&'static str),
    /// An error: it would change behaviour and podinit cannot honour it.
    Refuse(&'static str),
}
pub(super) use Act::{Ignore, Refuse, Use};

/// Why imagePullPolicy and imagePullSecrets do nothing.
pub(super) const IMAGE: &str = "podinit runs the command from this machine's filesystem, not an image";
/// Why volumeDevices does nothing.
pub(super) const VOLUMES: &str = "entries share this machine's filesystem";
/// Why the scheduler's fields (affinity, nodeSelector, tolerations, priority, …) do nothing.
pub(super) const SCHEDULING: &str = "scheduling and placement: podinit runs the pod right here";
/// Why the resource fields (resources, overhead, resizePolicy, an emptyDir's sizeLimit, …) do nothing.
pub(super) const RESOURCES: &str = "podinit sets no resource requests or limits";
/// Why the DNS and host name fields (dnsPolicy, hostAliases, subdomain, …) do nothing.
pub(super) const NETWORK: &str = "networking and DNS are those of the machine or container podinit runs in";
/// Why the namespace fields (hostPID, hostNetwork, shareProcessNamespace, mountPropagation, …) do nothing.
pub(super) const NAMESPACES: &str = "every entry shares podinit's own namespaces and process tree";
/// Why a container's ports do nothing beyond naming a port for its probes.
pub(super) const PORTS: &str = "entries share one network, so ports need no declaring";
/// Why stdin, stdinOnce and tty do nothing.
pub(super) const TERMINAL: &str = "entries inherit podinit's stdin, stdout and stderr";
/// Why terminationMessagePath and terminationMessagePolicy do nothing.
pub(super) const TERM_MESSAGE: &str = "podinit writes no termination message";
/// Why a security context's other fields (capabilities, seccomp, …) do nothing.
pub(super) const SECURITY: &str = "of the security context podinit applies only runAsUser, runAsGroup and runAsNonRoot";
/// Why automountServiceAccountToken and a projected serviceAccountToken do nothing.
pub(super) const ACCOUNT: &str = "entries get no Kubernetes API credentials";
/// Why a Pod's or workload's `status` is ignored.
pub(super) const STATUS: &str = "status is written by a cluster, not read from the manifest";
/// Why the other fields of a `metadata` (resourceVersion, ownerReferences, …) and of a ConfigMap or Secret are ignored.
pub(super) const BOOKKEEPING: &str = "cluster bookkeeping";
/// Why a Deployment's, Job's, … own spec fields (replicas, strategy, …) do nothing.
pub(super) const WORKLOAD: &str = "a setting of the workload, not of its pod: podinit runs one pod";

/// A Pod's `spec` (and a workload's pod template's).
pub(super) const POD_SPEC: &[(&str, Act)] = &[
    ("containers", Use),
    ("initContainers", Use),
    ("restartPolicy", Use),
    ("terminationGracePeriodSeconds", Use),
    ("activeDeadlineSeconds", Use),
    ("securityContext", Use),
    ("nodeName", Use),
    ("serviceAccountName", Use),
    ("serviceAccount", Use),
    ("os", Use),
    ("volumes", Use),
    (
        "ephemeralContainers",
        Refuse("ephemeral containers are added to a running pod (kubectl debug), not written in a manifest"),
    ),
    ("shareProcessNamespace", Ignore(NAMESPACES)),
    ("hostPID", Ignore(NAMESPACES)),
    ("hostIPC", Ignore(NAMESPACES)),
    ("hostNetwork", Ignore(NAMESPACES)),
    ("hostUsers", Ignore(NAMESPACES)),
    ("hostname", Use),
    ("subdomain", Ignore(NETWORK)),
    ("setHostnameAsFQDN", Ignore(NETWORK)),
    ("dnsPolicy", Ignore(NETWORK)),
    ("dnsConfig", Ignore(NETWORK)),
    ("hostAliases", Ignore(NETWORK)),
    ("enableServiceLinks", Ignore(NETWORK)),
    ("affinity", Ignore(SCHEDULING)),
    ("nodeSelector", Ignore(SCHEDULING)),
    ("tolerations", Ignore(SCHEDULING)),
    ("topologySpreadConstraints", Ignore(SCHEDULING)),
    ("schedulerName", Ignore(SCHEDULING)),
    ("schedulingGates", Ignore(SCHEDULING)),
    ("priority", Ignore(SCHEDULING)),
    ("priorityClassName", Ignore(SCHEDULING)),
    ("preemptionPolicy", Ignore(SCHEDULING)),
    ("runtimeClassName", Ignore(SCHEDULING)),
    ("readinessGates", Ignore(SCHEDULING)),
    ("overhead", Ignore(RESOURCES)),
    ("resources", Ignore(RESOURCES)),
    ("resourceClaims", Ignore(RESOURCES)),
    ("imagePullSecrets", Ignore(IMAGE)),
    ("automountServiceAccountToken", Ignore(ACCOUNT)),
];

/// An entry of `containers` or `initContainers`.
pub(super) const CONTAINER: &[(&str, Act)] = &[
    ("name", Use),
    ("command", Use),
    ("args", Use),
    ("env", Use),
    ("workingDir", Use),
    ("securityContext", Use),
    ("restartPolicy", Use),
    ("startupProbe", Use),
    ("readinessProbe", Use),
    ("livenessProbe", Use),
    ("lifecycle", Use),
    ("ports", Use),
    ("envFrom", Use),
    ("restartPolicyRules", Use),
    ("image", Use),
    ("imagePullPolicy", Ignore(IMAGE)),
    ("resources", Ignore(RESOURCES)),
    ("resizePolicy", Ignore(RESOURCES)),
    ("volumeMounts", Use),
    ("volumeDevices", Ignore(VOLUMES)),
    ("terminationMessagePath", Ignore(TERM_MESSAGE)),
    ("terminationMessagePolicy", Ignore(TERM_MESSAGE)),
    ("stdin", Ignore(TERMINAL)),
    ("stdinOnce", Ignore(TERMINAL)),
    ("tty", Ignore(TERMINAL)),
];

/// A startup, readiness or liveness probe.
pub(super) const PROBE: &[(&str, Act)] = &[
    ("exec", Use),
    ("httpGet", Use),
    ("tcpSocket", Use),
    ("initialDelaySeconds", Use),
    ("periodSeconds", Use),
    ("timeoutSeconds", Use),
    ("successThreshold", Use),
    ("failureThreshold", Use),
    ("grpc", Use),
    ("terminationGracePeriodSeconds", Refuse("podinit stops a failed entry within the pod's grace period")),
];

/// A postStart or preStop hook.
pub(super) const HANDLER: &[(&str, Act)] = &[
    ("exec", Use),
    ("httpGet", Use),
    ("sleep", Use),
    ("tcpSocket", Refuse("Kubernetes does not run tcpSocket hooks either: use exec, httpGet or sleep")),
];

/// The `httpGet` of a probe or hook.
pub(super) const HTTP_GET: &[(&str, Act)] =
    &[("path", Use), ("port", Use), ("host", Use), ("scheme", Use), ("httpHeaders", Use)];

/// The `grpc` of a probe.
pub(super) const GRPC: &[(&str, Act)] = &[("port", Use), ("service", Use)];
/// An entry of `httpGet.httpHeaders`.
pub(super) const HTTP_HEADER: &[(&str, Act)] = &[("name", Use), ("value", Use)];

/// An entry of a container's `env`.
pub(super) const ENV_VAR: &[(&str, Act)] = &[("name", Use), ("value", Use), ("valueFrom", Use)];
/// The `valueFrom` of an `env` entry.
pub(super) const VALUE_FROM: &[(&str, Act)] = &[
    ("fieldRef", Use),
    ("configMapKeyRef", Use),
    ("secretKeyRef", Use),
    ("fileKeyRef", Use),
    ("resourceFieldRef", Use),
];

/// The kinds whose pod podinit runs, their apiVersion and where their pod template is.
pub(super) const POD_KINDS: &[(&str, &str, &[&str])] = &[
    ("Pod", "v1", &[]),
    ("Deployment", "apps/v1", &["spec", "template"]),
    ("StatefulSet", "apps/v1", &["spec", "template"]),
    ("DaemonSet", "apps/v1", &["spec", "template"]),
    ("ReplicaSet", "apps/v1", &["spec", "template"]),
    ("ReplicationController", "v1", &["spec", "template"]),
    ("Job", "batch/v1", &["spec", "template"]),
    ("CronJob", "batch/v1", &["spec", "jobTemplate", "spec", "template"]),
];

/// Pod-level `podinit.dev/` annotations.
pub(super) const POD_ANNOTATIONS: &[&str] = &[
    "marker-dir",
    "state-dir",
    "log-prefix",
    "pod-env",
    "termination-grace-period",
    "active-deadline",
    "backoff",
    "env-file",
    "images",
    "configmaps",
    "secrets",
];
/// Per-entry annotations, `podinit.dev/<field>.<container>`, and the kinds each applies to.
pub(super) const ENTRY_ANNOTATIONS: &[(&str, &[Kind])] = &[
    ("once", &[Kind::Init]),
    ("timeout", &[Kind::Init]),
    ("wait-for", &[Kind::Init]),
    ("essential", &[Kind::App]),
    ("user", &[Kind::Init, Kind::Sidecar, Kind::App]),
    ("stop-signal", &[Kind::Init, Kind::Sidecar, Kind::App]),
    ("startup-probe", &[Kind::Sidecar, Kind::App]),
    ("readiness-probe", &[Kind::Sidecar, Kind::App]),
    ("liveness-probe", &[Kind::Sidecar, Kind::App]),
    ("notify", &[Kind::Sidecar, Kind::App]),
    ("env-file", &[Kind::Init, Kind::Sidecar, Kind::App]),
];
