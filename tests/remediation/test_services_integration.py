"""The real moving parts: a Celery worker on the real RabbitMQ, the channel layer on the real Redis.

These tests start a separate ``celery worker`` process against the test database and RabbitMQ at
127.0.0.1:5672, and use channels_redis against Redis at 127.0.0.1:6379. ``make test`` starts both
services when they are down; under CI=true a missing service fails these tests instead of skipping.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from remediation.lifecycle import POLICY
from remediation.models import ExecutionRun, RemediationScript
from tests.conftest import running_in_ci
from tests.factories import ScriptFactory, rca_payload, record_policy_approval

REPO = Path(__file__).resolve().parents[2]
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
REDIS = "redis://127.0.0.1:6379/5"


def _require(host: str, port: int, name: str) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError:
        message = f"{name} is not reachable on {host}:{port} (make test starts it)"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def rabbitmq() -> str:
    _require("127.0.0.1", 5672, "RabbitMQ")
    return BROKER


@pytest.fixture
def redis_url() -> str:
    _require("127.0.0.1", 6379, "Redis")
    return REDIS


def _test_database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or s.get("OPTIONS", {}).get("host", "")
    return f"postgres://{s['USER']}@/{s['NAME']}?host={host}"


@pytest.fixture
def start_worker(rabbitmq: str, redis_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real worker processes on RabbitMQ, with their own queues so nothing else competes."""
    from config.celery import app

    workers: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": _test_database_url(),
            "CELERY_BROKER_URL": rabbitmq,
            "REDIS_URL": redis_url,
            **env,
        }
        log = open(tmp_path / f"worker-{len(workers)}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                "default,generation,validation,execution,notifications",
                "--loglevel",
                "INFO",
            ],
            cwd=REPO,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        workers.append(worker)
        return worker

    original_broker = app.conf.broker_url
    app.conf.task_always_eager = False
    app.conf.broker_url = rabbitmq
    _reset_connections(app)
    with app.connection_for_write() as conn:  # leftovers of an earlier, interrupted run
        for queue in ("default", "generation", "validation", "execution", "notifications"):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # noqa: BLE001 - a queue that does not exist yet has nothing to purge
                conn.close()
    try:
        yield start
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
        app.conf.broker_url = original_broker
        _reset_connections(app)
        app.conf.task_always_eager = True


def _reset_connections(app: Any) -> None:
    """Drop cached broker connections so the next publish uses the broker URL set now."""
    app.close()
    app._pool = None
    app.amqp._producer_pool = None


def _wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_generate_runs_on_a_real_worker_over_rabbitmq(
    start_worker: Any, client_for: Any, operator: Any, seeded_templates: None
) -> None:
    start_worker()
    response = client_for(operator).post(
        "/api/generative-remediation/generate", rca_payload(confidence=0.6), format="json"
    )
    assert response.status_code == 202
    script_id = response.json()["id"]
    _wait_for(
        lambda: RemediationScript.objects.get(pk=script_id).generator != "none", 60, "the worker to generate the script"
    )
    script = RemediationScript.objects.get(pk=script_id)
    assert script.validation_status == "PASSED"
    assert script.approval_status == "REQUIRED"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("bwrap_available")
def test_a_worker_killed_mid_run_never_runs_the_script_twice(start_worker: Any, settings: Any) -> None:
    settings.EXECUTION_LEASE_SECONDS = 5
    script = ScriptFactory(generated_script="echo started; sleep 20; echo finished\n", approval_status="APPROVED")
    record_policy_approval(script)
    first = start_worker(EXECUTION_LEASE_SECONDS="5")
    from remediation.services.execution import script_execute_queue

    script_execute_queue(script=script, actor=POLICY)  # transaction=True: on_commit fires at once
    _wait_for(
        lambda: ExecutionRun.objects.filter(script=script, status="RUNNING").exists(),
        60,
        "the first worker to start the rehearsal",
    )
    os.killpg(first.pid, signal.SIGKILL)  # the worker dies mid-run; RabbitMQ requeues the unacked task
    first.wait(timeout=10)
    start_worker(EXECUTION_LEASE_SECONDS="5")
    time.sleep(8)  # the redelivered task reaches the second worker, which must not start the script again
    runs = ExecutionRun.objects.filter(script=script)
    assert runs.count() == 1, list(runs.values_list("idempotency_key", "status"))
    assert not runs.filter(log_lines__text="finished").exists()
    from remediation.services.execution import leases_sweep

    _wait_for(
        lambda: leases_sweep() >= 0 and RemediationScript.objects.get(pk=script.pk).execution_status == "FAILED",
        30,
        "the expired lease to fail the script",
    )
    assert ExecutionRun.objects.get(script=script).status == "ERRORED"


def test_channel_layer_round_trip_over_real_redis(redis_url: str) -> None:
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[redis_url])

    async def round_trip() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add("execution-test", channel)
        await layer.group_send("execution-test", {"type": "execution.event", "payload": {"seq": 1, "text": "hi"}})
        message = await layer.receive(channel)
        await layer.group_discard("execution-test", channel)
        await layer.flush()
        return message

    message = async_to_sync(round_trip)()
    assert message["payload"] == {"seq": 1, "text": "hi"}


@pytest.mark.django_db
@pytest.mark.usefixtures("bwrap_available")
def test_a_chatty_script_streams_every_line_in_order_over_real_redis(
    redis_url: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from channels.layers import channel_layers
    from django.test import TestCase

    from remediation import live_events
    from remediation.services.execution import script_execute_queue

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }
    channel_layers.backends.clear()
    layer = channel_layers["default"]
    listener = async_to_sync(layer.new_channel)()
    subscribed: list[str] = []
    original_init = live_events.LivePublisher.__init__

    def subscribing_init(self: Any, run_id: str) -> None:
        # A watcher joins each run's group the moment the run starts, before any line is produced.
        async_to_sync(layer.group_add)(live_events.run_group_name(run_id), listener)
        subscribed.append(run_id)
        original_init(self, run_id)

    monkeypatch.setattr(live_events.LivePublisher, "__init__", subscribing_init)
    script = ScriptFactory(
        generated_script="for i in $(seq 1 300); do echo line $i; done\n", approval_status="APPROVED"
    )
    record_policy_approval(script)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            script_execute_queue(script=script, actor=POLICY)

        async def drain() -> list[dict[str, Any]]:
            received: list[dict[str, Any]] = []
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(listener), timeout=2)
                except TimeoutError:
                    return received
                received.extend(message["payloads"])

        received = async_to_sync(drain)()
    finally:
        channel_layers.backends.clear()
    assert RemediationScript.objects.get(pk=script.pk).execution_status == "SUCCESS"
    assert len(subscribed) == 2  # rehearsal and target
    for run_id in subscribed:
        events = [e for e in received if e["run_id"] == run_id]
        lines = [e for e in events if e["type"] == "log"]
        assert [e["seq"] for e in lines] == list(range(1, 301))
        assert lines[-1]["text"] == "line 300"
        assert events[-1]["type"] == "status" and events[-1]["status"] == "SUCCESS"
