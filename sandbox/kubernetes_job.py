"""Kubernetes Job execution backend: run one script as one short-lived, locked-down Job.

Django-free on purpose: the agent SDK imports this on hosts without Django settings.

A run creates three objects in the sandbox namespace, all named after the run id:

* a ConfigMap holding the script (mounted read-only into the pod),
* a NetworkPolicy that denies all ingress and egress for the run's pod label,
* a batch/v1 Job (backoffLimit 0, activeDeadlineSeconds = wall time limit, restricted security context).

`run_in_kubernetes` creates them, waits for the pod, streams its log while it runs, reads the exit code
from the container's terminated state (or the Job's DeadlineExceeded condition), and always deletes the
three objects afterwards, whatever happened. Only objects this run created (or may have created, when the
API server answered 5xx) are deleted: a 409 on create means the name belongs to somebody else.

What a Job cannot report, and this backend therefore does not: peak memory (needs metrics-server; always
0), a separate stderr (the pod log interleaves stdout and stderr; everything is returned as stdout), and a
per-pod process limit (pids are limited per node by the kubelet's podPidsLimit, not in the pod spec).
"""

from __future__ import annotations

import codecs
import logging
import math
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from sandbox.limits import SandboxLimits
from sandbox.local import (
    EXIT_KILLED,
    EXIT_TIMEOUT,
    KilledReason,
    OutputCallback,
    SandboxResult,
)

logger = logging.getLogger(__name__)

# --- configuration ----------------------------------------------------------------------------------------

DEFAULT_IMAGES: Mapping[str, str] = {
    "bash": "bash:5.2",
    "sh": "busybox:1.36",
    "python": "python:3.12-slim",
}

# The interpreter each language's script is started with, and the file name it gets in the ConfigMap.
_INTERPRETERS: Mapping[str, tuple[tuple[str, ...], str]] = {
    "bash": (("bash",), "run.sh"),
    "sh": (("sh",), "run.sh"),
    "python": (("python3",), "run.py"),
}

NAMESPACE_DEFAULT = "remediation-sandbox"
RUN_ID_LABEL = "generative-remediation/run-id"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "generative-remediation"
CONTAINER_NAME = "script"
SCRIPT_MOUNT_PATH = "/sandbox"
WORKSPACE = "/workspace"
SANDBOX_UID = 65534  # "nobody" in the bash, busybox and python images

# A ConfigMap holds at most 1 MiB in total; leave room for the metadata.
MAX_SCRIPT_BYTES = 900 * 1024
# Object names are "rr-<run id>-<suffix>" and must stay DNS labels (63 characters, the Job name also
# becomes a pod label value).
_RUN_ID_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")

# Waiting reasons after which the container will never start on its own. Pull failures can be a registry
# outage (retryable); a bad image name or a broken pod spec needs a configuration change (not retryable).
_WAITING_REASONS_RETRYABLE = frozenset({"ErrImagePull", "ImagePullBackOff"})
_WAITING_REASONS_FATAL = frozenset({"InvalidImageName", "CreateContainerConfigError", "CreateContainerError"})

# Applied by /bin/sh inside the container before the interpreter starts: open files and file size (in
# 512-byte blocks, the unit of dash's and busybox ash's `ulimit -f`). Refuses to run the script when a
# limit cannot be applied instead of running it unlimited.
_ULIMIT_WRAPPER = (
    'ulimit -n "$1" && ulimit -f "$2" || { echo "sandbox: could not apply resource limits" >&2; exit 126; }; '
    'shift 2; exec "$@"'
)


@dataclass(frozen=True)
class KubernetesSandboxConfig:
    """Where and how Jobs run. `kubeconfig_path` None means in-cluster service-account credentials."""

    kubeconfig_path: str | None = None
    namespace: str = NAMESPACE_DEFAULT
    images: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_IMAGES))
    ttl_seconds_after_finished: int = 300
    cpu_limit: str = "500m"
    poll_interval_seconds: float = 1.0
    # How long past the wall-time limit this client waits for the Job controller to report before it gives
    # up (the pod's scheduling and image pull count against activeDeadlineSeconds already).
    controller_grace_seconds: float = 60.0
    # How long to keep reading the log after the Job has finished, for lines still in flight.
    log_drain_seconds: float = 5.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> KubernetesSandboxConfig:
        """KUBERNETES_SANDBOX_CONFIG (kubeconfig path; unset or empty = in-cluster),
        KUBERNETES_SANDBOX_NAMESPACE (optional). Fails loudly on a kubeconfig path that does not exist."""
        env = os.environ if environ is None else environ
        path = env.get("KUBERNETES_SANDBOX_CONFIG", "").strip() or None
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"KUBERNETES_SANDBOX_CONFIG={path!r} is not a readable kubeconfig file")
        namespace = env.get("KUBERNETES_SANDBOX_NAMESPACE", "").strip() or NAMESPACE_DEFAULT
        return cls(kubeconfig_path=path, namespace=namespace)


class KubernetesSandboxError(RuntimeError):
    """The cluster could not run the script (as opposed to the script failing, which is a SandboxResult).

    `retryable` says whether the same request may succeed later (API server 5xx/429, connection
    failures, image pull back-off) or needs a human (403 RBAC, 409 name taken, invalid manifest).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        operation: str = "",
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.operation = operation


# --- manifests --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobObjectNames:
    config_map: str
    network_policy: str
    job: str

    @classmethod
    def for_run(cls, run_id: str) -> JobObjectNames:
        if not _RUN_ID_PATTERN.match(run_id):
            raise ValueError(
                f"run_id {run_id!r} must be 1-40 lowercase letters, digits or '-', starting and ending alphanumeric"
            )
        return cls(
            config_map=f"rr-{run_id}-script",
            network_policy=f"rr-{run_id}-deny-all",
            job=f"rr-{run_id}",
        )


def _memory_quantity(memory_bytes: int) -> str:
    return f"{max(1, math.ceil(memory_bytes / (1024 * 1024)))}Mi"


def build_job_objects(
    *,
    run_id: str,
    script: str,
    language: str,
    limits: SandboxLimits,
    config: KubernetesSandboxConfig,
    env: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The ConfigMap (script), NetworkPolicy (deny all for the run's pod) and Job for one run, as plain dicts.

    ``env`` adds variables for the script (e.g. REMEDIATION_DRY_RUN), as the local sandbox's ``env`` does;
    the fixed ones (HOME, TMPDIR, ...) cannot be overridden.
    """
    if language not in _INTERPRETERS:
        raise ValueError(f"language {language!r} has no interpreter; known: {sorted(_INTERPRETERS)}")
    if language not in config.images:
        raise ValueError(f"no image configured for language {language!r}; configured: {sorted(config.images)}")
    if len(script.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise ValueError(f"script is larger than {MAX_SCRIPT_BYTES} bytes, too large for a ConfigMap")
    if limits.wall_seconds <= 0:
        raise ValueError("limits.wall_seconds must be positive")
    names = JobObjectNames.for_run(run_id)
    interpreter, script_file = _INTERPRETERS[language]
    labels = {RUN_ID_LABEL: run_id, MANAGED_BY_LABEL: MANAGED_BY_VALUE}
    memory = _memory_quantity(limits.memory_bytes)
    # The two writable places, as in the local sandbox: /workspace (working directory) and /tmp, each
    # limits.workspace_bytes. The kubelet evicts the pod when an emptyDir outgrows its sizeLimit.
    workspace_size = _memory_quantity(limits.workspace_bytes)

    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.config_map,
            "namespace": config.namespace,
            "labels": dict(labels),
        },
        "data": {script_file: script},
        "immutable": True,
    }

    # No ingress or egress rules with both policy types listed = nothing in, nothing out. limits.network
    # (only the literal True) opens egress; ingress to a sandbox pod is never needed.
    network_policy_spec: dict[str, Any] = {
        "podSelector": {"matchLabels": {RUN_ID_LABEL: run_id}},
        "policyTypes": ["Ingress", "Egress"],
    }
    if limits.network is True:
        network_policy_spec["egress"] = [{}]
    network_policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": names.network_policy,
            "namespace": config.namespace,
            "labels": dict(labels),
        },
        "spec": network_policy_spec,
    }

    container = {
        "name": CONTAINER_NAME,
        "image": config.images[language],
        "imagePullPolicy": "IfNotPresent",
        "command": [
            "/bin/sh",
            "-c",
            _ULIMIT_WRAPPER,
            "sandbox-limits",
            str(limits.max_open_files),
            str(max(1, math.ceil(limits.max_file_bytes / 512))),
            *interpreter,
            f"{SCRIPT_MOUNT_PATH}/{script_file}",
        ],
        "workingDir": WORKSPACE,
        "env": [
            {"name": "HOME", "value": WORKSPACE},
            {"name": "TMPDIR", "value": "/tmp"},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            *(
                {"name": name, "value": value}
                for name, value in sorted((env or {}).items())
                if name not in {"HOME", "TMPDIR", "PYTHONDONTWRITEBYTECODE"}
            ),
        ],
        "resources": {
            "requests": {"cpu": config.cpu_limit, "memory": memory},
            "limits": {"cpu": config.cpu_limit, "memory": memory},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "script", "mountPath": SCRIPT_MOUNT_PATH, "readOnly": True},
            {"name": "workspace", "mountPath": WORKSPACE},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": names.job,
            "namespace": config.namespace,
            "labels": dict(labels),
        },
        "spec": {
            "backoffLimit": 0,
            "completions": 1,
            "parallelism": 1,
            "activeDeadlineSeconds": max(1, math.ceil(limits.wall_seconds)),
            "ttlSecondsAfterFinished": config.ttl_seconds_after_finished,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 5,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": SANDBOX_UID,
                        "runAsGroup": SANDBOX_UID,
                        "fsGroup": SANDBOX_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "script",
                            "configMap": {
                                "name": names.config_map,
                                "defaultMode": 0o444,
                            },
                        },
                        {
                            "name": "workspace",
                            "emptyDir": {"sizeLimit": workspace_size},
                        },
                        {
                            "name": "tmp",
                            "emptyDir": {"sizeLimit": workspace_size},
                        },
                    ],
                },
            },
        },
    }
    return config_map, network_policy, job


# --- API error handling -----------------------------------------------------------------------------------


def _api_error(exc: ApiException, operation: str) -> KubernetesSandboxError:
    status = int(exc.status) if exc.status else None
    retryable = status is None or status >= 500 or status == 429
    hint = {
        401: "the credentials were rejected",
        403: "the sandbox service account lacks RBAC permission for this call",
        404: "the namespace or object does not exist",
        409: "an object with this name already exists (run id reused?)",
        422: "the API server rejected the manifest",
    }.get(
        status or 0,
        "the API server is unavailable or overloaded" if retryable else "request refused",
    )
    message = f"Kubernetes {operation} failed with HTTP {status} ({hint}); retryable={retryable}"
    if exc.body:
        message += f": {str(exc.body)[:500]}"
    return KubernetesSandboxError(message, retryable=retryable, status=status, operation=operation)


def _call(operation: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One API call; ApiException and connection failures become KubernetesSandboxError."""
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        raise _api_error(exc, operation) from exc
    # Connection refused or reset, TLS failures, urllib3's retries exhausted.
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        raise KubernetesSandboxError(
            f"Kubernetes {operation} failed: cannot reach the API server: {exc}",
            retryable=True,
            operation=operation,
        ) from exc


# --- log streaming ----------------------------------------------------------------------------------------


class _OutputBudget:
    """Splits a byte stream into lines and stops at max_output_bytes (a line that crosses the cap is cut)."""

    def __init__(self, max_bytes: int) -> None:
        self._remaining = max_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self.truncated = False

    def _take(self, text: str) -> str | None:
        encoded = text.encode("utf-8")
        if len(encoded) <= self._remaining:
            self._remaining -= len(encoded)
            return text
        self.truncated = True
        kept = encoded[: self._remaining].decode("utf-8", errors="ignore")
        self._remaining = 0
        return kept or None

    def feed(self, chunk: bytes) -> list[str]:
        """Complete lines (with their newline) that fit the budget."""
        if self.truncated:
            return []
        self._pending += self._decoder.decode(chunk)
        *complete, self._pending = self._pending.split("\n")
        lines: list[str] = []
        for line in complete:
            kept = self._take(line + "\n")
            if kept is not None:
                lines.append(kept)
            if self.truncated:
                return lines
        # A huge line without a newline must not grow the buffer past the budget.
        if len(self._pending.encode("utf-8")) > self._remaining:
            kept = self._take(self._pending)
            self._pending = ""
            if kept is not None:
                lines.append(kept)
        return lines

    def finish(self) -> list[str]:
        if self.truncated:
            return []
        rest = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        kept = self._take(rest) if rest else None
        return [kept] if kept else []


@dataclass
class _LogEvent:
    kind: Literal["line", "end", "error"]
    text: str = ""


class _LogFollower:
    """Follows one pod's log on a daemon thread and hands lines to the caller's thread through a queue.

    The caller's thread calls on_output, so the callback never runs concurrently with the caller.
    """

    def __init__(
        self,
        core: k8s.CoreV1Api,
        *,
        pod_name: str,
        namespace: str,
        max_output_bytes: int,
    ) -> None:
        self.events: queue.Queue[_LogEvent] = queue.Queue()
        self.budget = _OutputBudget(max_output_bytes)
        self.received_any = False
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._response: Any = None
        self._thread = threading.Thread(
            target=self._run,
            args=(core, pod_name, namespace),
            name=f"k8s-log-{pod_name}",
            daemon=True,
        )
        self._thread.start()

    def _run(self, core: k8s.CoreV1Api, pod_name: str, namespace: str) -> None:
        try:
            self._response = core.read_namespaced_pod_log(
                pod_name,
                namespace,
                container=CONTAINER_NAME,
                follow=True,
                _preload_content=False,
            )
            for chunk in self._response.stream(4096, decode_content=True):
                if self._stop.is_set():
                    break
                self.received_any = True
                for line in self.budget.feed(chunk):
                    self.events.put(_LogEvent("line", line))
                if self.budget.truncated:
                    break  # nothing more will be kept; stop pulling bytes from the cluster
            else:
                for line in self.budget.finish():
                    self.events.put(_LogEvent("line", line))
            self.events.put(_LogEvent("end"))
        except ApiException as exc:
            self.events.put(_LogEvent("error", str(_api_error(exc, "read pod log"))))
        except Exception as exc:  # noqa: BLE001 - a broken stream must end the follower, not the run
            if not self._stop.is_set():
                self.events.put(_LogEvent("error", f"log stream broke: {exc}"))
            self.events.put(_LogEvent("end"))
        finally:
            self._close_response()
            self.finished.set()

    def _close_response(self) -> None:
        response = self._response
        if response is None:
            return
        # shutdown() unblocks a read in progress on another thread (urllib3 >= 2.3); close() alone may not.
        shutdown = getattr(response, "shutdown", None)
        try:
            if shutdown is not None:
                shutdown()
            response.release_conn()
            response.close()
        except Exception:  # noqa: BLE001, S110 - best effort while tearing down
            pass

    def stop(self) -> None:
        self._stop.set()
        self._close_response()


# --- lifecycle --------------------------------------------------------------------------------------------


@dataclass
class _CreatedObjects:
    """What cleanup must delete: objects created, or possibly created (the create answered 5xx)."""

    config_map: bool = False
    network_policy: bool = False
    job: bool = False


def _job_outcome(job: Any) -> tuple[str, str] | None:
    """("Complete"|"Failed", reason) once the Job controller has decided, else None."""
    conditions = (job.status.conditions if job.status else None) or []
    for condition in conditions:
        if condition.status != "True":
            continue
        reason = condition.reason or ""
        if condition.type in ("Complete", "Failed"):
            return condition.type, reason
        # Since Kubernetes 1.31 FailureTarget precedes Failed while the pod is being terminated.
        if condition.type == "FailureTarget" and reason == "DeadlineExceeded":
            return "Failed", reason
    return None


def _container_state(pod: Any) -> Any:
    for status in (pod.status.container_statuses if pod.status else None) or []:
        if status.name == CONTAINER_NAME:
            return status.state
    return None


def _find_pod(core: k8s.CoreV1Api, namespace: str, run_id: str) -> Any:
    pods = _call(
        "list pods",
        core.list_namespaced_pod,
        namespace,
        label_selector=f"{RUN_ID_LABEL}={run_id}",
    )
    items = list(pods.items or [])
    # backoffLimit 0 means one pod; should a node failure replace it, follow the newest one.
    items.sort(key=lambda p: str(p.metadata.creation_timestamp or ""), reverse=True)
    return items[0] if items else None


def _check_stuck_waiting(pod: Any) -> None:
    state = _container_state(pod)
    waiting = state.waiting if state else None
    if waiting is None or not waiting.reason:
        return
    if waiting.reason in _WAITING_REASONS_RETRYABLE or waiting.reason in _WAITING_REASONS_FATAL:
        retryable = waiting.reason in _WAITING_REASONS_RETRYABLE
        raise KubernetesSandboxError(
            f"container never started: {waiting.reason}: {waiting.message or ''}".rstrip(": "),
            retryable=retryable,
            operation="start container",
        )


def _open_api_client(config: KubernetesSandboxConfig) -> k8s.ApiClient:
    from kubernetes import config as k8s_config

    if config.kubeconfig_path:
        return k8s_config.new_client_from_config(config_file=config.kubeconfig_path, persist_config=False)
    configuration = k8s.Configuration()
    k8s_config.load_incluster_config(client_configuration=configuration)
    return k8s.ApiClient(configuration)


def _cleanup(
    *,
    core: k8s.CoreV1Api,
    networking: k8s.NetworkingV1Api,
    batch: k8s.BatchV1Api,
    names: JobObjectNames,
    namespace: str,
    created: _CreatedObjects,
) -> list[str]:
    """Delete what this run created. Never raises: returns the failures so the caller can report them."""
    failures: list[str] = []
    deletions: list[tuple[bool, str, Callable[[], Any]]] = [
        # The Job first: Background propagation lets the garbage collector remove its pod.
        (
            created.job,
            f"job {names.job}",
            lambda: batch.delete_namespaced_job(names.job, namespace, propagation_policy="Background"),
        ),
        (
            created.config_map,
            f"configmap {names.config_map}",
            lambda: core.delete_namespaced_config_map(names.config_map, namespace),
        ),
        (
            created.network_policy,
            f"networkpolicy {names.network_policy}",
            lambda: networking.delete_namespaced_network_policy(names.network_policy, namespace),
        ),
    ]
    for should_delete, what, delete in deletions:
        if not should_delete:
            continue
        try:
            delete()
        except ApiException as exc:
            if exc.status != 404:  # already gone is what we wanted
                failures.append(f"delete {what}: HTTP {exc.status}")
        except Exception as exc:  # noqa: BLE001 - cleanup must try every object
            failures.append(f"delete {what}: {exc}")
    return failures


def run_in_kubernetes(
    script: str,
    *,
    language: str,
    limits: SandboxLimits,
    config: KubernetesSandboxConfig,
    run_id: str,
    on_output: OutputCallback | None = None,
    api_client: k8s.ApiClient | None = None,
    env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run `script` as a Kubernetes Job and return its result.

    ``on_output("stdout", line)`` is called on the calling thread for each log line (without its newline),
    in order, while the pod runs; the pod log interleaves stdout and stderr, so the stream is always
    "stdout". When the output passes limits.max_output_bytes the Job is deleted (the pod killed) and the
    result says killed_reason "output_limit", exit 137, as the local sandbox does. A script that fails or times out is a SandboxResult; a cluster
    that cannot run it raises KubernetesSandboxError (see `.retryable`). The ConfigMap, NetworkPolicy and
    Job are deleted before this returns or raises.
    """
    config_map, network_policy, job = build_job_objects(
        run_id=run_id, script=script, language=language, limits=limits, config=config, env=env
    )
    names = JobObjectNames.for_run(run_id)
    namespace = config.namespace
    owns_client = api_client is None
    client = api_client if api_client is not None else _open_api_client(config)
    core = k8s.CoreV1Api(client)
    networking = k8s.NetworkingV1Api(client)
    batch = k8s.BatchV1Api(client)
    created = _CreatedObjects()
    follower: _LogFollower | None = None
    try:
        creations: list[tuple[str, str, Callable[..., Any], Any]] = [
            (
                "config_map",
                "create configmap",
                core.create_namespaced_config_map,
                k8s.V1ConfigMap.from_dict(config_map),
            ),
            (
                "network_policy",
                "create networkpolicy",
                networking.create_namespaced_network_policy,
                k8s.V1NetworkPolicy.from_dict(network_policy),
            ),
            (
                "job",
                "create job",
                batch.create_namespaced_job,
                k8s.V1Job.from_dict(job),
            ),
        ]
        for attribute, operation, create, body in creations:
            try:
                _call(operation, create, namespace, body)
            except KubernetesSandboxError as error:
                # After a 5xx or a lost connection the object may exist anyway; after a 4xx (403, 409:
                # the name is somebody else's) it was not created by this run and must not be deleted.
                setattr(created, attribute, error.retryable)
                raise
            setattr(created, attribute, True)

        started = time.monotonic()
        give_up_at = started + limits.wall_seconds + config.controller_grace_seconds
        stdout_parts: list[str] = []

        def drain_for(seconds: float) -> bool:
            """Deliver log lines to on_output for up to `seconds`; True once the log stream has ended."""
            nonlocal follower
            if follower is None:
                time.sleep(seconds)
                return False
            until = time.monotonic() + seconds
            while (remaining := until - time.monotonic()) > 0:
                try:
                    event = follower.events.get(timeout=remaining)
                except queue.Empty:
                    return False
                if event.kind == "end":
                    return True
                if event.kind == "error":
                    logger.info("run %s: %s", run_id, event.text)
                    if not follower.received_any:
                        follower = None  # e.g. "container is waiting to start": reconnect at the next poll
                        return False
                    continue
                stdout_parts.append(event.text)
                if on_output is not None:
                    on_output("stdout", event.text.removesuffix("\n"))
            return False

        outcome: tuple[str, str] | None = None
        log_ended = False
        while True:
            if time.monotonic() > give_up_at:
                raise KubernetesSandboxError(
                    f"Job {names.job} did not finish within {limits.wall_seconds}s + "
                    f"{config.controller_grace_seconds}s grace; is the Job controller running?",
                    retryable=True,
                    operation="wait for job",
                )
            outcome = _job_outcome(_call("read job", batch.read_namespaced_job, names.job, namespace))
            if follower is None:
                # Also after the Job finished: a script quicker than one poll still has a log to read.
                pod = _find_pod(core, namespace, run_id)
                if pod is not None:
                    if outcome is None:
                        _check_stuck_waiting(pod)
                    if pod.status and pod.status.phase in (
                        "Running",
                        "Succeeded",
                        "Failed",
                    ):
                        follower = _LogFollower(
                            core,
                            pod_name=pod.metadata.name,
                            namespace=namespace,
                            max_output_bytes=limits.max_output_bytes,
                        )
            if outcome is not None:
                break
            if log_ended:
                time.sleep(config.poll_interval_seconds)
            else:
                log_ended = drain_for(config.poll_interval_seconds)
            if follower is not None and follower.budget.truncated:
                # Output budget spent while the script runs: kill it (cleanup deletes the Job and with
                # it the pod) rather than let it run on unheard until its deadline.
                outcome = ("Killed", "output_limit")
                break

        # The Job has finished: deliver lines still in flight, then read the exit code.
        if follower is not None and not log_ended:  # after an output-limit kill the "end" is already queued
            drain_for(config.log_drain_seconds)

        def result(exit_code: int, killed_reason: KilledReason | None) -> SandboxResult:
            return SandboxResult(
                exit_code=exit_code,
                timed_out=killed_reason == "timeout",
                killed_reason=killed_reason,
                stdout="".join(stdout_parts),
                stderr="",
                duration_ms=(time.monotonic() - started) * 1000.0,
                peak_memory_kb=0,
                stdout_truncated=follower.budget.truncated if follower is not None else False,
                stderr_truncated=False,
                isolation="kubernetes-job",
            )

        kind, reason = outcome
        if kind == "Killed":
            return result(EXIT_KILLED, "output_limit")
        if kind == "Failed" and reason == "DeadlineExceeded":
            return result(EXIT_TIMEOUT, "timeout")
        pod = _find_pod(core, namespace, run_id)
        state = _container_state(pod) if pod is not None else None
        terminated = state.terminated if state is not None else None
        if terminated is None:
            raise KubernetesSandboxError(
                f"Job {names.job} ended ({kind}: {reason or 'no reason'}) but its pod reported no exit code "
                "(evicted or deleted?)",
                retryable=True,
                operation="read pod status",
            )
        if terminated.reason == "OOMKilled":
            return result(EXIT_KILLED, "memory")
        return result(int(terminated.exit_code), None)
    finally:
        if follower is not None:
            follower.stop()
        failures = _cleanup(
            core=core,
            networking=networking,
            batch=batch,
            names=names,
            namespace=namespace,
            created=created,
        )
        if owns_client:
            client.close()
        if failures:
            # Do not hide the run's own error behind a cleanup error; the TTL controller is the backstop.
            logger.warning("cleanup of run %s incomplete: %s", run_id, "; ".join(failures))
