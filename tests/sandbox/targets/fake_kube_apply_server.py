"""A fake Kubernetes API server for server-side apply of Deployments and ConfigMaps.

Real HTTP on 127.0.0.1 in a thread, so the official client's DynamicClient runs end to end: discovery
(/version, /api, /apis, /api/v1, /apis/apps/v1, minimal documents), then GET, PATCH
(application/apply-patch+yaml) and DELETE of namespaced deployments and configmaps. Every request is
recorded with its query (dryRun, fieldManager, force) and body.

Server-side apply is modelled coarsely, enough to test what the runner relies on:

* each field manager owns the leaf fields of its last applied configuration (a list is one leaf);
* applying a value that differs from a leaf another manager owns is a 409 conflict unless force=true,
  which moves ownership; equal values are shared;
* a leaf the applying manager owned before, left out now and owned by nobody else, is removed;
* ``dryRun=All`` computes the answer and stores nothing;
* an apply body carrying managedFields is a 400; a stale metadata.resourceVersion or a different uid
  is a 409 (the real server treats both as preconditions).

Not modelled: defaulting, validation, admission, associative list merge keys (containers by name),
status subresources, generation, watches, RBAC. Failures can be scripted per object name.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import yaml

Path = tuple[str, ...]

DISCOVERY: dict[str, dict[str, Any]] = {
    "/version": {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake", "platform": "linux/amd64"},
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
            }
        ],
    },
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "configmaps",
                "singularName": "configmap",
                "namespaced": True,
                "kind": "ConfigMap",
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            },
        ],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "singularName": "deployment",
                "namespaced": True,
                "kind": "Deployment",
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            },
        ],
    },
}

_REASONS = {400: "BadRequest", 404: "NotFound", 409: "Conflict", 415: "UnsupportedMediaType", 422: "Invalid"}
# Identity and server-owned parts of an object that never count as applied fields.
_NOT_APPLIED = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace"), ("status",)}


@dataclass
class RecordedRequest:
    method: str
    resource: str
    namespace: str
    name: str | None
    query: dict[str, list[str]]
    content_type: str
    body: Any


@dataclass
class _Stored:
    body: dict[str, Any]
    owners: dict[str, set[Path]] = field(default_factory=dict)


def _status(code: int, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, ""),
        "code": code,
    }


def _leaves(value: Any, prefix: Path = ()) -> dict[Path, Any]:
    if isinstance(value, dict) and value:
        found: dict[Path, Any] = {}
        for key, child in value.items():
            found.update(_leaves(child, (*prefix, str(key))))
        return found
    return {prefix: value}


def _applied_leaves(body: dict[str, Any]) -> dict[Path, Any]:
    return {
        path: value
        for path, value in _leaves(body).items()
        if path[:2] not in _NOT_APPLIED and path[:1] not in _NOT_APPLIED and path[:2] != ("metadata", "managedFields")
    }


def _get(body: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(body, dict) or key not in body:
            return _MISSING
        body = body[key]
    return body


def _set(body: dict[str, Any], path: Path, value: Any) -> None:
    for key in path[:-1]:
        body = body.setdefault(key, {})
    body[path[-1]] = copy.deepcopy(value)


def _remove(body: dict[str, Any], path: Path) -> None:
    parents = []
    node: Any = body
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        parents.append((node, key))
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, key in reversed(parents):  # prune maps left empty
        if parent[key] == {}:
            del parent[key]


_MISSING = object()


class FakeKubeApplyServer:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.objects: dict[tuple[str, str, str], _Stored] = {}
        #: object name -> (HTTP status, message) answered to its apply PATCH.
        self.reject_apply: dict[str, tuple[int, str]] = {}
        self.lock = threading.Lock()
        self._version = 100
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # --- test helpers -------------------------------------------------------------------------------------

    def seed(self, resource: str, body: dict[str, Any], manager: str = "kubectl-client-side-apply") -> None:
        """Store an object as if ``manager`` had applied all of it (status excepted)."""
        metadata = body["metadata"]
        stored = copy.deepcopy(body)
        stored["metadata"].update({"uid": f"uid-{metadata['name']}", "resourceVersion": self._next_version()})
        stored["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
        self.objects[(resource, metadata["namespace"], metadata["name"])] = _Stored(
            stored, {manager: set(_applied_leaves(body))}
        )

    def stored(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((resource, namespace, name))
        return copy.deepcopy(found.body) if found else None

    def calls(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method]

    # --- HTTP ---------------------------------------------------------------------------------------------

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._dispatch(self, "GET")

            def do_PATCH(self) -> None:
                fake._dispatch(self, "PATCH")

            def do_DELETE(self) -> None:
                fake._dispatch(self, "DELETE")

        return Handler

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, code: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        query = parse_qs(url.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if method == "GET" and url.path in DISCOVERY:
            self._send(handler, 200, DISCOVERY[url.path])
            return
        parts = url.path.strip("/").split("/")
        # /api/v1/namespaces/{ns}/{resource}/{name} or /apis/apps/v1/namespaces/{ns}/{resource}/{name}
        offset = 2 if parts[:2] == ["api", "v1"] else 3 if parts[:3] == ["apis", "apps", "v1"] else None
        if offset is None or len(parts) != offset + 4 or parts[offset] != "namespaces":
            self._send(handler, 404, _status(404, f"fake: no route for {method} {url.path}"))
            return
        namespace, resource, name = parts[offset + 1], parts[offset + 2], parts[offset + 3]
        if (offset, resource) not in ((2, "configmaps"), (3, "deployments")):
            self._send(handler, 404, _status(404, f"fake: {resource} not served here"))
            return
        content_type = handler.headers.get("Content-Type", "")
        body = yaml.safe_load(raw) if raw else None
        with self.lock:
            self.requests.append(RecordedRequest(method, resource, namespace, name, query, content_type, body))
            key = (resource, namespace, name)
            if method == "GET":
                self._get(handler, key)
            elif method == "DELETE":
                if self.objects.pop(key, None) is None:
                    self._send(handler, 404, _status(404, f'{resource} "{name}" not found'))
                else:
                    self._send(handler, 200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200})
            else:
                self._apply(handler, key, query, content_type, body)

    def _get(self, handler: BaseHTTPRequestHandler, key: tuple[str, str, str]) -> None:
        stored = self.objects.get(key)
        if stored is None:
            self._send(handler, 404, _status(404, f'{key[0]} "{key[2]}" not found'))
            return
        self._send(handler, 200, self._with_managed_fields(stored))

    @staticmethod
    def _with_managed_fields(stored: _Stored) -> dict[str, Any]:
        answer = copy.deepcopy(stored.body)
        answer["metadata"]["managedFields"] = [
            {"manager": manager, "operation": "Apply", "fieldsType": "FieldsV1"} for manager in sorted(stored.owners)
        ]
        return answer

    def _apply(
        self,
        handler: BaseHTTPRequestHandler,
        key: tuple[str, str, str],
        query: dict[str, list[str]],
        content_type: str,
        config: Any,
    ) -> None:
        _resource, namespace, name = key
        if content_type != "application/apply-patch+yaml":
            self._send(handler, 415, _status(415, f"fake: only server-side apply is served, got {content_type}"))
            return
        manager = query.get("fieldManager", [""])[0]
        if not manager:
            self._send(handler, 400, _status(400, "fieldManager is required for apply requests"))
            return
        if name in self.reject_apply:
            code, message = self.reject_apply[name]
            self._send(handler, code, _status(code, message))
            return
        metadata = config.get("metadata") or {}
        if metadata.get("name") != name or metadata.get("namespace", namespace) != namespace:
            self._send(handler, 400, _status(400, "the name or namespace of the body does not match the URL"))
            return
        if "managedFields" in metadata:
            self._send(handler, 400, _status(400, "metadata.managedFields must be nil"))
            return
        stored = self.objects.get(key)
        current = stored.body if stored else None
        if stored and metadata.get("resourceVersion") not in (None, current["metadata"]["resourceVersion"]):
            self._send(handler, 409, _status(409, "the object has been modified; please apply your changes again"))
            return
        if stored and metadata.get("uid") not in (None, current["metadata"]["uid"]):
            self._send(handler, 409, _status(409, "Precondition failed: UID in precondition does not match"))
            return
        force = query.get("force", ["false"])[0] == "true"
        owners = copy.deepcopy(stored.owners) if stored else {}
        applied = _applied_leaves(config)
        for path in ("resourceVersion",), ("uid",), ("creationTimestamp",), ("generation",):
            applied.pop(("metadata", *path), None)
        conflicts = [
            (other, path)
            for path, value in applied.items()
            for other, paths in owners.items()
            if other != manager and path in paths and _get(current, path) != value
        ]
        if conflicts and not force:
            described = ", ".join(f'conflict with "{other}": .{".".join(path)}' for other, path in conflicts)
            self._send(handler, 409, _status(409, f"Apply failed with {len(conflicts)} conflict(s): {described}"))
            return
        for other, path in conflicts:
            owners[other].discard(path)
        result = copy.deepcopy(current) if current else {"apiVersion": config["apiVersion"], "kind": config["kind"]}
        result.setdefault("metadata", {}).update({"name": name, "namespace": namespace})
        others = set().union(*(paths for other, paths in owners.items() if other != manager)) if owners else set()
        for path in owners.get(manager, set()) - set(applied) - others:
            _remove(result, path)
        for path, value in applied.items():
            _set(result, path, value)
        owners[manager] = set(applied)
        changed = current is None or result != current
        if current is None:
            result["metadata"].update({"uid": f"uid-{name}", "creationTimestamp": "2024-06-01T00:00:00Z"})
        if changed:
            result["metadata"]["resourceVersion"] = self._next_version()
        dry_run = query.get("dryRun", [""])[0] == "All"
        answer = _Stored(result, owners)
        if not dry_run:
            self.objects[key] = answer
        self._send(handler, 201 if current is None else 200, self._with_managed_fields(answer))
