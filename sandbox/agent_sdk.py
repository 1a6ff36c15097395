"""The Python agent SDK: claim an approved script, check it, run it in the local sandbox, report.

Free of Django: it runs on hosts that only have this package, the validators and httpx.

The protocol (docs/agents.md): ``GET agent/work`` lists claimable scripts; ``POST scripts/{id}/claim``
returns the approved text with its SHA-256 and a lease; ``POST runs/{id}/start`` is the server's
last check before launch; ``runs/{id}/heartbeat`` renews the lease, ``runs/{id}/log`` stores output
lines (idempotent by ``seq``), ``runs/{id}/result`` ends the run. :func:`run_one` does all of it
for one script, refusing (and reporting) a script whose text does not hash to what was approved or
that fails local validation.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from remediation.validation import (
    Strictness,
    TargetSystem,
    ValidationContext,
    ValidationResult,
    validate_script,
)
from sandbox.limits import SandboxLimits
from sandbox.local import SandboxUnavailable, run_in_sandbox

logger = logging.getLogger(__name__)

API_PREFIX = "/api/generative-remediation/"
#: Output tails sent with the result; the full output went line by line to the log endpoint.
TAIL_CHARS = 8 * 1024


class AgentApiError(Exception):
    """The server refused a call; ``code`` is the API's error code (e.g. ``lease_held``, ``sha_mismatch``)."""

    def __init__(self, status_code: int, detail: str, code: str = "") -> None:
        super().__init__(f"HTTP {status_code} {code}: {detail}" if code else f"HTTP {status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail
        self.code = code

    @property
    def is_conflict(self) -> bool:
        return self.status_code == 409


@dataclass(frozen=True)
class WorkItem:
    script_id: str
    service: str
    script_language: str
    target_system: str
    script_sha256: str
    required_capabilities: tuple[str, ...]


@dataclass(frozen=True)
class ClaimedScript:
    """A claimed run: the approved text and everything needed to check and run it."""

    run_id: str
    attempt: int
    lease_seconds: int
    script_id: str
    service: str
    language: str
    target_system: str
    text: str
    rollback: str | None
    sha256: str
    rollback_sha256: str
    validation_context: Mapping[str, Any]
    limits: Mapping[str, Any]
    reclaimed: bool = False


@dataclass(frozen=True)
class LogLine:
    seq: int
    stream: str
    text: str


def sha256_text(text: str | None) -> str:
    """The server's hash of a script text (UTF-8, None as empty)."""
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


class AgentClient:
    """A thin typed client of the agent API, authenticated with ``Authorization: Token <token>``.

    ``base_url`` is the server's root (``http://host:8000``); the API prefix is added here.
    One instance is not shared between threads: :meth:`clone` makes another for a helper thread.
    """

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 30, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self._transport = transport
        root = self.base_url if self.base_url.endswith(API_PREFIX.rstrip("/")) else self.base_url + API_PREFIX
        self._http = httpx.Client(
            base_url=root.rstrip("/") + "/",
            headers={"Authorization": f"Token {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def clone(self) -> AgentClient:
        return AgentClient(self.base_url, self._token, timeout=self.timeout, transport=self._transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            try:
                payload = response.json()
            except ValueError:
                payload = {"detail": response.text[:500]}
            detail = payload.get("detail", response.reason_phrase) if isinstance(payload, dict) else str(payload)
            code = payload.get("code", "") if isinstance(payload, dict) else ""
            raise AgentApiError(response.status_code, str(detail), str(code or ""))
        return response.json() if response.content else {}

    def work(self) -> list[WorkItem]:
        data = self._call("GET", "agent/work")
        return [
            WorkItem(
                script_id=item["id"],
                service=item["service"],
                script_language=item["script_language"],
                target_system=item["target_system"],
                script_sha256=item["script_sha256"],
                required_capabilities=tuple(item.get("required_capabilities", ())),
            )
            for item in data["scripts"]
        ]

    def claim(self, script_id: str, *, worker: str | None = None) -> ClaimedScript:
        data = self._call("POST", f"scripts/{script_id}/claim", {"worker": worker or socket.gethostname()})
        script = data["script"]
        return ClaimedScript(
            run_id=data["run_id"],
            attempt=data["attempt"],
            lease_seconds=int(data.get("lease_seconds", 60)),
            script_id=script["id"],
            service=script["service"],
            language=script["script_language"],
            target_system=script["target_system"],
            text=script["generated_script"],
            rollback=script.get("rollback_script"),
            sha256=script["script_sha256"],
            rollback_sha256=script["rollback_sha256"],
            validation_context=data["validation_context"],
            limits=data["limits"],
            reclaimed=bool(data.get("reclaimed")),
        )

    def start(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"runs/{run_id}/start")
        return result

    def heartbeat(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"runs/{run_id}/heartbeat")
        return result

    def log(self, run_id: str, lines: Sequence[LogLine]) -> dict[str, Any]:
        body = {"lines": [{"seq": line.seq, "stream": line.stream, "text": line.text} for line in lines]}
        result: dict[str, Any] = self._call("POST", f"runs/{run_id}/log", body)
        return result

    def result(
        self,
        run_id: str,
        *,
        script_sha256: str,
        exit_code: int | None,
        timed_out: bool = False,
        killed_reason: str | None = None,
        duration_ms: float = 0.0,
        peak_memory_kb: int = 0,
        stdout_tail: str = "",
        stderr_tail: str = "",
        refused: str = "",
        validation: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = {
            "script_sha256": script_sha256,
            "exit_code": exit_code,
            "timed_out": timed_out,
            "killed_reason": killed_reason or "",
            "duration_ms": duration_ms,
            "peak_memory_kb": peak_memory_kb,
            "stdout_tail": stdout_tail,
            "stderr_tail": stderr_tail,
            "refused": refused,
            "validation": dict(validation or {}),
        }
        result: dict[str, Any] = self._call("POST", f"runs/{run_id}/result", body)
        return result


# --------------------------------------------------------------------------- helper threads


class _Heartbeat:
    """Renews the lease every third of its length while the script runs (its own HTTP client)."""

    def __init__(self, client: AgentClient, run_id: str, lease_seconds: int) -> None:
        self._client = client.clone()
        self._run_id = run_id
        self._interval = max(0.5, lease_seconds / 3)
        self._stopped = threading.Event()
        self.lease_lost = ""
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._client.timeout + 1)
        self._client.close()

    def _beat(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._client.heartbeat(self._run_id)
            except AgentApiError as error:
                if error.is_conflict or error.status_code == 403:
                    # Nothing to stop here: the sandbox run cannot be taken over by anyone once it
                    # started (the server never hands a started run out again); record it and stop.
                    self.lease_lost = str(error)
                    logger.warning("run %s: lease lost: %s", self._run_id, error)
                    return
                logger.warning("run %s: heartbeat refused: %s", self._run_id, error)
            except httpx.HTTPError as error:  # transient: the next beat retries
                logger.warning("run %s: heartbeat failed: %s", self._run_id, error)


class _LogShipper:
    """Sends output lines in batches from its own thread, so a slow server never stalls the sandbox.

    Lines get their ``seq`` here, in arrival order. A batch that fails to send is kept and sent
    again; the server skips a ``seq`` it already has, so a resend never duplicates a line.
    """

    def __init__(self, client: AgentClient, run_id: str, *, batch_size: int = 200, interval: float = 0.25) -> None:
        self._client = client.clone()
        self._run_id = run_id
        self._batch_size = batch_size
        self._interval = interval
        self._queue: queue.SimpleQueue[LogLine] = queue.SimpleQueue()
        self._pending: list[LogLine] = []
        self._seq = 0
        self._stopped = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._ship, name=f"log-{run_id}", daemon=True)

    def __call__(self, stream: str, text: str) -> None:
        """The sandbox's on_output callback: called in the sandbox's thread, so only enqueue."""
        self._seq += 1
        self._queue.put(LogLine(self._seq, stream, text))

    def __enter__(self) -> _LogShipper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._client.timeout + 1)
        for _ in range(3):  # the last lines, from this thread now that the shipper's is done
            self._drain()
            if self._flush():
                break
            time.sleep(0.5)
        self._client.close()

    def _drain(self) -> None:
        while True:
            try:
                self._pending.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _flush(self) -> bool:
        while self._pending:
            batch = self._pending[: self._batch_size]
            try:
                self._client.log(self._run_id, batch)
            except (AgentApiError, httpx.HTTPError) as error:
                logger.warning("run %s: could not send %d log lines: %s", self._run_id, len(batch), error)
                return False
            self.sent += len(batch)
            del self._pending[: len(batch)]
        return True

    def _ship(self) -> None:
        while not self._stopped.wait(self._interval):
            self._drain()
            self._flush()


# --------------------------------------------------------------------------- one run


OutcomeStatus = Literal["idle", "succeeded", "failed", "refused", "lost"]


@dataclass
class RunOutcome:
    """What :func:`run_one` did. ``idle``: nothing to claim; ``refused``: the agent would not run the
    script (and told the server); ``lost``: the claim was lost before the script started."""

    status: OutcomeStatus
    script_id: str = ""
    run_id: str = ""
    exit_code: int | None = None
    server_status: str = ""
    detail: str = ""
    validation: dict[str, Any] = field(default_factory=dict)
    log_lines_sent: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def validation_context_from(data: Mapping[str, Any], *, strictness: str) -> ValidationContext:
    """The server's validation context, judged at ``strictness`` or the server's, whichever is stricter."""
    server = Strictness(str(data.get("strictness", "HIGH")))
    local = Strictness(strictness)
    order = [Strictness.LOW, Strictness.MEDIUM, Strictness.HIGH]
    fields = dict(data)
    fields.update(
        target_system=TargetSystem(str(data["target_system"])),
        strictness=max(server, local, key=order.index),
    )
    for name in ("allowed_namespaces", "allowed_databases", "allowed_paths", "allowed_hosts"):
        fields[name] = tuple(str(value) for value in data.get(name) or ())
    fields["rca_components"] = tuple(dict(component) for component in data.get("rca_components") or ())
    known = set(ValidationContext.__dataclass_fields__)
    return ValidationContext(**{name: value for name, value in fields.items() if name in known})


def _validate(claimed: ClaimedScript, strictness: str) -> tuple[bool, dict[str, Any]]:
    context = validation_context_from(claimed.validation_context, strictness=strictness)
    forward: ValidationResult = validate_script(claimed.text, language=claimed.language, context=context)
    report: dict[str, Any] = {"forward": forward.as_dict()}
    passed = forward.passed
    if claimed.rollback:
        rollback = validate_script(claimed.rollback, language=claimed.language, context=context.for_rollback())
        report["rollback"] = rollback.as_dict()
        passed = passed and rollback.passed
    return passed, report


def _failing_rules(report: Mapping[str, Any]) -> str:
    rules = [
        finding["rule_id"] for part in report.values() for finding in part["findings"] if part["status"] == "FAILED"
    ]
    return ", ".join(dict.fromkeys(rules)) or "no rule named"


def _claim_first(client: AgentClient, worker: str | None) -> ClaimedScript | None:
    for item in client.work():
        try:
            return client.claim(item.script_id, worker=worker)
        except AgentApiError as error:
            if error.status_code in (403, 404, 409):  # taken by another agent meanwhile, or not ours
                logger.info("script %s not claimed: %s", item.script_id, error)
                continue
            raise
    return None


def _refuse(client: AgentClient, claimed: ClaimedScript, reason: str, validation: dict[str, Any]) -> RunOutcome:
    logger.warning("run %s: refusing script %s: %s", claimed.run_id, claimed.script_id, reason)
    reply = client.result(
        claimed.run_id, script_sha256=sha256_text(claimed.text), exit_code=None, refused=reason, validation=validation
    )
    return RunOutcome(
        "refused", claimed.script_id, claimed.run_id, None, str(reply.get("status", "")), reason, validation
    )


def run_one(
    client: AgentClient, *, validate: bool = True, strictness: str = "HIGH", worker: str | None = None
) -> RunOutcome:
    """Claim the first available script, check it, run it in the local sandbox and report the result.

    Checks before anything runs: the received text must hash to the SHA-256 the server sent (and
    listed), and, with ``validate``, pass :func:`remediation.validation.validate_script` at
    ``strictness`` (or the server's, if stricter) together with its rollback. A script failing a
    check is reported as refused and never run.
    """
    claimed = _claim_first(client, worker)
    if claimed is None:
        return RunOutcome("idle")

    received_sha = sha256_text(claimed.text)
    if received_sha != claimed.sha256 or sha256_text(claimed.rollback) != claimed.rollback_sha256:
        return _refuse(
            client, claimed, f"the received text hashes to {received_sha}, not the approved {claimed.sha256}", {}
        )
    validation: dict[str, Any] = {}
    if validate:
        passed, validation = _validate(claimed, strictness)
        if not passed:
            return _refuse(client, claimed, f"local validation FAILED ({_failing_rules(validation)})", validation)

    try:
        client.start(claimed.run_id)
    except AgentApiError as error:
        if error.is_conflict:  # the lease lapsed before we got here; someone else may hold it now
            return RunOutcome("lost", claimed.script_id, claimed.run_id, detail=str(error))
        raise

    limits = SandboxLimits(
        wall_seconds=float(claimed.limits["wall_seconds"]), memory_bytes=int(claimed.limits["memory_bytes"])
    )
    env = {"REMEDIATION_DRY_RUN": "0", "REMEDIATION_RUN_ID": claimed.run_id}
    unavailable = ""
    with _Heartbeat(client, claimed.run_id, claimed.lease_seconds) as heartbeat:
        with _LogShipper(client, claimed.run_id) as shipper:
            try:
                result = run_in_sandbox(
                    claimed.text,
                    language=claimed.language,  # type: ignore[arg-type]
                    limits=limits,
                    on_output=shipper,
                    env=env,
                )
            except SandboxUnavailable as error:
                result = None
                unavailable = str(error)
    if result is None:
        return _refuse(client, claimed, f"the local sandbox is unavailable: {unavailable}", validation)

    reply = client.result(
        claimed.run_id,
        script_sha256=received_sha,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        killed_reason=result.killed_reason,
        duration_ms=result.duration_ms,
        peak_memory_kb=result.peak_memory_kb,
        stdout_tail=result.stdout[-TAIL_CHARS:],
        stderr_tail=result.stderr[-TAIL_CHARS:],
        validation=validation,
    )
    server_status = str(reply.get("status", ""))
    return RunOutcome(
        "succeeded" if server_status == "SUCCESS" else "failed",
        claimed.script_id,
        claimed.run_id,
        result.exit_code,
        server_status,
        heartbeat.lease_lost,
        validation,
        shipper.sent,
    )
