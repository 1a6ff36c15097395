"""Make sure RabbitMQ and Redis answer before the suite runs; start them when they are down.

Under CI=true a service that cannot be reached is a failure (exit 1), never a silent skip.
Run as ``python tests/ensure_services.py`` (the Makefile's test target does).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

SERVICES = {
    "RabbitMQ": ("127.0.0.1", 5672, ["rabbitmq-server", "-detached"]),
    "Redis": (
        "127.0.0.1",
        6379,
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", ""],
    ),
}


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def ensure(name: str, host: str, port: int, command: list[str], wait_seconds: float = 60) -> bool:
    if answers(host, port):
        return True
    if shutil.which(command[0]) is None:
        print(f"{name} is not running on {host}:{port} and {command[0]} is not installed.", file=sys.stderr)
        return False
    print(f"{name} is not running on {host}:{port}; starting it: {' '.join(command)}", file=sys.stderr)
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if answers(host, port):
            return True
        time.sleep(1)
    print(f"{name} did not come up on {host}:{port} within {wait_seconds:.0f} s.", file=sys.stderr)
    return False


def main() -> int:
    missing = [name for name, (host, port, command) in SERVICES.items() if not ensure(name, host, port, command)]
    if missing and os.environ.get("CI", "").lower() == "true":
        print(f"FAIL: {', '.join(missing)} unavailable; the integration tests need them.", file=sys.stderr)
        return 1
    if missing:
        print(f"warning: {', '.join(missing)} unavailable; their integration tests will be skipped.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
