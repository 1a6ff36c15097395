"""Fixtures: local HTTP and SMTP servers on 127.0.0.1, started per test in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notifications.local_servers import RecordingHTTPServer, RecordingSMTPServer, unused_port

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def http_server() -> Iterator[RecordingHTTPServer]:
    server = RecordingHTTPServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def refused_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    return unused_port()


@pytest.fixture
def smtp_server() -> Iterator[RecordingSMTPServer]:
    server = RecordingSMTPServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
