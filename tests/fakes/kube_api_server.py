"""A fake Kubernetes API server for the handful of REST calls the Job backend makes.

A real HTTP server on 127.0.0.1 (a thread, a random port) so the official `kubernetes` client is exercised
end to end: its serialisation, its pydantic models, its error mapping and the raw urllib3 log stream.

It plays the part of the API server, the Job controller and the kubelet for one scripted pod:

    POST/DELETE  /api/v1/namespaces/{ns}/configmaps[/{name}]
    POST/DELETE  /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies[/{name}]
    POST/GET/DELETE /apis/batch/v1/namespaces/{ns}/jobs[/{name}]
    GET          /api/v1/namespaces/{ns}/pods?labelSelector=k=v[,k=v]
    GET          /api/v1/namespaces/{ns}/pods/{name}
    GET          /api/v1/namespaces/{ns}/pods/{name}/log?follow=true   (lines streamed as the pod "prints")

Time is real (monotonic), measured from the Job's creation: the pod is Pending for `start_delay`, prints one
line every `line_interval`, exits, and the Job controller reports the Job's condition `completion_delay`
later. The Job's own activeDeadlineSeconds is honoured: past it the Job gets Failed/DeadlineExceeded and the
pod is deleted (its log stream ends). Deleting the Job deletes its pod.

What it does not model: watches, resourceVersion conflicts, admission (it does not validate manifests;
kubernetes_validate does that in the tests), RBAC (403s are scripted), several pods per Job.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class PodScenario:
    """What the one pod of the Job does, and which API calls fail."""

    lines: list[str] = field(default_factory=list)
    line_interval: float = 0.05
    start_delay: float = 0.1
    exit_code: int = 0
    # The container's terminated reason: "Completed", "Error" or "OOMKilled".
    terminated_reason: str | None = None
    # The container never exits on its own (only the Job's deadline or a DELETE ends it).
    hang: bool = False
    # The container never starts: it stays Waiting with this reason (e.g. "ImagePullBackOff").
    waiting_reason: str | None = None
    completion_delay: float = 0.15
    # (method, resource) -> HTTP status, e.g. ("POST", "jobs"): 500. resource is one of configmaps,
    # networkpolicies, jobs, pods, log.
    failures: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    method: str
    resource: str
    name: str | None
    query: dict[str, list[str]]
    body: Any


_REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    409: "AlreadyExists",
    500: "InternalError",
}


def _status(code: int, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 300 else "Failure",
        "message": message,
        "reason": _REASONS.get(code, ""),
        "code": code,
    }


class FakeKubeApiServer:
    """Start with `start()` (or as a context manager); `url` is what Configuration(host=...) needs."""

    def __init__(self, scenario: PodScenario | None = None) -> None:
        self.scenario = scenario or PodScenario()
        self.requests: list[RecordedRequest] = []
        # (resource, namespace, name) -> stored object
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.job_created_at: float | None = None
        self.job_deleted_at: float | None = None
        self.job_name: str | None = None
        self.job_namespace: str | None = None
        # The Job as created; kept after its deletion so the pod's timeline can still be computed.
        self.created_job: dict[str, Any] | None = None
        # Set the first time a GET of the Job returned a finished condition: lets a test check that log
        # lines reached the caller while the Job was still running.
        self.job_reported_finished = threading.Event()
        self._wall_epoch = datetime.now(UTC) - timedelta(seconds=time.monotonic())
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-kube-api",
            daemon=True,
        )

    # --- lifecycle ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def seed(self, resource: str, namespace: str, body: dict[str, Any]) -> None:
        """Put an object in place before the run (e.g. to provoke a 409)."""
        self.objects[(resource, namespace, body["metadata"]["name"])] = body

    def deletes(self) -> list[tuple[str, str | None]]:
        return [(r.resource, r.name) for r in self.requests if r.method == "DELETE"]

    def calls(self, method: str, resource: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.resource == resource]

    # --- the simulated timeline --------------------------------------------------------------------------

    def _timestamp(self, monotonic: float) -> str:
        return (self._wall_epoch + timedelta(seconds=monotonic)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _job_body(self) -> dict[str, Any] | None:
        return self.created_job

    def _running_at(self) -> float:
        assert self.job_created_at is not None
        if self.scenario.waiting_reason is not None:
            return math.inf
        return self.job_created_at + self.scenario.start_delay

    def _line_time(self, index: int) -> float:
        return self._running_at() + (index + 1) * self.scenario.line_interval

    def _exited_at(self) -> float:
        if self.scenario.hang:
            return math.inf
        return self._line_time(len(self.scenario.lines))

    def _deadline_at(self) -> float:
        job = self._job_body()
        assert self.job_created_at is not None and job is not None
        seconds = job["spec"].get("activeDeadlineSeconds")
        return math.inf if seconds is None else self.job_created_at + float(seconds)

    def _pod_gone_at(self) -> float:
        """When the pod disappears: deadline (the Job controller deletes it) or the Job's deletion."""
        gone = self._deadline_at() if self._deadline_at() < self._exited_at() else math.inf
        if self.job_deleted_at is not None:
            gone = min(gone, self.job_deleted_at)
        return gone

    def _job_condition(self, now: float) -> dict[str, Any] | None:
        deadline, exited = self._deadline_at(), self._exited_at()
        if deadline < exited:
            if now < deadline:
                return None
            return {
                "type": "Failed",
                "reason": "DeadlineExceeded",
                "at": deadline,
                "message": "Job was active longer than specified deadline",
            }
        if now < exited + self.scenario.completion_delay:
            return None
        at = exited + self.scenario.completion_delay
        if self.scenario.exit_code == 0 and self.scenario.terminated_reason in (
            None,
            "Completed",
        ):
            return {
                "type": "Complete",
                "reason": "CompletionsReached",
                "at": at,
                "message": "Reached expected number of succeeded pods",
            }
        return {
            "type": "Failed",
            "reason": "BackoffLimitExceeded",
            "at": at,
            "message": "Job has reached the specified backoff limit",
        }

    def job_status(self, now: float) -> dict[str, Any]:
        assert self.job_created_at is not None
        status: dict[str, Any] = {"startTime": self._timestamp(self.job_created_at)}
        condition = self._job_condition(now)
        if condition is None:
            status["active"] = 1
            return status
        status["conditions"] = [
            {
                "type": condition["type"],
                "status": "True",
                "reason": condition["reason"],
                "message": condition["message"],
                "lastProbeTime": self._timestamp(condition["at"]),
                "lastTransitionTime": self._timestamp(condition["at"]),
            }
        ]
        status["succeeded" if condition["type"] == "Complete" else "failed"] = 1
        return status

    def pod_name(self) -> str:
        assert self.job_name is not None
        return f"{self.job_name}-x7k2p"

    def pod(self, now: float) -> dict[str, Any] | None:
        job = self._job_body()
        if job is None or self.job_created_at is None or now >= self._pod_gone_at():
            return None
        container = job["spec"]["template"]["spec"]["containers"][0]
        running_at, exited_at = self._running_at(), self._exited_at()
        container_status: dict[str, Any] = {
            "name": container["name"],
            "image": container["image"],
            "imageID": "",
            "ready": False,
            "restartCount": 0,
        }
        if now < running_at:
            phase = "Pending"
            reason = self.scenario.waiting_reason or "ContainerCreating"
            container_status["state"] = {"waiting": {"reason": reason, "message": f"fake: {reason}"}}
        elif now < exited_at:
            phase = "Running"
            container_status["ready"] = True
            container_status["state"] = {"running": {"startedAt": self._timestamp(running_at)}}
        else:
            failed = self.scenario.exit_code != 0
            phase = "Failed" if failed else "Succeeded"
            default_reason = "Error" if failed else "Completed"
            container_status["state"] = {
                "terminated": {
                    "exitCode": self.scenario.exit_code,
                    "reason": self.scenario.terminated_reason or default_reason,
                    "startedAt": self._timestamp(running_at),
                    "finishedAt": self._timestamp(exited_at),
                }
            }
        labels = dict(job["spec"]["template"]["metadata"].get("labels", {}))
        labels["job-name"] = job["metadata"]["name"]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self.pod_name(),
                "namespace": job["metadata"]["namespace"],
                "labels": labels,
                "creationTimestamp": self._timestamp(self.job_created_at),
            },
            "spec": job["spec"]["template"]["spec"],
            "status": {"phase": phase, "containerStatuses": [container_status]},
        }

    # --- HTTP ---------------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 like the real API server: keep-alive, and the log streamed with chunked encoding
            # (a client that waits for a full read buffer instead of a chunk would see lines late).
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                fake._dispatch(self, "GET")

            def do_POST(self) -> None:
                fake._dispatch(self, "POST")

            def do_DELETE(self) -> None:
                fake._dispatch(self, "DELETE")

        return Handler

    @staticmethod
    def _send_json(handler: BaseHTTPRequestHandler, code: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _route(path: str) -> tuple[str, str, str | None, bool] | None:
        """(resource, namespace, name, is_log) for the paths we serve."""
        parts = path.strip("/").split("/")
        prefixes = {
            ("api", "v1"): 2,
            ("apis", "networking.k8s.io", "v1"): 3,
            ("apis", "batch", "v1"): 3,
        }
        for prefix, length in prefixes.items():
            if tuple(parts[:length]) == prefix and len(parts) > length + 2 and parts[length] == "namespaces":
                rest = parts[length + 1 :]
                namespace, resource = rest[0], rest[1]
                name = rest[2] if len(rest) > 2 else None
                is_log = len(rest) == 4 and rest[3] == "log"
                return resource, namespace, name, is_log
        return None

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        query = parse_qs(url.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        route = self._route(url.path)
        if route is None:
            self._send_json(handler, 404, _status(404, f"fake: no route for {method} {url.path}"))
            return
        resource, namespace, name, is_log = route
        recorded_resource = "log" if is_log else resource
        with self.lock:
            self.requests.append(RecordedRequest(method, recorded_resource, name, query, body))
        failure = self.scenario.failures.get((method, recorded_resource))
        if failure is not None:
            self._send_json(
                handler,
                failure,
                _status(failure, f"fake: scripted {failure} for {method} {resource}"),
            )
            return
        now = time.monotonic()
        if is_log:
            self._stream_log(handler, name or "", query, now)
        elif method == "POST":
            self._create(handler, resource, namespace, body or {}, now)
        elif method == "DELETE":
            self._delete(handler, resource, namespace, name or "", now)
        elif resource == "pods":
            self._get_pods(handler, name, query, now)
        elif resource == "jobs" and name is not None:
            self._get_job(handler, namespace, name, now)
        else:
            self._send_json(handler, 404, _status(404, f"fake: GET {url.path} not served"))

    def _create(
        self,
        handler: BaseHTTPRequestHandler,
        resource: str,
        namespace: str,
        body: dict[str, Any],
        now: float,
    ) -> None:
        name = body["metadata"]["name"]
        key = (resource, namespace, name)
        with self.lock:
            if key in self.objects:
                self._send_json(handler, 409, _status(409, f'{resource} "{name}" already exists'))
                return
            stored = json.loads(json.dumps(body))
            stored["metadata"].update(
                {
                    "uid": f"uid-{name}",
                    "resourceVersion": "1",
                    "creationTimestamp": self._timestamp(now),
                }
            )
            self.objects[key] = stored
            if resource == "jobs":
                self.job_name, self.job_namespace, self.job_created_at = (
                    name,
                    namespace,
                    now,
                )
                self.created_job = stored
        self._send_json(handler, 201, stored)

    def _delete(
        self,
        handler: BaseHTTPRequestHandler,
        resource: str,
        namespace: str,
        name: str,
        now: float,
    ) -> None:
        with self.lock:
            if self.objects.pop((resource, namespace, name), None) is None:
                self._send_json(handler, 404, _status(404, f'{resource} "{name}" not found'))
                return
            if resource == "jobs" and name == self.job_name:
                self.job_deleted_at = now  # the garbage collector takes the pod with it
        self._send_json(handler, 200, _status(200, "deleted"))

    def _get_job(self, handler: BaseHTTPRequestHandler, namespace: str, name: str, now: float) -> None:
        job = self.objects.get(("jobs", namespace, name))
        if job is None:
            self._send_json(handler, 404, _status(404, f'jobs "{name}" not found'))
            return
        answer = dict(job, status=self.job_status(now))
        if answer["status"].get("conditions"):
            self.job_reported_finished.set()
        self._send_json(handler, 200, answer)

    def _get_pods(
        self,
        handler: BaseHTTPRequestHandler,
        name: str | None,
        query: dict[str, list[str]],
        now: float,
    ) -> None:
        with self.lock:
            pod = self.pod(now)
        if name is not None:
            if pod is None or pod["metadata"]["name"] != name:
                self._send_json(handler, 404, _status(404, f'pods "{name}" not found'))
            else:
                self._send_json(handler, 200, pod)
            return
        selector = query.get("labelSelector", [""])[0]
        wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
        items = []
        if pod is not None and all(pod["metadata"]["labels"].get(k) == v for k, v in wanted.items()):
            items.append(pod)
        self._send_json(
            handler,
            200,
            {
                "kind": "PodList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "1"},
                "items": items,
            },
        )

    def _stream_log(
        self,
        handler: BaseHTTPRequestHandler,
        name: str,
        query: dict[str, list[str]],
        now: float,
    ) -> None:
        pod = self.pod(now)
        if pod is None or pod["metadata"]["name"] != name:
            self._send_json(handler, 404, _status(404, f'pods "{name}" not found'))
            return
        if pod["status"]["phase"] == "Pending":
            self._send_json(
                handler,
                400,
                _status(400, f'container "script" in pod "{name}" is waiting to start'),
            )
            return
        follow = query.get("follow", ["false"])[0] == "true"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()

        def send_chunk(data: bytes) -> None:
            handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            handler.wfile.flush()

        try:
            for index, line in enumerate(self.scenario.lines):
                due = self._line_time(index)
                if not follow and due > time.monotonic():
                    break
                while (now := time.monotonic()) < due and now < self._pod_gone_at():
                    time.sleep(min(0.01, due - now))
                if time.monotonic() >= self._pod_gone_at():
                    break
                send_chunk(line.encode() + b"\n")
            else:
                if follow:
                    # Follow until the container exits or the pod is deleted.
                    while time.monotonic() < min(self._exited_at(), self._pod_gone_at()):
                        time.sleep(0.01)
            send_chunk(b"")  # the zero-length chunk ends the body
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up (output cap, or it is tearing down)
