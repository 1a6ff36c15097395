"""Security and safety policy for loaded Kubernetes objects.

Pod Security Standards (restricted profile) on every pod spec wherever it sits, RBAC escalation,
destructive or exposing settings, resource limits against the budget. Every check reads the
object after anchors, merge keys and ``kind: List`` have been resolved, so what is checked is what
the API server would see.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from remediation.validation.kubernetes_yaml import line_of
from remediation.validation.types import Finding, Severity, ValidationContext

#: Kinds whose objects are not namespaced; the namespace scope rule skips them.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "APIService",
        "CSIDriver",
        "IngressClass",
        "RuntimeClass",
    }
)
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})

#: Host paths that give control of the node: the root, its configuration, runtime sockets,
#: kubelet state and kernel interfaces. Mounting one of these, or a parent of one, is critical.
SENSITIVE_HOST_PATHS = (
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
    "/var/run/cri-dockerd.sock",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/etc/kubernetes",
)
#: Capabilities that amount to root on the node; any other added capability is still high.
CRITICAL_CAPABILITIES = frozenset(
    {
        "ALL",
        "SYS_ADMIN",
        "SYS_MODULE",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "DAC_READ_SEARCH",
        "BPF",
        "SYS_BOOT",
    }
)
#: The only capability the restricted profile lets a container add.
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
#: Sysctls the Pod Security Standards baseline profile calls safe (namespaced, isolated).
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
DANGEROUS_SUBJECT_GROUPS = frozenset({"system:masters", "system:anonymous", "system:unauthenticated"})
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E|m)?$")
_QUANTITY_FACTORS = {
    None: 1.0,
    "m": 0.001,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}


@dataclass(slots=True)
class KubeObject:
    """One API object from the manifest (List items already unwrapped)."""

    data: dict[str, Any]
    line: int
    is_partial: bool
    findings: list[Finding] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self.data.get("metadata")
        return metadata if isinstance(metadata, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def label(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name or "<unnamed>"
        return f"{self.kind or '<no kind>'} {where}"

    def line_at(self, *path: Any) -> int:
        return line_of(self.data, path, self.line) or self.line

    def add(
        self,
        rule_id: str,
        severity: Severity,
        message: str,
        path: tuple[Any, ...],
        hint: str,
    ) -> None:
        self.findings.append(Finding(rule_id, severity, message, self.line_at(*path), hint))


def parse_quantity(value: Any) -> float | None:
    """A Kubernetes resource quantity as a number (bytes for memory), or None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    return float(match.group(1)) * _QUANTITY_FACTORS[match.group(2)]


def normalise_capability(name: Any) -> str:
    """``cap_sys_admin``, ``CAP_SYS_ADMIN`` and ``sys_admin`` all mean SYS_ADMIN."""
    text = str(name).strip().upper().replace("-", "_")
    return text.removeprefix("CAP_")


def _truthy(value: Any) -> bool:
    # The YAML loader already maps yes/on/true to True; strings cover JSON written by hand.
    return value is True or (isinstance(value, str) and value.strip().lower() in {"true", "yes", "on", "1"})


def _falsy(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in {"false", "no", "off", "0"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def iter_pod_specs(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every mapping that holds containers, wherever it sits (templates, CronJob, CRDs)."""
    if isinstance(node, dict):
        if any(isinstance(node.get(key), list) for key in _CONTAINER_LISTS):
            yield path, node
        for key, value in node.items():
            if key in _CONTAINER_LISTS:
                continue
            yield from iter_pod_specs(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from iter_pod_specs(item, (*path, index))


def iter_containers(
    spec: dict[str, Any],
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    for list_key in _CONTAINER_LISTS:
        for index, container in enumerate(_list(spec.get(list_key))):
            if isinstance(container, dict):
                yield (list_key, index), container


def host_path_severity(raw_path: Any) -> Severity:
    path = posixpath.normpath("/" + str(raw_path).strip().lstrip("/"))
    if path == "/":
        return Severity.CRITICAL
    for sensitive in SENSITIVE_HOST_PATHS:
        # Under a sensitive path, or a parent of one (mounting /var/run exposes docker.sock).
        if path == sensitive or path.startswith(sensitive + "/") or sensitive.startswith(path + "/"):
            return Severity.CRITICAL
    return Severity.HIGH


# --- Pod Security Standards -----------------------------------------------------------------


def check_pod_spec(
    obj: KubeObject,
    path: tuple[Any, ...],
    spec: dict[str, Any],
    context: ValidationContext,
) -> None:
    for flag in ("hostPID", "hostIPC", "hostNetwork"):
        if _truthy(spec.get(flag)):
            obj.add(
                "pss.host_namespaces",
                Severity.HIGH,
                f"{obj.label} sets {flag}: true, sharing the node's namespace.",
                (*path, flag),
                f"Remove {flag}; the workload should run in its own namespaces.",
            )
    for index, volume in enumerate(_list(spec.get("volumes"))):
        host_path = _dict(_dict(volume).get("hostPath"))
        if host_path:
            _report_host_path(obj, host_path.get("path", ""), (*path, "volumes", index, "hostPath"))
    pod_context = _dict(spec.get("securityContext"))
    _check_sysctls(obj, pod_context, (*path, "securityContext"))
    for container_path, container in iter_containers(spec):
        full_path = (*path, *container_path)
        _check_container(obj, full_path, container, pod_context, path, context)


def _report_host_path(obj: KubeObject, raw_path: Any, path: tuple[Any, ...]) -> None:
    severity = host_path_severity(raw_path)
    obj.add(
        "pss.host_path",
        severity,
        f"{obj.label} mounts the node path {str(raw_path)[:80]!r}"
        + (", which gives control of the node." if severity is Severity.CRITICAL else "."),
        path,
        "Use a PersistentVolumeClaim, ConfigMap, Secret or emptyDir instead of hostPath.",
    )


def _check_sysctls(obj: KubeObject, pod_context: dict[str, Any], path: tuple[Any, ...]) -> None:
    for index, sysctl in enumerate(_list(pod_context.get("sysctls"))):
        name = str(_dict(sysctl).get("name", ""))
        if name and name not in SAFE_SYSCTLS:
            obj.add(
                "pss.unsafe_sysctl",
                Severity.HIGH,
                f"{obj.label} sets the unsafe sysctl {name[:80]!r}, which can affect the whole node.",
                (*path, "sysctls", index),
                "Only the Pod Security Standards safe sysctls may be set in a pod.",
            )


def _effective(container_ctx: dict[str, Any], pod_ctx: dict[str, Any], key: str) -> tuple[Any, str]:
    """Container-level securityContext wins over the pod level, as in the kubelet."""
    if key in container_ctx:
        return container_ctx[key], "container"
    return pod_ctx.get(key), "pod"


def _check_container(
    obj: KubeObject,
    path: tuple[Any, ...],
    container: dict[str, Any],
    pod_ctx: dict[str, Any],
    pod_path: tuple[Any, ...],
    context: ValidationContext,
) -> None:
    name = str(container.get("name") or "<unnamed>")
    who = f"{obj.label} container {name}"
    ctx = _dict(container.get("securityContext"))
    ctx_path = (*path, "securityContext")
    if _truthy(ctx.get("privileged")):
        obj.add(
            "pss.privileged",
            Severity.CRITICAL,
            f"{who} runs privileged: it has every capability and all host devices.",
            (*ctx_path, "privileged"),
            "Remove privileged: true; grant only the specific capability needed.",
        )
    if _truthy(_dict(ctx.get("windowsOptions")).get("hostProcess")) or _truthy(
        _dict(pod_ctx.get("windowsOptions")).get("hostProcess")
    ):
        obj.add(
            "pss.privileged",
            Severity.CRITICAL,
            f"{who} runs as a Windows HostProcess container (host-level access).",
            ctx_path,
            "Remove windowsOptions.hostProcess.",
        )
    added = _list(_dict(ctx.get("capabilities")).get("add"))
    for index, capability in enumerate(added):
        canonical = normalise_capability(capability)
        if canonical in ALLOWED_ADDED_CAPABILITIES:
            continue
        severity = Severity.CRITICAL if canonical in CRITICAL_CAPABILITIES else Severity.HIGH
        obj.add(
            "pss.capabilities_added",
            severity,
            f"{who} adds the Linux capability {canonical[:40]}.",
            (*ctx_path, "capabilities", "add", index),
            "Drop ALL capabilities and add only NET_BIND_SERVICE if a low port is needed.",
        )
    if _truthy(ctx.get("allowPrivilegeEscalation")):
        obj.add(
            "pss.privilege_escalation",
            Severity.HIGH,
            f"{who} sets allowPrivilegeEscalation: true (setuid binaries can gain root).",
            (*ctx_path, "allowPrivilegeEscalation"),
            "Set allowPrivilegeEscalation: false.",
        )
    run_as_user, user_level = _effective(ctx, pod_ctx, "runAsUser")
    if run_as_user == 0 or (isinstance(run_as_user, str) and run_as_user.strip() == "0"):
        where = ctx_path if user_level == "container" else (*pod_path, "securityContext")
        obj.add(
            "pss.run_as_root",
            Severity.HIGH,
            f"{who} runs as UID 0 (set at {user_level} level).",
            (*where, "runAsUser"),
            "Run as a non-zero UID and set runAsNonRoot: true.",
        )
    non_root, non_root_level = _effective(ctx, pod_ctx, "runAsNonRoot")
    if _falsy(non_root):
        where = ctx_path if non_root_level == "container" else (*pod_path, "securityContext")
        obj.add(
            "pss.run_as_root",
            Severity.HIGH,
            f"{who} sets runAsNonRoot: false (at {non_root_level} level).",
            (*where, "runAsNonRoot"),
            "Set runAsNonRoot: true.",
        )
    seccomp, seccomp_level = _effective(ctx, pod_ctx, "seccompProfile")
    if str(_dict(seccomp).get("type", "")).lower() == "unconfined":
        where = ctx_path if seccomp_level == "container" else (*pod_path, "securityContext")
        obj.add(
            "pss.seccomp_unconfined",
            Severity.HIGH,
            f"{who} runs with seccomp Unconfined (set at {seccomp_level} level).",
            (*where, "seccompProfile"),
            "Use seccompProfile type RuntimeDefault or Localhost.",
        )
    apparmor, _level = _effective(ctx, pod_ctx, "appArmorProfile")
    if str(_dict(apparmor).get("type", "")).lower() == "unconfined":
        obj.add(
            "pss.apparmor_unconfined",
            Severity.HIGH,
            f"{who} runs with AppArmor unconfined.",
            ctx_path,
            "Use appArmorProfile type RuntimeDefault.",
        )
    if str(ctx.get("procMount", "")).lower() == "unmasked":
        obj.add(
            "pss.proc_mount",
            Severity.HIGH,
            f"{who} sets procMount: Unmasked, exposing the host's /proc.",
            (*ctx_path, "procMount"),
            "Remove procMount or set it to Default.",
        )
    for index, port in enumerate(_list(container.get("ports"))):
        host_port = _dict(port).get("hostPort")
        if isinstance(host_port, int) and host_port > 0:
            obj.add(
                "pss.host_port",
                Severity.MEDIUM,
                f"{who} binds host port {host_port} on the node.",
                (*path, "ports", index, "hostPort"),
                "Expose the port with a Service instead of hostPort.",
            )
    if path[-2] != "ephemeralContainers":
        _check_resources(obj, path, container, who, context)


def _check_resources(
    obj: KubeObject,
    path: tuple[Any, ...],
    container: dict[str, Any],
    who: str,
    context: ValidationContext,
) -> None:
    resources = _dict(container.get("resources"))
    limits = _dict(resources.get("limits"))
    # A strategic-merge patch that omits resources leaves the live limits untouched.
    if not obj.is_partial and not limits:
        obj.add(
            "resources.missing_limits",
            Severity.MEDIUM,
            f"{who} has no resources.limits: one runaway container can starve the node.",
            path,
            "Set resources.limits.memory (and cpu) for every container.",
        )
    # The workload budget is the service's own ceiling for its containers (ServiceBudget), not the
    # sandbox limit the remediation script itself runs under; no ceiling set means no finding.
    if context.max_container_memory_mb is None:
        return
    memory = parse_quantity(limits.get("memory")) if "memory" in limits else None
    budget = context.max_container_memory_mb * 2**20
    if memory is not None and memory > budget:
        obj.add(
            "resources.over_budget",
            Severity.MEDIUM,
            f"{who} asks for a memory limit of {limits.get('memory')}, above the service's "
            f"{context.max_container_memory_mb} MiB container budget.",
            (*path, "resources", "limits", "memory"),
            "Stay within the memory budget or have the budget raised explicitly.",
        )


def check_pod_annotations(obj: KubeObject) -> None:
    """Legacy seccomp/AppArmor annotations on the object or its pod templates."""
    for path, annotation_map in _iter_annotations(obj.data):
        for key, value in annotation_map.items():
            key_text, value_text = str(key), str(value).strip().lower()
            if key_text.startswith("seccomp.security.alpha.kubernetes.io/") and value_text == "unconfined":
                obj.add(
                    "pss.seccomp_unconfined",
                    Severity.HIGH,
                    f"{obj.label} disables seccomp through the annotation {key_text[:80]}.",
                    (*path, key),
                    "Use seccompProfile type RuntimeDefault.",
                )
            if key_text.startswith("container.apparmor.security.beta.kubernetes.io/") and value_text == "unconfined":
                obj.add(
                    "pss.apparmor_unconfined",
                    Severity.HIGH,
                    f"{obj.label} disables AppArmor through the annotation {key_text[:80]}.",
                    (*path, key),
                    "Use the runtime/default AppArmor profile.",
                )
            if _is_nginx_snippet(key_text):
                obj.add(
                    "ingress.nginx_snippet",
                    Severity.HIGH,
                    f"{obj.label} carries the nginx snippet annotation {key_text[:80]} (raw config injection).",
                    (*path, key),
                    "Express the behaviour with supported annotations; snippets are disabled for a reason.",
                )


def _is_nginx_snippet(key: str) -> bool:
    prefix, _, name = key.partition("/")
    return bool(name) and ("nginx" in prefix or "ingress" in prefix) and name.endswith(("-snippet", "-snippets"))


def _iter_annotations(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    if isinstance(node, dict):
        annotations = _dict(_dict(node.get("metadata")).get("annotations"))
        if annotations:
            yield (*path, "metadata", "annotations"), annotations
        for key, value in node.items():
            if key != "metadata":
                yield from _iter_annotations(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _iter_annotations(item, (*path, index))


# --- RBAC -------------------------------------------------------------------------------------


def check_rbac(obj: KubeObject) -> None:
    if obj.kind in {"ClusterRole", "Role"}:
        for index, rule in enumerate(_list(obj.data.get("rules"))):
            _check_rbac_rule(obj, index, _dict(rule))
    if obj.kind in {"ClusterRoleBinding", "RoleBinding"}:
        role_ref = _dict(obj.data.get("roleRef"))
        if str(role_ref.get("name", "")) == "cluster-admin":
            obj.add(
                "rbac.cluster_admin_binding",
                Severity.CRITICAL,
                f"{obj.label} binds the cluster-admin role.",
                ("roleRef", "name"),
                "Bind a role with only the verbs and resources the subject needs.",
            )
        for index, subject in enumerate(_list(obj.data.get("subjects"))):
            subject_name = str(_dict(subject).get("name", ""))
            if subject_name in DANGEROUS_SUBJECT_GROUPS:
                obj.add(
                    "rbac.system_group_binding",
                    Severity.CRITICAL,
                    f"{obj.label} grants its role to {subject_name}.",
                    ("subjects", index),
                    "Never bind roles to system:masters, anonymous or unauthenticated users.",
                )


def _lowered(values: Any) -> set[str]:
    return {str(value).strip().lower() for value in _list(values)}


def _check_rbac_rule(obj: KubeObject, index: int, rule: dict[str, Any]) -> None:
    verbs, resources, groups = (
        _lowered(rule.get("verbs")),
        _lowered(rule.get("resources")),
        _lowered(rule.get("apiGroups")),
    )
    path = ("rules", index)
    wildcards = [
        name
        for name, values in (
            ("apiGroups", groups),
            ("resources", resources),
            ("verbs", verbs),
        )
        if "*" in values
    ]
    if wildcards:
        severity = Severity.CRITICAL if {"resources", "verbs"} <= set(wildcards) else Severity.HIGH
        obj.add(
            "rbac.wildcard",
            severity,
            f"{obj.label} rule {index + 1} uses '*' in {', '.join(wildcards)}.",
            path,
            "List the exact apiGroups, resources and verbs the role needs.",
        )
    escalation = sorted(verbs & {"escalate", "bind", "impersonate"})
    if escalation:
        obj.add(
            "rbac.escalation_verbs",
            Severity.HIGH,
            f"{obj.label} rule {index + 1} grants {', '.join(escalation)}, which allow privilege escalation.",
            path,
            "Remove escalate, bind and impersonate.",
        )
    reads = verbs & {"get", "list", "watch", "*"}
    if obj.kind == "ClusterRole" and reads and "secrets" in resources:
        obj.add(
            "rbac.cluster_secrets_read",
            Severity.HIGH,
            f"{obj.label} rule {index + 1} can read Secrets in every namespace.",
            path,
            "Use a namespaced Role limited to named secrets (resourceNames).",
        )
    exec_resources = resources & {"pods/exec", "pods/attach", "nodes/proxy"}
    if exec_resources and verbs & {"create", "get", "*"}:
        obj.add(
            "rbac.pod_exec",
            Severity.HIGH,
            f"{obj.label} rule {index + 1} allows {', '.join(sorted(exec_resources))}: a shell in running pods.",
            path,
            "Remove exec/attach/proxy rights; use logs or an audited break-glass role.",
        )


# --- destructive or exposing settings ---------------------------------------------------------


def check_destructive(obj: KubeObject) -> None:
    spec = _dict(obj.data.get("spec"))
    if obj.kind == "DeleteOptions":
        obj.add(
            "destructive.delete",
            Severity.CRITICAL,
            "The manifest is a DeleteOptions request: it deletes objects.",
            (),
            "Deletions need their own reviewed change, not a remediation manifest.",
        )
    for path in _iter_patch_directives(obj.data):
        severity = (
            Severity.CRITICAL
            if obj.kind
            in {
                "Namespace",
                "CustomResourceDefinition",
                "PersistentVolume",
                "PersistentVolumeClaim",
            }
            or path == ()
            else Severity.HIGH
        )
        obj.add(
            "destructive.patch_delete",
            severity,
            f"{obj.label} contains a '$patch: delete/replace' directive that removes live configuration.",
            path,
            "State the desired fields explicitly instead of deleting or replacing them.",
        )
    if "deletionTimestamp" in obj.metadata:
        obj.add(
            "destructive.delete",
            Severity.HIGH,
            f"{obj.label} sets metadata.deletionTimestamp.",
            ("metadata", "deletionTimestamp"),
            "Do not set deletionTimestamp by hand.",
        )
    finalizers_removed = ("finalizers" in obj.metadata and not obj.metadata.get("finalizers")) or (
        obj.kind == "Namespace" and "finalizers" in spec and not spec.get("finalizers")
    )
    if finalizers_removed:
        obj.add(
            "destructive.finalizers_removed",
            Severity.HIGH,
            f"{obj.label} clears its finalizers, letting deletion skip cleanup of dependent resources.",
            ("metadata", "finalizers") if "finalizers" in obj.metadata else ("spec", "finalizers"),
            "Leave finalizers to their controllers.",
        )
    if obj.kind in SCALABLE_KINDS and "replicas" in spec and spec.get("replicas") in (0, "0"):
        obj.add(
            "workload.scaled_to_zero",
            Severity.HIGH,
            f"{obj.label} sets replicas: 0, which stops the service.",
            ("spec", "replicas"),
            "Keep at least one replica; scale to zero only in an approved maintenance change.",
        )
    if obj.kind == "PersistentVolume":
        if str(spec.get("persistentVolumeReclaimPolicy", "")) == "Delete":
            obj.add(
                "storage.reclaim_delete",
                Severity.HIGH,
                f"{obj.label} uses reclaim policy Delete: releasing the claim destroys the data.",
                ("spec", "persistentVolumeReclaimPolicy"),
                "Use persistentVolumeReclaimPolicy: Retain for data volumes.",
            )
        host_path = _dict(spec.get("hostPath"))
        if host_path:
            _report_host_path(obj, host_path.get("path", ""), ("spec", "hostPath"))
    if obj.kind in {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}:
        for index, webhook in enumerate(_list(obj.data.get("webhooks"))):
            _check_webhook(obj, index, _dict(webhook))
    if obj.kind == "Service" and _list(spec.get("externalIPs")):
        obj.add(
            "service.external_ips",
            Severity.HIGH,
            f"{obj.label} sets externalIPs, which can intercept traffic to those addresses (CVE-2020-8554).",
            ("spec", "externalIPs"),
            "Use a LoadBalancer or Ingress instead of externalIPs.",
        )
    if obj.kind == "ResourceQuota":
        for key, value in _dict(spec.get("hard")).items():
            if parse_quantity(value) == 0:
                obj.add(
                    "quota.zero",
                    Severity.HIGH,
                    f"{obj.label} sets {key} to 0: nothing new can be scheduled in the namespace.",
                    ("spec", "hard", key),
                    "Set quotas the workloads can live with.",
                )
    if obj.kind == "ConfigMap" and _truthy(_dict(obj.data.get("data")).get("allow-snippet-annotations")):
        obj.add(
            "ingress.nginx_snippet",
            Severity.HIGH,
            f"{obj.label} enables nginx snippet annotations for every Ingress (CVE-2021-25742).",
            ("data", "allow-snippet-annotations"),
            "Keep allow-snippet-annotations false.",
        )


def _iter_patch_directives(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        if str(node.get("$patch", "")).lower() in {"delete", "replace"}:
            yield (*path, "$patch")
        for key, value in node.items():
            yield from _iter_patch_directives(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _iter_patch_directives(item, (*path, index))


def _selector_spares_kube_system(selector: dict[str, Any]) -> bool:
    if _dict(selector.get("matchLabels")):
        return True  # only namespaces carrying a chosen label are covered
    for expression in _list(selector.get("matchExpressions")):
        expression = _dict(expression)
        operator = str(expression.get("operator", ""))
        values = {str(value) for value in _list(expression.get("values"))}
        if operator in {"In", "Exists"} or (operator == "NotIn" and "kube-system" in values):
            return True
    return False


def _check_webhook(obj: KubeObject, index: int, webhook: dict[str, Any]) -> None:
    # failurePolicy defaults to Fail in admissionregistration.k8s.io/v1.
    if str(webhook.get("failurePolicy", "Fail")) != "Fail":
        return
    if _selector_spares_kube_system(_dict(webhook.get("namespaceSelector"))):
        return
    obj.add(
        "webhook.fail_closed_kube_system",
        Severity.HIGH,
        f"{obj.label} webhook {str(webhook.get('name', index))[:80]} fails closed and covers kube-system: "
        "if it goes down, the control plane cannot recover.",
        ("webhooks", index),
        "Exclude kube-system with a namespaceSelector, or use failurePolicy: Ignore.",
    )


__all__ = [
    "CLUSTER_SCOPED_KINDS",
    "KubeObject",
    "check_destructive",
    "check_pod_annotations",
    "check_pod_spec",
    "check_rbac",
    "host_path_severity",
    "iter_containers",
    "iter_pod_specs",
    "normalise_capability",
    "parse_quantity",
]
