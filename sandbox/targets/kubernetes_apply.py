"""Apply Kubernetes manifests with server-side apply: a server dry run first, then the real apply.

Each document of the manifest is applied on its own with a PATCH of content type
``application/apply-patch+yaml`` and ``fieldManager`` (kubernetes.dynamic.DynamicClient finds the
resource's path from the API server's discovery documents, so any kind the cluster serves works).

Rehearsal: every object is applied with ``dryRun=All``: the API server runs defaulting, validation,
admission webhooks and field-ownership conflict detection, and stores nothing.

Real run: every object is read first (GET); the snapshot records that previous object (minus
managedFields) or ``"absent"``; then it is applied. The run stops at the first failure; the snapshot
holds the objects applied so far. Conflicts with other field managers are not forced unless the caller
says so (``force_conflicts=True``): a conflict is reported with the fields and managers involved.

:func:`restore_kubernetes_snapshot` walks the snapshot backwards: an object that was absent is deleted;
any other is re-applied as it was (status, resourceVersion, uid, managedFields, creationTimestamp,
generation stripped) by the same field manager with force, so fields the run added and nobody else
owns are removed by the API server.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
import yaml
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import (
    ApiException,
    ConflictError,
    DynamicApiError,
    NotFoundError,
    ResourceNotFoundError,
)

from sandbox.targets.types import OutputCallback, OutputLog, TargetResult, TargetUnavailable

ABSENT = "absent"
DEFAULT_NAMESPACE = "default"
REQUEST_TIMEOUT_SECONDS = 30

#: Server-populated fields that must not be sent back when an object is re-applied.
_SERVER_METADATA = ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation", "selfLink")


@dataclass(frozen=True)
class _Object:
    body: dict[str, Any]
    api_version: str
    kind: str
    name: str
    namespace: str | None  # None until the resource says whether it is namespaced

    def label(self, namespace: str | None) -> str:
        where = f" in namespace {namespace}" if namespace else ""
        return f"{self.kind}/{self.name}{where}"


class _ManifestRefused(Exception):
    pass


def _documents(manifest_yaml: str) -> list[_Object]:
    try:
        documents = [doc for doc in yaml.safe_load_all(manifest_yaml) if doc is not None]
    except yaml.YAMLError as error:
        raise _ManifestRefused(f"the manifest is not valid YAML: {' '.join(str(error).split())[:300]}") from error
    expanded: list[Any] = []
    for document in documents:
        if isinstance(document, dict) and str(document.get("kind", "")).endswith("List") and "items" in document:
            expanded.extend(document.get("items") or [])
        else:
            expanded.append(document)
    if not expanded:
        raise _ManifestRefused("the manifest holds no object")
    objects = []
    for number, document in enumerate(expanded, start=1):
        if not isinstance(document, dict):
            raise _ManifestRefused(f"document {number} is not a mapping")
        metadata = document.get("metadata") or {}
        api_version, kind = document.get("apiVersion"), document.get("kind")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not (isinstance(api_version, str) and isinstance(kind, str) and isinstance(name, str) and name):
            raise _ManifestRefused(f"document {number} needs apiVersion, kind and metadata.name")
        if metadata.get("generateName"):
            raise _ManifestRefused(f"document {number} uses generateName, which server-side apply cannot do")
        namespace = metadata.get("namespace")
        objects.append(_Object(document, api_version, kind, name, namespace if isinstance(namespace, str) else None))
    return objects


def _dynamic_client(api_client: Any, cache_directory: str) -> DynamicClient:
    if api_client is None:
        raise TargetUnavailable("no Kubernetes API client is configured for this target (no kubeconfig)")
    try:
        # A private discovery cache: the library's default is a predictable file in /tmp that anyone on the
        # host could plant to redirect kinds to other paths.
        return DynamicClient(api_client, cache_file=f"{cache_directory}/discovery.json")
    except Exception as error:  # urllib3, ApiException, ValueError: the API server cannot be reached/used
        raise TargetUnavailable(f"cannot reach the Kubernetes API server for discovery: {error}") from error


def _api_error(error: Exception) -> str:
    """The API server's own message (a Status object), or the exception's text."""
    body = getattr(error, "body", None)
    if body:
        try:
            status = json.loads(body)
            message = str(status.get("message") or body)
            code = status.get("code") or getattr(error, "status", "")
            return f"{message} (HTTP {code})"
        except (ValueError, AttributeError):
            pass
    status = getattr(error, "status", None)
    return f"{str(error).strip()[:300]}" + (f" (HTTP {status})" if status else "")


def _without_server_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    clean = json.loads(json.dumps(body))
    clean.pop("status", None)
    metadata = clean.get("metadata") or {}
    for key in _SERVER_METADATA:
        metadata.pop(key, None)
    clean["metadata"] = metadata
    return clean


def apply_manifests(
    manifest_yaml: str,
    *,
    api_client: Any,
    rehearsal: bool,
    field_manager: str = "remediation",
    force_conflicts: bool = False,
    on_output: OutputCallback | None = None,
) -> TargetResult:
    """Server-side apply every object of ``manifest_yaml`` (``rehearsal``: dryRun=All, nothing stored).

    ``api_client`` is a ``kubernetes.client.ApiClient`` for the target cluster. Objects without a
    namespace go to "default". Raises TargetUnavailable when there is no client or discovery fails.
    """
    log = OutputLog(on_output)
    stage = "Rehearsal (server dry run)" if rehearsal else "Apply"
    try:
        objects = _documents(manifest_yaml)
    except _ManifestRefused as error:
        log.error(str(error))
        return log.result(ok=False, summary=f"{stage} refused: {error}.")
    applied: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="remediation-kube-discovery-") as cache_directory:
        client = _dynamic_client(api_client, cache_directory)
        for number, item in enumerate(objects, start=1):
            try:
                resource = client.resources.get(api_version=item.api_version, kind=item.kind)
            except (ResourceNotFoundError, DynamicApiError, ApiException, urllib3.exceptions.HTTPError) as error:
                message = f"the cluster does not serve {item.kind} in {item.api_version}: {_api_error(error)}"
                return _failed(log, stage, number, item, message, applied)
            namespace = (item.namespace or DEFAULT_NAMESPACE) if resource.namespaced else None
            body = json.loads(json.dumps(item.body))
            if namespace is not None:
                body.setdefault("metadata", {})["namespace"] = namespace
            label = item.label(namespace)
            previous: dict[str, Any] | str
            try:
                existing = client.get(
                    resource, name=item.name, namespace=namespace, _request_timeout=REQUEST_TIMEOUT_SECONDS
                ).to_dict()
                existing.get("metadata", {}).pop("managedFields", None)
                previous = existing
            except NotFoundError:
                previous = ABSENT
            except (DynamicApiError, ApiException, urllib3.exceptions.HTTPError) as error:
                return _failed(log, stage, number, item, f"reading {label} failed: {_api_error(error)}", applied)
            try:
                result = client.server_side_apply(
                    resource,
                    body=body,
                    name=item.name,
                    namespace=namespace,
                    field_manager=field_manager,
                    force_conflicts=force_conflicts or None,
                    dry_run="All" if rehearsal else None,
                    _request_timeout=REQUEST_TIMEOUT_SECONDS,
                )
            except ConflictError as error:
                message = (
                    f"{label} conflicts with another field manager: {_api_error(error)}; the fields belong to "
                    "someone else (kubectl, a controller, an HPA): drop them from the manifest or apply with "
                    "force_conflicts"
                )
                return _failed(log, stage, number, item, message, applied)
            except (DynamicApiError, ApiException, urllib3.exceptions.HTTPError) as error:
                return _failed(log, stage, number, item, f"{label} was rejected: {_api_error(error)}", applied)
            after = result.to_dict() if hasattr(result, "to_dict") else {}
            outcome = _outcome(previous, after)
            log.emit(f"[{number}/{len(objects)}] {label}: {outcome}{' (server dry run)' if rehearsal else ''}")
            if not rehearsal:
                applied.append(
                    {
                        "apiVersion": item.api_version,
                        "kind": item.kind,
                        "name": item.name,
                        "namespace": namespace,
                        "previous": previous,
                        "applied_resource_version": (after.get("metadata") or {}).get("resourceVersion"),
                    }
                )
    if rehearsal:
        return log.result(ok=True, summary=f"Rehearsal passed: the API server accepted all {len(objects)} object(s).")
    return log.result(
        ok=True,
        summary=f"Applied {len(objects)} object(s).",
        snapshot={"type": "kubernetes", "field_manager": field_manager, "objects": applied},
    )


def _outcome(previous: dict[str, Any] | str, after: Mapping[str, Any]) -> str:
    if previous == ABSENT:
        return "created"
    assert isinstance(previous, dict)
    before_version = (previous.get("metadata") or {}).get("resourceVersion")
    after_version = (after.get("metadata") or {}).get("resourceVersion")
    if before_version and before_version == after_version:
        return "unchanged"
    return "configured"


def _failed(
    log: OutputLog, stage: str, number: int, item: _Object, message: str, applied: list[dict[str, Any]]
) -> TargetResult:
    log.error(f"[{number}] {message}")
    snapshot = None
    summary = f"{stage} failed at object {number} ({item.kind}/{item.name}): {message}."
    if applied:
        snapshot = {"type": "kubernetes", "objects": applied}
        summary += f" {len(applied)} object(s) before it were applied; the snapshot can undo them."
    return log.result(ok=False, summary=summary, snapshot=snapshot)


def restore_kubernetes_snapshot(
    snapshot: Mapping[str, Any],
    *,
    api_client: Any,
    field_manager: str | None = None,
    on_output: OutputCallback | None = None,
) -> TargetResult:
    """Undo a real apply: delete what was absent before, re-apply what was there (newest change first).

    Carries on past a failing object and reports every failure; ok only when every object was restored.
    """
    log = OutputLog(on_output)
    objects = list(snapshot.get("objects") or [])
    manager = field_manager or str(snapshot.get("field_manager") or "remediation")
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="remediation-kube-discovery-") as cache_directory:
        client = _dynamic_client(api_client, cache_directory)
        for entry in reversed(objects):
            kind, name, namespace = str(entry["kind"]), str(entry["name"]), entry.get("namespace")
            label = f"{kind}/{name}" + (f" in namespace {namespace}" if namespace else "")
            try:
                resource = client.resources.get(api_version=str(entry["apiVersion"]), kind=kind)
                if entry["previous"] == ABSENT:
                    try:
                        client.delete(
                            resource, name=name, namespace=namespace, _request_timeout=REQUEST_TIMEOUT_SECONDS
                        )
                        log.emit(f"{label}: deleted (it did not exist before the run)")
                    except NotFoundError:
                        log.emit(f"{label}: already gone")
                    continue
                current_version = _current_version(client, resource, name, namespace)
                if current_version not in (None, entry.get("applied_resource_version")):
                    log.emit(f"{label}: changed since the run (resourceVersion {current_version}); restoring anyway")
                client.server_side_apply(
                    resource,
                    body=_without_server_fields(entry["previous"]),
                    name=name,
                    namespace=namespace,
                    field_manager=manager,
                    force_conflicts=True,
                    _request_timeout=REQUEST_TIMEOUT_SECONDS,
                )
                log.emit(f"{label}: restored to its state before the run")
            except (ResourceNotFoundError, DynamicApiError, ApiException, urllib3.exceptions.HTTPError) as error:
                failures.append(f"{label}: {_api_error(error)}")
                log.error(f"{label}: restore failed: {_api_error(error)}")
    if failures:
        return log.result(
            ok=False,
            summary=f"Restore failed for {len(failures)} of {len(objects)} object(s): {'; '.join(failures)}.",
            snapshot=dict(snapshot),
        )
    return log.result(ok=True, summary=f"Restored {len(objects)} object(s) to their state before the run.")


def _current_version(client: DynamicClient, resource: Any, name: str, namespace: str | None) -> str | None:
    try:
        current = client.get(resource, name=name, namespace=namespace, _request_timeout=REQUEST_TIMEOUT_SECONDS)
    except NotFoundError:
        return None
    return str((current.to_dict().get("metadata") or {}).get("resourceVersion") or "") or None


__all__ = ["ABSENT", "apply_manifests", "restore_kubernetes_snapshot"]
